/**
 * The public data model of contextd and the {@link CoreStore} interface that the
 * embedded store and the HTTP client both implement.
 */
import type { JsonObject, JsonValue } from "./json-types.js";
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
import type { Block, BlockEdit, BlockHistoryOptions, BlockInput, BlockScope, BlockVersion, BlockWriteOptions } from "./block-types.js";

export type { JsonObject, JsonPrimitive, JsonValue } from "./json-types.js";

import type { CallOptions, TimeInput } from "./call-types.js";
import type { CircuitSnapshot } from "./circuit.js";

export type { CallOptions, TimeInput } from "./call-types.js";

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
  /** The parent's version this one was forked at (a fork starts at that version). */
  parentVersion: number | null;
  /**
   * The fork point: the last sequence number of the parent's history that this context reads
   * as its own (its own events are numbered after it). `null` when it shares no history.
   */
  parentSeq: number | null;
}

/** Input of {@link CoreStore.createContext}. */
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
  /**
   * The lineage to record, as `fork` records it: the context and version this one was made
   * from (`exportContexts`/`importContexts` carry a fork's lineage this way). The parent need
   * not exist in this store. @default null
   */
  parent?: { id: string; version: number } | null;
}

/** Input of {@link CoreStore.updateContext}: the fields given are replaced. */
export interface UpdateContextInput {
  title?: string | null;
  metadata?: JsonObject;
  expiresAt?: TimeInput | null;
  status?: ContextStatus;
}

/** Filters of {@link CoreStore.listContexts}. */
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

/**
 * The built-in event types; any other non-empty string is allowed too. `state`, `snapshot`
 * and `restore` are written by the engine only (`RESERVED_EVENT_TYPES`): `append` refuses them.
 */
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

/** Filters of {@link CoreStore.readEvents} and {@link CoreStore.countEvents}. */
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

/** Input of {@link CoreStore.createSnapshot}. */
export interface CreateSnapshotInput extends CallOptions {
  /** Unique per context. @default generated from the version and time */
  name?: string;
  label?: string | null;
  metadata?: JsonObject;
}

/** What to restore: a snapshot by name, a version, the latest snapshot at or before a time, or the state at a time. */
export type RestoreTarget = { snapshot: string } | { version: number } | { before: TimeInput } | { at: TimeInput };

/** Input of {@link CoreStore.fork}. */
export type ForkInput = (RestoreTarget | { snapshot?: never; version?: never; before?: never; at?: never }) &
  Omit<CreateContextInput, "state" | "parent"> &
  CallOptions;

/** An exclusive right to act on a context, with a fencing token. */
export interface Lease {
  contextId: string;
  holder: string;
  /** Increases with every grant on this context. */
  token: number;
  expiresAt: string;
}

/** Input of {@link CoreStore.acquireLease}. */
export interface AcquireLeaseOptions extends CallOptions {
  holder: string;
  /** How long the lease lasts unless renewed. @default 30000 */
  ttlMs?: number;
  /** How long to wait for a held lease; 0 fails at once. @default 0 */
  waitMs?: number;
}

/** Input of {@link CoreStore.renewLease} and {@link CoreStore.releaseLease}. */
export interface LeaseRef extends CallOptions {
  holder: string;
  token: number;
  /** For renew. @default 30000 */
  ttlMs?: number;
}

/** Options of {@link CoreStore.watch}. */
export interface WatchOptions extends CallOptions {
  /** Replay events after this sequence number first. @default the current last sequence number (live only) */
  afterSeq?: number;
}

/**
 * A search over the history ({@link CoreStore.searchEvents}).
 *
 * In `"text"` mode (the default) words are runs of letters and digits, compared
 * case-insensitively; an event matches when every word of `text` occurs among the words of the
 * string values of its `data` (not its keys). In `"vector"` and `"hybrid"` mode the events of
 * the text-bearing types (`message`, `summary`, `tool_call`, `tool_result`) are ranked by
 * meaning as long-term memory search ranks (docs/memory.md); the first such search of a long
 * history embeds it all (see `onProgress`).
 */
