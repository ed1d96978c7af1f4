/**
 * Long-term memory operations of the embedded store: add (atomic, idempotent per scope, with
 * optional merging of near-duplicates), get, update (compare-and-set), delete, list, history,
 * purge and reindex. Search is in `memory-search.ts`. The driver stores (`MemoryArea`); the
 * core validates, embeds and keeps the in-process index (`memory-index.ts`).
 */
import { ContextError, invalidInput } from "../errors.js";
import type { DriverCall } from "../drivers/driver.js";
import { expiredAt } from "../drivers/memory-area.js";
import type { MemoryAdd, MemoryArea, MemoryRecord, MemoryVersionRecord } from "../drivers/memory-area.js";
import { notSupported, type Engine } from "./engine.js";
import { newId } from "./ids.js";
import {
  checkMemoryInput,
  checkSelection,
  isInternalMemory,
  mergeMemoryUpdate,
  MAX_MEMORY_BATCH,
  SELECTION_FIELDS,
  textHash,
  type CheckedMemory,
} from "./memory-input.js";
import type { IndexedMemory, MemoryIndex } from "./memory-index.js";
import type {
  AddedMemory,
  AddMemoriesOptions,
  GetMemoryOptions,
  ListMemoriesQuery,
  Memory,
  MemoryInput,
  MemoryVersion,
  MemoryWriteOptions,
  PurgeMemoriesOptions,
  ReindexMemoriesOptions,
  ReindexResult,
} from "./memory-types.js";
import type { Page } from "./types.js";
import { checkInt, checkOptions, checkText, decodeCursor, encodeCursor, iso } from "./validate.js";

/** The public form of a stored memory. */
export function toMemory(r: MemoryRecord, dimensionsOf: (model: string) => number): Memory {
  return {
    id: r.id,
    tenant: r.tenant,
    scope: { userId: r.userId, agentId: r.agentId, contextId: r.contextId, namespace: r.namespace },
    text: r.text,
    value: r.value,
    metadata: r.metadata,
    tags: r.tags,
    importance: r.importance,
    source: r.sourceContextId === null ? null : { contextId: r.sourceContextId, seq: r.sourceSeq },
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
    expiresAt: r.expiresAt === null ? null : iso(r.expiresAt),
    ttlMs: r.ttlMs,
    version: r.version,
    embedding: r.model === null ? null : { model: r.model, dimensions: r.vector?.length ?? dimensionsOf(r.model) },
  };
}

/** What every memory operation needs: the engine, the tenant, the area and the call. */
export interface MemoryScopeOfCall {
  engine: Engine;
  tenant: string;
  area: MemoryArea;
  call: DriverCall;
}

/** The memory area of the store's driver, or `NOT_SUPPORTED`. */
export function memoryArea(engine: Engine): MemoryArea {
  const area = engine.driver.memory;
  if (area === undefined) throw notSupported(engine, "long-term memory");
  return area;
}

/** Whether a memory has expired at `now`. */
export const expired = (r: { expiresAt: number | null }, now: number): boolean => expiredAt(r.expiresAt, now);

/** The index of the call's tenant, brought up to date. */
export async function currentIndex(m: MemoryScopeOfCall): Promise<MemoryIndex> {
  const index = m.engine.memoryIndex(m.tenant);
  await index.catchUp((afterRev, limit) => m.engine.run(() => m.area.changes(m.tenant, afterRev, limit, m.call)));
  return index;
}

/** A memory's dimensions when its vector is not at hand (it is the store's model). */
export function dimensionsOf(engine: Engine): (model: string) => number {
  return (model) => (engine.embedder !== null && engine.embedder.model === model ? engine.embedder.dimensions : 0);
}

