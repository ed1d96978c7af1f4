/**
 * `store.searchMemories`: text (BM25), vector (cosine) and hybrid search over the tenant's
 * in-process memory index, ranked as `memory-rank.ts` defines — the same hits in the same
 * order on every store.
 */
import { ContextError, invalidInput } from "../errors.js";
import type { MemoryArea, MemoryRecord } from "../drivers/memory-area.js";
import type { DriverCall } from "../drivers/driver-call.js";
import type { Engine } from "./engine.js";
import { currentIndex, dimensionsOf, embedTexts, memoryArea, toMemory, unit } from "./memories.js";
import { checkMemoryText, checkSelection, checkVector, SELECTION_FIELDS } from "./memory-input.js";
import type { MemoryIndex, SlotSelection } from "./memory-index.js";
import { bm25Term, boostOf, compareMemoryHits, hybridScore, idf, MIN_CANDIDATES } from "./memory-rank.js";
import type { MemoryBoosts, MemoryHit, MemorySearchQuery } from "./memory-types.js";
import { textTerms } from "./text-terms.js";
import { EXACT_MAX } from "./vector-index.js";
import { checkInt, checkOptions } from "./validate.js";

const SEARCH_FIELDS = [...SELECTION_FIELDS, "text", "vector", "mode", "limit", "minScore", "boosts", "refresh", "signal"] as const;
const MAX_QUERY_TEXT = 4096;

interface Candidate {
  slot: number;
  record: MemoryRecord;
  text: number;
  vector: number | null;
  score: number;
}

function checkBoosts(value: unknown): MemoryBoosts | undefined {
  if (value === undefined) return undefined;
  const b = checkOptions<MemoryBoosts>(value, "boosts", ["recency", "importance"]);
  const weight = (w: unknown, field: string) => {
    if (typeof w !== "number" || !Number.isFinite(w) || w < 0 || w > 100) throw invalidInput(field, "must be a number from 0 to 100");
    return w;
  };
  const out: MemoryBoosts = {};
  if (b.recency !== undefined) {
    const r = checkOptions<{ weight: number; halfLifeMs: number }>(b.recency, "boosts.recency", ["weight", "halfLifeMs"]);
    out.recency = { weight: weight(r.weight, "boosts.recency.weight"), halfLifeMs: checkInt(r.halfLifeMs, "boosts.recency.halfLifeMs", 1) };
  }
  if (b.importance !== undefined) {
    const i = checkOptions<{ weight: number }>(b.importance, "boosts.importance", ["weight"]);
    out.importance = { weight: weight(i.weight, "boosts.importance.weight") };
  }
  return out;
}

/** BM25 scores of the selected memories that hold a query term: per slot, and which slots have one. */
interface TextScores {
  /** Per slot (0 where no term matched). */
  scores: Float64Array;
  /** The slots with a score, in the order first scored. */
  scored: number[];
}

/** BM25 of every selected memory that holds a query term. */
function textScores(index: MemoryIndex, terms: string[], selected: Uint8Array, n: number, avgLength: number): TextScores {
  const scores = new Float64Array(selected.length);
  const scored: number[] = [];
  for (const term of new Set(terms)) {
    const postings = index.postings(term);
    if (postings === undefined) continue;
    let df = 0;
    for (const slot of postings.keys()) if (selected[slot] === 1) df++;
    if (df === 0) continue;
    const termIdf = idf(n, df);
    for (const [slot, tf] of postings) {
      if (selected[slot] !== 1) continue;
      if (scores[slot] === 0) scored.push(slot);
      scores[slot] = (scores[slot] as number) + bm25Term(termIdf, tf, index.lengthOf(slot), avgLength);
    }
  }
  return { scores, scored };
}

/**
 * The slots of `scored` whose score is at least the `k`-th best (so every tie of the k-th is
 * in): what a sort by score descending keeps of its first k, without an object per slot. A
 * min-heap of the k best scores finds the threshold in O(m·log k).
 */
function bestScored({ scores, scored }: TextScores, k: number): number[] {
  if (scored.length <= k) return scored;
  const heap = new Float64Array(k);
  let size = 0;
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && (heap[l] as number) < (heap[m] as number)) m = l;
      if (r < size && (heap[r] as number) < (heap[m] as number)) m = r;
      if (m === i) return;
      const t = heap[i] as number;
      heap[i] = heap[m] as number;
      heap[m] = t;
      i = m;
    }
  };
  for (const slot of scored) {
    const s = scores[slot] as number;
    if (size < k) {
      let i = size++;
      heap[i] = s;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if ((heap[p] as number) <= (heap[i] as number)) break;
        const t = heap[p] as number;
        heap[p] = heap[i] as number;
        heap[i] = t;
        i = p;
      }
    } else if (s > (heap[0] as number)) {
      heap[0] = s;
      down(0);
    }
  }
  const threshold = heap[0] as number;
  return scored.filter((slot) => (scores[slot] as number) >= threshold);
}