export interface SearchQuery extends CallOptions {
  /** What to find (1 to 1000 characters; in text mode at least one word, at most 32 distinct words). */
  text: string;
  /**
   * `"text"`: full-text, every word must match (score: occurrences). `"vector"`: cosine of the
   * embeddings (needs an embedding model). `"hybrid"`: BM25 and cosine fused. The last two
   * need a store with long-term memory (`capabilities.memory`).
   * @default "text"
   */
  mode?: "text" | "vector" | "hybrid";
  /** Only this context. @default every visible context of the tenant */
  contextId?: string;
  types?: EventType[];
  /** @default 20 (at most 1000) */
  limit?: number;
  /** Only hits scoring at least this (in the mode's score). */
  minScore?: number;
  /**
   * Called while a vector or hybrid search embeds events not embedded yet (in-process only:
   * not sent over HTTP). `total` counts the events to read, `done` those read so far.
   */
  onProgress?: (progress: HistorySearchProgress) => void;
}

/** Progress of the catch-up of a vector or hybrid {@link SearchQuery}. */
export interface HistorySearchProgress {
  done: number;
  total: number;
}

/** One event found by {@link CoreStore.searchEvents}. */
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

/** The result of {@link CoreStore.compact}. */
export interface CompactResult {
  removed: number;
  /** The oldest sequence number still held. */
  firstSeq: number;
  /** The oldest version `stateAt` can still rebuild. */
  firstVersion: number;
}

/** What a store's driver can do (its `DriverCapabilities`). */
export interface StoreCapabilities {
  /** Commits made by other processes or nodes reach watchers. */
  crossProcessWatch: boolean;
  /** Data survives a restart of the process. */
  durable: boolean;
  /** Full-text search of the history (`searchEvents`); without it: `NOT_SUPPORTED`. */
  search: boolean;
  /** Long-term memory (`addMemories`, `searchMemories`, …); without it: `NOT_SUPPORTED`. */
  memory: boolean;
  /** Working-memory blocks (`putBlock`, `editBlock`, …); without it: `NOT_SUPPORTED`. */
  blocks: boolean;
}

/** Health of the store's backend. */
export interface StoreHealth {
  ok: boolean;
  driver: string;
  latencyMs: number;
  capabilities: StoreCapabilities;
  /**
   * The embedding model of long-term memory, or `null` when the store has none; with its
   * circuit breaker's state when it has one (`circuitEmbedder`).
   */
  embedder: { model: string; dimensions: number; circuit?: CircuitSnapshot } | null;
  details: Record<string, unknown>;
}

/**
 * The engine's operations on contexts, state, history, snapshots, leases and search: what
 * both the embedded store and the HTTP client implement, and all that the agent layer
 * (tasks, windows, usage, import/export) is built on. Users hold the richer
 * `ContextStore` (`src/agent/store.ts`), which adds `context(id)`, `startTask` and `usage`.
 *
 * Every method acts within one tenant ({@link CoreStore.tenant}): another tenant's data is
 * never visible. Every method validates all of its input before any I/O, so bad input is
 * `INVALID_INPUT` and writes nothing. Every I/O method takes a `signal` (`ABORTED` when it
 * fires) and fails with `CLOSED` after `close()` and `DRIVER_UNAVAILABLE` when the backend
 * cannot be reached; those three are not repeated below. Costs are for the embedded drivers
 * (SQLite, PostgreSQL): one transaction or query unless said otherwise; over HTTP add one
 * request.
 */
export interface CoreStore extends AsyncDisposable {
  /** The tenant this view acts in (no I/O). @default "default" */
  readonly tenant: string;
  /**
   * The same store seen from another tenant (no I/O; shares connections with this view).
   * @throws `INVALID_INPUT` when `tenant` is not a valid id
   */
  withTenant(tenant: string): CoreStore;

