/**
 * The one ranking definition of long-term memory search, applied by the core on every store
 * (docs/memory.md has the measurements behind each constant):
 *
 * - text: BM25 over {@link textTerms} with `k1 = 0.5`, `b = 0.3`,
 *   `idf(t) = ln(1 + (N − df + 0.5) / (df + 0.5))`; N, df and the average length are those of
 *   the memories the query selects (scope, filters, time range); a length is a number of terms;
 * - vector: the cosine of the query's and the memory's unit vectors;
 * - hybrid: candidates are the best `C = max(50, limit)` by BM25 (BM25 > 0) and the best C by
 *   cosine; each scores `bm25 / max bm25 among the candidates + 0.5 · cosine` (0 for the text
 *   part when nothing matches the words), so the best text hit always leads unless a memory
 *   without matching words is much closer in meaning;
 * - optional boosts are added after: recency `w · 2^(−age / halfLife)` (age since updatedAt),
 *   importance `w · importance`;
 * - order: score descending, then the newer memory (createdAt descending), then id ascending.
 */
import type { MemoryBoosts } from "./memory-types.js";

/** BM25 term-frequency saturation. */
export const BM25_K1 = 0.5;
/** BM25 length normalisation. */
export const BM25_B = 0.3;
/** The weight of the cosine in hybrid scores (the text part is normalised to at most 1). */
export const HYBRID_VECTOR_WEIGHT = 0.5;
/** Fewest candidates taken from each ranking in hybrid mode. */
export const MIN_CANDIDATES = 50;

/** The inverse document frequency of a term found in `df` of `n` memories. */
export function idf(n: number, df: number): number {
  return Math.log(1 + (n - df + 0.5) / (df + 0.5));
}

/** One term's BM25 contribution: `idf · tf (k1 + 1) / (tf + k1 (1 − b + b · length / avgLength))`. */
export function bm25Term(idfValue: number, tf: number, length: number, avgLength: number): number {
  const norm = avgLength > 0 ? length / avgLength : 1;
  return (idfValue * tf * (BM25_K1 + 1)) / (tf + BM25_K1 * (1 - BM25_B + BM25_B * norm));
}

/** The hybrid score of a candidate. */
export function hybridScore(bm25: number, maxBm25: number, cosine: number | null): number {
  return (maxBm25 > 0 ? bm25 / maxBm25 : 0) + HYBRID_VECTOR_WEIGHT * (cosine ?? 0);
}

/** The boosts of a memory at `now`. */
export function boostOf(boosts: MemoryBoosts | undefined, memory: { updatedAt: number; importance: number }, now: number): number {
  if (boosts === undefined) return 0;
  let b = 0;
  if (boosts.recency !== undefined) {
    const age = Math.max(0, now - memory.updatedAt);
    b += boosts.recency.weight * 2 ** (-age / boosts.recency.halfLifeMs);
  }
  if (boosts.importance !== undefined) b += boosts.importance.weight * memory.importance;
  return b;
}

/** The order of hits: score descending, then createdAt descending, then id ascending. */
export function compareMemoryHits(
  a: { score: number; createdAt: number; id: string },
  b: { score: number; createdAt: number; id: string },
): number {
  if (a.score !== b.score) return b.score - a.score;
  if (a.createdAt !== b.createdAt) return b.createdAt - a.createdAt;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