/** Most ids asked of the driver's approximate vector search. */
const NEAREST_MAX = 1000;

/**
 * The `c` selected slots nearest `qv` by cosine, as the index's own search finds them. With a
 * driver that searches vectors (`area.nearest`: PostgreSQL with pgvector) the database finds
 * them — exactly among the selected memories when they are at most EXACT_MAX, else with its
 * approximate index, over-fetching and keeping the selected ones — and the core recomputes
 * every cosine, so scores are the same as on other stores. When the database cannot answer
 * (no extension, or it lacks vectors the index has), the in-process index does.
 */
async function vectorCandidates(
  engine: Engine,
  area: MemoryArea,
  tenant: string,
  index: MemoryIndex,
  qv: Float32Array,
  c: number,
  selected: Uint8Array,
  withVector: number,
  call: DriverCall,
): Promise<number[]> {
  const vectors = index.vectors;
  if (vectors === undefined || index.model === null || withVector === 0) return [];
  const accept = (slot: number) => selected[slot] === 1;
  const local = () => vectors.search(qv, c, selected).map((v) => v.slot);
  const nearest = area.nearest?.bind(area);
  if (nearest === undefined) return local();
  const model = index.model;
  const want = Math.min(c, withVector);
  const rank = (ids: { id: string }[]) => {
    const out: { slot: number; similarity: number }[] = [];
    for (const { id } of ids) {
      const slot = index.get(id)?.slot;
      if (slot === undefined || !accept(slot)) continue;
      const similarity = vectors.similarity(qv, slot);
      if (similarity !== undefined) out.push({ slot, similarity });
    }
    out.sort((a, b) => b.similarity - a.similarity || a.slot - b.slot);
    return out.slice(0, c).map((v) => v.slot);
  };
  if (withVector <= EXACT_MAX) {
    const ids: string[] = [];
    for (let slot = 0; slot < selected.length; slot++) {
      if (selected[slot] === 1 && index.hasVector(slot)) ids.push((index.at(slot) as { record: MemoryRecord }).record.id);
    }
    // Over-fetched: the database's float arithmetic may order near-ties differently from the core's.
    const hits = await engine.run(() => nearest(tenant, { model, vector: qv, k: c + Math.max(10, c), ids }, call));
    if (hits === null) return local();
    const slots = rank(hits);
    return slots.length >= want ? slots : local();
  }
  for (let k = Math.min(NEAREST_MAX, 4 * c); ; k = Math.min(NEAREST_MAX, 2 * k)) {
    const hits = await engine.run(() => nearest(tenant, { model, vector: qv, k }, call));
    if (hits === null) return local();
    const slots = rank(hits);
    if (slots.length >= want) return slots;
    if (hits.length < k || k === NEAREST_MAX) return local();
  }
}

/** The memories a query selects, with BM25's statistics over them. */
export type SelectedMemories = Pick<SlotSelection, "selected" | "n" | "totalLength">;

/** What {@link rankSelected} ranks. */
export interface RankInput {
  index: MemoryIndex;
  selection: SelectedMemories;
  text: string;
  /** The query's unit vector (none: no vector part). */
  queryVector: Float32Array | undefined;
  mode: "text" | "vector" | "hybrid";
  limit: number;
  minScore?: number | undefined;
  /** Added to the mode's score (the boosts of memory search). */
  boost?: (record: MemoryRecord) => number;
  /** The order of hits (score descending first); also breaks ties when candidates are cut. */
  compare: (a: { score: number; record: MemoryRecord }, b: { score: number; record: MemoryRecord }) => number;
  /** The vector candidates when found elsewhere ({@link vectorCandidates}); default: the index's own search. */
  vectorSlots?: number[];
}

/** A ranked memory: the mode's score and its parts. */
export interface RankedMemory {
  slot: number;
  record: MemoryRecord;
  score: number;
  /** BM25 (0 when the words do not match). */
  text: number;
  /** Cosine, or null without a vector part. */
  vector: number | null;
}

