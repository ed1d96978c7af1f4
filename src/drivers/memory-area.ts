/**
 * The long-term memory area of the driver contract (`driver.memory`, with
 * `capabilities.memory`): storage of memories, their versions and their vectors.
 *
 * Drivers store; the core ranks. Search runs on an index the core keeps in the process and
 * brings up to date from {@link MemoryArea.changes} before each use, so every driver returns
 * the same hits in the same order. A driver that can search vectors itself (PostgreSQL with
 * pgvector) offers {@link MemoryArea.nearest}: the core then takes its vector candidates from
 * it and recomputes their cosines. What a driver must guarantee:
 *
 * - Every write of a tenant's memories gets a `rev` greater than every rev of that tenant
 *   committed before it (serialise writers per tenant), so reading `rev > n` after seeing `n`
 *   misses nothing.
 * - A deleted memory stays as a tombstone (`deleted: true`, content cleared) with a new rev, so
 *   indexes learn of the delete; its id is never reused.
 * - Adds are atomic (all of a batch or none) and idempotent per scope: while a live memory of
 *   the same `scopeKey` has the same `textHash`, adding that text returns it (`created: false`),
 *   also within one batch.
 * - Updates compare-and-set on `version` (`VersionConflictError`) and add a version row.
 * - JSON arrives as text (validated by the core) and leaves parsed; vectors are Float32.
 */
import type { JsonObject, JsonValue } from "../core/json-types.js";
import type { DriverCall } from "./driver-call.js";

/** A memory as stored. */
export interface MemoryRecord {
  id: string;
  tenant: string;
  userId: string | null;
  agentId: string | null;
  contextId: string | null;
  namespace: string[];
  text: string;
  value: JsonValue | null;
  metadata: JsonObject;
  tags: string[];
  importance: number;
  sourceContextId: string | null;
  sourceSeq: number | null;
  /** Epoch ms. */
  createdAt: number;
  updatedAt: number;
  expiresAt: number | null;
  ttlMs: number | null;
  version: number;
  /** The tenant-wide change number of the last write (see the module docs). */
  rev: number;
  /** A tombstone: the memory was deleted (its content is cleared). */
  deleted: boolean;
  /** The model that made `vector`, or null when there is none. */
  model: string | null;
  vector: Float32Array | null;
}

/**
 * Whether a memory with this expiry is past it at `now`: gone for every read, and no longer
 * holding its text, though not yet purged. The one rule of the engine and every driver.
 */
export function expiredAt(expiresAt: number | null, now: number): boolean {
  return expiresAt !== null && expiresAt <= now;
}

/**
 * The record of a memory just added from `m` (version 1, its vector copied): what a driver
 * returns for a new memory without reading the row it wrote back.
 */
export function addedRecord(tenant: string, m: MemoryAdd, rev: number, now: number): MemoryRecord {
  return {
    id: m.id,
    tenant,
    userId: m.userId,
    agentId: m.agentId,
    contextId: m.contextId,
    namespace: [...m.namespace],
    text: m.text,
    value: JSON.parse(m.valueJson) as JsonValue | null,
    metadata: JSON.parse(m.metadataJson) as JsonObject,
    tags: [...m.tags],
    importance: m.importance,
    sourceContextId: m.sourceContextId,
    sourceSeq: m.sourceSeq,
    createdAt: now,
    updatedAt: now,
    expiresAt: m.expiresAt,
    ttlMs: m.ttlMs,
    version: 1,
    rev,
    deleted: false,
    model: m.model,
    vector: m.vector === null ? null : Float32Array.from(m.vector),
  };
}

/** The content of a memory to write; JSON values come as text. */
export interface MemoryContent {
  text: string;
  /** SHA-256 of the NFC text (hex): idempotency within a scope. */
  textHash: string;
  valueJson: string;
  metadataJson: string;
  tags: string[];
  importance: number;
  expiresAt: number | null;
  ttlMs: number | null;
  model: string | null;
  vector: Float32Array | null;
}

