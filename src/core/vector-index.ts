/**
 * The vector index of long-term memory: unit vectors in slots, searched by cosine.
 *
 * Small candidate sets (up to {@link EXACT_MAX} accepted vectors) are searched exactly. Larger
 * ones go in two steps: every accepted vector is compared by the Hamming distance of a one-bit
 * code (the sign of each coordinate after the index's mean vector is subtracted: the vectors of
 * a text model share a large common component, and centring is what makes the signs tell them
 * apart), and the {@link rerankCount} nearest by code are ranked again by their exact cosine.
 * The codes are 1/32 of the vectors' size, compared 32 bits at a time, so a query costs one
 * pass over 64 bytes per vector (at 512 dimensions) plus max(256, 20·k, n/100) exact dot products; bench/memory.mjs measures speed and recall against the exact search.
 *
 * Vectors live in one flat Float32Array (slot × dimensions), so the scans read memory in order.
 * The centre is fixed when the codes are built and the codes rebuilt each time the index has
 * doubled since, which keeps the amortised cost of an add constant. Deterministic: the same
 * adds and removes in the same order give the same answers.
 */
import { invalidInput } from "../errors.js";

/** Up to this many accepted vectors, a search is exact. */
export const EXACT_MAX = 2048;
/** The index builds codes (and may search approximately) from this many vectors on. */
const CODE_MIN = 256;


/** How many candidates by code are ranked exactly for `k` results. */
export function rerankCount(k: number, accepted: number): number {
  return Math.max(256, 20 * k, Math.ceil(accepted / 100));
}

/**
 * The Hamming distance of the code `q` (its `q.length` 32-bit words) to the code of each slot
 * of `accepted` in `codes` (slot × q.length words). Population counts are SWAR (faster here
 * than table look-ups), two words at a time: their 4-bit partial counts (at most 8 per nibble)
 * add without overflow.
 */
export function codeDistances(codes: Uint32Array, q: Uint32Array, accepted: Int32Array): Uint16Array {
  const dist = new Uint16Array(accepted.length);
  for (let i = 0; i < accepted.length; i++) dist[i] = codeDistance(codes, (accepted[i] as number) * q.length, q);
  return dist;
}

/** The Hamming distance of the code `q` to the code at `codes[base…]` (see {@link codeDistances}). */
function codeDistance(codes: Uint32Array, base: number, q: Uint32Array): number {
  const w = q.length;
  const pairs = w & ~1;
  let h = 0;
  for (let j = 0; j < pairs; j += 2) {
    let x = ((codes[base] as number) ^ (q[j] as number)) >>> 0;
    let y = ((codes[base + 1] as number) ^ (q[j + 1] as number)) >>> 0;
    base += 2;
    x -= (x >>> 1) & 0x55555555;
    y -= (y >>> 1) & 0x55555555;
    x = (x & 0x33333333) + ((x >>> 2) & 0x33333333) + (y & 0x33333333) + ((y >>> 2) & 0x33333333);
    x = (x & 0x0f0f0f0f) + ((x >>> 4) & 0x0f0f0f0f);
    h += Math.imul(x, 0x01010101) >>> 24;
  }
  if (pairs < w) {
    let x = ((codes[base] as number) ^ (q[pairs] as number)) >>> 0;
    x -= (x >>> 1) & 0x55555555;
    x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
    x = (x + (x >>> 4)) & 0x0f0f0f0f;
    h += Math.imul(x, 0x01010101) >>> 24;
  }
  return h;
}

/** A set of unit-length vectors of one dimension, searched by cosine similarity. */
export class VectorIndex {
  readonly dimensions: number;
  /** 32-bit words per code. */
  readonly #words: number;
  #capacity = 0;
  #data = new Float32Array(0);
  #present = new Uint8Array(0);
  #codes = new Uint32Array(0);
  /** Scratch of {@link #nearestByCode}: the code distance per slot. */
  #dist = new Uint16Array(0);
  /** One past the highest slot ever filled. */
  #end = 0;
  #size = 0;
  /** The sum of the stored vectors (for the centre). */
  readonly #sum: Float64Array;
  /** The centre the codes were built with, or undefined while there are no codes. */
  #center: Float32Array | undefined;
  /** The size at which the codes were last built. */
  #codedAt = 0;

  constructor(dimensions: number) {
    this.dimensions = dimensions;
    this.#words = Math.ceil(dimensions / 32);
    this.#sum = new Float64Array(dimensions);
  }

  get size(): number {
    return this.#size;
  }

