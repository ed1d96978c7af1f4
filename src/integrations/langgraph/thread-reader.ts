/**
 * Reading a thread's log back: finding a checkpoint event by id or the newest of a namespace,
 * resolving where its channel values live (plain values, chains of list items), and the
 * pending writes stored against it, in LangGraph's `writesSortKey` order.
 */
import { compareWritesSortKeys, writesSortKey } from "@langchain/langgraph-checkpoint";
import type { SerializerProtocol } from "@langchain/langgraph-checkpoint";
import { isContextError } from "../../index.js";
import type { ContextEvent, ContextStore, JsonValue } from "../../index.js";
import { CHECKPOINT_EVENT, ITEMS_EVENT, WRITES_EVENT, decodeItems, decodeValue } from "./log.js";
import type { CheckpointData, ItemsData, ValueData, WritesData } from "./log.js";

/** The store methods the saver uses: the embedded store and the HTTP client both have them. */
export type ThreadStore = Pick<
  ContextStore,
  "createContext" | "getContext" | "listContexts" | "updateContext" | "deleteContext" | "append" | "readEvents" | "lastEvents" | "compact" | "createSnapshot" | "purgeExpired"
>;

/** A checkpoint event as read: its seq and data, with `at` resolved to absolute seqs. */
export interface StoredCheckpoint {
  seq: number;
  data: CheckpointData;
  at: Record<string, number>;
}

/** A list channel's value as the saver last stored or loaded it: the base of the next put's new items. */
export interface ListBase {
  seq: number;
  first: number;
  /** The items as LangGraph gave them (or as they were read back). */
  refs: unknown[];
  /** The items as stored (their JSON): what reading the list at `seq` back would read. Never handed out. */
  items: JsonValue[];
}

const PAGE = 1000;

/** `at` with the relative entries (`<= 0`) made absolute. */
export function absoluteAt(seq: number, at: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [c, s] of Object.entries(at)) out[c] = s <= 0 ? seq + s : s;
  return out;
}

/** Reads every event of the given types in a seq range (`after < seq < before`), oldest first. */
export async function readRange(store: ThreadStore, ctx: string, types: string[], after: number, before?: number): Promise<ContextEvent[]> {
  const out: ContextEvent[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await store.readEvents(ctx, { types, afterSeq: after, ...(before !== undefined && { beforeSeq: before }), limit: PAGE, ...(cursor && { cursor }) });
    out.push(...page.items);
    if (page.nextCursor === null || page.items.length === 0) return out;
    cursor = page.nextCursor;
  }
}

/** `fn()`, or `undefined` when the thread's context does not exist. */
export async function orMissing<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    if (isContextError(e, "NOT_FOUND")) return undefined;
    throw e;
  }
}

/** Every checkpoint event of a thread, oldest first, the newest event per (namespace, id) only. */
export async function allCheckpoints(store: ThreadStore, ctx: string): Promise<StoredCheckpoint[]> {
  const events = (await orMissing(() => readRange(store, ctx, [CHECKPOINT_EVENT], 0))) ?? [];
  const byKey = new Map<string, StoredCheckpoint>();
  for (const e of events) {
    const data = e.data as unknown as CheckpointData;
    const key = JSON.stringify([data.ns, data.id]);
    byKey.delete(key);
    byKey.set(key, { seq: e.seq, data, at: absoluteAt(e.seq, data.at) });
  }
  return [...byKey.values()];
}

/**
 * The checkpoint `id` of namespace `ns` (or, without `id`, the newest of the namespace),
 * scanning the checkpoint events newest first (those before seq `before`, when given);
 * `undefined` when there is none.
 */
export async function findCheckpoint(store: ThreadStore, ctx: string, ns: string, id?: string, before?: number): Promise<StoredCheckpoint | undefined> {
  let cursor: string | undefined;
  for (;;) {
    const query = { types: [CHECKPOINT_EVENT], order: "desc" as const, limit: 64, ...(before !== undefined && { beforeSeq: before }), ...(cursor && { cursor }) };
    const page = await orMissing(() => store.readEvents(ctx, query));
    if (page === undefined) return undefined;
    for (const e of page.items) {
      const data = e.data as unknown as CheckpointData;
      if (data.ns !== ns) continue;
      if (id === undefined) {
        // The newest event of the namespace names the newest id at its put (ids need not arrive in order).
        if (data.max === data.id) return { seq: e.seq, data, at: absoluteAt(e.seq, data.at) };
        return findCheckpoint(store, ctx, ns, data.max, before);
      }
      if (data.id === id) return { seq: e.seq, data, at: absoluteAt(e.seq, data.at) };
    }
    if (page.nextCursor === null || page.items.length === 0) return undefined;
    cursor = page.nextCursor;
  }
}

