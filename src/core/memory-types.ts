/**
 * The public data model of long-term memory: scoped memories, their history, and search.
 * See docs/memory.md for the semantics (scopes, idempotent adds, ranking).
 */
import type { JsonObject, JsonValue } from "./json-types.js";
import type { CallOptions, TimeInput } from "./call-types.js";

/**
 * Whom a memory is about or for: any of a user, an agent and a context (a run), plus a
 * namespace path like LangGraph's `["users", "u1", "prefs"]`. At least one field is given.
 * In a query, each given field must match exactly and `namespace` matches as a prefix.
 */
export interface MemoryScope {
  userId?: string | null;
  agentId?: string | null;
  contextId?: string | null;
  namespace?: readonly string[];
}

/** A scope as stored: every field present. */
export interface StoredMemoryScope {
  userId: string | null;
  agentId: string | null;
  contextId: string | null;
  namespace: string[];
}

/** Where a memory came from: a context and, optionally, the event that said it. */
export interface MemorySource {
  contextId: string;
  seq: number | null;
}

/** One long-term memory. */
export interface Memory {
  id: string;
  tenant: string;
  scope: StoredMemoryScope;
  /** What is remembered, as text: what search ranks and the model embeds. */
  text: string;
  /** Structured data kept with it (never searched). */
  value: JsonValue | null;
  metadata: JsonObject;
  tags: string[];
  /** 0 (trivial) to 1 (essential); used by the optional importance boost. */
  importance: number;
  source: MemorySource | null;
  createdAt: string;
  updatedAt: string;
  /** After this time the memory is gone from every read; `purgeMemories` deletes it. */
  expiresAt: string | null;
  /** With `refresh` on reads, `expiresAt` moves to read time + `ttlMs`. */
  ttlMs: number | null;
  /** 1 when added; every update increments it. */
  version: number;
  /** The model its vector was made by (`null`: no vector, e.g. a store without an embedder). */
  embedding: { model: string; dimensions: number } | null;
}

/** A memory to add. */
export interface MemoryInput {
  /** Given, or generated (time-sortable). */
  id?: string;
  scope: MemoryScope;
  /** 1 to 32768 characters. */
  text: string;
  value?: JsonValue;
  metadata?: JsonObject;
  /** Up to 64 labels of 1–128 characters. */
  tags?: string[];
  /** 0 to 1. @default 0.5 */
  importance?: number;
  source?: { contextId: string; seq?: number | null };
  expiresAt?: TimeInput | null;
  /** Shorthand for `expiresAt = now + ttlMs`; also what `refresh` extends by. */
  ttlMs?: number | null;
  /** A vector made by the store's embedding model (the store does not embed the text again). */
  vector?: readonly number[] | Float32Array;
}

/** Options of `addMemories`. */
export interface AddMemoriesOptions extends CallOptions {
  /**
   * Merge into the most similar live memory of the same scope when their cosine similarity is
   * at least `threshold` (0–1): that memory is updated (a new version with the new text; its
   * history keeps the old one) instead of a second one being added. Never a delete.
   */
  merge?: { threshold: number };
  /** Who or what made the change, recorded in the history. */
  actor?: string;
}

/** What `addMemories` did with one input. */
export interface AddedMemory {
  memory: Memory;
  /** `created`; `existing` (the same text was already in the scope); `merged` (into a similar one). */
  outcome: "created" | "existing" | "merged";
}

/** Fields `updateMemory` replaces. */
export interface MemoryUpdate {
  text?: string;
  value?: JsonValue | null;
  metadata?: JsonObject;
  tags?: string[];
  importance?: number;
  expiresAt?: TimeInput | null;
  ttlMs?: number | null;
}

/** Options of writes to one memory. */
export interface MemoryWriteOptions extends CallOptions {
  /** Fails with `VERSION_CONFLICT` unless the memory is at this version. */
  expectedVersion?: number;
  /** Who or what made the change, recorded in the history. */
  actor?: string;
}

/** Options of `getMemory`. */
export interface GetMemoryOptions extends CallOptions {
  /** Moves `expiresAt` to now + `ttlMs` (for memories with a `ttlMs`), without a new version. */
  refresh?: boolean;
}

