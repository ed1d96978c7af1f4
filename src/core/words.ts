/**
 * The one definition of a "word" that every driver indexes with and every search query is
 * split by. A leaf module (it imports nothing), so drivers can use it without the engine.
 *
 * A word is a maximal run of Unicode letters and digits (`/[\p{L}\p{N}]+/u`) of the text
 * after NFC normalisation and `toLowerCase()`: so "Café" = "café" (NFC or NFD), "café" ≠
 * "cafe", "bob@example.com" is the words "bob", "example", "com". Words longer than
 * {@link MAX_WORD_LENGTH} characters are not indexed (an identifier, not prose). Only the
 * string values inside an event's `data` are searched, never object keys, numbers or booleans.
 */
import type { JsonValue } from "./json-types.js";

/** Longer words are neither indexed nor accepted in a query. */
export const MAX_WORD_LENGTH = 100;
/**
 * Occurrences of one word in one event count at most this often in the score (PostgreSQL
 * keeps the count as a tsvector position, whose maximum this is).
 */
export const MAX_WORD_COUNT = 16383;

const WORD = /[\p{L}\p{N}]+/gu;

/** The words of `text` in order, repeats included (before the length rule). */
export function* wordsOf(text: string): Generator<string> {
  // normalize() and toLowerCase() return the same string cheaply when there is nothing to do.
  for (const m of text.normalize("NFC").toLowerCase().matchAll(WORD)) yield m[0];
}

/** Adds the words of one string to `counts`. */
function addWords(text: string, counts: Map<string, number>): void {
  for (const w of wordsOf(text)) {
    if (w.length > MAX_WORD_LENGTH) continue;
    const n = counts.get(w);
    if (n === undefined) counts.set(w, 1);
    else if (n < MAX_WORD_COUNT) counts.set(w, n + 1);
  }
}

/**
 * The words of the string values inside `value` (keys, numbers and booleans are skipped),
 * each with how often it occurs (at most {@link MAX_WORD_COUNT}), in order of first occurrence.
 */
export function searchTerms(value: JsonValue): Map<string, number> {
  const counts = new Map<string, number>();
  const stack: JsonValue[] = [value];
  while (stack.length > 0) {
    const v = stack.pop() as JsonValue;
    if (typeof v === "string") addWords(v, counts);
    else if (Array.isArray(v)) for (let i = v.length - 1; i >= 0; i--) stack.push(v[i] as JsonValue);
    else if (v !== null && typeof v === "object") {
      const values = Object.values(v);
      for (let i = values.length - 1; i >= 0; i--) stack.push(values[i] as JsonValue);
    }
  }
  return counts;
}

/** The distinct words of the string values inside `value` (see {@link searchTerms}). */
export function searchWords(value: JsonValue): string[] {
  return [...searchTerms(value).keys()];
}

/**
 * The score of an event for the query `words`, given the event's terms: the number of
 * occurrences of the query's words (each counted at most {@link MAX_WORD_COUNT} times);
 * 0 when a word is missing (no match).
 */
export function searchScore(terms: ReadonlyMap<string, number>, words: readonly string[]): number {
  let score = 0;
  for (const w of words) {
    const n = terms.get(w);
    if (n === undefined) return 0;
    score += n;
  }
  return score;
}

/**
 * The order of hits: score descending, then newest first (timestamp descending), then
 * context id ascending, then sequence number descending. Drivers sort the same way in SQL.
 */
export function compareHits(
  a: { contextId: string; score: number; event: { timestamp: number; seq: number } },
  b: { contextId: string; score: number; event: { timestamp: number; seq: number } },
): number {
  if (a.score !== b.score) return b.score - a.score;
  if (a.event.timestamp !== b.event.timestamp) return b.event.timestamp - a.event.timestamp;
  if (a.contextId !== b.contextId) return a.contextId < b.contextId ? -1 : 1;
  return b.event.seq - a.event.seq;
}

