/**
 * The embedded {@link ContextStore}: validates input, computes states, and hands atomic
 * mutations to a {@link Driver}. `createStore(driver)` opens the driver first.
 */
import { ContextError, contextNotFound, invalidInput } from "../errors.js";
import type { CommitResult, ContextRecord, Driver, EventRecordInput, Mutation, SnapshotRecord } from "../drivers/driver.js";
import { Engine, toContextEvent, toContextInfo, type StoreOptions } from "./engine.js";
import { contextHandle } from "./handle.js";
import { newId } from "./ids.js";
import { encodeJson, encodeJsonObject, formatPointer, parsePath } from "./json.js";
import { acquireLease, releaseLease, renewLease, toLease } from "./leases.js";
import { compactHistory, diffVersions, resolveTarget, stateAt } from "./recovery.js";
import { applyStateOp, type StateOp } from "./state-ops.js";
import {
  checkId,
  checkInt,
  checkOptionalText,
  checkOptions,
  checkText,
  checkTime,
  decodeCursor,
  encodeCursor,
  iso,
} from "./validate.js";
import { watchContext } from "./watch.js";
import { startTask, type StartTaskInput, type Task } from "./task.js";
import { usage, type UsageQuery, type UsageReport } from "./usage.js";
import { parseEvents, parseEventQuery } from "./event-input.js";
import type {
  AcquireLeaseOptions,
  CallOptions,
  CompactResult,
  ContextEvent,
  ContextHandle,
  ContextInfo,
  ContextStore,
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
  Snapshot,
  StateRecord,
  StateSchema,
  StatePath,
  StateWriteOptions,
  StateSelector,
  StateWriteResult,
  StoreHealth,
  UpdateContextInput,
  WatchOptions,
  WriteOptions,
} from "./types.js";

const CALL = ["signal"] as const;
const WRITE = ["expectedVersion", "fencingToken", "metadata", "signal"] as const;
const STATE_WRITE = [...WRITE, "events"] as const;
const CREATE_FIELDS = ["id", "kind", "userId", "chatId", "agentId", "title", "metadata", "state", "expiresAt", "ttlMs"];

function toSnapshot(contextId: string, s: SnapshotRecord): Snapshot {
  return { contextId, name: s.name, label: s.label, metadata: s.metadata, version: s.version, seq: s.seq, state: s.state, createdAt: iso(s.createdAt) };
}

/**
 * Opens `driver` and returns a store on it.
 * @example
 * ```ts
 * const store = await createStore(memoryDriver());
 * const ctx = await store.createContext({ kind: "chat", state: { turns: 0 } });
 * ```
 */
export async function createStore(driver: Driver, options: StoreOptions = {}): Promise<ContextStore> {
  const tenant = checkId(options.tenant ?? "default", "tenant");
  try {
    await driver.open();
  } catch (e) {
    await driver.close().catch(() => undefined);
    throw e;
  }
  return new EmbeddedStore(new Engine(driver, options), tenant);
}

/** The embedded store's view of one tenant. */
class EmbeddedStore implements ContextStore {
  readonly tenant: string;
  readonly #e: Engine;

  constructor(engine: Engine, tenant: string) {
    this.#e = engine;
    this.tenant = tenant;
  }

