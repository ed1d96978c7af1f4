/**
 * The heads this driver instance last committed, so that the next state write of the same
 * context can compute its new state here and commit in one round trip (`commit_state`).
 *
 * An entry is a guess, never trusted: the database applies the write only if the context row
 * (by surrogate key, so a deleted and re-created context never matches) is still at the cached
 * version and the kind's schema at the cached revision. Writes from other nodes or processes
 * simply make the guess miss, and the driver falls back to the locking path. The state is
 * kept as JSON text, because the core's `update` may mutate the state it is given.
 */
import type { ContextRecord, SchemaRecord } from "../driver.js";

/** What a state write needs of a head. */
export interface CachedHead {
  pk: number;
  record: ContextRecord;
  stateJson: string;
  schema: SchemaRecord | null;
}

/** Bounded, least recently used first out. */
export interface HeadCache {
  get(tenant: string, id: string): CachedHead | undefined;
  set(tenant: string, id: string, head: CachedHead): void;
  delete(tenant: string, id: string): void;
}

/**
 * @param maxEntries most heads kept
 * @param maxChars most characters of state JSON kept in all
 */
export function createHeadCache(maxEntries = 1024, maxChars = 16 * 1024 * 1024): HeadCache {
  const heads = new Map<string, CachedHead>();
  let chars = 0;
  const key = (tenant: string, id: string) => `${tenant}\u0000${id}`;
  const remove = (k: string) => {
    const h = heads.get(k);
    if (h === undefined) return;
    chars -= h.stateJson.length;
    heads.delete(k);
  };
  return {
    get(tenant, id) {
      const k = key(tenant, id);
      const h = heads.get(k);
      if (h !== undefined) {
        heads.delete(k);
        heads.set(k, h);
      }
      return h;
    },
    set(tenant, id, head) {
      const k = key(tenant, id);
      remove(k);
      if (head.stateJson.length > maxChars / 4) return;
      heads.set(k, head);
      chars += head.stateJson.length;
      for (const oldest of heads.keys()) {
        if (heads.size <= maxEntries && chars <= maxChars) break;
        remove(oldest);
      }
    },
    delete(tenant, id) {
      remove(key(tenant, id));
    },
  };
}
