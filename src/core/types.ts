/**
 * The public data model of contextd and the {@link ContextStore} interface that the
 * embedded store and the HTTP client both implement.
 */
import type { StartTaskInput, Task } from "./task.js";
import type { UsageQuery, UsageReport } from "./usage.js";
import type { ContextWindow, WindowOptions } from "./window.js";
import type { OptimizeOptions, OptimizeResult } from "./optimize.js";

/** A JSON scalar. */
export type JsonPrimitive = string | number | boolean | null;
/** Any JSON value (no `undefined`, functions, `NaN`, `Infinity`, `BigInt`, class instances or cycles). */
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object: the shape of context state and of metadata. */
export type JsonObject = { [key: string]: JsonValue };

/** Options every I/O method accepts. */
export interface CallOptions {
  /** Cancels the call; it rejects with `ABORTED` (the signal's reason as `cause`). */
  signal?: AbortSignal;
}

/** A point in time: a `Date`, epoch milliseconds, or an ISO 8601 string. */
export type TimeInput = Date | number | string;

/** Lifecycle of a context. Archived contexts stay readable and writable but are filtered out by default lists only when asked. */
export type ContextStatus = "active" | "archived";

/** A context as stored: identity, owners, metadata and the head of its state and history. */
export interface ContextInfo {
  id: string;
  tenant: string;
  kind: string;
  userId: string | null;
  chatId: string | null;
  agentId: string | null;
  title: string | null;
  metadata: JsonObject;
  /** The state version; every state write increments it. A new context is at version 1. */
  version: number;
  /** The sequence number of the newest event (0 when the history is empty). */
  lastSeq: number;
  status: ContextStatus;
  createdAt: string;
  updatedAt: string;
  expiresAt: string | null;
  /** The context this one was forked from. */
  parentId: string | null;
  /** The parent's version this one was forked at. */
  parentVersion: number | null;
}

/** Input of {@link ContextStore.createContext}. */
export interface CreateContextInput {
  /** Given, or generated (time-sortable, 26 characters). */
  id?: string;
  /** @default "default" */
  kind?: string;
  userId?: string | null;
  chatId?: string | null;
  agentId?: string | null;
  title?: string | null;
  metadata?: JsonObject;
  /** The initial state (version 1). @default {} */
  state?: JsonObject;
  /** When the context expires and stops being returned. */
  expiresAt?: TimeInput | null;
  /** Shorthand for `expiresAt = now + ttlMs`. */
  ttlMs?: number;
}

/** Input of {@link ContextStore.updateContext}: the fields given are replaced. */
export interface UpdateContextInput {
  title?: string | null;
  metadata?: JsonObject;
  expiresAt?: TimeInput | null;
  status?: ContextStatus;
}