  withTenant(tenant: string): ContextStore {
    return new EmbeddedStore(this.#e, checkId(tenant, "tenant"));
  }

  context(id: string): ContextHandle {
    return contextHandle(this, checkId(id, "id"));
  }

  startTask(input?: StartTaskInput): Promise<Task> {
    return startTask(this, input);
  }

  usage(query?: UsageQuery): Promise<UsageReport> {
    return usage(this, query);
  }

  // ── contexts ──────────────────────────────────────────────────────────────

  async createContext(input: CreateContextInput = {}, options?: CallOptions): Promise<ContextInfo> {
    const o = checkOptions<CallOptions>(options, "options", CALL);
    const i = checkOptions<CreateContextInput>(input, "input", CREATE_FIELDS);
    this.#e.enter(o);
    const now = this.#e.now();
    const record = this.#newRecord(i, now, null, null);
    const stateJson = encodeJsonObject(i.state === undefined ? {} : i.state, "state", this.#e.limits.maxStateChars);
    await this.#checkSchema(record.kind, JSON.parse(stateJson) as JsonObject);
    const r = await this.#e.run(() => this.#e.driver.insertContext(record, stateJson, []));
    return toContextInfo(r.record);
  }

  #newRecord(i: Partial<CreateContextInput>, now: number, parentId: string | null, parentVersion: number | null): ContextRecord {
    const id = i.id === undefined ? newId(now) : checkId(i.id, "id");
    let expiresAt: number | null = null;
    if (i.expiresAt !== undefined && i.expiresAt !== null) expiresAt = checkTime(i.expiresAt, "expiresAt");
    if (i.ttlMs !== undefined) {
      if (i.expiresAt !== undefined && i.expiresAt !== null) throw invalidInput("ttlMs", "give ttlMs or expiresAt, not both");
      expiresAt = now + checkInt(i.ttlMs, "ttlMs", 1);
    }
    const metadataJson = encodeJsonObject(i.metadata ?? {}, "metadata", this.#e.limits.maxMetadataChars);
    return {
      id,
      tenant: this.tenant,
      kind: i.kind === undefined ? "default" : checkId(i.kind, "kind"),
      userId: checkOptionalText(i.userId, "userId"),
      chatId: checkOptionalText(i.chatId, "chatId"),
      agentId: checkOptionalText(i.agentId, "agentId"),
      title: checkOptionalText(i.title, "title", 1000),
      metadata: JSON.parse(metadataJson) as JsonObject,
      version: 1,
      lastSeq: 0,
      status: "active",
      createdAt: now,
      updatedAt: now,
      expiresAt,
      parentId,
      parentVersion,
      firstSeq: 1,
    };
  }

  async #checkSchema(kind: string, state: JsonObject): Promise<void> {
    const schema = await this.#e.run(() => this.#e.driver.getSchema(this.tenant, kind));
    if (schema) this.#e.schemas.check(this.tenant, schema, state);
  }

  async getContext(id: string, options?: CallOptions): Promise<ContextInfo> {
    const o = checkOptions<CallOptions>(options, "options", CALL);
    checkId(id, "id");
    this.#e.enter(o);
    const now = this.#e.now();
    const r = await this.#e.run(() => this.#e.driver.getContext(this.tenant, id, now));
    if (r === null) throw contextNotFound(id);
    return toContextInfo(r);
  }

  async listContexts(query: ListContextsQuery = {}): Promise<Page<ContextInfo>> {
    const q = checkOptions<ListContextsQuery>(query, "query", [
      "kind", "userId", "chatId", "agentId", "status", "updatedSince", "order", "limit", "cursor", "signal",
    ]);
    const order = q.order ?? "asc";
    if (order !== "asc" && order !== "desc") throw invalidInput("order", 'must be "asc" or "desc"');
    if (q.status !== undefined && q.status !== "active" && q.status !== "archived") {
      throw invalidInput("status", 'must be "active" or "archived"');
    }
    const limit = q.limit === undefined ? 100 : checkInt(q.limit, "limit", 1, 1000);
    const filters = {
      ...(q.kind !== undefined && { kind: checkId(q.kind, "kind") }),
      ...(q.userId !== undefined && { userId: checkText(q.userId, "userId") }),
      ...(q.chatId !== undefined && { chatId: checkText(q.chatId, "chatId") }),
      ...(q.agentId !== undefined && { agentId: checkText(q.agentId, "agentId") }),
      ...(q.status !== undefined && { status: q.status }),
      ...(q.updatedSince !== undefined && { updatedSince: checkTime(q.updatedSince, "updatedSince") }),
      ...(q.cursor !== undefined && { afterId: checkId(decodeCursor(q.cursor), "cursor") }),
    };
    this.#e.enter(q);
    const now = this.#e.now();
    const rows = await this.#e.run(() => this.#e.driver.listContexts(this.tenant, { now, order, limit: limit + 1, ...filters }));
    const items = rows.slice(0, limit).map(toContextInfo);
    const lastItem = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && lastItem ? encodeCursor(lastItem.id) : null };
  }

