/**
 * `optimize`: the AIECS `optimize_context` semantics over a durable history — walk the
 * history newest first, keep only the newest of events with the same type and canonically
 * equal data, and keep each remaining event while the size budget allows (an event that
 * does not fit is skipped and older, smaller ones may still fit), then report honestly
 * whether anything was removed.
 *
 * It never destroys history by default: it returns the optimized view. With
 * `{ compact: true }` it snapshots the state, appends the optimized view as new events
 * (each with `metadata.originalSeq`), and compacts the history before the snapshot.
 *
 * The store's own bookkeeping events (`state`, `snapshot`, `restore`) are not part of the
 * view; the state they record is kept by the snapshot.
 */
import { ContextError, invalidInput } from "../errors.js";
import { canonicalJson } from "../core/json.js";
import { DEFAULT_ENCODING, loadTokenizer, type TokenEncoding } from "./tokens.js";
import type { CallOptions, ContextEvent, CoreStore, EventInput, JsonValue } from "../core/types.js";

/** The size budget of {@link optimize}: characters of the data (AIECS `max_size`) or tokens. */
export type OptimizeBudget = { maxChars: number; maxTokens?: never } | { maxTokens: number; maxChars?: never };

/** Options of {@link optimize}. */
export type OptimizeOptions = OptimizeBudget &
  CallOptions & {
    /** Make the optimized view the durable history (snapshot + compact). @default false */
    compact?: boolean;
    /** Encoding for `maxTokens`; stored counts are used for the default. @default "o200k_base" */
    encoding?: TokenEncoding | string;
    /** Events read per page. @default 500 */
    pageSize?: number;
  };

/** What {@link optimize} did. */
export interface OptimizeResult {
  /** The optimized view, oldest first. */
  events: ContextEvent[];
  /** Events considered (the whole history minus `state`/`snapshot`/`restore`). */
  considered: number;
  /** Older duplicates removed. */
  duplicates: number;
  /** Events that did not fit the budget. */
  overBudget: number;
  /** `duplicates + overBudget`. */
  removed: number;
  /** True when anything was removed (the AIECS return value, computed correctly). */
  optimized: boolean;
  /** Size of the view, in the budget's unit. */
  size: number;
  unit: "chars" | "tokens";
  /** Set with `{ compact: true }` when something was removed. */
  compacted?: { snapshot: string; removedEvents: number; firstSeq: number };
}

const BOOKKEEPING = new Set(["state", "snapshot", "restore"]);

/** Size of an event's data in characters: a string's length, else its JSON text's length. */
export function dataChars(data: JsonValue): number {
  return typeof data === "string" ? data.length : JSON.stringify(data).length;
}

/**
 * Removes duplicates, then keeps the newest events within the size budget.
 *
 * @throws `INVALID_INPUT` for a bad budget; `VERSION_CONFLICT` with `{ compact: true }` when
 *   events were appended while optimizing (nothing is removed then; retry)
 * @example
 * ```ts
 * const r = await optimize(store, contextId, { maxChars: 1000 });
 * if (r.optimized) console.log(`removed ${r.removed} of ${r.considered}`);
 * ```
 */
export async function optimize(store: CoreStore, contextId: string, options: OptimizeOptions): Promise<OptimizeResult> {
  const byTokens = options.maxTokens !== undefined;
  const limit = byTokens ? options.maxTokens : options.maxChars;
  const field = byTokens ? "maxTokens" : "maxChars";
  if (options.maxTokens !== undefined && options.maxChars !== undefined) throw invalidInput("maxChars", "give maxChars or maxTokens, not both");
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 0) throw invalidInput(field, `must be an integer ≥ 0, got ${String(limit)}`);
  const pageSize = options.pageSize ?? 500;
  const tokenizer = await loadTokenizer(options.encoding);
  const useStored = tokenizer.encoding === DEFAULT_ENCODING;
  const size = (e: ContextEvent): number =>
    byTokens ? (useStored && e.tokens !== null ? e.tokens : tokenizer.countEvent(e)) : dataChars(e.data);
  const { signal } = options;

  const kept: ContextEvent[] = [];
  const seen = new Set<string>();
  let considered = 0;
  let duplicates = 0;
  let overBudget = 0;
  let total = 0;
  let headSeq = 0;
  let cursor: string | undefined;
  do {
    const page = await store.readEvents(contextId, { order: "desc", limit: pageSize, cursor, signal });
    for (const e of page.items) {
      if (headSeq === 0) headSeq = e.seq;
      if (BOOKKEEPING.has(e.type)) continue;
      considered++;
      const key = `${e.type}\u0000${canonicalJson(e.data)}`;
      if (seen.has(key)) {
        duplicates++;
        continue;
      }
      seen.add(key);
      const s = size(e);
      if (total + s <= limit) {
        kept.push(e);
        total += s;
      } else {
        overBudget++;
      }
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  kept.reverse();

  const removed = duplicates + overBudget;
  const result: OptimizeResult = {
    events: kept,
    considered,
    duplicates,
    overBudget,
    removed,
    optimized: removed > 0,
    size: total,
    unit: byTokens ? "tokens" : "chars",
  };
  if (options.compact === true && removed > 0) {
    result.compacted = await compactTo(store, contextId, kept, headSeq, signal);
  }
  return result;
}

async function compactTo(
  store: CoreStore,
  contextId: string,
  kept: readonly ContextEvent[],
  headSeq: number,
  signal: AbortSignal | undefined,
): Promise<{ snapshot: string; removedEvents: number; firstSeq: number }> {
  const snapshot = await store.createSnapshot(contextId, { metadata: { reason: "optimize" }, signal });
  if (snapshot.seq !== headSeq + 1) {
    // Someone appended between the scan and the snapshot: compacting now would lose their events.
    throw new ContextError("VERSION_CONFLICT", `context ${contextId} changed while it was optimized; nothing was compacted, retry`, {
      details: { contextId, expectedSeq: headSeq + 1, actualSeq: snapshot.seq },
    });
  }
  const copies: EventInput[] = kept.map((e) => ({
    type: e.type,
    data: e.data,
    metadata: { ...e.metadata, originalSeq: e.seq },
    tokens: e.tokens,
    timestamp: e.timestamp,
  }));
  // The copies land before anything is removed, so a failure here loses nothing.
  for (let i = 0; i < copies.length; i += 10_000) {
    await store.append(contextId, copies.slice(i, i + 10_000), { signal });
  }
  const r = await store.compact(contextId, { beforeSeq: snapshot.seq, signal });
  return { snapshot: snapshot.name, removedEvents: r.removed, firstSeq: r.firstSeq };
}