/** Filters of {@link ContextStore.listContexts}. */
export interface ListContextsQuery extends CallOptions {
  kind?: string;
  userId?: string;
  chatId?: string;
  agentId?: string;
  status?: ContextStatus;
  /** Only contexts updated at or after this time. */
  updatedSince?: TimeInput;
  /** By id; generated ids sort by creation time. @default "asc" */
  order?: "asc" | "desc";
  /** @default 100 (at most 1000) */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

/** A page of results with the cursor of the next page (`null` on the last). */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** The built-in event types; any other non-empty string is allowed too. */
export type BuiltinEventType =
  | "message"
  | "metadata"
  | "resource"
  | "file_operation"
  | "model_usage"
  | "tool_call"
  | "tool_result"
  | "error"
  | "state"
  | "snapshot"
  | "restore"
  | "task_start"
  | "task_end";

/** An event type: a built-in one or any custom string. */
export type EventType = BuiltinEventType | (string & {});

/** An event to append. */
export interface EventInput {
  type: EventType;
  /** @default null */
  data?: JsonValue;
  /** @default {} */
  metadata?: JsonObject;
  /** Token count, if the caller knows it. */
  tokens?: number | null;
  /** When it happened. @default now */
  timestamp?: TimeInput;
}

/** One entry of a context's append-only history. */
export interface ContextEvent {
  contextId: string;
  /** Per-context sequence number: 1, 2, 3… without gaps. */
  seq: number;
  type: EventType;
  /** ISO 8601, millisecond precision. */
  timestamp: string;
  data: JsonValue;
  metadata: JsonObject;
  tokens: number | null;
  /** For `state` and `restore` events: the version the write produced. */
  version: number | null;
}

/** Filters of {@link ContextStore.readEvents} and {@link ContextStore.countEvents}. */
export interface EventQuery extends CallOptions {
  /** Only events with `seq > afterSeq`. */
  afterSeq?: number;
  /** Only events with `seq < beforeSeq`. */
  beforeSeq?: number;
  /** Only events at or after this time. */
  since?: TimeInput;
  /** Only events at or before this time. */
  until?: TimeInput;
  types?: EventType[];
  /** @default "asc" */
  order?: "asc" | "desc";
  /** @default 100 (at most 10000) */
  limit?: number;
  cursor?: string;
}

/** Guards a write can carry. */
export interface WriteOptions extends CallOptions {
  /** The write fails with `VERSION_CONFLICT` unless the context is at this version. */
  expectedVersion?: number;
  /** The write fails with `LEASE_LOST` unless this is the token of the current, unexpired lease. */
  fencingToken?: number;
  /** Metadata of the event the write records. */
  metadata?: JsonObject;
}

/** Options of state writes: the guards, plus events recorded in the same transaction. */
export interface StateWriteOptions extends WriteOptions {
  /**
   * Events appended in the same transaction, after the `state` event: the state change and
   * these events land together or not at all (an agent step: the message and the new state).
   */
  events?: EventInput[];
}

/** The state of a context and its version. */
export interface StateRecord {
  state: JsonObject;
  version: number;
}

/** What a state write returns. */
export interface StateWriteResult extends StateRecord {
  /** The sequence number of the `state` (or `restore`) event the write recorded. */
  seq: number;
  timestamp: string;
  /** The events given in {@link StateWriteOptions.events}, as stored (present when some were given). */
  events?: ContextEvent[];
}

/** A path into the state: a JSON Pointer (`/a/0/b`) or its segments. */
export type StatePath = string | readonly (string | number)[];

/** One RFC 6902 JSON Patch operation (the subset `diff` produces). */
export type JsonPatchOperation =
  | { op: "add"; path: string; value: JsonValue }
  | { op: "remove"; path: string }
  | { op: "replace"; path: string; value: JsonValue };

/** Selects a past state: by version, or the state in force at a time. */
export type StateSelector = { version: number } | { at: TimeInput };

/** A named recovery point. */
export interface Snapshot {
  contextId: string;
  name: string;
  label: string | null;
  metadata: JsonObject;
  version: number;
  /** Sequence number of the `snapshot` event that recorded it. */
  seq: number;
  state: JsonObject;
  createdAt: string;
}

/** Input of {@link ContextStore.createSnapshot}. */
export interface CreateSnapshotInput extends CallOptions {
  /** Unique per context. @default generated from the version and time */
  name?: string;
  label?: string | null;
  metadata?: JsonObject;
}

/** What to restore: a snapshot by name, a version, the latest snapshot at or before a time, or the state at a time. */
export type RestoreTarget = { snapshot: string } | { version: number } | { before: TimeInput } | { at: TimeInput };

/** Input of {@link ContextStore.fork}. */
export type ForkInput = (RestoreTarget | { snapshot?: never; version?: never; before?: never; at?: never }) &
  Omit<CreateContextInput, "state"> &
  CallOptions;

/** An exclusive right to act on a context, with a fencing token. */
export interface Lease {
  contextId: string;
  holder: string;
  /** Increases with every grant on this context. */
  token: number;
  expiresAt: string;
}

/** Input of {@link ContextStore.acquireLease}. */
export interface AcquireLeaseOptions extends CallOptions {
  holder: string;
  /** How long the lease lasts unless renewed. @default 30000 */
  ttlMs?: number;
  /** How long to wait for a held lease; 0 fails at once. @default 0 */
  waitMs?: number;
}

/** Input of {@link ContextStore.renewLease} and {@link ContextStore.releaseLease}. */
export interface LeaseRef extends CallOptions {
  holder: string;
  token: number;
  /** For renew. @default 30000 */
  ttlMs?: number;
}

/** Options of {@link ContextStore.watch}. */
export interface WatchOptions extends CallOptions {
  /** Replay events after this sequence number first. @default the current last sequence number (live only) */
  afterSeq?: number;
}

/**
 * A full-text search over the history ({@link ContextStore.searchEvents}). Words are runs of
 * letters and digits, compared case-insensitively; an event matches when every word of
 * `text` occurs among the words of the string values of its `data` (not its keys).
 */
export interface SearchQuery extends CallOptions {
  /** The words to find (1 to 1000 characters, at least one word). */
  text: string;
  /** Only this context. @default every visible context of the tenant */
  contextId?: string;
  types?: EventType[];
  /** @default 20 (at most 1000) */
  limit?: number;
}

/** One event found by {@link ContextStore.searchEvents}. */
export interface SearchHit {
  contextId: string;
  event: ContextEvent;
  /** Relevance (higher first); comparable only within one result. */
  score: number;
}

/** A JSON Schema registered for a context kind. */
export interface StateSchema {
  kind: string;
  schema: JsonObject;
  revision: number;
  updatedAt: string;
}

/** The result of {@link ContextStore.compact}. */
export interface CompactResult {
  removed: number;
  /** The oldest sequence number still held. */
  firstSeq: number;
  /** The oldest version `stateAt` can still rebuild. */
  firstVersion: number;
}

/** Health of the store's backend. */
export interface StoreHealth {
  ok: boolean;
  driver: string;
  latencyMs: number;
  details: Record<string, unknown>;
}

/**
 * The store: one interface for the embedded store (`openStore`) and the HTTP client
 * (`createClient`). All methods act within one tenant ({@link ContextStore.tenant}).
 */
export interface ContextStore extends AsyncDisposable {
  /** The tenant this view acts in. @default "default" */
  readonly tenant: string;
  /** The same store seen from another tenant. */
  withTenant(tenant: string): ContextStore;
  /** A handle whose methods act on one context (no I/O until a method is called). */
  context(id: string): ContextHandle;
  /** Starts a task scope (`await using task = await store.startTask(…)`); see `startTask` in `core/task.ts`. */
  startTask(input?: StartTaskInput): Promise<Task>;
  /** Token and cost totals of `model_usage` events; see `usage` in `core/usage.ts`. */
  usage(query?: UsageQuery): Promise<UsageReport>;

