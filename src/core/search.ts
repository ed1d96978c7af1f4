/**
 * Search over the history: the validation of {@link SearchQuery}, and `searchEvents`. Text
 * mode is the driver's full-text search (what a word is, and how hits are scored and ordered,
 * is in `words.ts`); vector and hybrid mode are in `history-search.ts`.
 */
import { invalidInput } from "../errors.js";
import type { EventSearch } from "../drivers/driver.js";
import { notSupported, toContextEvent, type Engine } from "./engine.js";
import { checkProgress, searchHistory, type HistorySearch } from "./history-search.js";
import { memoryArea } from "./memories.js";
import { checkMemoryText } from "./memory-input.js";
import { checkId, checkInt, checkOptions, checkText } from "./validate.js";
import type { SearchHit, SearchQuery } from "./types.js";
import { MAX_WORD_LENGTH, wordsOf } from "./words.js";

/** Most distinct words in a query. */
export const MAX_QUERY_WORDS = 32;
/** Longest query text. */
export const MAX_QUERY_CHARS = 1000;

const QUERY_FIELDS = ["text", "mode", "contextId", "types", "limit", "minScore", "onProgress", "signal"];

/** A validated {@link SearchQuery}: the driver's full-text search, or a search by meaning. */
export type ParsedSearch = { mode: "text"; search: EventSearch; minScore?: number } | { mode: "vector" | "hybrid"; search: HistorySearch };

/** Validates a {@link SearchQuery}. */
export function parseSearchQuery(query: unknown): ParsedSearch {
  if (query === undefined) throw invalidInput("query", "must be an object with a text");
  const o = checkOptions<SearchQuery>(query, "query", QUERY_FIELDS);
  if (typeof o.text !== "string") throw invalidInput("text", `must be a string, got ${o.text === null ? "null" : typeof o.text}`);
  if (o.text.length === 0 || o.text.length > MAX_QUERY_CHARS) {
    throw invalidInput("text", `must be 1 to ${MAX_QUERY_CHARS} characters, got ${o.text.length}`);
  }
  const mode = o.mode ?? "text";
  if (mode !== "text" && mode !== "vector" && mode !== "hybrid") throw invalidInput("mode", 'must be "text", "vector" or "hybrid"');
  if (o.minScore !== undefined && (typeof o.minScore !== "number" || !Number.isFinite(o.minScore))) throw invalidInput("minScore", "must be a number");
  const onProgress = checkProgress(o.onProgress);
  if (mode !== "text") {
    const text = checkMemoryText(o.text, "text", MAX_QUERY_CHARS);
    const search: HistorySearch = { text, mode, limit: checkLimit(o.limit) };
    if (o.contextId !== undefined) search.contextId = checkId(o.contextId, "contextId");
    if (o.types !== undefined) search.types = checkTypes(o.types);
    if (o.minScore !== undefined) search.minScore = o.minScore;
    if (onProgress !== undefined) search.onProgress = onProgress;
    return { mode, search };
  }
  const words: string[] = [];
  for (const w of wordsOf(o.text)) {
    if (w.length > MAX_WORD_LENGTH) {
      throw invalidInput("text", `"${w.slice(0, 20)}…" is longer than ${MAX_WORD_LENGTH} characters; such words are not indexed`);
    }
    if (!words.includes(w)) words.push(w);
  }
  if (words.length === 0) throw invalidInput("text", "must contain at least one word (letters or digits)");
  if (words.length > MAX_QUERY_WORDS) {
    throw invalidInput("text", `has ${words.length} distinct words; at most ${MAX_QUERY_WORDS} are allowed`, { limit: MAX_QUERY_WORDS });
  }
  const search: EventSearch = { words, limit: checkLimit(o.limit) };
  if (o.contextId !== undefined) search.contextId = checkId(o.contextId, "contextId");
  if (o.types !== undefined) search.types = checkTypes(o.types);
  return o.minScore === undefined ? { mode, search } : { mode, search, minScore: o.minScore };
}

const checkLimit = (limit: unknown): number => (limit === undefined ? 20 : checkInt(limit, "limit", 1, 1000));

function checkTypes(types: unknown): string[] {
  if (!Array.isArray(types) || types.length === 0 || types.length > 100) {
    throw invalidInput("types", "must be a non-empty array of at most 100 event types");
  }
  return types.map((t, i) => checkText(t, `types[${i}]`, 128));
}

/** `store.searchEvents`: validates, then asks the driver's search area (text) or searches by meaning (`history-search.ts`). */
export async function searchEvents(engine: Engine, tenant: string, query: SearchQuery): Promise<SearchHit[]> {
  const parsed = parseSearchQuery(query);
  if (parsed.mode !== "text") {
    memoryArea(engine);
    const call = engine.begin(query);
    return searchHistory(engine, tenant, parsed.search, call);
  }
  const area = engine.driver.search;
  if (area === undefined) throw notSupported(engine, "search");
  const call = engine.begin(query);
  const { search, minScore } = parsed;
  const hits = await engine.run(() => area.searchEvents(tenant, search, call));
  // Hits come best first, so the filtered top `limit` is the top `limit` of the filtered hits.
  return hits
    .filter((h) => minScore === undefined || h.score >= minScore)
    .map((h) => ({ contextId: h.contextId, event: toContextEvent(h.contextId, h.event), score: h.score }));
}
