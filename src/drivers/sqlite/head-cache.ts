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

/** The head of a context: {@link CommitHead} without the newest-seq read's cost on reuse. */
export type CachedHead = CommitHead;

const MAX_ENTRIES = 10_000;

export class HeadCache {
  #dataVersion = Number.NaN;
  readonly #heads = new Map<string, CachedHead>();
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
      this.#heads.clear();
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
    if (staged[1] === undefined) {
      this.#heads.delete(staged[0]);
      return;
    }
    if (this.#heads.size >= MAX_ENTRIES) this.#heads.clear();
    this.#heads.set(staged[0], staged[1]);
  }

  /** Forgets everything (a failed transaction, or a write that changes heads outside `commit`). */
  clear(): void {
    this.#staged = undefined;
    this.#heads.clear();
  }
}
