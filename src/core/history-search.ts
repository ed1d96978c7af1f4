/**
 * The vector and hybrid modes of `searchEvents`: the history searched by meaning, ranked as
 * long-term memory search ranks (`memory-rank.ts`), on every store with a memory area.
 *
 * Appends do nothing new. A search first catches up: for every context it searches, the
 * text-bearing events ({@link HISTORY_EVENT_TYPES}) after the last one embedded are stored as
 * the store's own memories — namespace `["contextd", "history", <context createdAt>, <seq>]`,
 * scope `contextId`, source `{contextId, seq}`, embedded in batches. The namespace root is
 * reserved (`memory-input.ts`), so callers never add, see, search, purge or address these
 * memories. Because the sequence number is in the scope, two events with the same text stay
 * two memories, and a retried catch-up finds what an interrupted one stored (adds are
 * idempotent per scope and text). The context's creation time in the scope tells a deleted and
 * re-created context's memories from the new one's. Hits are read back from the history, so a
 * compacted event or a deleted or expired context never comes back; their memories are removed
 * when met.
 */
import { ContextError, invalidInput, isContextError } from "../errors.js";
import type { ContextRecord, DriverCall, EventRecord } from "../drivers/driver.js";
import type { MemoryAdd, MemoryArea, MemoryRecord } from "../drivers/memory-area.js";
import { toContextEvent, type Engine } from "./engine.js";
import { newId } from "./ids.js";
import type { JsonValue } from "./json-types.js";
import { currentIndex, embedTexts, memoryArea, unit } from "./memories.js";
import { HISTORY_NAMESPACE_ROOT, MAX_MEMORY_BATCH, MAX_MEMORY_TEXT, storedScope, textHash } from "./memory-input.js";
import type { IndexedMemory, MemoryIndex } from "./memory-index.js";
import { rankText, rankWithVector, type SelectedMemories } from "./memory-search.js";
import type { HistorySearchProgress, SearchHit } from "./types.js";

/** The event types whose text is embedded and searched by meaning. */
export const HISTORY_EVENT_TYPES: readonly string[] = ["message", "summary", "tool_call", "tool_result"];
/** Events read per round trip while catching up. */
const READ_PAGE = 500;
/** Texts embedded (and memories added) per batch. */
const EMBED_BATCH = 64;
/** Contexts listed per round trip for a tenant-wide search. */
const LIST_PAGE = 1000;

/** A validated vector or hybrid history search. */
export interface HistorySearch {
  text: string;
  mode: "vector" | "hybrid";
  contextId?: string;
  types?: string[];
  limit: number;
  minScore?: number;
  onProgress?: (progress: HistorySearchProgress) => void;
}

/**
 * The text of an event that is embedded: a string `data` itself; a `content` string (a chat
 * message's); otherwise the string values anywhere inside `data` (not its keys), one per line.
 * At most 32768 characters.
 */
export function historyText(data: JsonValue): string {
  let text: string;
  if (typeof data === "string") text = data;
  else if (data !== null && typeof data === "object" && !Array.isArray(data) && typeof data["content"] === "string") text = data["content"];
  else {
    const parts: string[] = [];
    const walk = (v: JsonValue): void => {
      if (typeof v === "string") parts.push(v);
      else if (Array.isArray(v)) v.forEach(walk);
      else if (v !== null && typeof v === "object") Object.values(v).forEach(walk);
    };
    walk(data);
    text = parts.join("\n");
  }
  if (text.length <= MAX_MEMORY_TEXT) return text;
  // Never cut a surrogate pair in two.
  const end = /[\uD800-\uDBFF]/.test(text.charAt(MAX_MEMORY_TEXT - 1)) ? MAX_MEMORY_TEXT - 1 : MAX_MEMORY_TEXT;
  return text.slice(0, end);
}

/** What the store records about an embedded event (the memory's metadata). */
interface EventMark {
  type: string;
  seq: number;
  /** The event's timestamp (epoch ms): hits are ordered by it after the score. */
  at: number;
  /** The context's createdAt: memories of an earlier context of the same id are stale. */
  born: number;
  /** Every event of the context up to this seq was read when this memory was stored. */
  upTo: number;
}

function markOf(r: MemoryRecord): EventMark | undefined {
  const m = r.metadata as Partial<Record<keyof EventMark, unknown>>;
  if (r.namespace[1] !== "history" || r.contextId === null) return undefined;
  const { type, seq, at, born, upTo } = m;
  if (typeof type !== "string" || typeof seq !== "number" || typeof at !== "number" || typeof born !== "number" || typeof upTo !== "number") {
    return undefined;
  }
  return { type, seq, at, born, upTo };
}