  /**
   * Creates a context at version 1 with its initial state. One transaction (plus the schema check of its kind).
   * @throws `ALREADY_EXISTS` when the id is taken in this tenant (even by an expired context);
   *   `SCHEMA_VIOLATION` when the state does not match its kind's schema
   */
  createContext(input?: CreateContextInput, options?: CallOptions): Promise<ContextInfo>;
  /**
   * The context's identity, owners, metadata and head (version, last seq). One indexed read.
   * @throws `NOT_FOUND` when it does not exist or has expired
   */
  getContext(id: string, options?: CallOptions): Promise<ContextInfo>;
  /**
   * A page of contexts matching the filters, by id; follow `nextCursor` for more. One indexed query per page.
   * @throws `INVALID_INPUT` for a bad filter, limit or cursor
   */
  listContexts(query?: ListContextsQuery): Promise<Page<ContextInfo>>;
  /**
   * Replaces the given fields (title, metadata, expiry, status); the state and version are unchanged. One write.
   * @throws `NOT_FOUND`
   */
  updateContext(id: string, input: UpdateContextInput, options?: CallOptions): Promise<ContextInfo>;
  /**
   * Sets the status to `archived` (still readable and writable; `listContexts` can filter on it). One write.
   * @throws `NOT_FOUND`
   */
  archiveContext(id: string, options?: CallOptions): Promise<ContextInfo>;
  /**
   * Deletes the context with its history, snapshots, checkpoints, search index rows and lease.
   * Cost grows with the size of the history.
   * @throws `NOT_FOUND`; `HAS_FORKS` while a live fork reads its history (`details.forks`)
   */
  deleteContext(id: string, options?: CallOptions): Promise<void>;

  /**
   * The current state and its version. One read (a cached head on the Redis tier).
   * @throws `NOT_FOUND`
   */
  getState(id: string, options?: CallOptions): Promise<StateRecord>;
  /**
   * Replaces the whole state; records a `state` event and increments the version, in one transaction.
   * @throws `NOT_FOUND`; `VERSION_CONFLICT` on a stale `expectedVersion` (the current version in
   *   `details`); `LEASE_LOST` on a stale `fencingToken`; `SCHEMA_VIOLATION`; `INVALID_INPUT` for a
   *   state over the size limit
   */
  replaceState(id: string, state: JsonObject, options?: StateWriteOptions): Promise<StateWriteResult>;
  /**
   * Applies an RFC 7396 JSON Merge Patch (`null` removes a key); the result must still be an
   * object. Stores the patch, not the whole state, in the `state` event; one transaction.
   * @throws as {@link CoreStore.replaceState}
   */
  patchState(id: string, patch: JsonObject, options?: StateWriteOptions): Promise<StateWriteResult>;
  /**
   * Sets the value at a JSON Pointer path, creating missing objects on the way. One transaction.
   * @throws as {@link CoreStore.replaceState}; `INVALID_INPUT` when the path runs through a
   *   non-object or past the end of an array
   */
  setStateAt(id: string, path: StatePath, value: JsonValue, options?: StateWriteOptions): Promise<StateWriteResult>;
  /**
   * Removes the value at a path. One transaction.
   * @throws as {@link CoreStore.replaceState}; `NOT_FOUND` when nothing is at the path
   */
  removeStateAt(id: string, path: StatePath, options?: StateWriteOptions): Promise<StateWriteResult>;
  /**
   * Rebuilds a past state, by version or as it was at a time. Reads the newest checkpoint at
   * or below the version and replays at most `checkpointEvery - 1` writes: the cost does not
   * grow with the length of the history.
   * @throws `NOT_FOUND` for a version that never existed or a time before the context;
   *   `COMPACTED` for one compacted away
   */
  stateAt(id: string, selector: StateSelector, options?: CallOptions): Promise<StateRecord>;
  /**
   * The RFC 6902 JSON Patch that turns version `from` into version `to` (two `stateAt` rebuilds).
   * @throws as {@link CoreStore.stateAt}
   */
  diff(id: string, from: number, to: number, options?: CallOptions): Promise<JsonPatchOperation[]>;

