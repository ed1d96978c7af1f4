/**
 * The driver contract: the only way the core talks to storage.
 *
 * Drivers are dumb and atomic. The core validates input, computes new states and
 * encodes JSON; a driver stores rows and guarantees that each call is one transaction.
 * Rules every driver follows (the conformance suite in `src/testing/` checks them):
 *
 * - Every method takes a `tenant`; a row of another tenant is invisible (never "exists").
 * - Every method that does I/O takes a {@link DriverCall} last: `call.now` is the only clock a
 *   driver reads (never `Date.now()`), `call.signal` the caller's signal.
 * - A context whose `expiresAt <= call.now` is invisible to every method but `purgeExpired`.
 * - Optional areas (today `search`) are properties of the driver holding an interface of
 *   their own, present exactly when `capabilities` says so; the core answers `NOT_SUPPORTED`
 *   for an area a driver lacks, and the conformance suite skips its tests, saying why.
 * - `commit` is one transaction: guards, state, version, events, snapshot and checkpoint
 *   land together or not at all. It must be serialised per context (row lock,
 *   `BEGIN IMMEDIATE`, a mutex…): two commits never observe the same head.
 * - Sequence numbers are per context, start at 1 and have no gaps.
 * - JSON arrives as text (already validated and encoded by the core) and leaves parsed.
 * - Native errors are wrapped: unreachable backend → `DRIVER_UNAVAILABLE` (with `cause`).
 * - Timestamps are epoch milliseconds.
 * - Methods that take a context id throw `contextNotFound(id)` (code `NOT_FOUND`) when the
 *   context is invisible, except the getters documented to return `null`
 *   (`getContext`, `readHead`, `getSnapshot`, `latestSnapshotBefore`, `getLease`,
 *   `readCheckpoint`) and `deleteContext` / `releaseLease` (which return false).
 */
import type { JsonObject, JsonValue } from "../core/json-types.js";
import type { DriverCall } from "./driver-call.js";
import type { MemoryArea } from "./memory-area.js";
import type { BlockArea } from "./block-area.js";

export type { DriverCall } from "./driver-call.js";

/** Optional abilities and areas of a driver. */
export interface DriverCapabilities {
  /** Commits made by other processes or nodes reach `subscribe` listeners. */
  crossProcessWatch: boolean;
  /** Data survives a restart of the process. */
  durable: boolean;
  /** The driver has the {@link EventSearchArea} as `driver.search`. */
  search: boolean;
  /** The driver has the {@link MemoryArea} (long-term memory) as `driver.memory`. */
  memory: boolean;
  /** The driver has the {@link BlockArea} (working-memory blocks) as `driver.blocks`. */
  blocks: boolean;
}

/** A context row. */
export interface ContextRecord {
  id: string;
  tenant: string;
  kind: string;
  userId: string | null;
  chatId: string | null;
  agentId: string | null;
  title: string | null;
  metadata: JsonObject;
  version: number;
  lastSeq: number;
  status: "active" | "archived";
  createdAt: number;
  updatedAt: number;
  expiresAt: number | null;
  parentId: string | null;
  parentVersion: number | null;
  /**
   * The fork point: this context reads its parent's history up to this sequence number
   * (inclusive) and numbers its own events after it. `null` for a context that shares no
   * history (a root, or a lineage recorded by `createContext({ parent })`).
   */
  parentSeq: number | null;
  /** The oldest sequence number held (1 until `compact`). */
  firstSeq: number;
}

/** An event to store; `data` and `metadata` are JSON text. */
export interface EventRecordInput {
  type: string;
  data: string;
  metadata: string;
  tokens: number | null;
  /** Epoch ms. */
  timestamp: number;
  /** Set by the driver for the state event of a commit; leave undefined. */
  version?: number;
  /**
   * The values `data` and `metadata` encode, when the core has them: a driver may return these
   * in its `CommitResult` instead of parsing the text it was just given.
   */
  values?: { data: JsonValue; metadata: JsonObject };
}

/** A stored event, JSON parsed. */
export interface EventRecord {
  seq: number;
  type: string;
  timestamp: number;
  data: JsonValue;
  metadata: JsonObject;
  tokens: number | null;
  version: number | null;
}

/** A registered JSON Schema. */
export interface SchemaRecord {
  kind: string;
  schema: JsonObject;
  revision: number;
  updatedAt: number;
}

