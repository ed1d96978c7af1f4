/**
 * Export and import of contexts as JSON Lines, to back up and to move between stores
 * (embedded or HTTP: only the {@link CoreStore} interface is used).
 *
 * Format (version 1), one JSON object per line:
 * - `{"format":"contextd-export","version":1,"exportedAt":…}` — the header, first line;
 * - per context: `{"type":"context","context":ContextInfo,"baseState":{…}}`, then its events
 *   in order `{"type":"event","contextId","event":ContextEvent}` (a `state`/`restore` event
 *   also carries `"state"`: the full state it produced), its snapshots
 *   `{"type":"snapshot","contextId","snapshot":Snapshot}`, the working-memory blocks of its
 *   scope `{"type":"block","contextId","block":Block}` (current value only), and
 *   `{"type":"end","contextId","events":n,"version":v,"blocks":b}`, which lets a truncated file
 *   be detected. Files from before blocks were exported (no block lines, no `blocks`) import as before.
 *
 * Import replays each context through the public API: created with `baseState`, events
 * appended with their timestamps, metadata and token counts, state events re-applied as
 * state writes, snapshots re-taken at the same point. Sequence numbers and versions come
 * out the same for a history that was never compacted; state and snapshot events get the
 * import time. A fork is exported with the history it shares with its parent (its reads
 * include it), so it imports on its own, with no lineage requirement: the import records its
 * `parentId` and `parentVersion` but shares nothing (`parentSeq` null), and the parent's
 * snapshot events in its history become snapshots of its own.
 *
 * Atomicity: the whole input is parsed and validated, and every context id checked
 * against the target, before anything is written; a malformed line fails with its line
 * number and writes nothing. Each context then takes several calls, so a failure of the
 * store midway is undone by deleting the contexts this import created; a crash of the
 * process midway can leave one partial context, which the next import reports as
 * differing (delete it and import again).
 *
 * Blocks: each block line is checked against its own limit while parsing (`LIMIT_EXCEEDED`
 * naming the line, nothing written), and the target's blocks of every context in the file are
 * read before any write: a block that exists with different content is `ALREADY_EXISTS`, an
 * identical one is left alone, a missing one is written with `putBlock` (`ifVersion: 0`, its
 * `updatedBy` as the actor; it starts at version 1 with no history). The undo of a failed
 * import deletes the blocks it wrote too.
 */
import { ContextError, isContextError } from "../errors.js";
import { canonicalJson, isPlainObject } from "../core/json.js";
import { EXPORT_FORMAT, parseExport, type EventLine, type ImportSource, type ParsedBlock, type ParsedContext } from "./jsonl-parse.js";
import type { Block } from "../core/block-types.js";
import type {
  ContextInfo,
  CoreStore,
  EventInput,
  JsonObject,
  JsonValue,
  ListContextsQuery,
  RestoreTarget,
  StateWriteResult,
} from "../core/types.js";

export { EXPORT_FORMAT, type ImportSource } from "./jsonl-parse.js";

/** Filter of {@link exportContexts}: a list query, or explicit ids. */
export type ExportFilter = Omit<ListContextsQuery, "cursor" | "limit" | "order"> & { ids?: string[] };

const REPLAYED = new Set(["state", "restore", "snapshot"]);

