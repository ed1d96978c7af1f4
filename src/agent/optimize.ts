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
 * contextd's own bookkeeping events (`state`, `snapshot`, `restore`, `task_start`,
 * `task_end`, `aiecs_import`) are neither part of the view nor of its budget, as AIECS has
 * none of them; compaction keeps what they record (the state in the snapshot, the newest
 * import marker of each file and the task events as copies).
 *
 * Sizes in characters are Unicode code points (Python's `len`), not UTF-16 units.
 */
import { ContextError, invalidInput } from "../errors.js";
import { canonicalJson } from "../core/json.js";
import { DEFAULT_ENCODING, loadTokenizer, type TokenEncoding } from "./tokens.js";
import { AIECS_IMPORT_EVENT, isBookkeeping } from "./bookkeeping.js";
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
  /** Events considered (the whole history minus contextd's bookkeeping events). */
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

/** Unicode code points of `text` (a surrogate pair is one character, as in Python). */
export function codePoints(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length - 1; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/** Size of an event's data in characters (code points): a string's, else its JSON text's. */
export function dataChars(data: JsonValue): number {
  return codePoints(typeof data === "string" ? data : JSON.stringify(data));
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
  /** Bookkeeping that compaction must keep: the task events, the newest marker per file. */
  const carried: ContextEvent[] = [];
  const markedFiles = new Set<unknown>();
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
      if (isBookkeeping(e.type)) {
        if (e.type === AIECS_IMPORT_EVENT) {
          const file = (e.data as { file?: unknown } | null)?.file;
          if (!markedFiles.has(file)) {
            markedFiles.add(file);
            carried.push(e);
          }
        } else if (e.type === "task_start" || e.type === "task_end") {
          carried.push(e);
        }
        continue;
      }
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
    const keep = [...kept, ...carried].sort((a, b) => a.seq - b.seq);
    result.compacted = await compactTo(store, contextId, keep, headSeq, signal);
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
