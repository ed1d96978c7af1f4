/**
 * The in-process search index of one tenant's long-term memories: the memories themselves
 * (without vectors), an inverted index of their terms, and the vectors of the store's
 * embedding model. Built from the driver's change feed on first use and brought up to date
 * before every use (one indexed query when nothing changed), so writes of other processes and
 * nodes are seen, deletes included, and every driver ranks the same way.
 */
import type { MemoryRecord } from "../drivers/memory-area.js";
import { isInternalMemory, type ScopeFilter } from "./memory-input.js";
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

/** The memories a selection names, with BM25's statistics over them. */
export interface SlotSelection {
  /** 1 at the slots selected. */
  selected: Uint8Array;
  /** How many are selected. */
  n: number;
  /** The sum of their lengths (in terms). */
  totalLength: number;
  /** How many of them have a vector of the index's model. */
  withVector: number;
  /** How many of them have a vector of another model. */
  foreign: number;
}

/** What {@link MemoryIndex.select} selects besides the scope. */
export interface SelectOptions {
  /** `"exclude"` (the default): the memories users add; `"only"`: the store's own (history search). */
  internal?: "exclude" | "only";
  /** A further condition on the record (metadata, tags, time), checked after the cheap ones. */
  accept?: ((record: MemoryRecord) => boolean) | undefined;
}