/** Embeds `texts` with the store's model; `EMBEDDING_FAILED` keeps its cause, anything else becomes it. */
export async function embedTexts(engine: Engine, texts: string[], call: DriverCall): Promise<Float32Array[]> {
  const embedder = engine.embedder;
  if (embedder === null || texts.length === 0) return [];
  let vectors: Float32Array[];
  try {
    vectors = await embedder.embed(texts, { signal: call.signal });
  } catch (e) {
    if (e instanceof ContextError) throw e;
    throw new ContextError("EMBEDDING_FAILED", `the embedding model ${embedder.model} failed: ${(e as Error)?.message ?? String(e)}`, {
      cause: e,
      details: { model: embedder.model },
    });
  }
  if (vectors.length !== texts.length || vectors.some((v) => v.length !== embedder.dimensions || v.some((x) => !Number.isFinite(x)))) {
    throw new ContextError("EMBEDDING_FAILED", `the embedding model ${embedder.model} returned malformed vectors`, {
      details: { model: embedder.model, expected: texts.length, dimensions: embedder.dimensions },
    });
  }
  return vectors;
}

const ADD_OPTIONS = ["merge", "actor", "signal"] as const;

/** `store.addMemories`: validates, embeds what needs it, merges near-duplicates if asked, adds the rest atomically. */
export async function addMemories(
  engine: Engine,
  tenant: string,
  input: MemoryInput | MemoryInput[],
  options: AddMemoriesOptions | undefined,
): Promise<AddedMemory[]> {
  const o = checkOptions<AddMemoriesOptions>(options, "options", ADD_OPTIONS);
  const list = Array.isArray(input) ? input : [input];
  if (list.length === 0) throw invalidInput("memories", "must not be empty");
  if (list.length > MAX_MEMORY_BATCH) throw invalidInput("memories", `has ${list.length} memories; at most ${MAX_MEMORY_BATCH}`);
  const threshold =
    o.merge === undefined ? undefined : checkMergeThreshold(checkOptions<{ threshold: number }>(o.merge, "options.merge", ["threshold"]).threshold);
  const actor = o.actor === undefined ? null : checkText(o.actor, "options.actor");
  const area = memoryArea(engine);
  const call = engine.begin(o);
  const ctx = { limits: engine.limits, now: call.now, dimensions: engine.embedder?.dimensions ?? null, newId: () => newId(call.now) };
  const checked: CheckedMemory[] = list.map((m, i) => checkMemoryInput(m, Array.isArray(input) ? `memories[${i}]` : "memory", ctx));
  if (threshold !== undefined && engine.embedder === null) throw invalidInput("options.merge", "merging needs an embedding model");
  const toEmbed = checked.filter((c) => c.vector === null);
  const vectors = await embedTexts(engine, toEmbed.map((c) => c.add.text), call);
  toEmbed.forEach((c, i) => (c.vector = vectors[i] ?? null));
  for (const c of checked) {
    if (c.vector !== null && engine.embedder !== null) {
      c.add.model = engine.embedder.model;
      c.add.vector = c.vector;
    }
  }
  const m: MemoryScopeOfCall = { engine, tenant, area, call };
  const dims = dimensionsOf(engine);
  const results: (AddedMemory | undefined)[] = new Array(checked.length);
  let inserts: { at: number; add: MemoryAdd }[] = checked.map((c, at) => ({ at, add: c.add }));
  if (threshold !== undefined) {
    inserts = [];
    const index = await currentIndex(m);
    for (const [at, c] of checked.entries()) {
      const target = nearestInScope(index, c, threshold, call.now);
      if (target === undefined || textHash(target.text) === c.add.textHash) {
        // The same text is not a merge: the add finds it and returns it as it is.
        inserts.push({ at, add: c.add });
        continue;
      }
      const merged = await engine.run(() => area.update(tenant, target.id, { content: mergedContent(target, c.add), op: "merge", expectedVersion: target.version, actor }, call));
      results[at] = { memory: toMemory(merged, dims), outcome: "merged" };
    }
  }
  if (inserts.length > 0) {
    const added = await engine.run(() => area.add(tenant, inserts.map((i) => i.add), actor, call));
    added.forEach((a, i) => {
      results[inserts[i]?.at as number] = { memory: toMemory(a.record, dims), outcome: a.created ? "created" : "existing" };
    });
  }
  return results as AddedMemory[];
}