type HistoryMemories = Map<string, { doc: IndexedMemory; mark: EventMark | undefined }[]>;

/** Per tenant index: its history memories by context id, as of the index's rev. */
const byContextCache = new WeakMap<MemoryIndex, { rev: number; contextId: string | undefined; memories: HistoryMemories }>();

/**
 * The history memories of the index, by context id (of `contextId` alone when given). Kept
 * per index until it changes, so repeated searches of an unchanged history do not walk it.
 */
function historyMemories(index: MemoryIndex, contextId: string | undefined): HistoryMemories {
  const cached = byContextCache.get(index);
  if (cached !== undefined && cached.rev === index.rev && (cached.contextId === undefined || cached.contextId === contextId)) return cached.memories;
  const out: HistoryMemories = new Map();
  // Every slot of the store's own memories, narrowed to one context by its posting list.
  const { selected } = index.select(contextId === undefined ? undefined : { contextId }, Number.NEGATIVE_INFINITY, { internal: "only" });
  for (let slot = 0; slot < selected.length; slot++) {
    if (selected[slot] !== 1) continue;
    const doc = index.at(slot) as IndexedMemory;
    const key = doc.record.contextId ?? "";
    let list = out.get(key);
    if (list === undefined) out.set(key, (list = []));
    list.push({ doc, mark: markOf(doc.record) });
  }
  byContextCache.set(index, { rev: index.rev, contextId, memories: out });
  return out;
}

/** Whether a history memory belongs to the context as it is now (not compacted, not of an earlier context of that id). */
const current = (mark: EventMark | undefined, c: ContextRecord): mark is EventMark =>
  mark !== undefined && mark.born === c.createdAt && mark.seq >= c.firstSeq;

/**
 * Per tenant index (so per store and tenant): how far each context's history was read, by
 * `contextId@createdAt`. The memories record it too, but only when a page held text to store;
 * this keeps a history whose newest events carry no text (state writes, say) from being read
 * again by every search of this process.
 */
const readUpTo = new WeakMap<MemoryIndex, Map<string, number>>();
/**
 * Per tenant index: the contexts (`contextId@createdAt`) a catch-up found nothing to do for, at
 * which index rev and history bounds; until one of them changes, the next catch-up skips them.
 */
const checkedAt = new WeakMap<MemoryIndex, Map<string, { rev: number; firstSeq: number; lastSeq: number }>>();
/** Per tenant index: the catch-up running in this process (one at a time, so none embeds what another is embedding). */
const catchingUp = new WeakMap<MemoryIndex, Promise<unknown>>();

interface CatchUp {
  engine: Engine;
  tenant: string;
  area: MemoryArea;
  call: DriverCall;
}

/** The contexts a search looks at: the one given (if visible), or every visible context of the tenant. */
async function searchedContexts(m: CatchUp, contextId: string | undefined): Promise<ContextRecord[]> {
  const { engine, tenant, call } = m;
  if (contextId !== undefined) {
    const c = await engine.run(() => engine.driver.getContext(tenant, contextId, call));
    return c === null ? [] : [c];
  }
  const all: ContextRecord[] = [];
  let afterId: string | undefined;
  for (;;) {
    const page = await engine.run(() => engine.driver.listContexts(tenant, { order: "asc", limit: LIST_PAGE, ...(afterId !== undefined && { afterId }) }, call));
    all.push(...page);
    if (page.length < LIST_PAGE) return all;
    afterId = page[page.length - 1]?.id;
  }
}

/** Removes the store's memories of events that are gone (compacted, deleted, expired, re-created). */
async function removeStale(m: CatchUp, ids: string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += MAX_MEMORY_BATCH) {
    const batch = ids.slice(i, i + MAX_MEMORY_BATCH);
    await m.engine.run(() => m.area.purge(m.tenant, batch, m.call));
  }
}

/**
 * A fork's inherited events are its ancestors' events: where an ancestor's history memory of the
 * same event (same sequence number, same text) already has a vector of the store's model, the
 * fork's memory takes a copy instead of embedding the text again. By sequence number, for the
 * events up to the fork point (and further up the chain, each ancestor up to its own fork point).
 */
