/**
 * The long-term memory area of the SQLite driver (see drivers/memory-area.ts and the
 * "long-term memory" migration). Every write runs under `BEGIN IMMEDIATE`, which serialises
 * the writers of every process on the file, so a tenant's revs (from `memory_revs`) follow
 * commit order and a reader of `rev > n` misses nothing.
 */
import type Database from "better-sqlite3";
import { lazyStatements } from "./statements.js";
import type { WriteTransaction } from "./write-lock.js";
import { ContextError, VersionConflictError } from "../../errors.js";
import type { JsonObject, JsonValue } from "../../core/json-types.js";
import { addedRecord, expiredAt } from "../memory-area.js";
import type { MemoryAdd, MemoryContent, MemoryRecord, MemoryVersionRecord } from "../memory-area.js";

const COLUMNS = `m.id, m.tenant, m.user_id, m.agent_id, m.context_id, m.namespace, m.text, m.value, m.metadata, m.tags,
  m.importance, m.source_context_id, m.source_seq, m.created_at, m.updated_at, m.expires_at, m.ttl_ms, m.version, m.rev,
  m.deleted, m.model, v.vector`;
const FROM = "memories m LEFT JOIN memory_vectors v ON v.tenant = m.tenant AND v.id = m.id";

interface MemoryRow {
  id: string;
  tenant: string;
  user_id: string | null;
  agent_id: string | null;
  context_id: string | null;
  namespace: string;
  text: string;
  value: string;
  metadata: string;
  tags: string;
  importance: number;
  source_context_id: string | null;
  source_seq: number | null;
  created_at: number;
  updated_at: number;
  expires_at: number | null;
  ttl_ms: number | null;
  version: number;
  rev: number;
  deleted: number;
  model: string | null;
  vector: Buffer | null;
}

interface VersionRow {
  memory_id: string;
  version: number;
  op: MemoryVersionRecord["op"];
  text: string;
  value: string;
  metadata: string;
  tags: string;
  importance: number;
  expires_at: number | null;
  actor: string | null;
  at: number;
}

