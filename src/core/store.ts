/**
 * The embedded {@link CoreStore}: validates input, computes states, and hands atomic
 * mutations to a {@link Driver}. `createCoreStore(driver)` opens the driver first; users get
 * it wrapped by the agent layer (`createStore` / `openStore`).
 */
import { ContextError, contextNotFound, invalidInput } from "../errors.js";
import type { Driver, DriverCall } from "../drivers/driver.js";
import { Engine, requireContext, toContextEvent, toContextInfo, type StoreOptions } from "./engine.js";
import { currentContext, deactivate, setDefaultContext, switchContext } from "./active-context.js";
import { createSnapshot, getSnapshot, listSnapshots } from "./snapshots.js";
import { checkStateSchema, getSchema, listSchemas, setSchema } from "./state-schemas.js";
import { STATE_WRITE_OPTIONS, WRITE_OPTIONS, mergeOp, parseWriteGuards, replaceOp, setOp, writeState } from "./state-writes.js";
import { CREATE_FIELDS, checkParent, listContexts, newRecord, parseContextPatch, updateContext } from "./contexts.js";
import { encodeJsonObject, formatPointer, parsePath } from "./json.js";
import { acquireLease, releaseLease, renewLease, toLease } from "./leases.js";
import { compactHistory, diffVersions, resolveTarget, stateAt } from "./recovery.js";
import {
  checkId,
  checkInt,
  checkOptions,
  checkText,
} from "./validate.js";
import { watchContext } from "./watch.js";
import { parseEvents } from "./event-input.js";
import { withCommitted } from "./committed.js";
import { countEvents, readEventPage } from "./history.js";
import { searchEvents } from "./search.js";
import {
  addMemories,
  deleteMemory,
  getMemory,
  listMemories,
  memoryHistory,
  purgeMemories,
  reindexMemories,
  updateMemory,
} from "./memories.js";
import { searchMemories } from "./memory-search.js";
import { blockHistory, deleteBlock, editBlock, getBlock, listBlocks, putBlock } from "./blocks.js";
import type { Block, BlockEdit, BlockHistoryOptions, BlockInput, BlockScope, BlockVersion, BlockWriteOptions } from "./block-types.js";
import type {
  AddedMemory,
  AddMemoriesOptions,
  GetMemoryOptions,
  ListMemoriesQuery,
  Memory,
  MemoryHit,
  MemoryInput,
  MemorySearchQuery,
  MemoryUpdate,
  MemoryVersion,
  MemoryWriteOptions,
  PurgeMemoriesOptions,
  ReindexMemoriesOptions,
  ReindexResult,
} from "./memory-types.js";
import type {
  AcquireLeaseOptions,
  CallOptions,
  CompactResult,
  ContextEvent,
  ContextInfo,
  CoreStore,
  CreateContextInput,
  CreateSnapshotInput,
  EventInput,
  EventQuery,
  ForkInput,
  JsonObject,
  JsonPatchOperation,
  JsonValue,
  Lease,
  LeaseRef,
  ListContextsQuery,
  Page,
  RestoreTarget,
  SearchHit,
  SearchQuery,
  Snapshot,
  StateRecord,
  StateSchema,
  StatePath,
  StateWriteOptions,
  StateSelector,
  StateWriteResult,
  StoreCapabilities,
  StoreHealth,
  UpdateContextInput,
  WatchOptions,
  WriteOptions,
} from "./types.js";

const CALL = ["signal"] as const;

/**
 * Opens `driver` and returns the engine on it, without the agent layer (most users want
 * `createStore`, which adds handles, tasks and usage).
 * @throws what `driver.open()` throws (`DRIVER_UNAVAILABLE`, `CORRUPT`, `STORE_INCOMPATIBLE`)
 * @example
 * ```ts
 * const core = await createCoreStore(inMemoryDriver());
 * const ctx = await core.createContext({ kind: "chat", state: { turns: 0 } });
 * ```
 */