async function ancestorVectors(m: CatchUp, index: MemoryIndex, c: ContextRecord, after: number): Promise<Map<number, { text: string; slot: number }>> {
  const out = new Map<number, { text: string; slot: number }>();
  let upTo = c.parentSeq ?? 0;
  let parentId = c.parentId;
  while (parentId !== null && upTo > after && index.vectors !== undefined) {
    const id = parentId;
    for (const { doc, mark } of historyMemories(index, id).get(id) ?? []) {
      if (mark === undefined || mark.seq > upTo || mark.seq <= after || out.has(mark.seq) || !index.hasVector(doc.slot)) continue;
      out.set(mark.seq, { text: doc.record.text, slot: doc.slot });
    }
    const parent = await m.engine.run(() => m.engine.driver.getContext(m.tenant, id, m.call));
    if (parent === null) break;
    upTo = Math.min(upTo, parent.parentSeq ?? 0);
    parentId = parent.parentId;
  }
  return out;
}

/** Embeds and stores `adds` in batches (taking the vectors in `known`, by sequence number, where the text matches). */
async function embedAndAdd(m: CatchUp, adds: MemoryAdd[], index: MemoryIndex, known: Map<number, { text: string; slot: number }>): Promise<void> {
  const embedder = m.engine.embedder;
  for (let i = 0; i < adds.length; i += EMBED_BATCH) {
    const batch = adds.slice(i, i + EMBED_BATCH);
    if (embedder !== null) {
      const toEmbed: MemoryAdd[] = [];
      for (const a of batch) {
        const k = a.sourceSeq === null ? undefined : known.get(a.sourceSeq);
        const copy = k !== undefined && k.text === a.text ? index.vectors?.vectorOf(k.slot) : undefined;
        a.model = embedder.model;
        if (copy !== undefined) a.vector = copy;
        else toEmbed.push(a);
      }
      if (toEmbed.length > 0) {
        const vectors = await embedTexts(m.engine, toEmbed.map((a) => a.text), m.call);
        toEmbed.forEach((a, j) => {
          a.vector = vectors[j] ?? null;
        });
      }
    }
    await m.engine.run(() => m.area.add(m.tenant, batch, null, m.call));
  }
}

/**
 * Brings the store's memories of the searched contexts' histories up to date; returns the
 * index and the searched contexts.
 */
async function catchUp(m: CatchUp, search: HistorySearch): Promise<{ index: MemoryIndex; contexts: Map<string, ContextRecord> }> {
  const tenantIndex = m.engine.memoryIndex(m.tenant);
  const before = catchingUp.get(tenantIndex) ?? Promise.resolve();
  const run = before.catch(() => undefined).then(() => catchUpAlone(m, search));
  catchingUp.set(tenantIndex, run);
  try {
    return await run;
  } finally {
    if (catchingUp.get(tenantIndex) === run) catchingUp.delete(tenantIndex);
  }
}