/** What `commit` hands to `update`: the head of the context inside the transaction. */
export interface Head {
  record: ContextRecord;
  state: JsonObject;
  /** The schema registered for the context's kind, if any. */
  schema: SchemaRecord | null;
}

/** What `update` returns: the new state, encoded, and the event that records the change. */
export interface StateUpdate {
  state: JsonObject;
  stateJson: string;
  /** The `state` or `restore` event; the driver sets its `version` to the new version. */
  event: EventRecordInput;
  /** Also store a full checkpoint of the new state (the core decides how often). */
  checkpoint: boolean;
}

/** One atomic mutation of a context. */
export interface Mutation {
  /** Fail with `VersionConflictError` unless the head is at this version. */
  expectedVersion?: number;
  /** Fail with `LEASE_LOST` unless this is the token of the current, unexpired, held lease. */
  fencingToken?: number;
  /**
   * Computes the new state from the head, synchronously and without side effects,
   * inside the transaction (after the guards pass). May throw a ContextError to abort:
   * the driver rolls back and rethrows it unchanged. The new version is head version + 1.
   */
  update?: (head: Head) => StateUpdate;
  /** Appended after the state event, in order. */
  events: EventRecordInput[];
  /**
   * Store a snapshot of the head (after `update`, if any) with the sequence number of the
   * first event of `events` (the core passes the `snapshot` event first).
   * `ALREADY_EXISTS` when the name is taken.
   */
  snapshot?: { name: string; label: string | null; metadata: string };
}

/** What `commit` returns. */
export interface CommitResult {
  record: ContextRecord;
  /** The new state, when the mutation had an `update`. */
  state?: JsonObject;
  /** All events written, with their sequence numbers. */
  events: EventRecord[];
  /** The snapshot stored, when the mutation asked for one. */
  snapshot?: SnapshotRecord;
}

/** A stored snapshot. */
export interface SnapshotRecord {
  name: string;
  label: string | null;
  metadata: JsonObject;
  version: number;
  seq: number;
  state: JsonObject;
  createdAt: number;
}

/** A lease row. */
export interface LeaseRecord {
  holder: string;
  token: number;
  expiresAt: number;
}

/** Filters of `listContexts`, already validated. */
export interface ContextQuery {
  kind?: string;
  userId?: string;
  chatId?: string;
  agentId?: string;
  status?: "active" | "archived";
  updatedSince?: number;
  order: "asc" | "desc";
  /** Only ids after (asc) or before (desc) this one. */
  afterId?: string;
  limit: number;
}

/** Filters of `readEvents` / `countEvents`, already validated. */
/** What {@link Driver.searchEvents} looks for (validated by the core). */
export interface EventSearch {
  /** The query's words: lowercased, deduplicated, 1 to 32 of them. */
  words: string[];
  contextId?: string;
  types?: string[];
  limit: number;
}

/** One event found, with its context and a relevance score (higher is better). */
export interface EventSearchHit {
  contextId: string;
  event: EventRecord;
  score: number;
}

export interface EventRecordQuery {
  afterSeq?: number;
  beforeSeq?: number;
  since?: number;
  until?: number;
  types?: string[];
  /** Only events with a non-null version at or below this (state rebuilds). */
  maxVersion?: number;
  /** Only events with a version above this. */
  minVersion?: number;
  order: "asc" | "desc";
  limit: number;
}

/** Fields of `updateContext`; absent means unchanged. */
export interface ContextPatch {
  title?: string | null;
  metadata?: string;
  expiresAt?: number | null;
  status?: "active" | "archived";
}

/** Which context of a holder: the active one, or the default used when none is active. */
export type ActiveSlot = "active" | "default";

/** A change a watcher should look at; absent fields mean "unknown: re-check". */
export interface ChangeNotice {
  tenant?: string;
  contextId?: string;
  lastSeq?: number;
}

/**
 * The full-text search area (`driver.search`, with `capabilities.search`): what
 * `store.searchEvents` asks of storage. The words are the core's (`core/words.ts`).
 */
export interface EventSearchArea {
  /**
   * Events of visible contexts of `tenant` whose data's string values hold every word of
   * `search.words` (as whole words, case-insensitively): best score first, then newest first
   * (`compareHits` in core/words.ts). A context that does not exist (or is not visible at
   * `call.now`) yields no hits, not NOT_FOUND.
   */
  searchEvents(tenant: string, search: EventSearch, call: DriverCall): Promise<EventSearchHit[]>;
}

