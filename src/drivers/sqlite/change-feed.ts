/**
 * Change notices for `subscribe`: this process's commits are announced at once; commits of
 * other connections (other processes) are noticed by polling `PRAGMA data_version`, which
 * changes when another connection commits. The timer runs only while there are listeners
 * (a watcher, a wait for a lease) and, like a socket, keeps the process alive meanwhile: a
 * script whose only work is `for await (… of store.watch(id))` must not exit with its loop
 * unfinished. It stops when the last listener leaves, and on close.
 */
import type { ChangeNotice } from "../driver.js";

type Listener = (notice: ChangeNotice) => void;

/** See the module comment. */
export class ChangeFeed {
  readonly #listeners = new Set<Listener>();
  readonly #dataVersion: () => number | undefined;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #last: number | undefined;

  /** `dataVersion` reads `PRAGMA data_version`, or undefined when it cannot (closed, busy). */
  constructor(dataVersion: () => number | undefined, intervalMs: number) {
    this.#dataVersion = dataVersion;
    this.#intervalMs = intervalMs;
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    if (this.#timer === undefined) {
      this.#last = this.#dataVersion();
      this.#timer = setInterval(() => this.#poll(), this.#intervalMs);
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#stop();
    };
  }

  /** Announces a change made through this connection. */
  notify(notice: ChangeNotice): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(notice);
      } catch {
        // A failing listener must not turn a committed write into an error.
      }
    }
  }

  get active(): boolean {
    return this.#listeners.size > 0;
  }

  close(): void {
    this.#listeners.clear();
    this.#stop();
  }

  #stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #poll(): void {
    const version = this.#dataVersion();
    if (version === undefined || version === this.#last) return;
    this.#last = version;
    this.notify({});
  }
}