function checkMergeThreshold(value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > 1) {
    throw invalidInput("options.merge.threshold", `must be a number from 0 to 1, got ${String(value)}`);
  }
  return value;
}

/** The most similar live memory of exactly the same scope at or above `threshold`, if any. */
function nearestInScope(index: MemoryIndex, c: CheckedMemory, threshold: number, now: number): MemoryRecord | undefined {
  if (c.vector === null || index.vectors === undefined) return undefined;
  const a = c.add;
  const q = unit(c.vector);
  const [best] = index.vectors.search(q, 1, (slot) => {
    const r = index.at(slot)?.record;
    return (
      r !== undefined &&
      !expired(r, now) &&
      r.userId === a.userId &&
      r.agentId === a.agentId &&
      r.contextId === a.contextId &&
      r.namespace.length === a.namespace.length &&
      r.namespace.every((n, i) => n === a.namespace[i])
    );
  });
  if (best === undefined || best.similarity < threshold) return undefined;
  return index.at(best.slot)?.record;
}

/** A merge keeps the memory and takes the new text: metadata merged (new wins), tags united, importance the higher. */
function mergedContent(target: MemoryRecord, add: MemoryAdd) {
  const metadata = { ...target.metadata, ...(JSON.parse(add.metadataJson) as object) };
  return {
    text: add.text,
    textHash: add.textHash,
    valueJson: add.valueJson === "null" ? JSON.stringify(target.value) : add.valueJson,
    metadataJson: JSON.stringify(metadata),
    tags: [...new Set([...target.tags, ...add.tags])],
    importance: Math.max(target.importance, add.importance),
    expiresAt: add.expiresAt ?? target.expiresAt,
    ttlMs: add.ttlMs ?? target.ttlMs,
    model: add.model,
    vector: add.vector,
  };
}

/** A copy of `v` scaled to unit length. */
export function unit(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  const inv = n > 0 ? 1 / Math.sqrt(n) : 0;
  return v.map((x) => x * inv);
}

/** `store.getMemory`: a live, unexpired memory; with `refresh`, its expiry moves to now + ttlMs. */
export async function getMemory(engine: Engine, tenant: string, id: string, options: GetMemoryOptions | undefined): Promise<Memory> {
  const o = checkOptions<GetMemoryOptions>(options, "options", ["refresh", "signal"]);
  if (o.refresh !== undefined && typeof o.refresh !== "boolean") throw invalidInput("options.refresh", "must be a boolean");
  const area = memoryArea(engine);
  const call = engine.begin(o);
  let r = await engine.run(() => area.get(tenant, id, call));
  if (r === null || expired(r, call.now) || isInternalMemory(r)) throw memoryNotFound(id);
  if (o.refresh === true && r.ttlMs !== null) {
    const rec = r;
    r = (await engine.run(() => area.refresh(tenant, id, call.now + (rec.ttlMs as number), call))) ?? r;
  }
  return toMemory(r, dimensionsOf(engine));
}

/** `NOT_FOUND` for a memory. */
export function memoryNotFound(id: string): ContextError {
  return new ContextError("NOT_FOUND", `memory ${id} does not exist`, { details: { memoryId: id } });
}

const WRITE_OPTIONS = ["expectedVersion", "actor", "signal"] as const;

function checkWrite(options: MemoryWriteOptions | undefined): { expectedVersion?: number; actor: string | null; o: MemoryWriteOptions } {
  const o = checkOptions<MemoryWriteOptions>(options, "options", WRITE_OPTIONS);
  return {
    o,
    actor: o.actor === undefined ? null : checkText(o.actor, "options.actor"),
    ...(o.expectedVersion !== undefined && { expectedVersion: checkInt(o.expectedVersion, "options.expectedVersion", 1) }),
  };
}