/** A vector as a BLOB (the platform's byte order: little-endian everywhere Node runs). */
function vectorBlob(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** A BLOB as a vector of its own (copied: the buffer may not be aligned to 4 bytes). */
function blobVector(b: Buffer): Float32Array {
  const bytes = new Uint8Array(b.byteLength);
  bytes.set(b);
  return new Float32Array(bytes.buffer);
}

function toRecord(r: MemoryRow): MemoryRecord {
  return {
    id: r.id,
    tenant: r.tenant,
    userId: r.user_id,
    agentId: r.agent_id,
    contextId: r.context_id,
    namespace: JSON.parse(r.namespace) as string[],
    text: r.text,
    value: JSON.parse(r.value) as JsonValue | null,
    metadata: JSON.parse(r.metadata) as JsonObject,
    tags: JSON.parse(r.tags) as string[],
    importance: r.importance,
    sourceContextId: r.source_context_id,
    sourceSeq: r.source_seq,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    expiresAt: r.expires_at,
    ttlMs: r.ttl_ms,
    version: r.version,
    rev: r.rev,
    deleted: r.deleted !== 0,
    model: r.model,
    vector: r.vector === null ? null : blobVector(r.vector),
  };
}

function toVersion(r: VersionRow): MemoryVersionRecord {
  return {
    memoryId: r.memory_id,
    version: r.version,
    op: r.op,
    text: r.text,
    value: JSON.parse(r.value) as JsonValue | null,
    metadata: JSON.parse(r.metadata) as JsonObject,
    tags: JSON.parse(r.tags) as string[],
    importance: r.importance,
    expiresAt: r.expires_at,
    actor: r.actor,
    at: r.at,
  };
}

const SQL = {
  nextRev: `INSERT INTO memory_revs (tenant, rev) VALUES (?, 1)
     ON CONFLICT (tenant) DO UPDATE SET rev = rev + 1 RETURNING rev`,
  idTaken: "SELECT 1 FROM memories WHERE tenant = ? AND id = ?",
  byText: `SELECT ${COLUMNS} FROM ${FROM} WHERE m.tenant = ? AND m.scope_key = ? AND m.text_hash = ? AND m.deleted = 0`,
  textHolder: "SELECT id, expires_at FROM memories WHERE tenant = ? AND scope_key = ? AND text_hash = ? AND deleted = 0",
  insert: `INSERT INTO memories (tenant, id, user_id, agent_id, context_id, namespace, scope_key, text, text_hash, value, metadata,
       tags, importance, source_context_id, source_seq, created_at, updated_at, expires_at, ttl_ms, version, rev, deleted, model)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, 0, ?)`,
  putVector: `INSERT INTO memory_vectors (tenant, id, vector) VALUES (?, ?, ?)
     ON CONFLICT (tenant, id) DO UPDATE SET vector = excluded.vector`,
  dropVector: "DELETE FROM memory_vectors WHERE tenant = ? AND id = ?",
  addVersion: `INSERT INTO memory_versions (tenant, memory_id, version, op, text, value, metadata, tags, importance, expires_at, actor, at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  get: `SELECT ${COLUMNS} FROM ${FROM} WHERE m.tenant = ? AND m.id = ?`,
  live: "SELECT scope_key, version FROM memories WHERE tenant = ? AND id = ? AND deleted = 0",
  setContent: `UPDATE memories SET text = ?, text_hash = ?, value = ?, metadata = ?, tags = ?, importance = ?, expires_at = ?,
       ttl_ms = ?, model = ?, version = ?, updated_at = ?, rev = ? WHERE tenant = ? AND id = ?`,
  versionOfCurrent: `INSERT INTO memory_versions (tenant, memory_id, version, op, text, value, metadata, tags, importance, expires_at, actor, at)
     SELECT tenant, id, version, ?, text, value, metadata, tags, importance, expires_at, ?, ? FROM memories WHERE tenant = ? AND id = ?`,
  refresh: "UPDATE memories SET expires_at = ?, rev = ? WHERE tenant = ? AND id = ? AND deleted = 0",
  tombstone: `UPDATE memories SET deleted = 1, text = '', text_hash = NULL, value = 'null', metadata = '{}', tags = '[]', importance = 0,
       expires_at = NULL, ttl_ms = NULL, model = NULL, updated_at = coalesce(?, updated_at), rev = ?
     WHERE tenant = ? AND id = ?`,
  history: `SELECT memory_id, version, op, text, value, metadata, tags, importance, expires_at, actor, at
     FROM memory_versions WHERE tenant = ? AND memory_id = ? ORDER BY version`,
  dropHistory: "DELETE FROM memory_versions WHERE tenant = ? AND memory_id = ?",
  changes: `SELECT ${COLUMNS} FROM ${FROM} WHERE m.tenant = ? AND m.rev > ? ORDER BY m.rev LIMIT ?`,
  setModel: "UPDATE memories SET model = ?, rev = ? WHERE tenant = ? AND id = ?",
  bumpVersion: "UPDATE memories SET version = version + 1 WHERE tenant = ? AND id = ?",
  exists: "SELECT deleted FROM memories WHERE tenant = ? AND id = ?",
} as const;

type Statements = { readonly [K in keyof typeof SQL]: Database.Statement };

/** The memory storage of one connection; each method runs in the caller's `#run`. */
export class SqliteMemories {
  readonly #writeTx: WriteTransaction;
  readonly #s: Statements;

  constructor(db: Database.Database, write: WriteTransaction) {
    this.#writeTx = write;
    // Prepared on first use, like the driver's fixed statements: opening stays cheap.
    this.#s = lazyStatements(db, SQL);
  }

  #nextRev(tenant: string): number {
    return this.#s.nextRev.pluck().get(tenant) as number;
  }

  #get(tenant: string, id: string): MemoryRecord | null {
    const row = this.#s.get.get(tenant, id) as MemoryRow | undefined;
    return row === undefined ? null : toRecord(row);
  }

  #write<T>(fn: () => T): T {
    return this.#writeTx(fn);
  }

  add(tenant: string, memories: MemoryAdd[], actor: string | null, now: number): { record: MemoryRecord; created: boolean }[] {
    return this.#write(() => {
      // Every id first: the batch lands whole or not at all (and a taken id wins over a same text).
      const ids = new Set<string>();
      for (const m of memories) {
        if (ids.has(m.id) || this.#s.idTaken.get(tenant, m.id) !== undefined) {
          throw new ContextError("ALREADY_EXISTS", `memory ${m.id} already exists`, { details: { memoryId: m.id } });
        }
        ids.add(m.id);
      }
      const s = this.#s;
      // Rows written earlier in the batch are visible here, so a text repeated in the batch is found too.
      return memories.map((m) => {
        const existing = s.byText.get(tenant, m.scopeKey, m.textHash) as MemoryRow | undefined;
        if (existing !== undefined && !expiredAt(existing.expires_at, now)) return { record: toRecord(existing), created: false };
        // An expired memory no longer holds its text: it is purged here, as purgeMemories would.
        if (existing !== undefined) this.#purgeOne(tenant, existing.id);
        const rev = this.#nextRev(tenant);
        const tagsJson = JSON.stringify(m.tags);
        s.insert.run(
          tenant, m.id, m.userId, m.agentId, m.contextId, JSON.stringify(m.namespace), m.scopeKey, m.text, m.textHash,
          m.valueJson, m.metadataJson, tagsJson, m.importance, m.sourceContextId, m.sourceSeq, now, now, m.expiresAt,
          m.ttlMs, rev, m.model,
        );
        if (m.vector !== null) s.putVector.run(tenant, m.id, vectorBlob(m.vector));
        s.addVersion.run(tenant, m.id, 1, "add", m.text, m.valueJson, m.metadataJson, tagsJson, m.importance, m.expiresAt, actor, now);
        // The record as written (no read back: the row is exactly these values).
        return { record: addedRecord(tenant, m, rev, now), created: true };
      });
    });
  }

  get(tenant: string, id: string): MemoryRecord | null {
    const r = this.#get(tenant, id);
    return r === null || r.deleted ? null : r;
  }

  update(tenant: string, id: string, content: MemoryContent, op: "update" | "merge", expectedVersion: number | undefined, actor: string | null, now: number): MemoryRecord {
    return this.#write(() => {
      const s = this.#s;
      const cur = s.live.get(tenant, id) as { scope_key: string; version: number } | undefined;
      if (cur === undefined) throw new ContextError("NOT_FOUND", `memory ${id} does not exist`, { details: { memoryId: id } });
      if (expectedVersion !== undefined && expectedVersion !== cur.version) throw new VersionConflictError(id, expectedVersion, cur.version);
      const holder = s.textHolder.get(tenant, cur.scope_key, content.textHash) as { id: string; expires_at: number | null } | undefined;
      if (holder !== undefined && holder.id !== id) {
        if (!expiredAt(holder.expires_at, now)) {
          throw new ContextError("ALREADY_EXISTS", `memory ${holder.id} of the same scope already has this text`, {
            details: { memoryId: id, existingId: holder.id },
          });
        }
        this.#purgeOne(tenant, holder.id);
      }
      this.#setContent(tenant, id, content, cur.version + 1, now);
      s.versionOfCurrent.run(op, actor, now, tenant, id);
      return this.#get(tenant, id) as MemoryRecord;
    });
  }

  #setContent(tenant: string, id: string, c: MemoryContent, version: number, now: number): void {
    const s = this.#s;
    s.setContent.run(
      c.text, c.textHash, c.valueJson, c.metadataJson, JSON.stringify(c.tags), c.importance, c.expiresAt, c.ttlMs, c.model,
      version, now, this.#nextRev(tenant), tenant, id,
    );
    if (c.vector === null) s.dropVector.run(tenant, id);
    else s.putVector.run(tenant, id, vectorBlob(c.vector));
  }

  refresh(tenant: string, id: string, expiresAt: number): MemoryRecord | null {
    return this.#write(() => {
      if (this.#s.live.get(tenant, id) === undefined) return null;
      this.#s.refresh.run(expiresAt, this.#nextRev(tenant), tenant, id);
      return this.#get(tenant, id);
    });
  }

  delete(tenant: string, id: string, expectedVersion: number | undefined, actor: string | null, now: number): boolean {
    return this.#write(() => {
      const s = this.#s;
      const cur = s.live.get(tenant, id) as { version: number } | undefined;
      if (cur === undefined) return false;
      if (expectedVersion !== undefined && expectedVersion !== cur.version) throw new VersionConflictError(id, expectedVersion, cur.version);
      // The delete row keeps the last content, at the tombstone's version.
      s.bumpVersion.run(tenant, id);
      s.versionOfCurrent.run("delete", actor, now, tenant, id);
      s.tombstone.run(now, this.#nextRev(tenant), tenant, id);
      s.dropVector.run(tenant, id);
      return true;
    });
  }

  history(tenant: string, id: string): MemoryVersionRecord[] {
    return (this.#s.history.all(tenant, id) as VersionRow[]).map(toVersion);
  }

  changes(tenant: string, afterRev: number, limit: number): MemoryRecord[] {
    return (this.#s.changes.all(tenant, afterRev, limit) as MemoryRow[]).map(toRecord);
  }

  setVector(tenant: string, id: string, version: number, model: string, vector: Float32Array): boolean {
    return this.#write(() => {
      const cur = this.#s.live.get(tenant, id) as { version: number } | undefined;
      if (cur === undefined || cur.version !== version) return false;
      this.#s.setModel.run(model, this.#nextRev(tenant), tenant, id);
      this.#s.putVector.run(tenant, id, vectorBlob(vector));
      return true;
    });
  }

  purge(tenant: string, ids: string[]): number {
    return this.#write(() => {
      const s = this.#s;
      let n = 0;
      for (const id of ids) {
        const deleted = s.exists.pluck().get(tenant, id) as number | undefined;
        if (deleted === undefined) continue;
        if (deleted === 0) n++;
        this.#purgeOne(tenant, id);
      }
      return n;
    });
  }

  /** Purged content leaves no trace; the tombstone keeps its version and time. */
  #purgeOne(tenant: string, id: string): void {
    const s = this.#s;
    s.tombstone.run(null, this.#nextRev(tenant), tenant, id);
    s.dropVector.run(tenant, id);
    s.dropHistory.run(tenant, id);
  }
}