/** The part of a ranking that needs no query vector (see {@link rankText}). */
export interface TextRanking {
  input: Omit<RankInput, "queryVector" | "vectorSlots">;
  /** BM25 per slot (empty in vector mode). */
  scores: Float64Array;
  /** The best by text, in `compare`'s order. */
  byText: { slot: number; score: number; record: MemoryRecord }[];
}

/**
 * The text half of {@link rankSelected}: BM25 over the selection and its best candidates. It
 * needs no query vector, so a search computes it while the model embeds the query.
 */
export function rankText(input: Omit<RankInput, "queryVector" | "vectorSlots">): TextRanking {
  const { index, selection, mode, limit } = input;
  const { selected, n, totalLength } = selection;
  const c = Math.max(MIN_CANDIDATES, limit);
  const text = mode === "vector" || n === 0 ? { scores: new Float64Array(0), scored: [] } : textScores(index, textTerms(input.text), selected, n, totalLength / n);
  const k = mode === "text" ? limit + c : c;
  const byText = topK(
    bestScored(text, k).map((slot) => ({ slot, score: text.scores[slot] as number, record: index.at(slot)?.record as MemoryRecord })),
    k,
    input.compare,
  );
  return { input, scores: text.scores, byText };
}

/**
 * The vector half of {@link rankSelected}: adds the vector candidates to the text ones, scores
 * them in the mode and orders them. The index must not have changed since {@link rankText}.
 */
export function rankWithVector(ranking: TextRanking, qv: Float32Array | undefined, vectorSlots?: number[]): RankedMemory[] {
  const { input, scores, byText } = ranking;
  const { index, selection, mode, limit } = input;
  const c = Math.max(MIN_CANDIDATES, limit);
  const candidates = new Map<number, Candidate>();
  const candidate = (slot: number, textScore: number): Candidate => {
    let cand = candidates.get(slot);
    if (cand === undefined) {
      const record = index.at(slot)?.record as MemoryRecord;
      const vector = qv === undefined ? null : (index.vectors?.similarity(qv, slot) ?? null);
      cand = { slot, record, text: textScore, vector: vector ?? null, score: 0 };
      candidates.set(slot, cand);
    }
    return cand;
  };
  for (const t of byText) candidate(t.slot, t.score);
  if (qv !== undefined && index.vectors !== undefined) {
    const slots = vectorSlots ?? index.vectors.search(qv, c, selection.selected).map((v) => v.slot);
    for (const slot of slots) candidate(slot, scores[slot] ?? 0);
  }
  const maxText = byText[0]?.score ?? 0;
  for (const cand of candidates.values()) {
    const base = mode === "text" ? cand.text : mode === "vector" ? (cand.vector ?? 0) : hybridScore(cand.text, maxText, cand.vector);
    cand.score = base + (input.boost?.(cand.record) ?? 0);
  }
  const minScore = input.minScore;
  return [...candidates.values()]
    .filter((cand) => (mode === "text" ? cand.text > 0 : true))
    .filter((cand) => minScore === undefined || cand.score >= minScore)
    .sort(input.compare)
    .slice(0, limit);
}

/**
 * Ranks the selected memories as `memory-rank.ts` defines: the one ranking of memory search,
 * also used by the vector and hybrid modes of history search (`history-search.ts`).
 */
export function rankSelected(input: RankInput): RankedMemory[] {
  return rankWithVector(rankText(input), input.queryVector, input.vectorSlots);
}

/**
 * The first `k` of `items` in `compare`'s order (what `sort(compare).slice(0, k)` gives, ties
 * included, as `compare` is a total order), in O(n·log k) comparisons for large n instead of
 * sorting everything: a bounded sorted buffer that only items better than its worst enter.
 */
export function topK<T>(items: T[], k: number, compare: (a: T, b: T) => number): T[] {
  if (items.length <= k * 4) return items.sort(compare).slice(0, k);
  const best: T[] = [];
  for (const item of items) {
    if (best.length === k && compare(item, best[k - 1] as T) >= 0) continue;
    let lo = 0;
    let hi = best.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compare(best[mid] as T, item) <= 0) lo = mid + 1;
      else hi = mid;
    }
    best.splice(lo, 0, item);
    if (best.length > k) best.pop();
  }
  return best;
}

