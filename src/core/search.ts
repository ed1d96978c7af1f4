/**
 * Full-text search over the history: the validation of {@link SearchQuery}, and
 * `searchEvents`. What a word is, and how hits are scored and ordered, is in `words.ts`.
 */
import { invalidInput } from "../errors.js";
import type { EventSearch } from "../drivers/driver.js";
import { notSupported, toContextEvent, type Engine } from "./engine.js";
import { checkId, checkInt, checkOptions, checkText } from "./validate.js";
import type { SearchHit, SearchQuery } from "./types.js";
import { MAX_WORD_LENGTH, wordsOf } from "./words.js";

/** Most distinct words in a query. */
export const MAX_QUERY_WORDS = 32;
/** Longest query text. */
export const MAX_QUERY_CHARS = 1000;

const QUERY_FIELDS = ["text", "contextId", "types", "limit", "signal"];

/** Validates a {@link SearchQuery}; returns the driver's search. */
export function parseSearchQuery(query: unknown): EventSearch {
  if (query === undefined) throw invalidInput("query", "must be an object with a text");
  const o = checkOptions<SearchQuery>(query, "query", QUERY_FIELDS);
  if (typeof o.text !== "string") throw invalidInput("text", `must be a string, got ${o.text === null ? "null" : typeof o.text}`);
  if (o.text.length === 0 || o.text.length > MAX_QUERY_CHARS) {
    throw invalidInput("text", `must be 1 to ${MAX_QUERY_CHARS} characters, got ${o.text.length}`);
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
  const search: EventSearch = { words, limit: o.limit === undefined ? 20 : checkInt(o.limit, "limit", 1, 1000) };
  if (o.contextId !== undefined) search.contextId = checkId(o.contextId, "contextId");
  if (o.types !== undefined) {
    if (!Array.isArray(o.types) || o.types.length === 0 || o.types.length > 100) {
      throw invalidInput("types", "must be a non-empty array of at most 100 event types");
    }
    search.types = o.types.map((t, i) => checkText(t, `types[${i}]`, 128));
  }
  return search;
}

/** `store.searchEvents`: validates, asks the driver's search area, maps the hits. */
export async function searchEvents(engine: Engine, tenant: string, query: SearchQuery): Promise<SearchHit[]> {
  const search = parseSearchQuery(query);
  const area = engine.driver.search;
  if (area === undefined) throw notSupported(engine, "search");
  const call = engine.begin(query);
  const hits = await engine.run(() => area.searchEvents(tenant, search, call));
  return hits.map((h) => ({ contextId: h.contextId, event: toContextEvent(h.contextId, h.event), score: h.score }));
}
