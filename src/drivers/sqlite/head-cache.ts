/**
 * The heads of contexts as this connection's own commits left them, so that the next commit
 * of the same context (an agent's next step) skips reading its head and state back, and a
 * read of the head (`getContext`) skips the query. An append's head holds no state (null):
 * it serves appends and head reads, and a state write reads the head again.
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

/** Characters of state JSON a head holds (none: an append's head, read without its state). */
const charsOf = (head: CachedHead): number => head[9]?.length ?? 0;

export class HeadCache {
  #dataVersion = Number.NaN;
  /**
   * Heads by tenant, then context id: the caller's id string keeps its hash from call to call,
   * where a joined `tenant + id` key would be a new string to flatten and hash on every commit.
   */
  readonly #heads = new Map<string, Map<string, CachedHead>>();
  #entries = 0;
  /** Characters of state JSON in `#heads`. */
  #chars = 0;
  #staged: { tenant: string; id: string; head: CachedHead | undefined } | undefined;

  /** Whether a head of the context may be cached (a cheap test before reading `data_version`). */
  has(tenant: string, id: string): boolean {
    return this.#heads.get(tenant)?.has(id) === true;
  }

  /**
   * The head this connection committed last for the context, if no other connection committed
   * since (`dataVersion` is this connection's `PRAGMA data_version` now).
   */
  get(tenant: string, id: string, dataVersion: number): CachedHead | undefined {
    if (dataVersion !== this.#dataVersion) {
      this.clear();
      this.#dataVersion = dataVersion;
      return undefined;
    }
    return this.#heads.get(tenant)?.get(id);
  }

  /** The head the context will have once the running transaction commits (undefined: unknown). */
  stage(tenant: string, id: string, head: CachedHead | undefined): void {
    this.#staged = { tenant, id, head };
  }

  /** After the transaction committed: keeps what it staged. */
  committed(): void {
    const staged = this.#staged;
    if (staged === undefined) return;
    this.#staged = undefined;
    const { tenant, id, head } = staged;
    let heads = this.#heads.get(tenant);
    const old = heads?.get(id);
    if (heads !== undefined && old !== undefined) {
      heads.delete(id);
      this.#entries--;
      this.#chars -= charsOf(old);
    }
    const chars = head === undefined ? 0 : charsOf(head);
    if (head === undefined || chars > MAX_STATE_CHARS) return;
    if (this.#entries >= MAX_ENTRIES || this.#chars + chars > MAX_CHARS) {
      this.clear();
      heads = undefined;
    }
    if (heads === undefined) {
      heads = new Map();
      this.#heads.set(tenant, heads);
    }
    heads.set(id, head);
    this.#entries++;
    this.#chars += chars;
  }

  /** Forgets everything (a failed transaction, or a write that changes heads outside `commit`). */
  clear(): void {
    this.#staged = undefined;
    this.#heads.clear();
    this.#entries = 0;
    this.#chars = 0;
  }
}