/** Searches the tenant's memories; see `MemorySearchQuery` and docs/memory.md. */
export async function searchMemories(engine: Engine, tenant: string, query: MemorySearchQuery): Promise<MemoryHit[]> {
  if (query === undefined) throw invalidInput("query", "must be an object with a text");
  const q = checkOptions<MemorySearchQuery & { vector?: number[]; refresh?: boolean }>(query, "query", SEARCH_FIELDS);
  const text = checkMemoryText(q.text, "text", MAX_QUERY_TEXT);
  const mode = q.mode ?? "hybrid";
  if (mode !== "hybrid" && mode !== "text" && mode !== "vector") throw invalidInput("mode", 'must be "hybrid", "text" or "vector"');
  const limit = q.limit === undefined ? 10 : checkInt(q.limit, "limit", 1, 1000);
  if (q.minScore !== undefined && (typeof q.minScore !== "number" || !Number.isFinite(q.minScore))) throw invalidInput("minScore", "must be a number");
  const boosts = checkBoosts(q.boosts);
  if (q.refresh !== undefined && typeof q.refresh !== "boolean") throw invalidInput("refresh", "must be a boolean");
  const selection = checkSelection(q);
  const embedder = engine.embedder;
  const givenVector = q.vector === undefined ? undefined : checkVector(q.vector, "vector", embedder?.dimensions ?? null);
  const useVectors = mode !== "text" && embedder !== null;
  if (mode === "vector" && embedder === null) {
    throw new ContextError("NOT_SUPPORTED", "vector search needs an embedding model; this store has none", { details: { mode } });
  }
  const area = memoryArea(engine);
  const call = engine.begin(q);
  // The model embeds the query (in its worker thread, for the default one) while this thread
  // catches the index up, selects and ranks by text: only the vector part waits for it.
  const embedding = useVectors && givenVector === undefined ? embedTexts(engine, [text], call) : undefined;
  // Awaited below; this only keeps a failure from going unhandled when the search throws first.
  embedding?.catch(() => undefined);
  const index = await currentIndex({ engine, tenant, area, call });
  const compare = (a: { score: number; record: MemoryRecord }, b: { score: number; record: MemoryRecord }) =>
    // compareMemoryHits' order, without building an object per comparison.
    a.score !== b.score ? b.score - a.score : compareMemoryHits({ score: 0, createdAt: a.record.createdAt, id: a.record.id }, { score: 0, createdAt: b.record.createdAt, id: b.record.id });
  /** The selection (once: BM25's statistics are those of the selected memories) and the text ranking over it. */
  const byText = () => {
    const { selected, n, totalLength, withVector, foreign } = index.select(selection.scope, call.now, { accept: selection.rest });
    if (useVectors && withVector === 0 && foreign > 0) {
      throw new ContextError("MODEL_MISMATCH", `the memories searched have vectors of another model than this store's ${embedder.model}; run \`contextd memory reindex\` (store.reindexMemories()) or open the store with that model`, {
        details: { model: embedder.model, memories: foreign },
      });
    }
    const rev = index.rev;
    const ranking = rankText({ index, selection: { selected, n, totalLength }, text, mode, limit, minScore: q.minScore, boost: (r) => boostOf(boosts, r, call.now), compare });
    return { rev, withVector, ranking };
  };
  let part = byText();
  const queryVector = !useVectors ? undefined : (givenVector ?? (await (embedding as Promise<Float32Array[]>))[0]);
  const qv = queryVector === undefined ? undefined : unit(queryVector);
  // Slots are reused: if another call caught the index up while this one waited, select again.
  if (index.rev !== part.rev) part = byText();
  let ranked: RankedMemory[];
  if (qv === undefined) ranked = rankWithVector(part.ranking, undefined);
  else {
    const { selected } = part.ranking.input.selection;
    const vectorSlots = await vectorCandidates(engine, area, tenant, index, qv, Math.max(MIN_CANDIDATES, limit), selected, part.withVector, call);
    if (index.rev === part.rev) ranked = rankWithVector(part.ranking, qv, vectorSlots);
    // Changed while the database searched: select again and rank with the index's own vectors (no wait this time).
    else ranked = rankWithVector(byText().ranking, qv);
  }
  if (q.refresh === true) {
    for (const cand of ranked) {
      const ttl = cand.record.ttlMs;
      if (ttl === null) continue;
      cand.record = (await engine.run(() => area.refresh(tenant, cand.record.id, call.now + ttl, call))) ?? cand.record;
    }
  }
  const dims = dimensionsOf(engine);
  return ranked.map((cand) => ({ memory: toMemory(cand.record, dims), score: cand.score, textScore: cand.text, vectorScore: cand.vector }));
}
