/**
 * What a sectioned window reads: pinned events, the newest events (as units: a tool call with
 * its results, or one event), recalled history with its neighbours, and working-memory blocks.
 * Every read is bounded by the budget or a limit, never by the length of the history.
 */
import { isContextError } from "../errors.js";
import { canonicalJson } from "../core/json.js";
import type { CallOptions, ContextEvent, CoreStore, EventType } from "../core/types.js";
import type { BlockLoader, WorkingMemoryBlock } from "./prompt-types.js";
import { contentOf } from "./tokens.js";
import { toolCallId } from "./window.js";

/** Pinned events: every event of the pinned types, and flagged ones among the oldest `scanLimit`. */
export async function readPinned(
  store: CoreStore,
  id: string,
  types: EventType[],
  scanLimit: number,
  considered: (e: ContextEvent) => boolean,
  signal: AbortSignal | undefined,
): Promise<Map<number, ContextEvent>> {
  const pinned = new Map<number, ContextEvent>();
  const byType = async () => {
    if (types.length === 0) return;
    let cursor: string | undefined;
    do {
      const page = await store.readEvents(id, { types, order: "asc", limit: 1000, cursor, signal });
      for (const e of page.items) pinned.set(e.seq, e);
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
  };
  const [, head] = await Promise.all([byType(), scanLimit > 0 ? store.readEvents(id, { order: "asc", limit: scanLimit, signal }) : undefined]);
  for (const e of head?.items ?? []) if (e.metadata["pinned"] === true && considered(e)) pinned.set(e.seq, e);
  return pinned;
}

/** A tool call with its results, or one event; `cost` is filled by the caller. */
export interface Unit {
  events: ContextEvent[];
  minSeq: number;
  cost: number;
}

/** What {@link gatherRecent} read. */
export interface RecentGather {
  /** Newest first (by their oldest event). */
  units: Unit[];
  /** Read and left out: older duplicates, results without their call, calls without a result. */
  leftOut: ContextEvent[];
  /** Pinned events met while reading (`metadata.pinned`). */
  flagged: ContextEvent[];
  /** The whole history (of the considered types) was read. */
  exhausted: boolean;
  /** The oldest sequence number read. */
  oldestRead: number | undefined;
  /** The newest user message's text, if one was read. */
  lastUserText: string | undefined;
}

/** Options of {@link gatherRecent}. */
export interface GatherOptions extends CallOptions {
  types: EventType[] | undefined;
  considered: (e: ContextEvent) => boolean;
  pinned: ReadonlyMap<number, ContextEvent>;
  /** Stop once the units read cost more than this. */
  cap: number;
  cost: (events: ContextEvent[]) => number;
  pageSize: number;
  scanLimit: number;
  dedupe: boolean;
}

/**
 * Reads the history newest first, a page at a time, until the units read cost more than
 * `cap` (no section can hold more), and groups it into units.
 */
export async function gatherRecent(store: CoreStore, id: string, o: GatherOptions): Promise<RecentGather> {
  const singles: Unit[] = [];
  const pending = new Map<string, Unit>(); // results waiting for their call
  const paired: Unit[] = [];
  const leftOut: ContextEvent[] = [];
  const flagged: ContextEvent[] = [];
  const seen = new Set<string>();
  let spent = 0;
  let read = 0;
  let exhausted = false;
  let oldestRead: number | undefined;
  let lastUserText: string | undefined;
  let cursor: string | undefined;
  for (;;) {
    const page = await store.readEvents(id, { types: o.types, order: "desc", limit: Math.min(o.pageSize, o.scanLimit - read), cursor, signal: o.signal });
    read += page.items.length;
    for (const e of page.items) {
      oldestRead = e.seq;
      if (o.pinned.has(e.seq) || !o.considered(e)) continue;
      if (e.metadata["pinned"] === true) {
        flagged.push(e);
        continue;
      }
      if (lastUserText === undefined && e.type === "message") {
        const d = e.data;
        if (d !== null && typeof d === "object" && !Array.isArray(d) && d["role"] === "user") lastUserText = contentOf(d);
      }
      const isTool = e.type === "tool_call" || e.type === "tool_result";
      if (o.dedupe && !isTool) {
        const key = `${e.type}\u0000${canonicalJson(e.data)}`;
        if (seen.has(key)) {
          leftOut.push(e);
          continue;
        }
        seen.add(key);
      }
      const callId = isTool ? toolCallId(e) : undefined;
      if (e.type === "tool_result" && callId !== undefined) {
        const unit = pending.get(callId);
        if (unit === undefined) pending.set(callId, { events: [e], minSeq: e.seq, cost: 0 });
        else unit.events.unshift(e);
        spent += o.cost([e]);
      } else if (e.type === "tool_call" && callId !== undefined) {
        const unit = pending.get(callId);
        if (unit === undefined) {
          // A call without a result: a model request must answer every call, so it stays out.
          leftOut.push(e);
          continue;
        }
        pending.delete(callId);
        unit.events.unshift(e);
        unit.minSeq = e.seq;
        spent += o.cost([e]);
        paired.push(unit);
      } else {
        const unit = { events: [e], minSeq: e.seq, cost: 0 };
        spent += o.cost(unit.events);
        singles.push(unit);
      }
    }
    cursor = page.nextCursor ?? undefined;
    if (cursor === undefined) {
      exhausted = true;
      break;
    }
    if (read >= o.scanLimit || spent > o.cap) break;
  }
  // Results whose call was not read (older than any budget reaches, compacted or filtered out).
  for (const unit of pending.values()) leftOut.push(...unit.events);
  const units = [...singles, ...paired].sort((a, b) => b.minSeq - a.minSeq);
  for (const u of units) u.cost = o.cost(u.events);
  return { units, leftOut, flagged, exhausted, oldestRead, lastUserText };
}

/** Events older than `beforeSeq`, newest first, at most `limit` (for the summary). */
export async function readOlder(
  store: CoreStore,
  id: string,
  beforeSeq: number,
  limit: number,
  types: EventType[] | undefined,
  considered: (e: ContextEvent) => boolean,
  signal: AbortSignal | undefined,
): Promise<ContextEvent[]> {
  const out: ContextEvent[] = [];
  let cursor: string | undefined;
  let read = 0;
  while (out.length < limit && read < limit * 4) {
    const page = await store.readEvents(id, { types, beforeSeq, order: "desc", limit: Math.min(500, limit * 4 - read), cursor, signal });
    read += page.items.length;
    for (const e of page.items) if (considered(e) && out.length < limit) out.push(e);
    cursor = page.nextCursor ?? undefined;
    if (cursor === undefined) break;
  }
  return out;
}

/** One recalled hit with its neighbours, oldest first. */
export interface RecalledRange {
  hitSeq: number;
  score: number;
  events: ContextEvent[];
}

/**
 * The neighbours of each hit: `before` considered events before it and `after` after it
 * (two bounded reads per hit, over-reading a little to skip bookkeeping).
 */
export async function readRanges(
  store: CoreStore,
  id: string,
  hits: readonly { event: ContextEvent; score: number }[],
  before: number,
  after: number,
  types: EventType[] | undefined,
  considered: (e: ContextEvent) => boolean,
  signal: AbortSignal | undefined,
): Promise<RecalledRange[]> {
  const side = async (seq: number, n: number, order: "asc" | "desc"): Promise<ContextEvent[]> => {
    if (n === 0) return [];
    const q = order === "desc" ? { beforeSeq: seq } : { afterSeq: seq };
    const page = await store.readEvents(id, { ...q, types, order, limit: n * 4 + 4, signal });
    return page.items.filter(considered).slice(0, n);
  };
  return Promise.all(
    hits.map(async (h) => {
      const [older, newer] = await Promise.all([side(h.event.seq, before, "desc"), side(h.event.seq, after, "asc")]);
      return { hitSeq: h.event.seq, score: h.score, events: [...older.reverse(), h.event, ...newer] };
    }),
  );
}

/**
 * The store's working-memory blocks (`listBlocks`) of each scope, in scope order. A store
 * without the blocks area (`capabilities.blocks` false) has none: the section says so.
 */
export function storeBlockLoader(store: CoreStore): BlockLoader {
  return async (scopes, options) => {
    const out: WorkingMemoryBlock[] = [];
    try {
      for (const scope of scopes) out.push(...(await store.listBlocks(scope, options)));
    } catch (e) {
      // A store on a driver without the blocks area: no working memory, nothing else to report.
      if (isContextError(e, "NOT_SUPPORTED")) return [];
      throw e;
    }
    return out;
  };
}