/** What {@link Driver.stats} reports; each part only where the driver has it. */
export interface DriverStats {
  /** A cache tier's reads of heads since open: served by the cache, not there, or the cache unavailable. */
  cache?: { hits: number; misses: number; fallbacks: number; up: boolean };
  /** A connection pool right now. */
  pool?: { total: number; idle: number; waiting: number; max: number };
  /** Database files in bytes (SQLite: the database and its write-ahead log). */
  files?: { databaseBytes: number; walBytes: number; path: string };
  /**
   * Writes since open that waited for a lock another connection held, and the seconds they
   * waited (SQLite: the one write lock, `BEGIN IMMEDIATE` taking 1 ms or more).
   */
  locks?: { waits: number; waitSeconds: number };
}

/**
 * A storage backend. Required methods are few; optional areas (`search`) are declared in
 * `capabilities`. Every method that does I/O takes a {@link DriverCall} last.
 *
 * @example
 * ```ts
 * const store = await openStore({ driver: inMemoryDriver() });
 * ```
 */
export interface Driver {
  readonly name: string;
  readonly capabilities: DriverCapabilities;
  /** Full-text search over events; present exactly when `capabilities.search`. */
  readonly search?: EventSearchArea | undefined;
  /** Long-term memory; present exactly when `capabilities.memory`. */
  readonly memory?: MemoryArea | undefined;
  /** Working-memory blocks; present exactly when `capabilities.blocks`. */
  readonly blocks?: BlockArea | undefined;
  /**
   * Counters and sizes of the backend for metrics and health (no I/O beyond a `stat`, cheap:
   * read on every scrape). Optional; a tier merges its own into its inner driver's.
   */
  stats?(): DriverStats;

  /** Connects, checks the schema and applies migrations. Called once by the store. */
  open(): Promise<void>;
  /** Safe to call twice. */
  close(): Promise<void>;
  /** Round-trips to the backend; throws `DRIVER_UNAVAILABLE` when it cannot. */
  ping(call: DriverCall): Promise<Record<string, unknown>>;

  /**
   * Inserts a context at `record.version` with its state (and a checkpoint of it), and the given
   * events (seq 1…). `ALREADY_EXISTS` if the id is taken in this tenant, even by an expired one.
   * A fork (`record.parentSeq` not null) shares its parent's history: the parent
   * (`record.parentId`, same tenant) must be visible (else `NOT_FOUND` naming it); from then on
   * `readEvents`, `countEvents`, `readCheckpoint` and a search with its `contextId` include the
   * events of its ancestors up to the fork point, each cut at its own (ancestors read by key,
   * even expired ones); its own events are numbered after `parentSeq`, its `firstSeq` is the
   * parent's when that is at or below the fork point. `deleteContext` and `compact` fail with
   * `HAS_FORKS` (see `hasForks` in errors.ts) while a visible fork reads events they would
   * remove, and `purgeExpired` keeps such an expired context until no visible fork reads it.
   */
  insertContext(record: ContextRecord, stateJson: string, events: EventRecordInput[], call: DriverCall): Promise<CommitResult>;
  /** The context row, or `null` when it does not exist or has expired. */
  getContext(tenant: string, id: string, call: DriverCall): Promise<ContextRecord | null>;
  /** A page of visible contexts, by id. */
  listContexts(tenant: string, query: ContextQuery, call: DriverCall): Promise<ContextRecord[]>;
  /** Applies the patch and sets `updatedAt = call.now`; `null` when the context does not exist. */
  updateContext(tenant: string, id: string, patch: ContextPatch, call: DriverCall): Promise<ContextRecord | null>;
  /** Deletes the context and everything of it. False when it did not exist. */
  deleteContext(tenant: string, id: string, call: DriverCall): Promise<boolean>;