  createContext(input?: CreateContextInput, options?: CallOptions): Promise<ContextInfo>;
  /** @throws `NOT_FOUND` */
  getContext(id: string, options?: CallOptions): Promise<ContextInfo>;
  listContexts(query?: ListContextsQuery): Promise<Page<ContextInfo>>;
  updateContext(id: string, input: UpdateContextInput, options?: CallOptions): Promise<ContextInfo>;
  archiveContext(id: string, options?: CallOptions): Promise<ContextInfo>;
  /** Deletes the context with its history, snapshots, checkpoints and lease. */
  deleteContext(id: string, options?: CallOptions): Promise<void>;

  getState(id: string, options?: CallOptions): Promise<StateRecord>;
  replaceState(id: string, state: JsonObject, options?: StateWriteOptions): Promise<StateWriteResult>;
  /** RFC 7396 JSON Merge Patch; the result must still be an object. */
  patchState(id: string, patch: JsonObject, options?: StateWriteOptions): Promise<StateWriteResult>;
  /** Sets the value at a path, creating missing objects on the way. */
  setStateAt(id: string, path: StatePath, value: JsonValue, options?: StateWriteOptions): Promise<StateWriteResult>;
  /** Removes the value at a path; `NOT_FOUND` when nothing is there. */
  removeStateAt(id: string, path: StatePath, options?: StateWriteOptions): Promise<StateWriteResult>;
  /** Rebuilds a past state. @throws `NOT_FOUND` for a version that never existed, `COMPACTED` for one compacted away */
  stateAt(id: string, selector: StateSelector, options?: CallOptions): Promise<StateRecord>;
  /** The RFC 6902 JSON Patch that turns version `from` into version `to`. */
  diff(id: string, from: number, to: number, options?: CallOptions): Promise<JsonPatchOperation[]>;

  /** Appends events atomically: all get consecutive sequence numbers, or none is written. */
  append(id: string, events: EventInput | EventInput[], options?: WriteOptions): Promise<ContextEvent[]>;
  readEvents(id: string, query?: EventQuery): Promise<Page<ContextEvent>>;
  countEvents(id: string, query?: Omit<EventQuery, "limit" | "cursor" | "order">): Promise<number>;
  /** The newest `n` events, oldest first. */
  lastEvents(id: string, n: number, query?: Pick<EventQuery, "types" | "signal">): Promise<ContextEvent[]>;
  /** Full-text search over the history: best matches first, then newest first. */
  searchEvents(query: SearchQuery): Promise<SearchHit[]>;

  createSnapshot(id: string, input?: CreateSnapshotInput): Promise<Snapshot>;
  listSnapshots(id: string, options?: CallOptions): Promise<Snapshot[]>;
  getSnapshot(id: string, name: string, options?: CallOptions): Promise<Snapshot>;
  /** Writes a past state as the new current state (a new version) and records a `restore` event. */
  restore(id: string, target: RestoreTarget, options?: StateWriteOptions): Promise<StateWriteResult>;
  /** Creates a new context from a snapshot or version of this one (default: the current state). */
  fork(id: string, input?: ForkInput): Promise<ContextInfo>;