/** A memory to add. */
export interface MemoryAdd extends MemoryContent {
  id: string;
  userId: string | null;
  agentId: string | null;
  contextId: string | null;
  namespace: string[];
  /** A canonical text of the scope (the core's): idempotency is per scope key. */
  scopeKey: string;
  sourceContextId: string | null;
  sourceSeq: number | null;
}

/** A change of one memory. */
export interface MemoryChange {
  /** The whole new content (the core merges the caller's fields into the current one). */
  content: MemoryContent;
  /** What the version row records. */
  op: "update" | "merge";
  /** Fail with `VersionConflictError` unless the memory is at this version. */
  expectedVersion?: number;
  actor: string | null;
}

/** One stored version of a memory. */
export interface MemoryVersionRecord {
  memoryId: string;
  version: number;
  op: "add" | "update" | "merge" | "delete";
  text: string;
  value: JsonValue | null;
  metadata: JsonObject;
  tags: string[];
  importance: number;
  expiresAt: number | null;
  actor: string | null;
  at: number;
}

/** A query of {@link MemoryArea.nearest}. */
export interface MemoryNearestQuery {
  /** Only vectors of this model (and of the query's length). */
  model: string;
  vector: Float32Array;
  /** How many ids at most. */
  k: number;
  /**
   * Only these memories, searched exactly (every one compared). Without it, the tenant's
   * memories of the model, searched with the driver's approximate index.
   */
  ids?: string[];
}

/** The storage of long-term memories. Every method is one transaction. */
export interface MemoryArea {
  /**
   * Adds memories atomically at version 1 (a version row each), or returns the live memory
   * that has the same text in the same scope. `ALREADY_EXISTS` when an id is taken.
   */
  add(tenant: string, memories: MemoryAdd[], actor: string | null, call: DriverCall): Promise<{ record: MemoryRecord; created: boolean }[]>;
  /** The live memory (expired or not; the core decides), or `null` (never a tombstone). */
  get(tenant: string, id: string, call: DriverCall): Promise<MemoryRecord | null>;
  /**
   * Replaces the content, increments the version, adds a version row. `NOT_FOUND` for no live
   * memory; `VersionConflictError`; `ALREADY_EXISTS` when the new text is another live memory's
   * in the same scope.
   */
  update(tenant: string, id: string, change: MemoryChange, call: DriverCall): Promise<MemoryRecord>;
  /** Moves `expiresAt` (a refresh on read): no new version, but a new rev. `null` for no live memory. */
  refresh(tenant: string, id: string, expiresAt: number, call: DriverCall): Promise<MemoryRecord | null>;
  /**
   * Turns the memory into a tombstone and adds a `delete` version row; false for no live
   * memory. `VersionConflictError` on a stale `expectedVersion`.
   */
  delete(tenant: string, id: string, guard: { expectedVersion?: number; actor: string | null }, call: DriverCall): Promise<boolean>;
  /** Every version of a live or deleted memory, oldest first (empty when it never existed or was purged). */
  history(tenant: string, id: string, call: DriverCall): Promise<MemoryVersionRecord[]>;
  /** Live memories and tombstones with `rev > afterRev`, by rev, at most `limit`. */
  changes(tenant: string, afterRev: number, limit: number, call: DriverCall): Promise<MemoryRecord[]>;
  /**
   * Stores a vector made by `model` for the memory at `version` (no new version; a new rev);
   * false when the memory is gone or at another version (it changed meanwhile).
   */
  setVector(tenant: string, id: string, version: number, model: string, vector: Float32Array, call: DriverCall): Promise<boolean>;
  /** Deletes the memories' content and history for good, leaving tombstones; returns how many. */
  purge(tenant: string, ids: string[], call: DriverCall): Promise<number>;
  /**
   * Optional: database-side vector search (PostgreSQL with pgvector). The ids of live memories
   * whose vector (of `model`) is nearest the query by cosine, nearest first (an approximate
   * order is allowed: the core recomputes every similarity); `null` when the driver cannot
   * search vectors (for PostgreSQL: no `vector` extension), and the core searches its own index.
   */
  nearest?(tenant: string, query: MemoryNearestQuery, call: DriverCall): Promise<{ id: string; similarity: number }[] | null>;
}
