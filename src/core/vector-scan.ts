/**
 * Exact cosine search over unit vectors in slots: the reference the approximate index is
 * measured against, and what small scopes use.
 */
import { invalidInput } from "../errors.js";

/** A set of unit-length vectors of one dimension, searched exactly. */
export class VectorScan {
  readonly #vectors: (Float32Array | undefined)[] = [];
  #size = 0;

  readonly dimensions: number;

  constructor(dimensions: number) {
    this.dimensions = dimensions;
  }

  get size(): number {
    return this.#size;
  }

  /** Stores `vector` (normalised to unit length) in `slot`, replacing what was there. */
  add(slot: number, vector: ArrayLike<number>): void {
    if (vector.length !== this.dimensions) throw invalidInput("vector", `has ${vector.length} dimensions; ${this.dimensions} expected`);
    const v = new Float32Array(this.dimensions);
    let norm = 0;
    for (let i = 0; i < v.length; i++) {
      const x = vector[i] as number;
      if (!Number.isFinite(x)) throw invalidInput(`vector[${i}]`, `${String(x)} is not a finite number`);
      v[i] = x;
      norm += x * x;
    }
    if (norm === 0) throw invalidInput("vector", "is all zeros (it has no direction)");
    const inv = 1 / Math.sqrt(norm);
    for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) * inv;
    if (this.#vectors[slot] === undefined) this.#size++;
    this.#vectors[slot] = v;
  }

  remove(slot: number): void {
    if (this.#vectors[slot] === undefined) return;
    this.#vectors[slot] = undefined;
    this.#size--;
  }

  has(slot: number): boolean {
    return this.#vectors[slot] !== undefined;
  }

  /** The cosine of a unit-length `query` and the vector in `slot` (undefined when empty). */
  similarity(query: Float32Array, slot: number): number | undefined {
    const v = this.#vectors[slot];
    if (v === undefined) return undefined;
    let s = 0;
    for (let i = 0; i < v.length; i++) s += (v[i] as number) * (query[i] as number);
    return s;
  }

  /** The `k` most similar accepted slots, best first, ties by slot ascending. */
  search(query: Float32Array, k: number, accept: (slot: number) => boolean = () => true): { slot: number; similarity: number }[] {
    const out: { slot: number; similarity: number }[] = [];
    for (let slot = 0; slot < this.#vectors.length; slot++) {
      if (this.#vectors[slot] === undefined || !accept(slot)) continue;
      out.push({ slot, similarity: this.similarity(query, slot) as number });
    }
    out.sort((a, b) => b.similarity - a.similarity || a.slot - b.slot);
    return out.slice(0, k);
  }
}
