/**
 * The driver contract: the only way the core talks to storage.
 *
 * Drivers are dumb and atomic. The core validates input, computes new states and
 * encodes JSON; a driver stores rows and guarantees that each call is one transaction.
 * Rules every driver follows (the conformance suite in `src/testing/` checks them):
 *
 * - Every method takes a `tenant`; a row of another tenant is invisible (never "exists").
 * - A context whose `expiresAt <= now` is invisible to every method but `purgeExpired`.
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

/**
 * What every driver call carries (being introduced: methods take it as their last argument).
 * The store's clock reading decides expiry, lease validity and timestamps, so a store with
 * `StoreOptions.now` behaves the same on every driver; the caller's signal lets a driver stop
 * waiting (for a pooled connection, a lock, the network) when the caller gives up. A driver
 * never abandons a write that may already be committed: it checks the signal before it
 * starts a transaction, and may roll back one not yet committed.
 */
export interface DriverCall {
  /** The store's clock (epoch ms) when the call started. */
  now: number;
  /** The caller's signal, if any. */
  signal?: AbortSignal | undefined;
}

/** Optional abilities of a driver. */
export interface DriverCapabilities {
  /** Commits made by other processes or nodes reach `subscribe` listeners. */
  crossProcessWatch: boolean;
  /** Data survives a restart of the process. */
  durable: boolean;
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
  now: number;
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
  now: number;
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
  /** Contexts expired at this time are not searched. */
  now: number;
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
  now: number;
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
 * A storage backend. Required methods are few; optional abilities are in `capabilities`.
 *
 * @example
 * ```ts
 * const store = await openStore({ driver: inMemoryDriver() });
 * ```
 */
export interface Driver {
  readonly name: string;
  readonly capabilities: DriverCapabilities;

  /** Connects, checks the schema and applies migrations. Called once by the store. */
  open(): Promise<void>;
  /** Safe to call twice. */
  close(): Promise<void>;
  /** Round-trips to the backend; throws `DRIVER_UNAVAILABLE` when it cannot. */
  ping(): Promise<Record<string, unknown>>;

  /**
   * Inserts a context at version 1 with its state (and a checkpoint of it), and the given
   * events (seq 1…). `ALREADY_EXISTS` if the id is taken in this tenant, even by an expired one.
   */
  insertContext(record: ContextRecord, stateJson: string, events: EventRecordInput[]): Promise<CommitResult>;
  getContext(tenant: string, id: string, now: number): Promise<ContextRecord | null>;
  listContexts(tenant: string, query: ContextQuery): Promise<ContextRecord[]>;
  updateContext(tenant: string, id: string, patch: ContextPatch): Promise<ContextRecord | null>;
  /** Deletes the context and everything of it. False when it did not exist. */
  deleteContext(tenant: string, id: string, now: number): Promise<boolean>;

  /** Current state and head; null when the context does not exist. */
  readHead(tenant: string, id: string, now: number): Promise<{ record: ContextRecord; state: JsonObject } | null>;
  /** `NOT_FOUND` when the context does not exist. */
  commit(tenant: string, id: string, mutation: Mutation): Promise<CommitResult>;

  readEvents(tenant: string, id: string, query: EventRecordQuery): Promise<EventRecord[]>;
  countEvents(tenant: string, id: string, query: Omit<EventRecordQuery, "order" | "limit">): Promise<number>;
  /**
   * Events of visible contexts of `tenant` whose data's string values hold every word of
   * `search.words` (as whole words, case-insensitively): best score first, then newest first.
   * A context that does not exist (or is not visible) yields no hits, not NOT_FOUND.
   */
  searchEvents(tenant: string, search: EventSearch): Promise<EventSearchHit[]>;

  /** The newest checkpoint at or below `version`. */
  readCheckpoint(tenant: string, id: string, version: number): Promise<{ version: number; state: JsonObject } | null>;

  listSnapshots(tenant: string, id: string): Promise<SnapshotRecord[]>;
  getSnapshot(tenant: string, id: string, name: string): Promise<SnapshotRecord | null>;
  /** The newest snapshot created at or before `time`. */
  latestSnapshotBefore(tenant: string, id: string, time: number): Promise<SnapshotRecord | null>;

  /**
   * Drops events with `seq < beforeSeq` and checkpoints older than `checkpoint`, after
   * storing `checkpoint` (the state at the version in force just before `beforeSeq`).
   */
  compact(
    tenant: string,
    id: string,
    beforeSeq: number,
    checkpoint: { version: number; stateJson: string },
  ): Promise<number>;
  /** Deletes expired contexts (of one tenant, or all when `tenant` is undefined). */
  purgeExpired(tenant: string | undefined, now: number): Promise<number>;

  /** Grants the lease unless another holder has an unexpired one; returns the holder's lease either way. */
  tryAcquireLease(
    tenant: string,
    id: string,
    holder: string,
    ttlMs: number,
    now: number,
  ): Promise<{ granted: boolean; lease: LeaseRecord }>;
  /** Extends the lease if `token` is current and unexpired; `LEASE_LOST` otherwise. */
  renewLease(tenant: string, id: string, holder: string, token: number, ttlMs: number, now: number): Promise<LeaseRecord>;
  /** Releases the lease if `token` is current; a stale token is a no-op that returns false. */
  releaseLease(tenant: string, id: string, holder: string, token: number): Promise<boolean>;
  getLease(tenant: string, id: string, now: number): Promise<LeaseRecord | null>;

  /** The context id in `slot` of `holder` (the active context or the default), or `null`. */
  getActiveContext(tenant: string, holder: string, slot: ActiveSlot): Promise<string | null>;
  /** Sets (or clears with `null`) and returns the previous value, atomically. */
  setActiveContext(tenant: string, holder: string, slot: ActiveSlot, contextId: string | null): Promise<string | null>;

  /** Stores a schema; the revision increases with every put. */
  putSchema(tenant: string, kind: string, schemaJson: string, now: number): Promise<SchemaRecord>;
  getSchema(tenant: string, kind: string): Promise<SchemaRecord | null>;
  listSchemas(tenant: string): Promise<SchemaRecord[]>;
  deleteSchema(tenant: string, kind: string): Promise<boolean>;

  /**
   * Calls `listener` after commits (and lease releases) become visible: at once for this
   * process, and for other processes when `capabilities.crossProcessWatch`.
   * Returns the unsubscribe function.
   */
  subscribe(listener: (notice: ChangeNotice) => void): () => void;
}

/** A factory that makes a driver, for `openStore({ driver })`. */
export type DriverFactory = () => Driver;
