/**
 * What LangGraph's JS savers lack: pruning a thread to its newest checkpoints without losing
 * what an interrupted run needs to resume, and copying a thread.
 *
 * Both copy events of the thread's log with their seq pointers rewritten; pruning then drops
 * the old prefix with contextd's `compact`, so the history stays append-only.
 */
import { ContextError, invalidInput } from "../../index.js";
import type { ContextEvent, CreateContextInput, EventInput, JsonObject } from "../../index.js";
import { CHECKPOINT_EVENT, ITEMS_EVENT, VALUE_EVENT, WRITES_EVENT } from "./log.js";
import type { CheckpointData, ItemsData, WritesData } from "./log.js";
import { absoluteAt, orMissing, readRange } from "./thread-reader.js";
import type { ThreadStore } from "./thread-reader.js";

/** Options of `ContextdSaver.prune`. */
export interface PruneOptions {
  /** How many of the newest checkpoints of each namespace to keep (at least 1). */
  keepLast: number;
}

/** What `ContextdSaver.prune` did. */
export interface PruneResult {
  /** Checkpoints kept. */
  kept: number;
  /** Checkpoints removed. */
  removed: number;
}

const LOG_TYPES = [CHECKPOINT_EVENT, VALUE_EVENT, ITEMS_EVENT, WRITES_EVENT];
const BATCH = 500;

/** The event with its seq pointers mapped through `seqOf` (`at` made absolute). */
function remapped(e: ContextEvent, seqOf: (old: number) => number): EventInput {
  const out: EventInput = { type: e.type, data: e.data, metadata: e.metadata, timestamp: e.timestamp };
  if (e.type === CHECKPOINT_EVENT) {
    const d = e.data as unknown as CheckpointData;
    const at: Record<string, number> = {};
    for (const [c, s] of Object.entries(absoluteAt(e.seq, d.at))) at[c] = seqOf(s);
    out.data = { ...d, at } as unknown as JsonObject;
  } else if (e.type === ITEMS_EVENT) {
    const d = e.data as unknown as ItemsData;
    const first = d.first ?? e.seq;
    out.data = { ...d, base: d.base === null ? null : seqOf(d.base), first: first === e.seq ? null : seqOf(first) } as unknown as JsonObject;
  }
  return out;
}

/**
 * Appends `events` (oldest first) to `ctx`, whose newest seq is `lastSeq`, with their pointers
 * rewritten to the new seqs; returns the seq of the first copy.
 * @throws `VERSION_CONFLICT` when another writer appended meanwhile (the copies are then harmless duplicates)
 */
async function appendCopies(store: ThreadStore, ctx: string, lastSeq: number, events: ContextEvent[]): Promise<number> {
  const map = new Map<number, number>();
  events.forEach((e, i) => map.set(e.seq, lastSeq + 1 + i));
  const seqOf = (old: number): number => {
    const s = map.get(old);
    if (s === undefined) throw new ContextError("INTERNAL", `thread log of ${ctx}: event ${old} is referenced but was not copied`);
    return s;
  };
  for (let i = 0; i < events.length; i += BATCH) {
    const written = await store.append(
      ctx,
      events.slice(i, i + BATCH).map((e) => remapped(e, seqOf)),
    );
    if (written[0]?.seq !== lastSeq + 1 + i) {
      throw new ContextError("VERSION_CONFLICT", `thread log of ${ctx} was written during a copy; try again`, { details: { contextId: ctx } });
    }
  }
  return lastSeq + 1;
}

/** Keeps the newest `keepLast` checkpoints of each namespace (and every event they need), drops the rest. */
export async function pruneThreadLog(store: ThreadStore, ctx: string, options: PruneOptions): Promise<PruneResult> {
  const keepLast = options?.keepLast;
  if (typeof keepLast !== "number" || !Number.isInteger(keepLast) || keepLast < 1) throw invalidInput("options.keepLast", "must be an integer of at least 1");
  const info = await orMissing(() => store.getContext(ctx));
  if (info === undefined) return { kept: 0, removed: 0 };
  const events = await readRange(store, ctx, LOG_TYPES, 0);
  const bySeq = new Map(events.map((e) => [e.seq, e]));
  // The newest event per (namespace, id); per namespace, ids newest first.
  const newest = new Map<string, ContextEvent>();
  for (const e of events) {
    if (e.type !== CHECKPOINT_EVENT) continue;
    const d = e.data as unknown as CheckpointData;
    newest.set(JSON.stringify([d.ns, d.id]), e);
  }
  const byNs = new Map<string, ContextEvent[]>();
  for (const e of newest.values()) {
    const ns = (e.data as unknown as CheckpointData).ns;
    byNs.set(ns, [...(byNs.get(ns) ?? []), e]);
  }
  const keep = new Set<number>();
  const keptIds = new Set<string>();
  let total = 0;
  for (const [ns, list] of byNs) {
    total += list.length;
    list.sort((a, b) => ((a.data as unknown as CheckpointData).id < (b.data as unknown as CheckpointData).id ? 1 : -1));
    for (const e of list.slice(0, keepLast)) {
      keep.add(e.seq);
      keptIds.add(JSON.stringify([ns, (e.data as unknown as CheckpointData).id]));
      for (const s of Object.values(absoluteAt(e.seq, (e.data as unknown as CheckpointData).at))) {
        // The value, and for a list every link of its chain.
        for (let v: number | null = s; v !== null && !keep.has(v); ) {
          const ve = bySeq.get(v);
          if (ve === undefined) break;
          keep.add(v);
          v = ve.type === ITEMS_EVENT ? (ve.data as unknown as ItemsData).base : null;
        }
      }
    }
  }
  if (keptIds.size === total) return { kept: total, removed: 0 };
  for (const e of events) {
    if (e.type !== WRITES_EVENT) continue;
    const d = e.data as unknown as WritesData;
    if (keptIds.has(JSON.stringify([d.ns, d.cp]))) keep.add(e.seq);
  }
  // A checkpoint event kept twice (a put repeated) keeps its newest copy only.
  const copies = events.filter((e) => keep.has(e.seq));
  const first = await appendCopies(store, ctx, info.lastSeq, copies);
  await store.createSnapshot(ctx, { name: `langgraph-prune-${first}` });
  await store.compact(ctx, { beforeSeq: first });
  return { kept: keptIds.size, removed: total - keptIds.size };
}

/** Copies the whole log of `from` into a new context made from `input`. */
export async function copyThreadLog(store: ThreadStore, from: string, to: string, input: Omit<CreateContextInput, "id">): Promise<void> {
  const events = await readRange(store, from, LOG_TYPES, 0);
  if (!events.some((e) => e.type === CHECKPOINT_EVENT)) {
    throw new ContextError("NOT_FOUND", `thread context ${from} has no checkpoint to copy`, { details: { contextId: from } });
  }
  const created = await store.createContext({ ...input, id: to });
  await appendCopies(store, to, created.lastSeq, events);
}