  /** Makes `contextId` the active context of `holder`. */
  activate(holder: string, contextId: string, options?: CallOptions): Promise<void>;
  /** Clears the active context of `holder`; returns the one that was active. */
  deactivate(holder: string, options?: CallOptions): Promise<string | null>;
  /** Activates `contextId` and returns the previously active one. */
  switchContext(holder: string, contextId: string, options?: CallOptions): Promise<string | null>;
  /** The active context of `holder`, else its default, else `null`. */
  currentContext(holder: string, options?: CallOptions): Promise<ContextInfo | null>;
  /** Sets (or with `null` clears) the default context of `holder`. */
  setDefaultContext(holder: string, contextId: string | null, options?: CallOptions): Promise<void>;

  /** Registers the JSON Schema every state of `kind` must match from now on. */
  setSchema(kind: string, schema: JsonObject, options?: CallOptions): Promise<StateSchema>;
  getSchema(kind: string, options?: CallOptions): Promise<StateSchema | null>;
  listSchemas(options?: CallOptions): Promise<StateSchema[]>;
  deleteSchema(kind: string, options?: CallOptions): Promise<boolean>;

  /** @throws `LOCK_TIMEOUT` after `waitMs`, `ABORTED` on the signal */
  acquireLease(id: string, options: AcquireLeaseOptions): Promise<Lease>;
  /** @throws `LEASE_LOST` when the lease is no longer this holder's */
  renewLease(id: string, lease: LeaseRef): Promise<Lease>;
  releaseLease(id: string, lease: LeaseRef): Promise<void>;
  getLease(id: string, options?: CallOptions): Promise<Lease | null>;

  /** Replays events after `afterSeq`, then follows new ones live; ends on abort or close. */
  watch(id: string, options?: WatchOptions): AsyncIterableIterator<ContextEvent>;

  /** Deletes every expired context of this tenant; returns how many. */
  purgeExpired(options?: CallOptions): Promise<number>;
  /** Drops history before `beforeSeq`, which must not be newer than the newest snapshot. */
  compact(id: string, options: { beforeSeq: number } & CallOptions): Promise<CompactResult>;

  health(options?: CallOptions): Promise<StoreHealth>;
  /** Releases connections and stops timers and watchers; safe to call twice. */
  close(): Promise<void>;
}

/** The methods of {@link ContextStore} that act on one context, bound to its id. */
export interface ContextHandle {
  readonly id: string;
  readonly store: ContextStore;
  info(options?: CallOptions): Promise<ContextInfo>;
  update(input: UpdateContextInput, options?: CallOptions): Promise<ContextInfo>;
  archive(options?: CallOptions): Promise<ContextInfo>;
  delete(options?: CallOptions): Promise<void>;
  getState(options?: CallOptions): Promise<StateRecord>;
  replaceState(state: JsonObject, options?: StateWriteOptions): Promise<StateWriteResult>;
  patchState(patch: JsonObject, options?: StateWriteOptions): Promise<StateWriteResult>;
  setStateAt(path: StatePath, value: JsonValue, options?: StateWriteOptions): Promise<StateWriteResult>;
  removeStateAt(path: StatePath, options?: StateWriteOptions): Promise<StateWriteResult>;
  stateAt(selector: StateSelector, options?: CallOptions): Promise<StateRecord>;
  diff(from: number, to: number, options?: CallOptions): Promise<JsonPatchOperation[]>;
  append(events: EventInput | EventInput[], options?: WriteOptions): Promise<ContextEvent[]>;
  readEvents(query?: EventQuery): Promise<Page<ContextEvent>>;
  countEvents(query?: Omit<EventQuery, "limit" | "cursor" | "order">): Promise<number>;
  lastEvents(n: number, query?: Pick<EventQuery, "types" | "signal">): Promise<ContextEvent[]>;
  /** {@link ContextStore.searchEvents} within this context. */
  search(text: string, query?: Omit<SearchQuery, "text" | "contextId">): Promise<SearchHit[]>;
  createSnapshot(input?: CreateSnapshotInput): Promise<Snapshot>;
  listSnapshots(options?: CallOptions): Promise<Snapshot[]>;
  restore(target: RestoreTarget, options?: StateWriteOptions): Promise<StateWriteResult>;
  fork(input?: ForkInput): Promise<ContextInfo>;
  acquireLease(options: AcquireLeaseOptions): Promise<Lease>;
  watch(options?: WatchOptions): AsyncIterableIterator<ContextEvent>;
  compact(options: { beforeSeq: number } & CallOptions): Promise<CompactResult>;
  /** The history fitted to a token budget; see `buildWindow` in `core/window.ts`. */
  window(options: WindowOptions): Promise<ContextWindow>;
  /** AIECS `optimize_context` over the history; see `optimize` in `core/optimize.ts`. */
  optimize(options: OptimizeOptions): Promise<OptimizeResult>;
}