  /** Current state and head; null when the context does not exist. */
  readHead(tenant: string, id: string, call: DriverCall): Promise<{ record: ContextRecord; state: JsonObject } | null>;
  /**
   * Optional: the current state and version alone — what `getState` needs — for a driver that
   * reads them more cheaply than the whole head (SQLite: no last-sequence or newest-event
   * lookups). Null when the context does not exist. Without it, `getState` reads the head.
   */
  readState?(tenant: string, id: string, call: DriverCall): Promise<{ state: JsonObject; version: number } | null>;
  /** One atomic mutation (see {@link Mutation}); `updatedAt` becomes `call.now`. `NOT_FOUND` when the context does not exist. */
  commit(tenant: string, id: string, mutation: Mutation, call: DriverCall): Promise<CommitResult>;

  /** Events matching the query, in `query.order`. */
  readEvents(tenant: string, id: string, query: EventRecordQuery, call: DriverCall): Promise<EventRecord[]>;
  /** How many events match. */
  countEvents(tenant: string, id: string, query: Omit<EventRecordQuery, "order" | "limit">, call: DriverCall): Promise<number>;

  /** The newest checkpoint at or below `version`. */
  readCheckpoint(
    tenant: string,
    id: string,
    version: number,
    call: DriverCall,
  ): Promise<{ version: number; state: JsonObject } | null>;

  /** The context's snapshots, oldest first. */
  listSnapshots(tenant: string, id: string, call: DriverCall): Promise<SnapshotRecord[]>;
  /** One snapshot by name, or `null`. */
  getSnapshot(tenant: string, id: string, name: string, call: DriverCall): Promise<SnapshotRecord | null>;
  /** The newest snapshot created at or before `time`. */
  latestSnapshotBefore(tenant: string, id: string, time: number, call: DriverCall): Promise<SnapshotRecord | null>;

  /**
   * Drops events with `seq < beforeSeq` and checkpoints older than `checkpoint`, after
   * storing `checkpoint` (the state at the version in force just before `beforeSeq`).
   */
  compact(
    tenant: string,
    id: string,
    beforeSeq: number,
    checkpoint: { version: number; stateJson: string },
    call: DriverCall,
  ): Promise<number>;
  /** Deletes contexts expired at `call.now` (of one tenant, or all when `tenant` is undefined). */
  purgeExpired(tenant: string | undefined, call: DriverCall): Promise<number>;

  /** Grants the lease unless another holder has an unexpired one; returns the holder's lease either way. */
  tryAcquireLease(
    tenant: string,
    id: string,
    holder: string,
    ttlMs: number,
    call: DriverCall,
  ): Promise<{ granted: boolean; lease: LeaseRecord }>;
  /** Extends the lease if `token` is current and unexpired; `LEASE_LOST` otherwise. */
  renewLease(tenant: string, id: string, holder: string, token: number, ttlMs: number, call: DriverCall): Promise<LeaseRecord>;
  /** Releases the lease if `token` is current; a stale token is a no-op that returns false. */
  releaseLease(tenant: string, id: string, holder: string, token: number, call: DriverCall): Promise<boolean>;
  /** The current unexpired lease, or `null`. */
  getLease(tenant: string, id: string, call: DriverCall): Promise<LeaseRecord | null>;

  /** The context id in `slot` of `holder` (the active context or the default), or `null`. */
  getActiveContext(tenant: string, holder: string, slot: ActiveSlot, call: DriverCall): Promise<string | null>;
  /** Sets (or clears with `null`) and returns the previous value, atomically. */
  setActiveContext(
    tenant: string,
    holder: string,
    slot: ActiveSlot,
    contextId: string | null,
    call: DriverCall,
  ): Promise<string | null>;

  /** Stores a schema; the revision increases with every put. */
  putSchema(tenant: string, kind: string, schemaJson: string, call: DriverCall): Promise<SchemaRecord>;
  /** The schema of `kind`, or `null`. */
  getSchema(tenant: string, kind: string, call: DriverCall): Promise<SchemaRecord | null>;
  /** Every schema of the tenant, by kind. */
  listSchemas(tenant: string, call: DriverCall): Promise<SchemaRecord[]>;
  /** Removes the schema of `kind`; `false` when there was none. */
  deleteSchema(tenant: string, kind: string, call: DriverCall): Promise<boolean>;

  /**
   * Calls `listener` after commits (and lease releases) become visible: at once for this
   * process, and for other processes when `capabilities.crossProcessWatch`.
   * Returns the unsubscribe function.
   */
  subscribe(listener: (notice: ChangeNotice) => void): () => void;
}

/** A factory that makes a driver, for `openStore({ driver })`. */
export type DriverFactory = () => Driver;