/** `store.updateMemory`: replaces the given fields, compare-and-set on the version; a new text is embedded again. */
export async function updateMemory(
  engine: Engine,
  tenant: string,
  id: string,
  update: unknown,
  options: MemoryWriteOptions | undefined,
): Promise<Memory> {
  const { o, actor, expectedVersion } = checkWrite(options);
  const area = memoryArea(engine);
  const call = engine.begin(o);
  const current = await engine.run(() => area.get(tenant, id, call));
  if (current === null || expired(current, call.now) || isInternalMemory(current)) throw memoryNotFound(id);
  const { content, textChanged } = mergeMemoryUpdate(current, update, { limits: engine.limits, now: call.now });
  if (textChanged && engine.embedder !== null) {
    const [vector] = await embedTexts(engine, [content.text], call);
    content.model = engine.embedder.model;
    content.vector = vector ?? null;
  }
  // Without an expectedVersion the write still must not overwrite a change made while we embedded.
  const guard = expectedVersion ?? current.version;
  const r = await engine.run(() => area.update(tenant, id, { content, op: "update", expectedVersion: guard, actor }, call));
  return toMemory(r, dimensionsOf(engine));
}

/** `store.deleteMemory`. @throws `NOT_FOUND`, `VERSION_CONFLICT` */
export async function deleteMemory(engine: Engine, tenant: string, id: string, options: MemoryWriteOptions | undefined): Promise<void> {
  const { o, actor, expectedVersion } = checkWrite(options);
  const area = memoryArea(engine);
  const call = engine.begin(o);
  const guard = expectedVersion === undefined ? { actor } : { expectedVersion, actor };
  if (!(await engine.run(() => area.delete(tenant, id, guard, call)))) throw memoryNotFound(id);
}

const LIST_FIELDS = [...SELECTION_FIELDS, "order", "limit", "cursor", "signal"] as const;