async function catchUpAlone(m: CatchUp, search: HistorySearch): Promise<{ index: MemoryIndex; contexts: Map<string, ContextRecord> }> {
  const { engine, tenant, call } = m;
  let index = await currentIndex(m);
  let read = readUpTo.get(index);
  if (read === undefined) readUpTo.set(index, (read = new Map()));
  // Listed after the index caught up: a memory of a context missing from the list is stale.
  const contexts = await searchedContexts(m, search.contextId);
  const byId = new Map(contexts.map((c) => [c.id, c]));
  if (search.contextId === undefined) {
    const live = new Set(contexts.map((c) => `${c.id}@${c.createdAt}`));
    for (const key of read.keys()) if (!live.has(key)) read.delete(key);
  }
  const memories = historyMemories(index, search.contextId);
  let verified = checkedAt.get(index);
  if (verified === undefined) checkedAt.set(index, (verified = new Map()));
  // A context checked at this rev with the same history has nothing stale, unembedded or unread.
  const unchanged = (c: ContextRecord) => {
    const v = verified.get(`${c.id}@${c.createdAt}`);
    return v !== undefined && v.rev === index.rev && v.firstSeq === c.firstSeq && v.lastSeq === c.lastSeq;
  };
  const stale: string[] = [];
  const toEmbed: MemoryRecord[] = [];
  const useVectors = engine.embedder !== null;
  const pending: { c: ContextRecord; after: number }[] = [];
  for (const [contextId, list] of memories) {
    const c = byId.get(contextId);
    if (c === undefined) {
      // Only a tenant-wide search knows that a context is gone.
      if (search.contextId === undefined) stale.push(...list.map((x) => x.doc.record.id));
      continue;
    }
    if (unchanged(c)) continue;
    for (const x of list) {
      if (!current(x.mark, c)) stale.push(x.doc.record.id);
      else if (useVectors && !index.hasVector(x.doc.slot)) toEmbed.push(x.doc.record);
    }
  }
  for (const c of contexts) {
    if (unchanged(c)) continue;
    let after = Math.max(c.firstSeq - 1, read.get(`${c.id}@${c.createdAt}`) ?? 0);
    for (const x of memories.get(c.id) ?? []) if (current(x.mark, c) && x.mark.upTo > after) after = x.mark.upTo;
    if (c.lastSeq > after) pending.push({ c, after });
  }
  const total = pending.reduce((sum, p) => sum + (p.c.lastSeq - p.after), 0) + toEmbed.length;
  let done = 0;
  const report = (n: number) => {
    done = Math.min(total, done + n);
    search.onProgress?.({ done, total });
  };
  let wrote = stale.length > 0;
  await removeStale(m, stale);
  // Memories without a vector of this model (stored by a store with another model, or none).
  for (let i = 0; i < toEmbed.length; i += EMBED_BATCH) {
    const batch = toEmbed.slice(i, i + EMBED_BATCH);
    const vectors = await embedTexts(engine, batch.map((r) => r.text), call);
    const model = engine.embedder?.model as string;
    for (const [j, r] of batch.entries()) {
      const v = vectors[j];
      if (v !== undefined) await engine.run(() => m.area.setVector(tenant, r.id, r.version, model, v, call));
    }
    wrote = true;
    report(batch.length);
  }
  for (const { c, after } of pending) {
    const known = useVectors ? await ancestorVectors(m, index, c, after) : new Map<number, { text: string; slot: number }>();
    let from = after;
    for (;;) {
      const page = await engine.run(() =>
        engine.driver.readEvents(tenant, c.id, { afterSeq: from, types: [...HISTORY_EVENT_TYPES], order: "asc", limit: READ_PAGE }, call),
      );
      const last = page.length < READ_PAGE;
      const upTo = last ? Math.max(c.lastSeq, page[page.length - 1]?.seq ?? 0) : (page[page.length - 1]?.seq as number);
      const adds: MemoryAdd[] = [];
      for (const e of page) {
        const text = historyText(e.data);
        if (text.trim().length === 0) continue;
        const mark: EventMark = { type: e.type, seq: e.seq, at: e.timestamp, born: c.createdAt, upTo };
        const { scope, key } = storedScope({ contextId: c.id, namespace: [HISTORY_NAMESPACE_ROOT, "history", String(c.createdAt), String(e.seq)] });
        adds.push({
          // A leading underscore is not a valid id, so no caller can address it (`checkId`).
          id: `_${newId(call.now)}`,
          ...scope,
          scopeKey: key,
          sourceContextId: c.id,
          sourceSeq: e.seq,
          text,
          textHash: textHash(text),
          valueJson: "null",
          metadataJson: JSON.stringify(mark),
          tags: [],
          importance: 0,
          expiresAt: null,
          ttlMs: null,
          model: null,
          vector: null,
        });
      }
      await embedAndAdd(m, adds, index, known);
      if (adds.length > 0) wrote = true;
      report(Math.max(0, Math.min(upTo, c.lastSeq) - from));
      // Only once stored: a failed batch is read again by the next search.
      read.set(`${c.id}@${c.createdAt}`, upTo);
      if (last) break;
      from = upTo;
    }
  }
  if (total > 0 && done < total) search.onProgress?.({ done: total, total });
  if (wrote) index = await currentIndex(m);
  else if (total === 0) {
    // Nothing to do: every searched context is verified at this rev (a bounded record).
    if (verified.size + contexts.length > 10_000) verified.clear();
    for (const c of contexts) verified.set(`${c.id}@${c.createdAt}`, { rev: index.rev, firstSeq: c.firstSeq, lastSeq: c.lastSeq });
  }
  return { index, contexts: byId };
}

/** Per tenant index: the last selection of a one-context search, with what it depends on. */
const lastSelection = new WeakMap<MemoryIndex, { key: string; selection: SelectedMemories }>();

/**
 * The history memories a search ranks: those of the searched contexts as they are now, of the
 * types asked for. The selection of a one-context search is kept until the index or the
 * context changes, so searching an unchanged long history again does not walk it.
 */