  /**
   * Appends events atomically: all get consecutive sequence numbers, or none is written.
   * Writes only the event rows (the state is not rewritten).
   * @throws `NOT_FOUND`; `VERSION_CONFLICT` / `LEASE_LOST` on stale guards; `INVALID_INPUT`
   *   for a bad event (reserved type, over the size or depth limit, not JSON)
   */
  append(id: string, events: EventInput | EventInput[], options?: WriteOptions): Promise<ContextEvent[]>;
  /**
   * A page of the history, filtered by sequence range, time range and types, oldest first by
   * default. One index range scan per page.
   * Events removed by `compact` are no longer returned.
   * @throws `NOT_FOUND`
   */
  readEvents(id: string, query?: EventQuery): Promise<Page<ContextEvent>>;
  /**
   * How many events match the filters. Counts index entries: grows with the number counted.
   * @throws `NOT_FOUND`
   */
  countEvents(id: string, query?: Omit<EventQuery, "limit" | "cursor" | "order">): Promise<number>;
  /**
   * The newest `n` events (at most 10000), oldest first. One backward index scan.
   * @throws `NOT_FOUND`
   */
  lastEvents(id: string, n: number, query?: Pick<EventQuery, "types" | "signal">): Promise<ContextEvent[]>;
  /**
   * Full-text search over the history: every word of the query must occur; best matches
   * first, then newest first. Indexes events appended since the last search first (appends
   * never pay for the index), then one index query.
   * @throws `INVALID_INPUT` for an empty query, more than 32 words or a word over 100 characters
   */
  searchEvents(query: SearchQuery): Promise<SearchHit[]>;

  /**
   * Stores a named recovery point (state, version, seq) and records a `snapshot` event, in one transaction.
   * @throws `NOT_FOUND`; `ALREADY_EXISTS` when the name is taken in this context
   */
  createSnapshot(id: string, input?: CreateSnapshotInput): Promise<Snapshot>;
  /**
   * The context's snapshots, oldest first, in one read (with their states: mind the size).
   * @throws `NOT_FOUND`
   */
  listSnapshots(id: string, options?: CallOptions): Promise<Snapshot[]>;
  /**
   * One snapshot by name. One indexed read.
   * @throws `NOT_FOUND` for the context or the name
   */
  getSnapshot(id: string, name: string, options?: CallOptions): Promise<Snapshot>;
  /**
   * Writes a past state (a snapshot, a version, the latest snapshot before a time, or the
   * state at a time) as the new current state — a new version — and records a `restore` event.
   * @throws as {@link CoreStore.replaceState}; `NOT_FOUND` / `COMPACTED` for a missing target
   */
  restore(id: string, target: RestoreTarget, options?: StateWriteOptions): Promise<StateWriteResult>;
  /**
   * Creates a new context from the current state, a snapshot or a past version of this one;
   * it records its parent, the parent's version and the fork point (`parentSeq`). The fork
   * shares the parent's history up to the fork point without copying it: its reads, counts,
   * windows, searches, watch and time travel see the parent's events up to `parentSeq` and none
   * after, and the parent never sees the fork's events. The fork continues the parent's
   * numbering: it starts at the version it was forked from, and its own events are numbered
   * from `parentSeq + 1`. The fork point of the current state is the parent's last event; of a
   * snapshot, its `snapshot` event; of a version, the last event before the write that replaced
   * it; of a time, the last event at or before it (within that version). While a fork lives,
   * deleting or compacting away history it reads fails with `HAS_FORKS`, and an expired parent
   * is kept (invisible) until its forks are gone. One transaction (a `stateAt` rebuild first
   * for a past version).
   * @throws `NOT_FOUND`; `ALREADY_EXISTS` for a taken id; `SCHEMA_VIOLATION`
   */
  fork(id: string, input?: ForkInput): Promise<ContextInfo>;