async function* selected(store: CoreStore, filter: ExportFilter): AsyncGenerator<ContextInfo> {
  const { ids, signal, ...query } = filter;
  if (ids !== undefined) {
    for (const id of ids) yield await store.getContext(id, { signal });
    return;
  }
  let cursor: string | undefined;
  do {
    const page = await store.listContexts({ ...query, limit: 1000, cursor, signal });
    yield* page.items;
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
}

const line = (value: unknown) => `${JSON.stringify(value)}\n`;

/** The blocks of a context's scope, or `null` when the store has no working memory. */
async function blocksOf(store: CoreStore, contextId: string, signal: AbortSignal | undefined): Promise<Block[] | null> {
  try {
    return await store.listBlocks({ contextId }, { signal });
  } catch (e) {
    if (isContextError(e, "NOT_SUPPORTED")) return null;
    throw e;
  }
}

/**
 * Exports contexts as JSON Lines (each string is one line, newline included).
 *
 * @example
 * ```ts
 * const out = createWriteStream("backup.jsonl");
 * for await (const l of exportContexts(store, { kind: "chat" })) out.write(l);
 * ```
 */
export async function* exportContexts(store: CoreStore, filter: ExportFilter = {}): AsyncGenerator<string> {
  const { signal } = filter;
  yield line({ format: EXPORT_FORMAT, version: 1, exportedAt: new Date().toISOString(), tenant: store.tenant });
  for await (const context of selected(store, filter)) {
    const current = await store.getState(context.id, { signal });
    const writes = await store.readEvents(context.id, { types: ["state", "restore"], order: "asc", limit: 1, signal });
    const firstWrite = writes.items.find((e) => e.version !== null);
    const baseState =
      firstWrite === undefined ? current.state : (await store.stateAt(context.id, { version: firstWrite.version! - 1 }, { signal })).state;
    yield line({ type: "context", context: { ...context, version: current.version }, baseState });
    // Streamed a page at a time, so a long history is never held in memory.
    let count = 0;
    let cursor: string | undefined;
    do {
      const page = await store.readEvents(context.id, { order: "asc", limit: 1000, cursor, signal });
      for (const event of page.items) {
        count++;
        if ((event.type === "state" || event.type === "restore") && event.version !== null) {
          const { state } = await store.stateAt(context.id, { version: event.version }, { signal });
          yield line({ type: "event", contextId: context.id, event, state });
        } else {
          yield line({ type: "event", contextId: context.id, event });
        }
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    for (const snapshot of await store.listSnapshots(context.id, { signal })) {
      yield line({ type: "snapshot", contextId: context.id, snapshot });
    }
    const blocks = (await blocksOf(store, context.id, signal)) ?? [];
    for (const block of blocks) yield line({ type: "block", contextId: context.id, block });
    yield line({ type: "end", contextId: context.id, events: count, version: current.version, blocks: blocks.length });
  }
}

/** What {@link importContexts} did. */
export interface ImportResult {
  /** Contexts written. */
  imported: string[];
  /** Contexts already in the store, identical: left alone (blocks of theirs missing from the store are still written). */
  unchanged: string[];
  /** Events written. */
  events: number;
  /** Working-memory blocks written (blocks already in the store, identical, are not counted). */
  blocks: number;
}

/** Options of {@link importContexts}. */
export interface ImportOptions {
  signal?: AbortSignal;
}

async function sameAsExisting(store: CoreStore, p: ParsedContext, signal: AbortSignal | undefined): Promise<string | null> {
  let existing: ContextInfo;
  try {
    existing = await store.getContext(p.context.id, { signal });
  } catch (e) {
    if (isContextError(e, "NOT_FOUND")) return null;
    throw e;
  }
  const differences: string[] = [];
  // The source store itself (the exported numbers) or a store this file was imported into (the replayed ones).
  const lastSeq = typeof p.context["lastSeq"] === "number" ? p.context["lastSeq"] : p.events.length;
  if (existing.version !== p.version && existing.version !== p.context.version) {
    differences.push(`version ${existing.version} ≠ ${p.context.version}`);
  }
  if (existing.lastSeq !== p.events.length && existing.lastSeq !== lastSeq) differences.push(`last seq ${existing.lastSeq} ≠ ${lastSeq}`);
  const last = p.events.findLast((e) => e.state !== undefined);
  const expected = last?.state ?? p.baseState;
  const { state } = await store.getState(p.context.id, { signal });
  if (canonicalJson(state) !== canonicalJson(expected as JsonObject)) differences.push("state differs");
  for (const f of ["kind", "userId", "chatId", "agentId", "status"] as const) {
    if (existing[f] !== p.context[f]) differences.push(`${f} ${JSON.stringify(existing[f])} ≠ ${JSON.stringify(p.context[f])}`);
  }
  if (differences.length === 0) {
    // Same shape: compare the histories event by event (type, data, metadata).
    let i = 0;
    let cursor: string | undefined;
    do {
      const page = await store.readEvents(p.context.id, { order: "asc", limit: 1000, cursor, signal });
      for (const e of page.items) {
        const x = p.events[i++]?.event;
        if (x === undefined || x.type !== e.type) {
          differences.push(`event ${e.seq} is ${e.type}, not ${x?.type ?? "absent"}`);
          break;
        }
        if (!REPLAYED.has(e.type) && canonicalJson([e.data, e.metadata]) !== canonicalJson([x.data ?? null, x.metadata] as JsonValue)) {
          differences.push(`event ${e.seq} (${e.type}) differs`);
          break;
        }
      }
      cursor = differences.length === 0 ? (page.nextCursor ?? undefined) : undefined;
    } while (cursor !== undefined);
  }
  return differences.length === 0 ? "same" : differences.join(", ");
}

/**
 * Re-applies a `state`/`restore` event with the operation it recorded (merge, set, remove,
 * replace, restore), so the new event matches the old one; an operation it does not know is
 * applied as a replace. The result must equal the exported state.
 */
async function replayWrite(
  store: CoreStore,
  id: string,
  event: EventLine["event"],
  state: JsonObject,
  signal: AbortSignal | undefined,
): Promise<void> {
  const o = { signal, metadata: event.metadata as JsonObject };
  const d = (isPlainObject(event.data) ? event.data : {}) as Record<string, JsonValue>;
  let result: StateWriteResult;
  if (event.type === "restore") {
    const from = d["restoredFrom"];
    const target: RestoreTarget | undefined =
      isPlainObject(from) && typeof (from as JsonObject)["snapshot"] === "string"
        ? { snapshot: (from as JsonObject)["snapshot"] as string }
        : typeof d["restoredVersion"] === "number"
          ? { version: d["restoredVersion"] }
          : undefined;
    result = target === undefined ? await store.replaceState(id, state, o) : await store.restore(id, target, o);
  } else if (d["op"] === "merge" && isPlainObject(d["patch"])) {
    result = await store.patchState(id, d["patch"] as JsonObject, o);
  } else if (d["op"] === "set" && typeof d["path"] === "string" && d["value"] !== undefined) {
    result = await store.setStateAt(id, d["path"], d["value"], o);
  } else if (d["op"] === "remove" && typeof d["path"] === "string") {
    result = await store.removeStateAt(id, d["path"], o);
  } else {
    result = await store.replaceState(id, state, o);
  }
  if (canonicalJson(result.state) !== canonicalJson(state)) {
    throw new ContextError("INTERNAL", `replaying event ${event.seq} of context ${id} did not give the exported state`, {
      details: { contextId: id, seq: event.seq },
    });
  }
}

async function replay(store: CoreStore, p: ParsedContext, signal: AbortSignal | undefined): Promise<number> {
  const c = p.context;
  await store.createContext(
    {
      id: c.id,
      kind: c.kind,
      userId: c.userId,
      chatId: c.chatId,
      agentId: c.agentId,
      title: c.title,
      metadata: c.metadata as JsonObject,
      state: p.baseState,
      expiresAt: c.expiresAt,
      ...(typeof c.parentId === "string" && typeof c.parentVersion === "number" && { parent: { id: c.parentId, version: c.parentVersion } }),
    },
    { signal },
  );
  let batch: EventInput[] = [];
  const flush = async () => {
    if (batch.length > 0) await store.append(c.id, batch, { signal });
    batch = [];
  };
  for (const { event, state } of p.events) {
    if (!REPLAYED.has(event.type)) {
      batch.push({
        type: event.type,
        data: (event.data ?? null) as EventInput["data"],
        metadata: event.metadata as JsonObject,
        tokens: event.tokens,
        timestamp: event.timestamp,
      });
      if (batch.length >= 5000) await flush();
      continue;
    }
    await flush();
    if (event.type === "snapshot") {
      const { name, label } = (event.data ?? {}) as { name?: unknown; label?: unknown };
      const snap = typeof name === "string" ? p.snapshots.get(name) : undefined;
      await store.createSnapshot(c.id, {
        ...(typeof name === "string" && { name }),
        // A fork's inherited snapshot events are its parent's snapshots: their label is in the event.
        label: snap?.label ?? (typeof label === "string" ? label : null),
        metadata: snap?.metadata ?? (event.metadata as JsonObject),
        signal,
      });
    } else {
      await replayWrite(store, c.id, event, state as JsonObject, signal);
    }
  }
  await flush();
  if (c.status === "archived") await store.archiveContext(c.id, { signal });
  return p.events.length;
}

const sameBlock = (a: Block, b: ParsedBlock): boolean =>
  a.description === b.description &&
  canonicalJson(a.value as JsonValue) === canonicalJson(b.value as JsonValue) &&
  canonicalJson((a.schema ?? null) as JsonValue) === canonicalJson((b.schema ?? null) as JsonValue) &&
  a.limit.chars === b.limit.chars &&
  a.limit.tokens === b.limit.tokens;

/**
 * The blocks of `p` that the store lacks (read before anything is written).
 * @throws `ALREADY_EXISTS` for a block there with different content; `NOT_SUPPORTED` when the store has no blocks
 */
async function blocksToWrite(store: CoreStore, p: ParsedContext, signal: AbortSignal | undefined): Promise<ParsedBlock[]> {
  if (p.blocks.length === 0) return [];
  const id = p.context.id;
  const existing = await blocksOf(store, id, signal);
  if (existing === null) {
    throw new ContextError("NOT_SUPPORTED", `line ${p.blocks[0]!.line}: context ${id} has working-memory blocks and this store has none; nothing was imported`, {
      details: { line: p.blocks[0]!.line, contextId: id },
    });
  }
  const byLabel = new Map(existing.map((b) => [b.label, b]));
  const missing: ParsedBlock[] = [];
  for (const b of p.blocks) {
    const there = byLabel.get(b.label);
    if (there === undefined) missing.push(b);
    else if (!sameBlock(there, b)) {
      throw new ContextError("ALREADY_EXISTS", `line ${b.line}: block ${b.label} of context ${id} exists with different content (version ${there.version}); nothing was imported`, {
        details: { line: b.line, contextId: id, label: b.label, version: there.version },
      });
    }
  }
  return missing;
}

/** Writes one block of the file; a refusal of the store names the line. */
async function writeBlock(store: CoreStore, contextId: string, b: ParsedBlock, signal: AbortSignal | undefined): Promise<Block> {
  try {
    return await store.putBlock(
      { contextId },
      { label: b.label, description: b.description, value: b.value, ...(b.schema !== undefined && { schema: b.schema }), limit: b.limit },
      { ifVersion: 0, signal, ...(b.updatedBy !== undefined && { actor: b.updatedBy }) },
    );
  } catch (e) {
    if (!isContextError(e)) throw e;
    throw new ContextError(e.code, `line ${b.line}: ${e.message}`, { cause: e, details: { ...e.details, line: b.line, contextId } });
  }
}

/**
 * Imports contexts from JSON Lines made by {@link exportContexts}. Re-importing the same
 * input is a no-op: a context already in the store with the same version, event count and
 * state is left alone; one that differs fails the import before anything is written.
 *
 * @throws `INVALID_INPUT` naming the line of a malformed input; `LIMIT_EXCEEDED` naming the line
 *   of a block over its limit; `ALREADY_EXISTS` naming a context or a block that exists with
 *   different content; `NOT_SUPPORTED` for blocks into a store without working memory
 * @example
 * ```ts
 * const r = await importContexts(store, createReadStream("backup.jsonl"));
 * ```
 */
export async function importContexts(store: CoreStore, source: ImportSource, options: ImportOptions = {}): Promise<ImportResult> {
  const { signal } = options;
  const parsed = await parseExport(source);
  const todo: ParsedContext[] = [];
  const blocks: { p: ParsedContext; missing: ParsedBlock[] }[] = [];
  const result: ImportResult = { imported: [], unchanged: [], events: 0, blocks: 0 };
  for (const p of parsed) {
    const verdict = await sameAsExisting(store, p, signal);
    if (verdict === null) todo.push(p);
    else if (verdict === "same") result.unchanged.push(p.context.id);
    else {
      throw new ContextError("ALREADY_EXISTS", `context ${p.context.id} exists with different content (${verdict}); nothing was imported`, {
        details: { contextId: p.context.id, line: p.line, differences: verdict },
      });
    }
    const missing = await blocksToWrite(store, p, signal);
    if (missing.length > 0) blocks.push({ p, missing });
  }
  const written: Block[] = [];
  try {
    for (const p of todo) {
      result.imported.push(p.context.id);
      result.events += await replay(store, p, signal);
    }
    for (const { p, missing } of blocks) {
      for (const b of missing) written.push(await writeBlock(store, p.context.id, b, signal));
    }
    result.blocks = written.length;
  } catch (e) {
    // Undo: delete what this import created, so nothing is half-imported.
    for (const b of written) await store.deleteBlock(b.scope, b.label, { ifVersion: b.version }).catch(() => undefined);
    for (const id of result.imported) await store.deleteContext(id).catch(() => undefined);
    throw e;
  }
  return result;
}