export async function createCoreStore(driver: Driver, options: StoreOptions = {}): Promise<CoreStore> {
  const tenant = checkId(options.tenant ?? "default", "tenant");
  for (const area of ["search", "memory", "blocks"] as const) {
    if (driver.capabilities[area] !== (driver[area] !== undefined)) {
      throw new ContextError("INVALID_INPUT", `driver ${driver.name}: capabilities.${area} must be true exactly when it has a ${area} area`, {
        details: { driver: driver.name, field: `capabilities.${area}` },
      });
    }
  }
  try {
    await driver.open();
  } catch (e) {
    await driver.close().catch(() => undefined);
    throw e;
  }
  return new EmbeddedStore(new Engine(driver, options), tenant);
}

/** The embedded store's view of one tenant. */
class EmbeddedStore implements CoreStore {
  readonly tenant: string;
  readonly #e: Engine;

  constructor(engine: Engine, tenant: string) {
    this.#e = engine;
    this.tenant = tenant;
  }

  /** Validates plain call options (only `signal`), enters the engine and returns the driver call. */
  #begin(options: CallOptions | undefined): DriverCall {
    return this.#e.begin(checkOptions<CallOptions>(options, "options", CALL));
  }

  withTenant(tenant: string): CoreStore {
    return new EmbeddedStore(this.#e, checkId(tenant, "tenant"));
  }

  // ── contexts ──────────────────────────────────────────────────────────────

  async createContext(input: CreateContextInput = {}, options?: CallOptions): Promise<ContextInfo> {
    const o = checkOptions<CallOptions>(options, "options", CALL);
    const i = checkOptions<CreateContextInput>(input, "input", CREATE_FIELDS);
    const call = this.#e.begin(o);
    const parent = checkParent(i.parent);
    const record = newRecord(this.#e, this.tenant, i, call.now, parent?.id ?? null, parent?.version ?? null);
    const stateJson = encodeJsonObject(i.state === undefined ? {} : i.state, "state", this.#e.limits.maxStateChars);
    await checkStateSchema(this.#e, this.tenant, call, record.kind, JSON.parse(stateJson) as JsonObject);
    const r = await this.#e.run(() => this.#e.driver.insertContext(record, stateJson, [], call));
    return toContextInfo(r.record);
  }

  async getContext(id: string, options?: CallOptions): Promise<ContextInfo> {
    const o = checkOptions<CallOptions>(options, "options", CALL);
    checkId(id, "id");
    const call = this.#e.begin(o);
    const r = await this.#e.run(() => this.#e.driver.getContext(this.tenant, id, call));
    if (r === null) throw contextNotFound(id);
    return toContextInfo(r);
  }

  async listContexts(query: ListContextsQuery = {}): Promise<Page<ContextInfo>> {
    return listContexts(this.#e, this.tenant, query);
  }

  async updateContext(id: string, input: UpdateContextInput, options?: CallOptions): Promise<ContextInfo> {
    checkId(id, "id");
    const patch = parseContextPatch(this.#e, input);
    return updateContext(this.#e, this.tenant, this.#begin(options), id, patch);
  }

  async archiveContext(id: string, options?: CallOptions): Promise<ContextInfo> {
    return this.updateContext(id, { status: "archived" }, options);
  }

  async deleteContext(id: string, options?: CallOptions): Promise<void> {
    const o = checkOptions<CallOptions>(options, "options", CALL);
    checkId(id, "id");
    const call = this.#e.begin(o);
    if (!(await this.#e.run(() => this.#e.driver.deleteContext(this.tenant, id, call)))) throw contextNotFound(id);
  }

  // ── state ─────────────────────────────────────────────────────────────────

  async getState(id: string, options?: CallOptions): Promise<StateRecord> {
    const o = checkOptions<CallOptions>(options, "options", CALL);
    checkId(id, "id");
    const call = this.#e.begin(o);
    const d = this.#e.driver;
    let current: StateRecord | null;
    try {
      // The hottest read: the driver awaited here, not through Engine.run (one async frame less).
      if (d.readState !== undefined) current = await d.readState(this.tenant, id, call);
      else {
        const head = await d.readHead(this.tenant, id, call);
        current = head === null ? null : { state: head.state, version: head.record.version };
      }
    } catch (e) {
      throw this.#e.driverError(e);
    }
    if (current === null) throw contextNotFound(id);
    return current;
  }

  async replaceState(id: string, state: JsonObject, options?: StateWriteOptions): Promise<StateWriteResult> {
    return writeState(this.#e, this.tenant, id, replaceOp(this.#e, state), options, "state");
  }

  async patchState(id: string, patch: JsonObject, options?: StateWriteOptions): Promise<StateWriteResult> {
    return writeState(this.#e, this.tenant, id, mergeOp(this.#e, patch), options, "state");
  }

  async setStateAt(id: string, path: StatePath, value: JsonValue, options?: StateWriteOptions): Promise<StateWriteResult> {
    const segments = parsePath(path);
    return writeState(this.#e, this.tenant, id, setOp(this.#e, formatPointer(segments), segments.length, value), options, "state");
  }

  async removeStateAt(id: string, path: StatePath, options?: StateWriteOptions): Promise<StateWriteResult> {
    return writeState(this.#e, this.tenant, id, { op: { op: "remove", path: formatPointer(parsePath(path)) } }, options, "state");
  }

  async stateAt(id: string, selector: StateSelector, options?: CallOptions): Promise<StateRecord> {
    const o = checkOptions<CallOptions>(options, "options", CALL);
    checkId(id, "id");
    return stateAt(this.#e, this.tenant, this.#e.begin(o), id, selector);
  }

  async diff(id: string, from: number, to: number, options?: CallOptions): Promise<JsonPatchOperation[]> {
    const o = checkOptions<CallOptions>(options, "options", CALL);
    checkId(id, "id");
    return diffVersions(this.#e, this.tenant, this.#e.begin(o), id, from, to);
  }

  // ── history ───────────────────────────────────────────────────────────────

  async append(id: string, events: EventInput | EventInput[], options?: WriteOptions): Promise<ContextEvent[]> {
    checkId(id, "id");
    const { o, mutation } = parseWriteGuards(this.#e, options, WRITE_OPTIONS);
    if (o.metadata !== undefined) throw invalidInput("options.metadata", "give metadata on each event instead");
    const now = this.#e.now();
    const records = parseEvents(events, now, this.#e.limits, this.#e.tokenCounter);
    this.#e.enter(o);
    const call: DriverCall = { now, signal: o.signal };
    const commit = { events: records, expectedVersion: mutation.expectedVersion, fencingToken: mutation.fencingToken }; // one shape: see writeState
    let r: Awaited<ReturnType<Driver["commit"]>>;
    try {
      // The driver awaited here, not through Engine.run (one async frame less per append).
      r = await this.#e.driver.commit(this.tenant, id, commit, call);
    } catch (e) {
      throw this.#e.driverError(e);
    }
    return withCommitted(r.events.map((ev) => toContextEvent(id, ev)), r.record);
  }

  async readEvents(id: string, query?: EventQuery): Promise<Page<ContextEvent>> {
    checkId(id, "id");
    return readEventPage(this.#e, this.tenant, id, query);
  }

  async countEvents(id: string, query?: Omit<EventQuery, "limit" | "cursor" | "order">): Promise<number> {
    checkId(id, "id");
    return countEvents(this.#e, this.tenant, id, query);
  }

  async lastEvents(id: string, n: number, query?: Pick<EventQuery, "types" | "signal">): Promise<ContextEvent[]> {
    checkId(id, "id");
    const count = checkInt(n, "n", 0, 10_000);
    const o = checkOptions<EventQuery>(query, "query", ["types", "signal"]);
    if (count === 0) {
      this.#e.enter(o);
      return [];
    }
    const page = await this.readEvents(id, { ...o, order: "desc", limit: count });
    return page.items.reverse();
  }

  async searchEvents(query: SearchQuery): Promise<SearchHit[]> {
    return searchEvents(this.#e, this.tenant, query);
  }

  // ── snapshots ─────────────────────────────────────────────────────────────

  async createSnapshot(id: string, input?: CreateSnapshotInput): Promise<Snapshot> {
    checkId(id, "id");
    return createSnapshot(this.#e, this.tenant, id, input);
  }

  async listSnapshots(id: string, options?: CallOptions): Promise<Snapshot[]> {
    checkId(id, "id");
    return listSnapshots(this.#e, this.tenant, this.#begin(options), id);
  }

  async getSnapshot(id: string, name: string, options?: CallOptions): Promise<Snapshot> {
    checkId(id, "id");
    checkId(name, "name");
    return getSnapshot(this.#e, this.tenant, this.#begin(options), id, name);
  }

  async restore(id: string, target: RestoreTarget, options?: StateWriteOptions): Promise<StateWriteResult> {
    checkId(id, "id");
    parseWriteGuards(this.#e, options, STATE_WRITE_OPTIONS);
    const t = await resolveTarget(this.#e, this.tenant, this.#e.begin(options), id, target);
    const extra = { restoredFrom: t.from, restoredVersion: t.version };
    return writeState(this.#e, this.tenant, id, { op: { op: "replace", value: t.state }, extra }, options, "restore");
  }

  async fork(id: string, input: ForkInput = {}): Promise<ContextInfo> {
    checkId(id, "id");
    const i = checkOptions<ForkInput & Record<string, unknown>>(input, "input", [
      ...CREATE_FIELDS.filter((f) => f !== "state" && f !== "parent"),
      "snapshot", "version", "before", "at", "signal",
    ]);
    const { snapshot, version, before, at, signal, ...create } = i;
    const call = this.#e.begin({ ...(signal !== undefined && { signal }) });
    const now = call.now;
    const source = await this.#e.run(() => this.#e.driver.readHead(this.tenant, id, call));
    if (source === null) throw contextNotFound(id);
    const targetGiven = [snapshot, version, before, at].some((v) => v !== undefined);
    const from = targetGiven
      ? await resolveTarget(this.#e, this.tenant, call, id, { snapshot, version, before, at } as unknown as RestoreTarget)
      : { state: source.state, version: source.record.version, seq: source.record.lastSeq };
    const s = source.record;
    const record = newRecord(this.#e, this.tenant, 
      {
        kind: s.kind,
        userId: s.userId,
        chatId: s.chatId,
        agentId: s.agentId,
        title: s.title,
        metadata: s.metadata,
        ...(create as Partial<CreateContextInput>),
      },
      now,
      id,
      from.version,
    );
    // The fork shares the parent's history up to the fork point and continues its numbering:
    // its own events come after `parentSeq`, its own versions after the version it forked at.
    record.version = from.version;
    record.parentSeq = from.seq ?? source.record.lastSeq;
    record.lastSeq = record.parentSeq;
    const stateJson = JSON.stringify(from.state);
    await checkStateSchema(this.#e, this.tenant, call, record.kind, from.state);
    const r = await this.#e.run(() => this.#e.driver.insertContext(record, stateJson, [], call));
    return toContextInfo(r.record);
  }

  // ── active context adapter ────────────────────────────────────────────────

  async activate(holder: string, contextId: string, options?: CallOptions): Promise<void> {
    await this.switchContext(holder, contextId, options);
  }

  async deactivate(holder: string, options?: CallOptions): Promise<string | null> {
    const h = checkText(holder, "holder");
    return deactivate(this.#e, this.tenant, this.#begin(options), h);
  }

  async switchContext(holder: string, contextId: string, options?: CallOptions): Promise<string | null> {
    const h = checkText(holder, "holder");
    checkId(contextId, "contextId");
    return switchContext(this.#e, this.tenant, this.#begin(options), h, contextId);
  }

  async currentContext(holder: string, options?: CallOptions): Promise<ContextInfo | null> {
    const h = checkText(holder, "holder");
    return currentContext(this.#e, this.tenant, this.#begin(options), h);
  }

  async setDefaultContext(holder: string, contextId: string | null, options?: CallOptions): Promise<void> {
    const h = checkText(holder, "holder");
    if (contextId !== null) checkId(contextId, "contextId");
    await setDefaultContext(this.#e, this.tenant, this.#begin(options), h, contextId);
  }

  // ── schemas ───────────────────────────────────────────────────────────────

  async setSchema(kind: string, schema: JsonObject, options?: CallOptions): Promise<StateSchema> {
    checkId(kind, "kind");
    return setSchema(this.#e, this.tenant, this.#begin(options), kind, schema);
  }

  async getSchema(kind: string, options?: CallOptions): Promise<StateSchema | null> {
    checkId(kind, "kind");
    return getSchema(this.#e, this.tenant, this.#begin(options), kind);
  }

  async listSchemas(options?: CallOptions): Promise<StateSchema[]> {
    return listSchemas(this.#e, this.tenant, this.#begin(options));
  }

  async deleteSchema(kind: string, options?: CallOptions): Promise<boolean> {
    checkId(kind, "kind");
    const call = this.#begin(options);
    return this.#e.run(() => this.#e.driver.deleteSchema(this.tenant, kind, call));
  }

  // ── leases ────────────────────────────────────────────────────────────────

  async acquireLease(id: string, options: AcquireLeaseOptions): Promise<Lease> {
    checkId(id, "id");
    this.#e.enter(options as CallOptions | undefined);
    return acquireLease(this.#e, this.tenant, id, options);
  }

  async renewLease(id: string, lease: LeaseRef): Promise<Lease> {
    checkId(id, "id");
    return renewLease(this.#e, this.tenant, id, lease);
  }

  async releaseLease(id: string, lease: LeaseRef): Promise<void> {
    checkId(id, "id");
    return releaseLease(this.#e, this.tenant, id, lease);
  }

  async getLease(id: string, options?: CallOptions): Promise<Lease | null> {
    const o = checkOptions<CallOptions>(options, "options", CALL);
    checkId(id, "id");
    const call = this.#e.begin(o);
    const l = await this.#e.run(() => this.#e.driver.getLease(this.tenant, id, call));
    if (l === null) await requireContext(this.#e, this.tenant, id, call);
    return l && toLease(id, l);
  }

  // ── watch, retention, health ──────────────────────────────────────────────

  watch(id: string, options?: WatchOptions): AsyncIterableIterator<ContextEvent> {
    checkId(id, "id");
    return watchContext(this.#e, this.tenant, id, options);
  }

  async purgeExpired(options?: CallOptions): Promise<number> {
    const call = this.#begin(options);
    return this.#e.run(() => this.#e.driver.purgeExpired(this.tenant, call));
  }

  async compact(id: string, options: { beforeSeq: number } & CallOptions): Promise<CompactResult> {
    checkId(id, "id");
    const o = checkOptions<{ beforeSeq: number } & CallOptions>(options, "options", ["beforeSeq", "signal"]);
    return compactHistory(this.#e, this.tenant, this.#e.begin(o), id, o.beforeSeq);
  }

  // ── long-term memory ──────────────────────────────────────────────────────

  async addMemories(memories: MemoryInput | MemoryInput[], options?: AddMemoriesOptions): Promise<AddedMemory[]> {
    return addMemories(this.#e, this.tenant, memories, options);
  }

  async getMemory(id: string, options?: GetMemoryOptions): Promise<Memory> {
    checkId(id, "id");
    return getMemory(this.#e, this.tenant, id, options);
  }

  async updateMemory(id: string, update: MemoryUpdate, options?: MemoryWriteOptions): Promise<Memory> {
    checkId(id, "id");
    return updateMemory(this.#e, this.tenant, id, update, options);
  }

  async deleteMemory(id: string, options?: MemoryWriteOptions): Promise<void> {
    checkId(id, "id");
    return deleteMemory(this.#e, this.tenant, id, options);
  }

  async listMemories(query?: ListMemoriesQuery): Promise<Page<Memory>> {
    return listMemories(this.#e, this.tenant, query);
  }

  async searchMemories(query: MemorySearchQuery): Promise<MemoryHit[]> {
    return searchMemories(this.#e, this.tenant, query);
  }

  async memoryHistory(id: string, options?: CallOptions): Promise<MemoryVersion[]> {
    checkId(id, "id");
    return memoryHistory(this.#e, this.tenant, id, options);
  }

  async purgeMemories(options?: PurgeMemoriesOptions): Promise<number> {
    return purgeMemories(this.#e, this.tenant, options);
  }

  async reindexMemories(options?: ReindexMemoriesOptions): Promise<ReindexResult> {
    return reindexMemories(this.#e, this.tenant, options);
  }

  // ── working memory ────────────────────────────────────────────────────────

  async listBlocks(scope: BlockScope, options?: CallOptions): Promise<Block[]> {
    return listBlocks(this.#e, this.tenant, scope, options);
  }

  async getBlock(scope: BlockScope, label: string, options?: CallOptions): Promise<Block> {
    return getBlock(this.#e, this.tenant, scope, label, options);
  }

  async putBlock(scope: BlockScope, input: BlockInput, options?: BlockWriteOptions): Promise<Block> {
    return putBlock(this.#e, this.tenant, scope, input, options);
  }

  async editBlock(scope: BlockScope, label: string, edit: BlockEdit, options?: BlockWriteOptions): Promise<Block> {
    return editBlock(this.#e, this.tenant, scope, label, edit, options);
  }

  async deleteBlock(scope: BlockScope, label: string, options?: BlockWriteOptions): Promise<void> {
    return deleteBlock(this.#e, this.tenant, scope, label, options);
  }

  async blockHistory(scope: BlockScope, label: string, options?: BlockHistoryOptions): Promise<BlockVersion[]> {
    return blockHistory(this.#e, this.tenant, scope, label, options);
  }

  async health(options?: CallOptions): Promise<StoreHealth> {
    const call = this.#begin(options);
    const start = performance.now();
    try {
      const details = await this.#e.run(() => this.#e.driver.ping(call));
      return {
        ok: true,
        driver: this.#e.driver.name,
        latencyMs: performance.now() - start,
        capabilities: this.#capabilities(),
        embedder: this.#embedder(),
        details,
      };
    } catch (e) {
      return {
        ok: false,
        driver: this.#e.driver.name,
        latencyMs: performance.now() - start,
        capabilities: this.#capabilities(),
        embedder: this.#embedder(),
        details: {
          code: (e as ContextError).code ?? "INTERNAL",
          message: (e as Error).message,
          // A circuit breaker's fast failure says which circuit is open and when it probes.
          ...((e as ContextError).details?.["circuit"] !== undefined && { circuit: (e as ContextError).details }),
        },
      };
    }
  }

  async close(): Promise<void> {
    return this.#e.close();
  }

  #embedder(): StoreHealth["embedder"] {
    const e = this.#e.embedder;
    if (e === null) return null;
    const circuit = e.circuit?.snapshot();
    return { model: e.model, dimensions: e.dimensions, ...(circuit !== undefined && { circuit }) };
  }

  #capabilities(): StoreCapabilities {
    const { crossProcessWatch, durable, search, memory, blocks } = this.#e.driver.capabilities;
    return { crossProcessWatch, durable, search, memory, blocks };
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