  /**
   * Makes `contextId` the active context of `holder` (an agent or client id). One write.
   * @throws `NOT_FOUND` for the context; `INVALID_INPUT` for a bad holder id
   */
  activate(holder: string, contextId: string, options?: CallOptions): Promise<void>;
  /**
   * Clears the active context of `holder`; returns the one that was active (or `null`). One write.
   * @throws `INVALID_INPUT` for a bad holder id
   */
  deactivate(holder: string, options?: CallOptions): Promise<string | null>;
  /**
   * Activates `contextId` for `holder` and returns the previously active one, atomically (one transaction).
   * @throws `NOT_FOUND` for the context; `INVALID_INPUT` for a bad holder id
   */
  switchContext(holder: string, contextId: string, options?: CallOptions): Promise<string | null>;
  /**
   * The active context of `holder`, else its default, else `null` (a deleted or expired one
   * counts as none). One or two indexed reads.
   * @throws `INVALID_INPUT` for a bad holder id
   */
  currentContext(holder: string, options?: CallOptions): Promise<ContextInfo | null>;
  /**
   * Sets (or with `null` clears) the default context of `holder`, used when none is active. One write.
   * @throws `NOT_FOUND` for the context; `INVALID_INPUT` for a bad holder id
   */
  setDefaultContext(holder: string, contextId: string | null, options?: CallOptions): Promise<void>;

  /**
   * Registers the JSON Schema every state of `kind` must match from the next write on
   * (existing states are not re-checked). The revision increases with every put. One write,
   * plus compiling the schema (cached per revision).
   * @throws `INVALID_INPUT` for a schema that does not compile or a bad kind
   */
  setSchema(kind: string, schema: JsonObject, options?: CallOptions): Promise<StateSchema>;
  /**
   * The schema of `kind`, or `null`. One read.
   * @throws `INVALID_INPUT` for a bad kind
   */
  getSchema(kind: string, options?: CallOptions): Promise<StateSchema | null>;
  /**
   * Every registered schema of the tenant. One read (grows with the number of kinds).
   * @throws `CLOSED` / `DRIVER_UNAVAILABLE` only (from the store)
   */
  listSchemas(options?: CallOptions): Promise<StateSchema[]>;
  /**
   * Removes the schema of `kind` (states of that kind are no longer checked); `false` when there was none. One write.
   * @throws `INVALID_INPUT` for a bad kind
   */
  deleteSchema(kind: string, options?: CallOptions): Promise<boolean>;

  /**
   * Takes the exclusive lease of a context for `ttlMs`, waiting up to `waitMs` for a held one
   * (polling every `leasePollMs`, or woken by its release). Its fencing token increases with
   * every grant; writes that carry an older token fail with `LEASE_LOST`.
   * @throws `NOT_FOUND`; `LOCK_TIMEOUT` after `waitMs`
   */
  acquireLease(id: string, options: AcquireLeaseOptions): Promise<Lease>;
  /**
   * Extends a lease this holder still has. One write.
   * @throws `NOT_FOUND`; `LEASE_LOST` when the lease is no longer this holder's (expired and taken, or released)
   */
  renewLease(id: string, lease: LeaseRef): Promise<Lease>;
  /**
   * Releases a lease and wakes a waiter; a stale token is a no-op (the lease has already moved on). One write.
   * @throws `NOT_FOUND`
   */
  releaseLease(id: string, lease: LeaseRef): Promise<void>;
  /**
   * The current unexpired lease, or `null`. One read.
   * @throws `NOT_FOUND`
   */
  getLease(id: string, options?: CallOptions): Promise<Lease | null>;

  /**
   * Replays events after `afterSeq`, then follows new ones live, from any process or node
   * sharing the backend: no gap, no duplicate. Ends on abort or `close()`; survives a backend
   * outage (resumes from the last delivered seq). Reads the replay a page at a time, then
   * holds a listener, not a connection, per watcher.
   * @throws `NOT_FOUND` (on the first `next()`)
   */
  watch(id: string, options?: WatchOptions): AsyncIterableIterator<ContextEvent>;

