/**
 * The in-process search index of one tenant's long-term memories: the memories themselves
 * (without vectors), an inverted index of their terms, and the vectors of the store's
 * embedding model. Built from the driver's change feed on first use and brought up to date
 * before every use (one indexed query when nothing changed), so writes of other processes and
 * nodes are seen, deletes included, and every driver ranks the same way.
 */
import type { MemoryRecord } from "../drivers/memory-area.js";
import { textTerms } from "./text-terms.js";
import { VectorIndex } from "./vector-index.js";

/** Changes read per round trip while catching up. */
const CHANGES_PAGE = 1000;

/** A memory in the index. */
export interface IndexedMemory {
  slot: number;
  /** The stored memory, without its vector (which is in the vector index, if of this model). */
  record: MemoryRecord;
  /** Term → count. */
  terms: Map<string, number>;
  /** Number of terms. */
  length: number;
}

/** One tenant's index. */
export class MemoryIndex {
  /** The rev this index reflects. */
  #rev = 0;
  #catchingUp: Promise<void> | undefined;
  readonly #bySlot: (IndexedMemory | undefined)[] = [];
  readonly #byId = new Map<string, IndexedMemory>();
  readonly #free: number[] = [];
  readonly #postings = new Map<string, Map<number, number>>();
  /** Slots whose vector is of another model than the store's (they need `reindexMemories`). */
  readonly #foreign = new Set<number>();
  readonly vectors: VectorIndex | undefined;

  readonly tenant: string;
  readonly model: string | null;

  constructor(tenant: string, model: string | null, dimensions: number | null) {
    this.tenant = tenant;
    this.model = model;
    this.vectors = model === null || dimensions === null ? undefined : new VectorIndex(dimensions);
  }

  /**
   * Brings the index up to date with `changes` (the driver's feed: memories and tombstones with
   * a rev above the one given, by rev). Single-flight: concurrent callers share one catch-up.
   */
  catchUp(changes: (afterRev: number, limit: number) => Promise<MemoryRecord[]>): Promise<void> {
    this.#catchingUp ??= this.#read(changes).finally(() => {
      this.#catchingUp = undefined;
    });
    return this.#catchingUp;
  }

  async #read(changes: (afterRev: number, limit: number) => Promise<MemoryRecord[]>): Promise<void> {
    for (;;) {
      const page = await changes(this.#rev, CHANGES_PAGE);
      for (const r of page) this.#apply(r);
      if (page.length < CHANGES_PAGE) return;
    }
  }

  /**
   * Applies one changed memory (or tombstone), in rev order. Only the catch-up applies
   * changes: a write of this process is seen by the next catch-up like any other, because
   * moving the rev past a write of another process not yet read would lose that write.
   */
  #apply(r: MemoryRecord): void {
    if (r.rev > this.#rev) this.#rev = r.rev;
    const old = this.#byId.get(r.id);
    if (old !== undefined) {
      if (old.record.rev >= r.rev) return;
      this.#remove(old);
    }
    if (r.deleted) return;
    const slot = this.#free.pop() ?? this.#bySlot.length;
    const terms = new Map<string, number>();
    let length = 0;
    for (const t of textTerms(r.text)) {
      terms.set(t, (terms.get(t) ?? 0) + 1);
      length++;
    }
    const doc: IndexedMemory = { slot, record: { ...r, vector: null }, terms, length };
    this.#bySlot[slot] = doc;
    this.#byId.set(r.id, doc);
    for (const [t, n] of terms) {
      let p = this.#postings.get(t);
      if (p === undefined) this.#postings.set(t, (p = new Map()));
      p.set(slot, n);
    }
    if (r.vector !== null) {
      if (r.model === this.model && this.vectors !== undefined && r.vector.length === this.vectors.dimensions) {
        this.vectors.add(slot, r.vector);
      } else {
        this.#foreign.add(slot);
      }
    }
  }

  #remove(doc: IndexedMemory): void {
    for (const t of doc.terms.keys()) {
      const p = this.#postings.get(t);
      p?.delete(doc.slot);
      if (p?.size === 0) this.#postings.delete(t);
    }
    this.vectors?.remove(doc.slot);
    this.#foreign.delete(doc.slot);
    this.#bySlot[doc.slot] = undefined;
    this.#byId.delete(doc.record.id);
    this.#free.push(doc.slot);
  }

  /** One past the highest slot in use (a bound for per-slot arrays). */
  get slots(): number {
    return this.#bySlot.length;
  }

  /** The indexed memory of `id`, if live. */
  get(id: string): IndexedMemory | undefined {
    return this.#byId.get(id);
  }

  /** The indexed memory in `slot`. */
  at(slot: number): IndexedMemory | undefined {
    return this.#bySlot[slot];
  }

  /** Every live memory (in slot order). */
  *all(): Generator<IndexedMemory> {
    for (const d of this.#bySlot) if (d !== undefined) yield d;
  }

  /** The postings (slot → count) of a term. */
  postings(term: string): ReadonlyMap<number, number> | undefined {
    return this.#postings.get(term);
  }

  /** Whether `slot` has a vector of another model. */
  isForeign(slot: number): boolean {
    return this.#foreign.has(slot);
  }

  /** Whether `slot` has a vector of this index's model. */
  hasVector(slot: number): boolean {
    return this.vectors?.has(slot) ?? false;
  }
}
