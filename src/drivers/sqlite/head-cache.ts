/**
 * The heads of contexts as this connection's own commits left them, so that the next commit
 * of the same context (an agent's next step) skips reading its head and state back.
 *
 * An entry is valid while no other connection has committed: `PRAGMA data_version` (read
 * inside the commit's `BEGIN IMMEDIATE` transaction) changes exactly when another connection
 * (another process, another store on the same file) committed, and then every entry is
 * dropped. Writes of this connection that change a head outside `commit` (create, update,
 * delete, compact, purge, schemas) clear the cache through the driver. An entry is staged
 * inside the transaction and kept only once the transaction has committed.
 */
import type { CommitHead } from "./rows.js";

/** A cached head: the {@link CommitHead} as the commit that wrote it left it. */
export type CachedHead = CommitHead;

const MAX_ENTRIES = 10_000;
/** Characters of state JSON held at most (the cache is a shortcut, not a copy of the store). */
const MAX_CHARS = 8_000_000;
/** A larger state is not cached: reading it back costs little next to writing it. */
const MAX_STATE_CHARS = 256_000;

export class HeadCache {
  #dataVersion = Number.NaN;
  readonly #heads = new Map<string, CachedHead>();
  /** Characters of state JSON in `#heads`. */
  #chars = 0;
  #staged: [key: string, head: CachedHead | undefined] | undefined;

  /** Whether a head of `key` may be cached (a cheap test before reading `data_version`). */
  has(key: string): boolean {
    return this.#heads.has(key);
  }

  /**
   * The head this connection committed last for `key`, if no other connection committed
   * since (`dataVersion` is this connection's `PRAGMA data_version` now).
   */
  get(key: string, dataVersion: number): CachedHead | undefined {
    if (dataVersion !== this.#dataVersion) {
      this.clear();
      this.#dataVersion = dataVersion;
      return undefined;
    }
    return this.#heads.get(key);
  }

  /** The head `key` will have once the running transaction commits (undefined: unknown). */
  stage(key: string, head: CachedHead | undefined): void {
    this.#staged = [key, head];
  }

  /** After the transaction committed: keeps what it staged. */
  committed(): void {
    const staged = this.#staged;
    if (staged === undefined) return;
    this.#staged = undefined;
    const [key, head] = staged;
    const old = this.#heads.get(key);
    if (old !== undefined) {
      this.#heads.delete(key);
      this.#chars -= old[9].length;
    }
    if (head === undefined || head[9].length > MAX_STATE_CHARS) return;
    if (this.#heads.size >= MAX_ENTRIES || this.#chars + head[9].length > MAX_CHARS) this.clear();
    this.#heads.set(key, head);
    this.#chars += head[9].length;
  }

  /** Forgets everything (a failed transaction, or a write that changes heads outside `commit`). */
  clear(): void {
    this.#staged = undefined;
    this.#heads.clear();
    this.#chars = 0;
  }
}