  /**
   * Deletes every expired context of this tenant with its history; returns how many. One
   * indexed query, then a delete whose cost grows with the histories removed. An expired
   * context whose history a live fork still reads is kept (invisible) until the fork is gone.
   * @throws `CLOSED` / `DRIVER_UNAVAILABLE` only (from the store)
   */
  purgeExpired(options?: CallOptions): Promise<number>;
  /**
   * Drops the history before `beforeSeq` after storing a checkpoint of the state then in
   * force; `stateAt` can no longer rebuild older versions (`COMPACTED`).
   * On a fork, compacting below the fork point hides inherited events too.
   * @throws `NOT_FOUND`; `INVALID_INPUT` when `beforeSeq` is newer than the newest snapshot;
   *   `HAS_FORKS` when a live fork reads events it would drop (`details.forks`)
   */
  compact(id: string, options: { beforeSeq: number } & CallOptions): Promise<CompactResult>;

  /**
   * Adds long-term memories atomically (one or many). Each text is embedded by the store's
   * model (unless a `vector` is given) before the write; adding a text its scope already holds
   * returns that memory (`outcome: "existing"`); with `merge`, a near-duplicate of the same
   * scope is updated instead (`"merged"`; never a delete). Cost: the embedding (about 30 ms a
   * turn with the default model, off the event loop) plus one transaction.
   * @throws `INVALID_INPUT` (empty or over-long text, a scope with no fields, a reserved
   *   namespace root, a vector of the wrong dimension or with NaN…); `ALREADY_EXISTS` for a taken
   *   id; `EMBEDDING_FAILED` (nothing written); `NOT_SUPPORTED` without the memory area
   */
  addMemories(memories: MemoryInput | MemoryInput[], options?: AddMemoriesOptions): Promise<AddedMemory[]>;
  /**
   * One live memory; with `refresh`, its expiry moves to now + its `ttlMs`. One read.
   * @throws `NOT_FOUND` (also when deleted or expired)
   */
  getMemory(id: string, options?: GetMemoryOptions): Promise<Memory>;
  /**
   * Replaces the given fields: a new version (the history keeps the old one); a new text is
   * embedded again. Compare-and-set on `expectedVersion` (and, without one, on the version read,
   * so an update never overwrites a change made meanwhile).
   * @throws `NOT_FOUND`; `VERSION_CONFLICT`; `ALREADY_EXISTS` when the new text is another memory's in the scope
   */
  updateMemory(id: string, update: MemoryUpdate, options?: MemoryWriteOptions): Promise<Memory>;
  /**
   * Deletes a memory (its history keeps a `delete` version). One transaction.
   * @throws `NOT_FOUND`; `VERSION_CONFLICT`
   */
  deleteMemory(id: string, options?: MemoryWriteOptions): Promise<void>;
  /**
   * A page of live memories selected by scope, metadata filter, tags and time, by creation
   * time. Served by the in-process index (brought up to date first: one query when nothing changed).
   * @throws `INVALID_INPUT` for an unknown filter operator or a bad scope
   */
  listMemories(query?: ListMemoriesQuery): Promise<Page<Memory>>;
  /**
   * Searches memories by text (BM25), meaning (cosine) or both (hybrid, the default), best
   * first, with the same hits in the same order on every store (docs/memory.md). Cost: the
   * query's embedding plus a scan of the selected memories' postings and vectors.
   * @throws `INVALID_INPUT`; `MODEL_MISMATCH` when the memories' vectors are of another model;
   *   `NOT_SUPPORTED` for `mode: "vector"` without an embedding model; `EMBEDDING_FAILED`
   */
  searchMemories(query: MemorySearchQuery): Promise<MemoryHit[]>;
  /**
   * Every version of a memory, oldest first. One indexed read.
   * @throws `NOT_FOUND` when it never existed or was purged
   */
  memoryHistory(id: string, options?: CallOptions): Promise<MemoryVersion[]>;
  /**
   * Deletes for good (with their history) the memories expired by now, or every memory of
   * `scope`; returns how many. One transaction whose cost grows with the memories removed.
   * @throws `INVALID_INPUT` for a bad scope; `NOT_SUPPORTED` without the memory area
   */
  purgeMemories(options?: PurgeMemoriesOptions): Promise<number>;
  /**
   * Embeds every memory that has no vector of the store's model (after a change of model, or
   * added without one), in committed batches: an interrupted reindex resumes where it stopped.
   * With `limit`, stops after that many (`remaining` says how many are left).
   * @throws `INVALID_INPUT` without an embedding model; `EMBEDDING_FAILED`
   */
  reindexMemories(options?: ReindexMemoriesOptions): Promise<ReindexResult>;