/** A metadata condition: a value (equality) or operators, LangGraph's. */
export type MetadataCondition =
  | JsonValue
  | {
      $eq?: JsonValue;
      $ne?: JsonValue;
      $gt?: number | string;
      $gte?: number | string;
      $lt?: number | string;
      $lte?: number | string;
      $in?: JsonValue[];
      $nin?: JsonValue[];
    };

/** Conditions on `metadata` keys (a dotted key reaches into nested objects); all must hold. */
export type MetadataFilter = Record<string, MetadataCondition>;

/** What `listMemories` and `searchMemories` select. */
export interface MemorySelection {
  /** Only memories of this scope (each given field equal; `namespace` a prefix). @default the whole tenant */
  scope?: MemoryScope;
  filter?: MetadataFilter;
  /** Only memories with every one of these tags. */
  tags?: string[];
  /** Only memories created at or after this time. */
  since?: TimeInput;
  /** Only memories created at or before this time. */
  until?: TimeInput;
}

/** Options of `listMemories`. */
export interface ListMemoriesQuery extends MemorySelection, CallOptions {
  /** By creation time (then id). @default "desc" */
  order?: "asc" | "desc";
  /** @default 100 (at most 1000) */
  limit?: number;
  cursor?: string;
}

/** Optional boosts added to a hit's score (see docs/memory.md). */
export interface MemoryBoosts {
  /** Adds `weight · 2^(−age / halfLifeMs)` (age since `updatedAt`). */
  recency?: { weight: number; halfLifeMs: number };
  /** Adds `weight · importance`. */
  importance?: { weight: number };
}

/** Options of `searchMemories`. */
export interface MemorySearchQuery extends MemorySelection, CallOptions {
  /** What to look for (1 to 4096 characters). */
  text: string;
  /** @default "hybrid" */
  mode?: "hybrid" | "text" | "vector";
  /** @default 10 (at most 1000) */
  limit?: number;
  /** Only hits scoring at least this (in the mode's score). */
  minScore?: number;
  boosts?: MemoryBoosts;
  /** A query vector made by the store's model (the store then does not embed `text` for the vector part). */
  vector?: readonly number[] | Float32Array;
  /** Moves the expiry of each hit with a `ttlMs` to now + ttlMs. */
  refresh?: boolean;
}

/** One memory found. */
export interface MemoryHit {
  memory: Memory;
  /** The mode's score: BM25 (text), cosine (vector), fused (hybrid), plus boosts. Higher first. */
  score: number;
  /** BM25 of the memory for the query (0: no word matches). */
  textScore: number;
  /** Cosine similarity of the query and the memory's vector (`null` without one). */
  vectorScore: number | null;
}

/** One version of a memory, as its history keeps it. */
export interface MemoryVersion {
  memoryId: string;
  version: number;
  /** What made this version. */
  op: "add" | "update" | "merge" | "delete";
  text: string;
  value: JsonValue | null;
  metadata: JsonObject;
  tags: string[];
  importance: number;
  expiresAt: string | null;
  /** Who or what made the change, if the writer said. */
  actor: string | null;
  at: string;
}

/** Options of `purgeMemories`. */
export interface PurgeMemoriesOptions extends CallOptions {
  /**
   * Deletes every memory of this scope (each given field equal; `namespace` a prefix) with its
   * history. Without it, only memories expired by now are deleted.
   */
  scope?: MemoryScope;
}

/** Options of `reindexMemories`. */
export interface ReindexMemoriesOptions extends CallOptions {
  /** Memories embedded per batch (each batch is committed: an interrupted reindex resumes). @default 32 */
  batchSize?: number;
  /**
   * Embed at most this many memories, then return (`remaining` says how many still lack a
   * vector): a long reindex in bounded steps, e.g. one HTTP request each. @default all
   */
  limit?: number;
  /** Called after each batch (`total`: the memories this call embeds). */
  onProgress?: (progress: { done: number; total: number }) => void;
}

/** What `reindexMemories` did. */
export interface ReindexResult {
  /** Memories embedded by this call. */
  reindexed: number;
  /** Memories still without a vector of the store's model (0 unless `limit` stopped the call). */
  remaining: number;
}