function selectHistory(index: MemoryIndex, search: HistorySearch, contexts: Map<string, ContextRecord>): SelectedMemories {
  const one = search.contextId === undefined ? undefined : contexts.get(search.contextId);
  const key =
    one === undefined
      ? undefined
      : JSON.stringify([index.rev, one.id, one.createdAt, one.firstSeq, one.lastSeq, search.types === undefined ? null : [...search.types].sort()]);
  const cached = lastSelection.get(index);
  if (key !== undefined && cached?.key === key) return cached.selection;
  const types = search.types === undefined ? undefined : new Set(search.types);
  const selected = new Uint8Array(index.slots);
  let n = 0;
  let totalLength = 0;
  for (const [contextId, list] of historyMemories(index, search.contextId)) {
    const c = contexts.get(contextId);
    if (c === undefined) continue;
    // A fork's search reads its inherited history; a tenant-wide search finds each event once,
    // in the context that wrote it (as text search does).
    const inheritedUpTo = search.contextId === undefined ? (c.parentSeq ?? 0) : 0;
    for (const { doc, mark } of list) {
      if (!current(mark, c) || mark.seq <= inheritedUpTo || (types !== undefined && !types.has(mark.type))) continue;
      selected[doc.slot] = 1;
      n++;
      totalLength += doc.length;
    }
  }
  const selection = { selected, n, totalLength };
  if (key !== undefined) lastSelection.set(index, { key, selection });
  return selection;
}

/** `searchEvents` in vector or hybrid mode (validated by `search.ts`). */
export async function searchHistory(engine: Engine, tenant: string, search: HistorySearch, call: DriverCall): Promise<SearchHit[]> {
  const area = memoryArea(engine);
  const embedder = engine.embedder;
  if (search.mode === "vector" && embedder === null) {
    throw new ContextError("NOT_SUPPORTED", "vector search needs an embedding model; this store has none", { details: { mode: search.mode } });
  }
  const m: CatchUp = { engine, tenant, area, call };
  // The model embeds the query while this thread catches up, selects and ranks by text.
  const embedding = embedTexts(engine, [search.text], call);
  // Awaited below; this only keeps a failure from going unhandled when the catch-up throws first.
  embedding.catch(() => undefined);
  const { index, contexts } = await catchUp(m, search);
  const at = (r: MemoryRecord) => markOf(r) as EventMark;
  const byText = () => ({
    rev: index.rev,
    ranking: rankText({
      index,
      selection: selectHistory(index, search, contexts),
      text: search.text,
      mode: search.mode,
      limit: search.limit,
      minScore: search.minScore,
      // The order of full-text hits: score, newest event, context id, seq descending.
      compare: (a, b) => {
        if (a.score !== b.score) return b.score - a.score;
        const x = at(a.record);
        const y = at(b.record);
        if (x.at !== y.at) return y.at - x.at;
        const ca = a.record.contextId as string;
        const cb = b.record.contextId as string;
        if (ca !== cb) return ca < cb ? -1 : 1;
        return y.seq - x.seq;
      },
    }),
  });
  let part = byText();
  const queryVectors = await embedding;
  // Slots are reused: if another call caught the index up while this one waited, select again.
  if (index.rev !== part.rev) part = byText();
  const ranked = rankWithVector(part.ranking, queryVectors[0] === undefined ? undefined : unit(queryVectors[0]));
  const hits = await Promise.all(
    ranked.map(async (r) => {
      const contextId = r.record.contextId as string;
      const seq = at(r.record).seq;
      let event: EventRecord | undefined;
      try {
        [event] = await engine.run(() => engine.driver.readEvents(tenant, contextId, { afterSeq: seq - 1, beforeSeq: seq + 1, order: "asc", limit: 1 }, call));
      } catch (e) {
        // The context was deleted or expired since the catch-up.
        if (!isContextError(e, "NOT_FOUND")) throw e;
      }
      // The same context id and seq with another text: an event of an earlier context of that id.
      if (event !== undefined && historyText(event.data) !== r.record.text) event = undefined;
      return { id: r.record.id, hit: event === undefined ? undefined : { contextId, event: toContextEvent(contextId, event), score: r.score } };
    }),
  );
  const gone = hits.filter((h) => h.hit === undefined).map((h) => h.id);
  if (gone.length > 0) await removeStale(m, gone);
  return hits.flatMap((h) => (h.hit === undefined ? [] : [h.hit]));
}

/** Checks the `onProgress` of a query. */
export function checkProgress(value: unknown): ((progress: HistorySearchProgress) => void) | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "function") throw invalidInput("onProgress", "must be a function");
  return value as (progress: HistorySearchProgress) => void;
}