/** The pending writes of checkpoint `id` of `ns`, stored after `seq`, in `writesSortKey` order. */
export async function pendingWrites(
  store: ThreadStore,
  serde: SerializerProtocol,
  ctx: string,
  ns: string,
  id: string,
  seq: number,
  cache?: ContextEvent[],
): Promise<[string, string, unknown][]> {
  const events = cache ?? (await readRange(store, ctx, [WRITES_EVENT], seq));
  const byKey = new Map<string, { task: string; idx: number; path: string; channel: string; value: WritesData["w"][number][2] }>();
  for (const e of events) {
    if (e.seq <= seq) continue;
    const d = e.data as unknown as WritesData;
    if (d.ns !== ns || d.cp !== id) continue;
    for (const [idx, channel, value] of d.w) {
      const key = `${d.task},${idx}`;
      // As MemorySaver: a regular write (idx >= 0) is kept once; a special one (error, interrupt…) is replaced.
      if (idx >= 0 && byKey.has(key)) continue;
      byKey.set(key, { task: d.task, idx, path: d.path, channel, value });
    }
  }
  const rows = [...byKey.values()].map((r) => ({ r, key: writesSortKey(r.path, r.task, r.idx) }));
  rows.sort((a, b) => compareWritesSortKeys(a.key, b.key));
  return Promise.all(rows.map(async ({ r }) => [r.task, r.channel, await decodeValue(serde, r.value)] as [string, string, unknown]));
}

/** Resolves channel values from their events, reading what `known` does not already hold. */
export class ValueResolver {
  readonly known = new Map<number, ContextEvent>();
  private readonly store: ThreadStore;
  private readonly serde: SerializerProtocol;
  private readonly ctx: string;
  constructor(store: ThreadStore, serde: SerializerProtocol, ctx: string) {
    this.store = store;
    this.serde = serde;
    this.ctx = ctx;
  }

  /**
   * The channel values of a checkpoint, and the list bases they give (for the next put's items).
   * `stored(channel, seq)`: the stored items of the list at `seq`, when the caller holds them
   * (then its chain of events is not read again).
   */
  async values(at: Record<string, number>, stored?: (channel: string, seq: number) => JsonValue[] | undefined): Promise<{ values: Record<string, unknown>; bases: Map<string, ListBase> }> {
    await this.load(Object.values(at));
    const values: Record<string, unknown> = {};
    const bases = new Map<string, ListBase>();
    for (const [channel, seq] of Object.entries(at)) {
      const e = this.known.get(seq);
      if (e === undefined) continue; // pruned or compacted away: the channel is empty
      if (e.type === ITEMS_EVENT) {
        const head = e.data as unknown as ItemsData;
        const first = head.first ?? seq;
        const chain = stored?.(channel, seq) ?? (await this.chain(seq, first));
        const list = await decodeItems(this.serde, chain);
        values[channel] = list;
        bases.set(channel, { seq, first, refs: list.slice(), items: chain });
      } else {
        values[channel] = await decodeValue(this.serde, (e.data as unknown as ValueData).v);
      }
    }
    return { values, bases };
  }

  /** The items of the list at `seq`, following `base` pointers down to `first`. */
  private async chain(seq: number, first: number): Promise<JsonValue[]> {
    const missing: number[] = [];
    for (let s: number | null = seq; s !== null; ) {
      const e = this.known.get(s);
      if (e === undefined) {
        missing.push(s);
        break;
      }
      s = (e.data as unknown as ItemsData).base;
    }
    if (missing.length > 0) {
      for (const e of await readRange(this.store, this.ctx, [ITEMS_EVENT], first - 1, (missing[0] as number) + 1)) this.known.set(e.seq, e);
    }
    const parts: JsonValue[][] = [];
    for (let s: number | null = seq; s !== null; ) {
      const e = this.known.get(s);
      if (e === undefined) break;
      const d = e.data as unknown as ItemsData;
      parts.push(d.items);
      s = d.base;
    }
    return parts.reverse().flat();
  }

  /** Reads the events at `seqs` not held yet: one range read when they are close, else one read each. */
  private async load(seqs: number[]): Promise<void> {
    const want = [...new Set(seqs)].filter((s) => !this.known.has(s)).sort((a, b) => a - b);
    if (want.length === 0) return;
    const lo = want[0] as number;
    const hi = want[want.length - 1] as number;
    if (hi - lo < 64) {
      const page = await this.store.readEvents(this.ctx, { afterSeq: lo - 1, beforeSeq: hi + 1, limit: hi - lo + 1 });
      for (const e of page.items) this.known.set(e.seq, e);
      return;
    }
    const pages = await Promise.all(want.map((s) => this.store.readEvents(this.ctx, { afterSeq: s - 1, limit: 1 })));
    for (const p of pages) for (const e of p.items) this.known.set(e.seq, e);
  }
}