const LIVE = 1;
const INTERNAL = 2;
/** The interned id of a null scope field. */
const NONE = 0;

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
  // Per slot, in typed arrays, what a selection checks first, so selecting from 100k memories
  // reads a few bytes per memory instead of its record: flags, expiry, length, interned scope.
  #flags = new Uint8Array(0);
  #expires = new Float64Array(0);
  #lengths = new Int32Array(0);
  #user = new Int32Array(0);
  #agent = new Int32Array(0);
  #context = new Int32Array(0);
  /** Scope field values (user, agent and context ids) → a number (never reused; NONE is null). */
  readonly #interned = new Map<string, number>();
  /** Per interned user, agent and context id: the live slots that carry it. */
  readonly #byUser = new Map<number, Set<number>>();
  readonly #byAgent = new Map<number, Set<number>>();
  readonly #byContext = new Map<number, Set<number>>();

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
    this.#reserve(slot + 1);
    this.#flags[slot] = LIVE | (isInternalMemory(r) ? INTERNAL : 0);
    this.#expires[slot] = r.expiresAt ?? Number.POSITIVE_INFINITY;
    this.#lengths[slot] = length;
    this.#user[slot] = this.#post(this.#byUser, r.userId, slot);
    this.#agent[slot] = this.#post(this.#byAgent, r.agentId, slot);
    this.#context[slot] = this.#post(this.#byContext, r.contextId, slot);
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
    this.#flags[doc.slot] = 0;
    this.#unpost(this.#byUser, this.#user[doc.slot] as number, doc.slot);
    this.#unpost(this.#byAgent, this.#agent[doc.slot] as number, doc.slot);
    this.#unpost(this.#byContext, this.#context[doc.slot] as number, doc.slot);
    this.#bySlot[doc.slot] = undefined;
    this.#byId.delete(doc.record.id);
    this.#free.push(doc.slot);
  }

  #intern(value: string): number {
    let id = this.#interned.get(value);
    if (id === undefined) this.#interned.set(value, (id = this.#interned.size + 1));
    return id;
  }

  #post(postings: Map<number, Set<number>>, value: string | null, slot: number): number {
    if (value === null) return NONE;
    const id = this.#intern(value);
    let p = postings.get(id);
    if (p === undefined) postings.set(id, (p = new Set()));
    p.add(slot);
    return id;
  }

  #unpost(postings: Map<number, Set<number>>, id: number, slot: number): void {
    if (id === NONE) return;
    const p = postings.get(id);
    p?.delete(slot);
    if (p?.size === 0) postings.delete(id);
  }

  #reserve(slots: number): void {
    if (slots <= this.#flags.length) return;
    const capacity = Math.max(slots, this.#flags.length * 2, 64);
    const grow = <T extends Uint8Array | Float64Array | Int32Array>(old: T, make: (n: number) => T): T => {
      const next = make(capacity);
      next.set(old);
      return next;
    };
    this.#flags = grow(this.#flags, (n) => new Uint8Array(n));
    this.#expires = grow(this.#expires, (n) => new Float64Array(n));
    this.#lengths = grow(this.#lengths, (n) => new Int32Array(n));
    this.#user = grow(this.#user, (n) => new Int32Array(n));
    this.#agent = grow(this.#agent, (n) => new Int32Array(n));
    this.#context = grow(this.#context, (n) => new Int32Array(n));
  }

  /**
   * The live, unexpired memories of `scope` (every memory without one) that `options.accept`
   * takes. It starts from the smallest posting list of the scope's user, agent and context
   * ids (every slot when the scope names none) and checks per-slot arrays before the record,
   * so its cost is a few bytes per memory of the narrowest scope field.
   */
  select(scope: ScopeFilter | undefined, now: number, options: SelectOptions = {}): SlotSelection {
    const selected = new Uint8Array(this.slots);
    const out: SlotSelection = { selected, n: 0, totalLength: 0, withVector: 0, foreign: 0 };
    // The wanted interned id per field: -1 for any, NONE for null; a value never seen selects nothing.
    const want = (value: string | null | undefined): number => (value === undefined ? -1 : value === null ? NONE : (this.#interned.get(value) ?? -2));
    const user = want(scope?.userId);
    const agent = want(scope?.agentId);
    const context = want(scope?.contextId);
    if (user === -2 || agent === -2 || context === -2) return out;
    let from: Iterable<number> | undefined;
    for (const [id, postings] of [
      [user, this.#byUser],
      [agent, this.#byAgent],
      [context, this.#byContext],
    ] as const) {
      if (id <= NONE) continue;
      const p = postings.get(id);
      if (p === undefined) return out;
      if (from === undefined || p.size < (from as Set<number>).size) from = p;
    }
    const internal = options.internal === "only" ? INTERNAL : 0;
    const namespace = scope?.namespace !== undefined && scope.namespace.length > 0 ? scope.namespace : undefined;
    const { accept } = options;
    const flags = this.#flags;
    const expires = this.#expires;
    const users = this.#user;
    const agents = this.#agent;
    const contexts = this.#context;
    const vectors = this.vectors;
    const lengths = this.#lengths;
    const hasVector = vectors?.presence;
    const foreignSlots = this.#foreign;
    const bySlot = this.#bySlot;
    let n = 0;
    let totalLength = 0;
    let withVector = 0;
    let foreign = 0;
    const take = (slot: number): void => {
      const f = flags[slot] as number;
      if ((f & LIVE) === 0 || (f & INTERNAL) !== internal || (expires[slot] as number) <= now) return;
      if ((user >= 0 && users[slot] !== user) || (agent >= 0 && agents[slot] !== agent) || (context >= 0 && contexts[slot] !== context)) return;
      if (namespace !== undefined || accept !== undefined) {
        const r = (bySlot[slot] as IndexedMemory).record;
        if (namespace !== undefined) {
          if (r.namespace.length < namespace.length) return;
          for (let i = 0; i < namespace.length; i++) if (r.namespace[i] !== namespace[i]) return;
        }
        if (accept !== undefined && !accept(r)) return;
      }
      selected[slot] = 1;
      n++;
      totalLength += lengths[slot] as number;
      if (hasVector !== undefined && hasVector[slot] === 1) withVector++;
      else if (foreignSlots.size > 0 && foreignSlots.has(slot)) foreign++;
    };
    // A posting list of more than a quarter of the slots is slower to walk (a Set) than every
    // slot in order (typed arrays; take checks the ids): the same selection either way.
    if (from === undefined || (from as Set<number>).size * 4 > selected.length) for (let slot = 0; slot < selected.length; slot++) take(slot);
    else for (const slot of from) take(slot);
    out.n = n;
    out.totalLength = totalLength;
    out.withVector = withVector;
    out.foreign = foreign;
    return out;
  }

  /** The rev this index reflects: it changes exactly when the index does. */
  get rev(): number {
    return this.#rev;
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

  /** The number of terms of the memory in `slot`. */
  lengthOf(slot: number): number {
    return this.#lengths[slot] as number;
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