/** `store.listMemories`: a page of the selected live memories, by creation time then id. */
export async function listMemories(engine: Engine, tenant: string, query: ListMemoriesQuery | undefined): Promise<Page<Memory>> {
  const q = checkOptions<ListMemoriesQuery>(query, "query", LIST_FIELDS);
  const selection = checkSelection(q);
  const order = q.order ?? "desc";
  if (order !== "asc" && order !== "desc") throw invalidInput("order", 'must be "asc" or "desc"');
  const limit = q.limit === undefined ? 100 : checkInt(q.limit, "limit", 1, 1000);
  const after = q.cursor === undefined ? undefined : parseListCursor(decodeCursor(q.cursor));
  const area = memoryArea(engine);
  const call = engine.begin(q);
  const index = await currentIndex({ engine, tenant, area, call });
  const sign = order === "asc" ? 1 : -1;
  const cmp = (a: MemoryRecord, b: { createdAt: number; id: string }) =>
    sign * (a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const rows: MemoryRecord[] = [];
  const { selected } = index.select(selection.scope, call.now, { accept: selection.rest });
  for (let slot = 0; slot < selected.length; slot++) {
    if (selected[slot] !== 1) continue;
    const r = (index.at(slot) as IndexedMemory).record;
    if (after === undefined || cmp(r, after) > 0) rows.push(r);
  }
  rows.sort(cmp);
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  const dims = dimensionsOf(engine);
  return {
    items: items.map((r) => toMemory(r, dims)),
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(`${last.createdAt}:${last.id}`) : null,
  };
}

function parseListCursor(text: string): { createdAt: number; id: string } {
  const at = text.indexOf(":");
  const createdAt = Number(text.slice(0, at));
  if (at < 1 || !Number.isSafeInteger(createdAt)) throw invalidInput("cursor", "is not a cursor of listMemories");
  return { createdAt, id: text.slice(at + 1) };
}

/** `store.memoryHistory`: every version, oldest first. @throws `NOT_FOUND` when it never existed (or was purged) */
export async function memoryHistory(engine: Engine, tenant: string, id: string, options: { signal?: AbortSignal } | undefined): Promise<MemoryVersion[]> {
  const o = checkOptions<{ signal?: AbortSignal }>(options, "options", ["signal"]);
  const area = memoryArea(engine);
  const call = engine.begin(o);
  const rows = await engine.run(() => area.history(tenant, id, call));
  if (rows.length === 0) throw memoryNotFound(id);
  return rows.map(toVersion);
}

function toVersion(v: MemoryVersionRecord): MemoryVersion {
  return { ...v, expiresAt: v.expiresAt === null ? null : iso(v.expiresAt), at: iso(v.at) };
}

/** `store.purgeMemories`: expired memories (or every memory of a scope), with their history, for good. */
export async function purgeMemories(engine: Engine, tenant: string, options: PurgeMemoriesOptions | undefined): Promise<number> {
  const o = checkOptions<PurgeMemoriesOptions>(options, "options", ["scope", "signal"]);
  const selection = o.scope === undefined ? undefined : checkSelection({ scope: o.scope });
  const area = memoryArea(engine);
  const call = engine.begin(o);
  const index = await currentIndex({ engine, tenant, area, call });
  const ids: string[] = [];
  for (const d of index.all()) {
    if (isInternalMemory(d.record)) continue;
    if (selection === undefined ? expired(d.record, call.now) : selection.matches(d.record)) ids.push(d.record.id);
  }
  let purged = 0;
  for (let i = 0; i < ids.length; i += MAX_MEMORY_BATCH) {
    const batch = ids.slice(i, i + MAX_MEMORY_BATCH);
    purged += await engine.run(() => area.purge(tenant, batch, call));
  }
  return purged;
}

/** `store.reindexMemories`: embeds every memory without a vector of the store's model (or `limit` of them), in committed batches. */
export async function reindexMemories(engine: Engine, tenant: string, options: ReindexMemoriesOptions | undefined): Promise<ReindexResult> {
  const o = checkOptions<ReindexMemoriesOptions>(options, "options", ["batchSize", "limit", "onProgress", "signal"]);
  const batchSize = o.batchSize === undefined ? 32 : checkInt(o.batchSize, "options.batchSize", 1, 1000);
  const limit = o.limit === undefined ? Number.MAX_SAFE_INTEGER : checkInt(o.limit, "options.limit", 1);
  if (o.onProgress !== undefined && typeof o.onProgress !== "function") throw invalidInput("options.onProgress", "must be a function");
  const embedder = engine.embedder;
  if (embedder === null) throw invalidInput("embedder", "this store has no embedding model to reindex with");
  const area = memoryArea(engine);
  const call = engine.begin(o);
  const index = await currentIndex({ engine, tenant, area, call });
  // The history's own memories are embedded again by the next history search that needs them.
  const missing = [...index.all()].filter((d) => !index.hasVector(d.slot) && !isInternalMemory(d.record)).map((d) => d.record);
  const todo = missing.slice(0, limit);
  let done = 0;
  for (let i = 0; i < todo.length; i += batchSize) {
    const batch = todo.slice(i, i + batchSize);
    const vectors = await embedTexts(engine, batch.map((r) => r.text), call);
    for (const [j, r] of batch.entries()) {
      const v = vectors[j];
      // A memory changed meanwhile keeps its own (newer) vector: nothing is lost by skipping it.
      if (v !== undefined) await engine.run(() => area.setVector(tenant, r.id, r.version, embedder.model, v, call));
    }
    done += batch.length;
    o.onProgress?.({ done, total: todo.length });
  }
  return { reindexed: done, remaining: missing.length - done };
}