  /** Stores `vector` (normalised to unit length) in `slot`, replacing what was there. */
  add(slot: number, vector: ArrayLike<number>): void {
    const d = this.dimensions;
    if (vector.length !== d) throw invalidInput("vector", `has ${vector.length} dimensions; ${d} expected`);
    let norm = 0;
    for (let i = 0; i < d; i++) {
      const x = vector[i] as number;
      if (!Number.isFinite(x)) throw invalidInput(`vector[${i}]`, `${String(x)} is not a finite number`);
      norm += x * x;
    }
    if (norm === 0) throw invalidInput("vector", "is all zeros (it has no direction)");
    this.remove(slot);
    this.#reserve(slot + 1);
    const inv = 1 / Math.sqrt(norm);
    const base = slot * d;
    for (let i = 0; i < d; i++) {
      const x = (vector[i] as number) * inv;
      this.#data[base + i] = x;
      this.#sum[i] = (this.#sum[i] as number) + (this.#data[base + i] as number);
    }
    this.#present[slot] = 1;
    this.#size++;
    if (slot >= this.#end) this.#end = slot + 1;
    if (this.#size >= CODE_MIN && this.#size >= 2 * this.#codedAt) this.#recode();
    else if (this.#center !== undefined) this.#code(this.#data.subarray(base, base + d), this.#codes, slot * this.#words);
  }

  remove(slot: number): void {
    if (this.#present[slot] !== 1) return;
    const d = this.dimensions;
    const base = slot * d;
    for (let i = 0; i < d; i++) this.#sum[i] = (this.#sum[i] as number) - (this.#data[base + i] as number);
    this.#present[slot] = 0;
    this.#size--;
  }

  /** Per slot, 1 where a vector is stored (the index's own array: read it, never write it). */
  get presence(): Uint8Array {
    return this.#present;
  }

  has(slot: number): boolean {
    return this.#present[slot] === 1;
  }

  /** A copy of the (unit-length) vector in `slot`, or undefined when empty. */
  vectorOf(slot: number): Float32Array | undefined {
    if (this.#present[slot] !== 1) return undefined;
    const base = slot * this.dimensions;
    return this.#data.slice(base, base + this.dimensions);
  }

  /** The cosine of a unit-length `query` and the vector in `slot` (undefined when empty). */
  similarity(query: Float32Array, slot: number): number | undefined {
    if (this.#present[slot] !== 1) return undefined;
    return this.#dot(query, slot);
  }

  /**
   * The `k` most similar accepted slots for a unit-length `query`, best first, ties by slot
   * ascending: exact up to {@link EXACT_MAX} accepted vectors, approximate above. `accept` is a
   * per-slot mask (1 = accepted) or a predicate; without it every slot is.
   */
  search(query: Float32Array, k: number, accept?: Uint8Array | ((slot: number) => boolean)): { slot: number; similarity: number }[] {
    if (k <= 0) return [];
    const present = this.#present;
    const end = this.#end;
    const mask = accept instanceof Uint8Array ? accept : undefined;
    const take = typeof accept === "function" ? accept : undefined;
    let n = 0;
    if (take === undefined) {
      for (let slot = 0; slot < end; slot++) if (present[slot] === 1 && (mask === undefined || mask[slot] === 1)) n++;
    }
    const center = this.#center;
    let candidates: Int32Array;
    if (take === undefined && n > EXACT_MAX && center !== undefined) {
      candidates = this.#nearestByCode(query, center, mask, n, rerankCount(k, n));
    } else {
      // Exact: every accepted slot (a predicate is called once per slot, here).
      const accepted = new Int32Array(this.#size);
      n = 0;
      for (let slot = 0; slot < end; slot++) if (present[slot] === 1 && (take === undefined ? mask === undefined || mask[slot] === 1 : take(slot))) accepted[n++] = slot;
      candidates = n <= EXACT_MAX || center === undefined ? accepted.subarray(0, n) : this.#nearestByCodeOf(query, center, accepted.subarray(0, n), rerankCount(k, n));
    }
    return this.#best(query, candidates, k);
  }

  /**
   * The `k` of `candidates` most similar to `query`, best first, ties by slot ascending (what
   * sorting them all and keeping the first `k` gives), kept in a bounded sorted buffer.
   */
  #best(query: Float32Array, candidates: Int32Array, k: number): { slot: number; similarity: number }[] {
    const m = Math.min(k, candidates.length);
    const sims = new Float64Array(m);
    const slots = new Int32Array(m);
    let size = 0;
    for (let i = 0; i < candidates.length; i++) {
      const slot = candidates[i] as number;
      const s = this.#dot(query, slot);
      // Candidates come in slot order, so a later one with an equal similarity ranks after.
      if (size === m && !(s > (sims[m - 1] as number))) continue;
      let j = size < m ? size++ : m - 1;
      while (j > 0 && (sims[j - 1] as number) < s) {
        sims[j] = sims[j - 1] as number;
        slots[j] = slots[j - 1] as number;
        j--;
      }
      sims[j] = s;
      slots[j] = slot;
    }
    const out: { slot: number; similarity: number }[] = new Array(size);
    for (let i = 0; i < size; i++) out[i] = { slot: slots[i] as number, similarity: sims[i] as number };
    return out;
  }

  /**
   * The `count` slots of the mask (every present slot without one) nearest to `query` by code,
   * more when the last distance ties, in slot order: one pass computes each accepted slot's
   * distance and their histogram, a second keeps those within the threshold.
   */
  #nearestByCode(query: Float32Array, center: Float32Array, mask: Uint8Array | undefined, accepted: number, count: number): Int32Array {
    const w = this.#words;
    const q = new Uint32Array(w);
    this.#code(query, q, 0, center);
    const end = this.#end;
    const present = this.#present;
    const dist = this.#scratch(end);
    const hist = new Uint32Array(this.dimensions + 2);
    const none = this.dimensions + 1;
    const codes = this.#codes;
    for (let slot = 0; slot < end; slot++) {
      if (present[slot] !== 1 || (mask !== undefined && mask[slot] !== 1)) {
        dist[slot] = none;
        continue;
      }
      const d = codeDistance(codes, slot * w, q);
      dist[slot] = d;
      hist[d] = (hist[d] as number) + 1;
    }
    let limit = 0;
    for (let seen = 0; limit < this.dimensions; limit++) {
      seen += hist[limit] as number;
      if (seen >= count) break;
    }
    const out = new Int32Array(Math.min(accepted, end));
    let m = 0;
    for (let slot = 0; slot < end; slot++) if ((dist[slot] as number) <= limit) out[m++] = slot;
    return out.subarray(0, m);
  }

  /** {@link #nearestByCode} for a list of accepted slots (when a predicate chose them). */
  #nearestByCodeOf(query: Float32Array, center: Float32Array, accepted: Int32Array, count: number): Int32Array {
    if (accepted.length <= count) return accepted;
    const q = new Uint32Array(this.#words);
    this.#code(query, q, 0, center);
    const dist = codeDistances(this.#codes, q, accepted);
    const hist = new Uint32Array(this.dimensions + 1);
    for (let i = 0; i < dist.length; i++) hist[dist[i] as number] = (hist[dist[i] as number] as number) + 1;
    let limit = 0;
    for (let seen = 0; limit <= this.dimensions; limit++) {
      seen += hist[limit] as number;
      if (seen >= count) break;
    }
    const out = new Int32Array(accepted.length);
    let m = 0;
    for (let i = 0; i < accepted.length; i++) if ((dist[i] as number) <= limit) out[m++] = accepted[i] as number;
    return out.subarray(0, m);
  }

  /** A per-slot distance buffer of at least `n` entries, kept between searches (searches run one at a time: they are synchronous). */
  #scratch(n: number): Uint16Array {
    if (this.#dist.length < n) this.#dist = new Uint16Array(Math.max(n, this.#capacity));
    return this.#dist;
  }

  #dot(query: Float32Array, slot: number): number {
    const data = this.#data;
    const base = slot * this.dimensions;
    let s = 0;
    for (let i = 0; i < this.dimensions; i++) s += (data[base + i] as number) * (query[i] as number);
    return s;
  }

  /** Writes the code of `v` (its signs after `center` is subtracted) at `codes[at…]`. */
  #code(v: ArrayLike<number>, codes: Uint32Array, at: number, center = this.#center): void {
    if (center === undefined) return;
    for (let j = 0; j < this.#words; j++) {
      let word = 0;
      const lo = j * 32;
      const hi = Math.min(lo + 32, this.dimensions);
      for (let i = lo; i < hi; i++) if ((v[i] as number) > (center[i] as number)) word |= 1 << (i - lo);
      codes[at + j] = word >>> 0;
    }
  }

  /** Fixes a new centre (the mean of the stored vectors) and codes every vector with it. */
  #recode(): void {
    const d = this.dimensions;
    const center = new Float32Array(d);
    for (let i = 0; i < d; i++) center[i] = (this.#sum[i] as number) / this.#size;
    this.#center = center;
    this.#codedAt = this.#size;
    for (let slot = 0; slot < this.#end; slot++) {
      if (this.#present[slot] === 1) this.#code(this.#data.subarray(slot * d, (slot + 1) * d), this.#codes, slot * this.#words);
    }
  }

  #reserve(slots: number): void {
    if (slots <= this.#capacity) return;
    const capacity = Math.max(slots, this.#capacity * 2, 64);
    const data = new Float32Array(capacity * this.dimensions);
    data.set(this.#data);
    const present = new Uint8Array(capacity);
    present.set(this.#present);
    const codes = new Uint32Array(capacity * this.#words);
    codes.set(this.#codes);
    this.#data = data;
    this.#present = present;
    this.#codes = codes;
    this.#capacity = capacity;
  }
}