  /**
   * The working-memory blocks of a scope (a context, a user or an agent), by label. One read.
   * @throws `INVALID_INPUT` for a scope that does not name exactly one of contextId, userId,
   *   agentId; `NOT_SUPPORTED` without the block area
   */
  listBlocks(scope: BlockScope, options?: CallOptions): Promise<Block[]>;
  /**
   * One block. One indexed read.
   * @throws `NOT_FOUND`; `INVALID_INPUT` for a bad scope or label
   */
  getBlock(scope: BlockScope, label: string, options?: CallOptions): Promise<Block>;
  /**
   * Creates a block, or overwrites one (description, value, schema and limit) as a new
   * version; the history keeps every version. One transaction.
   * @throws `INVALID_INPUT` (a bad or reserved label, a value of the wrong type, not matching
   *   the schema — `details.path` is the JSON pointer —, a schema that does not compile, over
   *   the store's size limit); `LIMIT_EXCEEDED` when the value is over the block's limit
   *   (`details`: `{ limit, unit, size, over }`); `VERSION_CONFLICT` on a stale `ifVersion`
   *   (0: the block must not exist)
   */
  putBlock(scope: BlockScope, input: BlockInput, options?: BlockWriteOptions): Promise<Block>;
  /**
   * Appends to, replaces a unique substring of, or rewrites a block's value, as a new version,
   * in one transaction that checks the edit against the stored block: without `ifVersion` a
   * concurrent edit is never lost (both apply, one after the other).
   * @throws `NOT_FOUND`; `LIMIT_EXCEEDED` (nothing written); `VERSION_CONFLICT` on a stale
   *   `ifVersion`; `INVALID_INPUT` when `old` does not occur or occurs more than once
   *   (`details.occurrences`), for append/replace on a JSON block, or a rewrite the schema refuses
   */
  editBlock(scope: BlockScope, label: string, edit: BlockEdit, options?: BlockWriteOptions): Promise<Block>;
  /**
   * Deletes a block (its history keeps a `delete` version; created again, its versions continue). One transaction.
   * @throws `NOT_FOUND`; `VERSION_CONFLICT`
   */
  deleteBlock(scope: BlockScope, label: string, options?: BlockWriteOptions): Promise<void>;
  /**
   * The versions of a block (also of a deleted one), oldest first, with who made it: all of
   * them, or a page (`afterVersion`, `limit` ≤ 10000; the next page starts after the last
   * version returned). One indexed read (two for an empty page past the end).
   * @throws `NOT_FOUND` when it never existed; `INVALID_INPUT` for a bad `afterVersion` or `limit`
   */
  blockHistory(scope: BlockScope, label: string, options?: BlockHistoryOptions): Promise<BlockVersion[]>;

  /**
   * One round-trip to the backend; never throws for an unreachable one (`ok: false` with the reason).
   * @throws `CLOSED` after `close()`; `ABORTED` when the signal fires
   */
  health(options?: CallOptions): Promise<StoreHealth>;
  /**
   * Releases connections and stops timers and watchers; calls in flight end with `CLOSED`.
   * Safe to call twice (the second call returns the first one's promise). Cost: closing the
   * driver's connections or file.
   * @throws what the driver's `close` throws (rare); the store counts as closed either way
   */
  close(): Promise<void>;
}