  async updateContext(id: string, input: UpdateContextInput, options?: CallOptions): Promise<ContextInfo> {
    const o = checkOptions<CallOptions>(options, "options", CALL);
    checkId(id, "id");
    const i = checkOptions<UpdateContextInput>(input, "input", ["title", "metadata", "expiresAt", "status"]);
    if (Object.keys(i).length === 0) throw invalidInput("input", "nothing to update (title, metadata, expiresAt, status)");
    if (i.status !== undefined && i.status !== "active" && i.status !== "archived") {
      throw invalidInput("status", 'must be "active" or "archived"');
    }
    const patch = {
      now: 0,
      ...(i.title !== undefined && { title: checkOptionalText(i.title, "title", 1000) }),
      ...(i.metadata !== undefined && { metadata: encodeJsonObject(i.metadata, "metadata", this.#e.limits.maxMetadataChars) }),
      ...(i.expiresAt !== undefined && { expiresAt: i.expiresAt === null ? null : checkTime(i.expiresAt, "expiresAt") }),
      ...(i.status !== undefined && { status: i.status }),
    };
    this.#e.enter(o);
    patch.now = this.#e.now();
    const r = await this.#e.run(() => this.#e.driver.updateContext(this.tenant, id, patch));
    if (r === null) throw contextNotFound(id);
    return toContextInfo(r);
  }

  archiveContext(id: string, options?: CallOptions): Promise<ContextInfo> {
    return this.updateContext(id, { status: "archived" }, options);
  }

  async deleteContext(id: string, options?: CallOptions): Promise<void> {
    const o = checkOptions<CallOptions>(options, "options", CALL);
    checkId(id, "id");
    this.#e.enter(o);
    const now = this.#e.now();
    if (!(await this.#e.run(() => this.#e.driver.deleteContext(this.tenant, id, now)))) throw contextNotFound(id);
  }

  // ── state ─────────────────────────────────────────────────────────────────

  async getState(id: string, options?: CallOptions): Promise<StateRecord> {
    const o = checkOptions<CallOptions>(options, "options", CALL);
    checkId(id, "id");
    this.#e.enter(o);
    const now = this.#e.now();
    const head = await this.#e.run(() => this.#e.driver.readHead(this.tenant, id, now));
    if (head === null) throw contextNotFound(id);
    return { state: head.state, version: head.record.version };
  }

  replaceState(id: string, state: JsonObject, options?: StateWriteOptions): Promise<StateWriteResult> {
    const value = JSON.parse(encodeJsonObject(state, "state", this.#e.limits.maxStateChars)) as JsonObject;
    return this.#writeState(id, { op: "replace", value }, options, "state");
  }

  patchState(id: string, patch: JsonObject, options?: StateWriteOptions): Promise<StateWriteResult> {
    const value = JSON.parse(encodeJsonObject(patch, "patch", this.#e.limits.maxStateChars)) as JsonObject;
    return this.#writeState(id, { op: "merge", patch: value }, options, "state");
  }

  setStateAt(id: string, path: StatePath, value: JsonValue, options?: StateWriteOptions): Promise<StateWriteResult> {
    const pointer = formatPointer(parsePath(path));
    const v = JSON.parse(encodeJson(value, "value", this.#e.limits.maxStateChars)) as JsonValue;
    return this.#writeState(id, { op: "set", path: pointer, value: v }, options, "state");
  }

  removeStateAt(id: string, path: StatePath, options?: StateWriteOptions): Promise<StateWriteResult> {
    return this.#writeState(id, { op: "remove", path: formatPointer(parsePath(path)) }, options, "state");
  }

  #writeGuards(
    options: StateWriteOptions | undefined,
    allowed: readonly string[] = WRITE,
  ): { mutation: Pick<Mutation, "expectedVersion" | "fencingToken">; metadata: string; o: StateWriteOptions } {
    const o = checkOptions<StateWriteOptions>(options, "options", allowed);
    return {
      o,
      mutation: {
        ...(o.expectedVersion !== undefined && { expectedVersion: checkInt(o.expectedVersion, "expectedVersion", 1) }),
        ...(o.fencingToken !== undefined && { fencingToken: checkInt(o.fencingToken, "fencingToken", 1) }),
      },
      metadata: encodeJsonObject(o.metadata ?? {}, "metadata", this.#e.limits.maxMetadataChars),
    };
  }

  async #writeState(
    id: string,
    op: StateOp,
    options: StateWriteOptions | undefined,
    type: "state" | "restore",
    extra: JsonObject = {},
  ): Promise<StateWriteResult> {
    checkId(id, "id");
    const { o, mutation, metadata } = this.#writeGuards(options, STATE_WRITE);
    const data = encodeJson({ ...op, ...extra }, "state", this.#e.limits.maxStateChars + 1024);
    const e = this.#e;
    const now = e.now();
    if (o.events !== undefined && !Array.isArray(o.events)) throw invalidInput("options.events", "must be an array of events");
    const events = o.events === undefined ? [] : parseEvents(o.events, now, e.limits, e.tokenCounter);
    e.enter(o);
    const tenant = this.tenant;
    const result = await e.run(() =>
      e.driver.commit(tenant, id, {
        now,
        ...mutation,
        events,
        update: (head) => {
          const state = applyStateOp(head.state, op);
          const stateJson = JSON.stringify(state);
          if (stateJson.length > e.limits.maxStateChars) {
            throw invalidInput("state", `${stateJson.length} characters of JSON exceed the limit of ${e.limits.maxStateChars}`, {
              size: stateJson.length,
              limit: e.limits.maxStateChars,
            });
          }
          if (head.schema) e.schemas.check(tenant, head.schema, state);
          const version = head.record.version + 1;
          return {
            state,
            stateJson,
            event: { type, data, metadata, tokens: null, timestamp: now },
            checkpoint: version % e.checkpointEvery === 0,
          };
        },
      }),
    );
    return this.#stateResult(id, result, o.events !== undefined);
  }

  #stateResult(id: string, r: CommitResult, withEvents: boolean): StateWriteResult {
    const [event, ...rest] = r.events;
    if (r.state === undefined || event === undefined) throw new ContextError("INTERNAL", "the driver returned no state");
    const result: StateWriteResult = { state: r.state, version: r.record.version, seq: event.seq, timestamp: iso(event.timestamp) };
    if (withEvents) result.events = rest.map((ev) => toContextEvent(id, ev));
    return result;
  }

  stateAt(id: string, selector: StateSelector, options?: CallOptions): Promise<StateRecord> {
    const o = checkOptions<CallOptions>(options, "options", CALL);
    checkId(id, "id");
    this.#e.enter(o);
    return stateAt(this.#e, this.tenant, id, selector);
  }

  diff(id: string, from: number, to: number, options?: CallOptions): Promise<JsonPatchOperation[]> {
    const o = checkOptions<CallOptions>(options, "options", CALL);
    checkId(id, "id");
    this.#e.enter(o);
    return diffVersions(this.#e, this.tenant, id, from, to);
  }

  // ── history ───────────────────────────────────────────────────────────────

  async append(id: string, events: EventInput | EventInput[], options?: WriteOptions): Promise<ContextEvent[]> {
    checkId(id, "id");
    const { o, mutation } = this.#writeGuards(options);
    if (o.metadata !== undefined) throw invalidInput("options.metadata", "give metadata on each event instead");
    const now = this.#e.now();
    const records = parseEvents(events, now, this.#e.limits, this.#e.tokenCounter);
    this.#e.enter(o);
    const r = await this.#e.run(() => this.#e.driver.commit(this.tenant, id, { now, ...mutation, events: records }));
    return r.events.map((ev) => toContextEvent(id, ev));
  }

  async readEvents(id: string, query?: EventQuery): Promise<Page<ContextEvent>> {
    checkId(id, "id");
    const { q, limit, cursorSeq } = parseEventQuery(query, true);
    this.#e.enter(query);
    if (cursorSeq !== undefined) {
      if (q.order === "asc") q.afterSeq = Math.max(q.afterSeq ?? 0, cursorSeq);
      else q.beforeSeq = Math.min(q.beforeSeq ?? Number.MAX_SAFE_INTEGER, cursorSeq);
    }
    q.limit = limit + 1;
    const rows = await this.#e.run(() => this.#e.driver.readEvents(this.tenant, id, q));
    const items = rows.slice(0, limit).map((ev) => toContextEvent(id, ev));
    const lastItem = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && lastItem ? encodeCursor(String(lastItem.seq)) : null };
  }

  async countEvents(id: string, query?: Omit<EventQuery, "limit" | "cursor" | "order">): Promise<number> {
    checkId(id, "id");
    const { q } = parseEventQuery(query, false);
    this.#e.enter(query);
    const { order: _order, limit: _limit, ...filter } = q;
    return this.#e.run(() => this.#e.driver.countEvents(this.tenant, id, filter));
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

  // ── snapshots ─────────────────────────────────────────────────────────────

  async createSnapshot(id: string, input?: CreateSnapshotInput): Promise<Snapshot> {
    checkId(id, "id");
    const i = checkOptions<CreateSnapshotInput>(input, "input", ["name", "label", "metadata", "signal"]);
    const now = this.#e.now();
    const name = i.name === undefined ? `snap-${newId(now)}` : checkId(i.name, "name");
    const label = checkOptionalText(i.label, "label", 1000);
    const metadata = encodeJsonObject(i.metadata ?? {}, "metadata", this.#e.limits.maxMetadataChars);
    this.#e.enter(i);
    const event: EventRecordInput = {
      type: "snapshot",
      data: JSON.stringify({ name, label }),
      metadata,
      tokens: null,
      timestamp: now,
    };
    const r = await this.#e.run(() =>
      this.#e.driver.commit(this.tenant, id, { now, events: [event], snapshot: { name, label, metadata } }),
    );
    if (!r.snapshot) throw new ContextError("INTERNAL", "the driver stored no snapshot");
    return toSnapshot(id, r.snapshot);
  }

  async listSnapshots(id: string, options?: CallOptions): Promise<Snapshot[]> {
    const o = checkOptions<CallOptions>(options, "options", CALL);
    checkId(id, "id");
    this.#e.enter(o);
    const rows = await this.#e.run(() => this.#e.driver.listSnapshots(this.tenant, id));
    return rows.map((s) => toSnapshot(id, s));
  }

  async getSnapshot(id: string, name: string, options?: CallOptions): Promise<Snapshot> {
    const o = checkOptions<CallOptions>(options, "options", CALL);
    checkId(id, "id");
    checkId(name, "name");
    this.#e.enter(o);
    const s = await this.#e.run(() => this.#e.driver.getSnapshot(this.tenant, id, name));
    if (s === null) {
      await this.getContext(id);
      throw new ContextError("NOT_FOUND", `context ${id} has no snapshot "${name}"`, { details: { contextId: id, snapshot: name } });
    }
    return toSnapshot(id, s);
  }

  async restore(id: string, target: RestoreTarget, options?: StateWriteOptions): Promise<StateWriteResult> {
    checkId(id, "id");
    this.#writeGuards(options, STATE_WRITE);
    this.#e.enter(options);
    const t = await resolveTarget(this.#e, this.tenant, id, target);
    return this.#writeState(id, { op: "replace", value: t.state }, options, "restore", {
      restoredFrom: t.from,
      restoredVersion: t.version,
    });
  }

  async fork(id: string, input: ForkInput = {}): Promise<ContextInfo> {
    checkId(id, "id");
    const i = checkOptions<ForkInput & Record<string, unknown>>(input, "input", [
      ...CREATE_FIELDS.filter((f) => f !== "state"),
      "snapshot", "version", "before", "at", "signal",
    ]);
    const { snapshot, version, before, at, signal, ...create } = i;
    this.#e.enter({ ...(signal !== undefined && { signal }) });
    const now = this.#e.now();
    const source = await this.#e.run(() => this.#e.driver.readHead(this.tenant, id, now));
    if (source === null) throw contextNotFound(id);
    const targetGiven = [snapshot, version, before, at].some((v) => v !== undefined);
    const from = targetGiven
      ? await resolveTarget(this.#e, this.tenant, id, { snapshot, version, before, at } as unknown as RestoreTarget)
      : { state: source.state, version: source.record.version };
    const s = source.record;
    const record = this.#newRecord(
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
    const stateJson = JSON.stringify(from.state);
    await this.#checkSchema(record.kind, from.state);
    const r = await this.#e.run(() => this.#e.driver.insertContext(record, stateJson, []));
    return toContextInfo(r.record);
  }

  // ── active context adapter ────────────────────────────────────────────────

  async #requireContext(id: string): Promise<void> {
    const now = this.#e.now();
    if ((await this.#e.run(() => this.#e.driver.getContext(this.tenant, id, now))) === null) throw contextNotFound(id);
  }

  async activate(holder: string, contextId: string, options?: CallOptions): Promise<void> {
    await this.switchContext(holder, contextId, options);
  }

  async deactivate(holder: string, options?: CallOptions): Promise<string | null> {
    const o = checkOptions<CallOptions>(options, "options", CALL);
    const h = checkText(holder, "holder");
    this.#e.enter(o);
    return this.#e.run(() => this.#e.driver.setBinding(this.tenant, h, "active", null));
  }

  async switchContext(holder: string, contextId: string, options?: CallOptions): Promise<string | null> {
    const o = checkOptions<CallOptions>(options, "options", CALL);
    const h = checkText(holder, "holder");
    checkId(contextId, "contextId");
    this.#e.enter(o);
    await this.#requireContext(contextId);
    return this.#e.run(() => this.#e.driver.setBinding(this.tenant, h, "active", contextId));
  }

  async currentContext(holder: string, options?: CallOptions): Promise<ContextInfo | null> {
    const o = checkOptions<CallOptions>(options, "options", CALL);
    const h = checkText(holder, "holder");
    this.#e.enter(o);
    const d = this.#e.driver;
    for (const slot of ["active", "default"] as const) {
      const id = await this.#e.run(() => d.getBinding(this.tenant, h, slot));
      if (id === null) continue;
      const now = this.#e.now();
      const r = await this.#e.run(() => d.getContext(this.tenant, id, now));
      if (r !== null) return toContextInfo(r);
    }
    return null;
  }

  async setDefaultContext(holder: string, contextId: string | null, options?: CallOptions): Promise<void> {
    const o = checkOptions<CallOptions>(options, "options", CALL);
    const h = checkText(holder, "holder");
    if (contextId !== null) checkId(contextId, "contextId");
    this.#e.enter(o);
    if (contextId !== null) await this.#requireContext(contextId);
    await this.#e.run(() => this.#e.driver.setBinding(this.tenant, h, "default", contextId));
  }

  // ── schemas ───────────────────────────────────────────────────────────────

  async setSchema(kind: string, schema: JsonObject, options?: CallOptions): Promise<StateSchema> {
    const o = checkOptions<CallOptions>(options, "options", CALL);
    checkId(kind, "kind");
    const json = encodeJsonObject(schema, "schema", this.#e.limits.maxSchemaChars);
    this.#e.schemas.compile(JSON.parse(json) as JsonObject);
    this.#e.enter(o);
    const now = this.#e.now();
    const r = await this.#e.run(() => this.#e.driver.putSchema(this.tenant, kind, json, now));
    return { kind: r.kind, schema: r.schema, revision: r.revision, updatedAt: iso(r.updatedAt) };
  }

  async getSchema(kind: string, options?: CallOptions): Promise<StateSchema | null> {
    const o = checkOptions<CallOptions>(options, "options", CALL);
    checkId(kind, "kind");
    this.#e.enter(o);
    const r = await this.#e.run(() => this.#e.driver.getSchema(this.tenant, kind));
    return r && { kind: r.kind, schema: r.schema, revision: r.revision, updatedAt: iso(r.updatedAt) };
  }

  async listSchemas(options?: CallOptions): Promise<StateSchema[]> {
    const o = checkOptions<CallOptions>(options, "options", CALL);
    this.#e.enter(o);
    const rows = await this.#e.run(() => this.#e.driver.listSchemas(this.tenant));
    return rows.map((r) => ({ kind: r.kind, schema: r.schema, revision: r.revision, updatedAt: iso(r.updatedAt) }));
  }

  async deleteSchema(kind: string, options?: CallOptions): Promise<boolean> {
    const o = checkOptions<CallOptions>(options, "options", CALL);
    checkId(kind, "kind");
    this.#e.enter(o);
    return this.#e.run(() => this.#e.driver.deleteSchema(this.tenant, kind));
  }

  // ── leases ────────────────────────────────────────────────────────────────

  acquireLease(id: string, options: AcquireLeaseOptions): Promise<Lease> {
    checkId(id, "id");
    this.#e.enter(options as CallOptions | undefined);
    return acquireLease(this.#e, this.tenant, id, options);
  }

  renewLease(id: string, lease: LeaseRef): Promise<Lease> {
    checkId(id, "id");
    this.#e.enter(lease as CallOptions | undefined);
    return renewLease(this.#e, this.tenant, id, lease);
  }

  releaseLease(id: string, lease: LeaseRef): Promise<void> {
    checkId(id, "id");
    this.#e.enter(lease as CallOptions | undefined);
    return releaseLease(this.#e, this.tenant, id, lease);
  }

  async getLease(id: string, options?: CallOptions): Promise<Lease | null> {
    const o = checkOptions<CallOptions>(options, "options", CALL);
    checkId(id, "id");
    this.#e.enter(o);
    const now = this.#e.now();
    const l = await this.#e.run(() => this.#e.driver.getLease(this.tenant, id, now));
    if (l === null) await this.#requireContext(id);
    return l && toLease(id, l);
  }

  // ── watch, retention, health ──────────────────────────────────────────────

  watch(id: string, options?: WatchOptions): AsyncIterableIterator<ContextEvent> {
    checkId(id, "id");
    return watchContext(this.#e, this.tenant, id, options);
  }

  async purgeExpired(options?: CallOptions): Promise<number> {
    const o = checkOptions<CallOptions>(options, "options", CALL);
    this.#e.enter(o);
    const now = this.#e.now();
    return this.#e.run(() => this.#e.driver.purgeExpired(this.tenant, now));
  }

  compact(id: string, options: { beforeSeq: number } & CallOptions): Promise<CompactResult> {
    checkId(id, "id");
    const o = checkOptions<{ beforeSeq: number } & CallOptions>(options, "options", ["beforeSeq", "signal"]);
    this.#e.enter(o);
    return compactHistory(this.#e, this.tenant, id, o.beforeSeq);
  }

  async health(options?: CallOptions): Promise<StoreHealth> {
    const o = checkOptions<CallOptions>(options, "options", CALL);
    this.#e.enter(o);
    const start = performance.now();
    try {
      const details = await this.#e.run(() => this.#e.driver.ping());
      return { ok: true, driver: this.#e.driver.name, latencyMs: performance.now() - start, details };
    } catch (e) {
      return {
        ok: false,
        driver: this.#e.driver.name,
        latencyMs: performance.now() - start,
        details: { code: (e as ContextError).code ?? "INTERNAL", message: (e as Error).message },
      };
    }
  }

  close(): Promise<void> {
    return this.#e.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
