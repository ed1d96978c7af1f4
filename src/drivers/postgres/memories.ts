/**
 * The long-term memory area of the PostgreSQL driver (see drivers/memory-area.ts and the
 * "memories" migration). Every write is one transaction that first locks its tenant's row of
 * `memory_revs`: the writers of a tenant, on every node, take their revs in commit order, so
 * a reader of `rev > n` misses nothing, and the checks of a write (a taken id, the same text
 * in the scope, the version) cannot race another write of the tenant.
 */
import { ContextError, VersionConflictError } from "../../errors.js";
import type { JsonObject, JsonValue } from "../../core/json-types.js";
import { addedRecord, expiredAt } from "../memory-area.js";
import type { MemoryArea, MemoryContent, MemoryRecord, MemoryVersionRecord } from "../memory-area.js";
import type { DriverCall } from "../driver.js";
import type { DriverScope } from "./db.js";
import type { PgQueryable } from "./pg-module.js";
import { approximateSql, ensureIndex, exactSql, HNSW_MAX_DIMENSIONS, putEmbedding, vectorLiteral } from "./pgvector.js";
import type { PgvectorSupport } from "./pgvector.js";

const COLUMNS = `m.id, m.tenant, m.user_id, m.agent_id, m.context_id, m.namespace, m.text, m.value, m.metadata, m.tags,
  m.importance, m.source_context_id, m.source_seq, m.created_at, m.updated_at, m.expires_at, m.ttl_ms, m.version, m.rev,
  m.deleted, m.model, v.vector`;

/** A vector as bytes (the platform's byte order: little-endian everywhere Node runs). */
function vectorBytes(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** Bytes as a vector of its own (copied: the buffer may not be aligned to 4 bytes). */
function bytesVector(b: Buffer): Float32Array {
  const bytes = new Uint8Array(b.byteLength);
  bytes.set(b);
  return new Float32Array(bytes.buffer);
}

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function toRecord(r: Record<string, unknown>): MemoryRecord {
  return {
    id: String(r.id),
    tenant: String(r.tenant),
    userId: str(r.user_id),
    agentId: str(r.agent_id),
    contextId: str(r.context_id),
    namespace: JSON.parse(String(r.namespace)) as string[],
    text: String(r.text),
    value: JSON.parse(String(r.value)) as JsonValue | null,
    metadata: JSON.parse(String(r.metadata)) as JsonObject,
    tags: JSON.parse(String(r.tags)) as string[],
    importance: Number(r.importance),
    sourceContextId: str(r.source_context_id),
    sourceSeq: num(r.source_seq),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    expiresAt: num(r.expires_at),
    ttlMs: num(r.ttl_ms),
    version: Number(r.version),
    rev: Number(r.rev),
    deleted: r.deleted === true,
    model: str(r.model),
    vector: r.vector === null || r.vector === undefined ? null : bytesVector(r.vector as Buffer),
  };
}

function toVersion(r: Record<string, unknown>): MemoryVersionRecord {
  return {
    memoryId: String(r.memory_id),
    version: Number(r.version),
    op: String(r.op) as MemoryVersionRecord["op"],
    text: String(r.text),
    value: JSON.parse(String(r.value)) as JsonValue | null,
    metadata: JSON.parse(String(r.metadata)) as JsonObject,
    tags: JSON.parse(String(r.tags)) as string[],
    importance: Number(r.importance),
    expiresAt: num(r.expires_at),
    actor: str(r.actor),
    at: Number(r.at),
  };
}

const notFound = (id: string) => new ContextError("NOT_FOUND", `memory ${id} does not exist`, { details: { memoryId: id } });

/**
 * The memory area, over `scope`; with `vec.ext` set (pgvector found at open), vectors are also
 * written to `memory_pgvector` and `nearest` searches them in the database.
 */
export function memoryArea(scope: DriverScope, schemaName: string, vec: PgvectorSupport): MemoryArea {
  const { s, read, tx } = scope;
  const from = `${s}.memories m LEFT JOIN ${s}.memory_vectors v ON v.tenant = m.tenant AND v.id = m.id`;

  /**
   * Runs a write of `tenant`'s memories holding its `memory_revs` row; `rev()` hands out the
   * next numbers, stored back before the commit.
   */
  function write<T>(operation: string, tenant: string, call: DriverCall, fn: (c: PgQueryable, rev: () => number) => Promise<T>): Promise<T> {
    return tx(
      operation,
      async (c) => {
        const locked = await c.query(
          `INSERT INTO ${s}.memory_revs (tenant, rev) VALUES ($1, 0)
           ON CONFLICT (tenant) DO UPDATE SET rev = ${s}.memory_revs.rev RETURNING rev`,
          [tenant],
        );
        const start = Number(locked.rows[0]?.rev ?? 0);
        let last = start;
        const out = await fn(c, () => ++last);
        if (last !== start) await c.query(`UPDATE ${s}.memory_revs SET rev = $2 WHERE tenant = $1`, [tenant, last]);
        return out;
      },
      call,
    );
  }

  async function fetch(c: PgQueryable, tenant: string, id: string): Promise<MemoryRecord> {
    const r = await c.query(`SELECT ${COLUMNS} FROM ${from} WHERE m.tenant = $1 AND m.id = $2`, [tenant, id]);
    const row = r.rows[0];
    if (row === undefined) throw new ContextError("INTERNAL", `memory ${id} vanished inside its transaction`);
    return toRecord(row);
  }

  async function live(c: PgQueryable, tenant: string, id: string): Promise<{ scopeKey: string; version: number } | undefined> {
    const r = await c.query(`SELECT scope_key, version FROM ${s}.memories WHERE tenant = $1 AND id = $2 AND NOT deleted`, [tenant, id]);
    const row = r.rows[0];
    return row === undefined ? undefined : { scopeKey: String(row.scope_key), version: Number(row.version) };
  }

  async function putVector(c: PgQueryable, tenant: string, id: string, model: string | null, vector: Float32Array | null): Promise<void> {
    await putEmbedding(c, s, schemaName, vec, tenant, id, model, vector);
    if (vector === null) await c.query(`DELETE FROM ${s}.memory_vectors WHERE tenant = $1 AND id = $2`, [tenant, id]);
    else {
      await c.query(
        `INSERT INTO ${s}.memory_vectors (tenant, id, vector) VALUES ($1, $2, $3)
         ON CONFLICT (tenant, id) DO UPDATE SET vector = EXCLUDED.vector`,
        [tenant, id, vectorBytes(vector)],
      );
    }
  }

  /** Adds a version row holding the memory's current content. */
  const versionOfCurrent = (c: PgQueryable, tenant: string, id: string, op: string, actor: string | null, now: number) =>
    c.query(
      `INSERT INTO ${s}.memory_versions (tenant, memory_id, version, op, text, value, metadata, tags, importance, expires_at, actor, at)
       SELECT tenant, id, version, $3, text, value, metadata, tags, importance, expires_at, $4, $5
         FROM ${s}.memories WHERE tenant = $1 AND id = $2`,
      [tenant, id, op, actor, now],
    );

  const TOMBSTONE = `deleted = true, text = '', text_hash = NULL, value = 'null', metadata = '{}', tags = '[]', importance = 0,
    expires_at = NULL, ttl_ms = NULL, model = NULL`;

  /** Purged content leaves no trace; the tombstone keeps its version and time. */
  const purgeRows = async (c: PgQueryable, tenant: string, hit: string[], rev: () => number): Promise<void> => {
    const revs = hit.map(() => rev());
    await c.query(
      `UPDATE ${s}.memories m SET ${TOMBSTONE}, rev = u.rev
         FROM unnest($2::text[], $3::bigint[]) AS u(id, rev) WHERE m.tenant = $1 AND m.id = u.id`,
      [tenant, hit, revs],
    );
    await c.query(`DELETE FROM ${s}.memory_vectors WHERE tenant = $1 AND id = ANY($2::text[])`, [tenant, hit]);
    if (vec.ext !== null) await c.query(`DELETE FROM ${s}.memory_pgvector WHERE tenant = $1 AND id = ANY($2::text[])`, [tenant, hit]);
    await c.query(`DELETE FROM ${s}.memory_versions WHERE tenant = $1 AND memory_id = ANY($2::text[])`, [tenant, hit]);
  };

  return {
    add(tenant, memories, actor, call) {
      const now = call.now;
      return write("memory.add", tenant, call, async (c, rev) => {
        // Every id first: the batch lands whole or not at all (and a taken id wins over a same text).
        const ids = memories.map((m) => m.id);
        const seen = new Set<string>();
        const taken = await c.query(`SELECT id FROM ${s}.memories WHERE tenant = $1 AND id = ANY($2::text[])`, [tenant, ids]);
        const takenIds = new Set(taken.rows.map((r) => String(r.id)));
        for (const id of ids) {
          if (seen.has(id) || takenIds.has(id)) {
            throw new ContextError("ALREADY_EXISTS", `memory ${id} already exists`, { details: { memoryId: id } });
          }
          seen.add(id);
        }
        const key = (scopeKey: string, hash: string) => `${scopeKey}\u0000${hash}`;
        const existing = await c.query(
          `SELECT ${COLUMNS}, m.scope_key, m.text_hash FROM ${from}
            WHERE m.tenant = $1 AND NOT m.deleted
              AND (m.scope_key, m.text_hash) IN (SELECT * FROM unnest($2::text[], $3::text[]))`,
          [tenant, memories.map((m) => m.scopeKey), memories.map((m) => m.textHash)],
        );
        const byText = new Map<string, MemoryRecord>();
        const expiredIds: string[] = [];
        for (const row of existing.rows) {
          const record = toRecord(row);
          if (expiredAt(record.expiresAt, now)) expiredIds.push(record.id);
          else byText.set(key(String(row.scope_key), String(row.text_hash)), record);
        }
        // An expired memory no longer holds its text: it is purged here, as purgeMemories would.
        if (expiredIds.length > 0) await purgeRows(c, tenant, expiredIds, rev);
        const out: { record: MemoryRecord; created: boolean }[] = [];
        const fresh: (typeof memories)[number][] = [];
        const revs: number[] = [];
        for (const m of memories) {
          const k = key(m.scopeKey, m.textHash);
          const found = byText.get(k);
          if (found !== undefined) {
            out.push({ record: found, created: false });
            continue;
          }
          const record = addedRecord(tenant, m, rev(), now);
          byText.set(k, record);
          fresh.push(m);
          revs.push(record.rev);
          out.push({ record, created: true });
        }
        if (fresh.length > 0) {
          const col = <T>(f: (m: (typeof fresh)[number]) => T) => fresh.map(f);
          await c.query(
            `WITH u AS (
               SELECT * FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
                                    $12::text[], $13::text[], $14::text[], $15::float8[], $16::text[], $17::bigint[], $18::bigint[],
                                    $19::bigint[], $20::bigint[], $21::text[])
                 AS u(id, user_id, agent_id, context_id, namespace, scope_key, text, text_hash, value, metadata, tags, importance,
                      source_context_id, source_seq, expires_at, ttl_ms, rev, model)),
             m AS (
               INSERT INTO ${s}.memories (tenant, id, user_id, agent_id, context_id, namespace, scope_key, text, text_hash, value,
                   metadata, tags, importance, source_context_id, source_seq, created_at, updated_at, expires_at, ttl_ms, version, rev,
                   deleted, model)
               SELECT $1, id, user_id, agent_id, context_id, namespace, scope_key, text, text_hash, value, metadata, tags,
                      importance, source_context_id, source_seq, $3, $3, expires_at, ttl_ms, 1, rev, false, model FROM u)
             INSERT INTO ${s}.memory_versions (tenant, memory_id, version, op, text, value, metadata, tags, importance, expires_at,
                 actor, at)
             SELECT $1, id, 1, 'add', text, value, metadata, tags, importance, expires_at, $2, $3 FROM u`,
            [
              tenant,
              actor,
              now,
              col((m) => m.id),
              col((m) => m.userId),
              col((m) => m.agentId),
              col((m) => m.contextId),
              col((m) => JSON.stringify(m.namespace)),
              col((m) => m.scopeKey),
              col((m) => m.text),
              col((m) => m.textHash),
              col((m) => m.valueJson),
              col((m) => m.metadataJson),
              col((m) => JSON.stringify(m.tags)),
              col((m) => m.importance),
              col((m) => m.sourceContextId),
              col((m) => m.sourceSeq),
              col((m) => m.expiresAt),
              col((m) => m.ttlMs),
              revs,
              col((m) => m.model),
            ],
          );
          const withVector = fresh.filter((m) => m.vector !== null);
          if (withVector.length > 0) {
            await c.query(`INSERT INTO ${s}.memory_vectors (tenant, id, vector) SELECT $1, * FROM unnest($2::text[], $3::bytea[])`, [
              tenant,
              withVector.map((m) => m.id),
              withVector.map((m) => vectorBytes(m.vector as Float32Array)),
            ]);
            const withModel = withVector.filter((m) => m.model !== null);
            if (vec.ext !== null && withModel.length > 0) {
              for (const m of withModel) await ensureIndex(c, s, schemaName, vec, m.model as string, (m.vector as Float32Array).length);
              await c.query(
                `INSERT INTO ${s}.memory_pgvector (tenant, id, model, dims, embedding)
                 SELECT $1, id, model, dims, e::${vec.ext}.vector FROM unnest($2::text[], $3::text[], $4::integer[], $5::text[]) AS u(id, model, dims, e)`,
                [
                  tenant,
                  withModel.map((m) => m.id),
                  withModel.map((m) => m.model),
                  withModel.map((m) => (m.vector as Float32Array).length),
                  withModel.map((m) => vectorLiteral(m.vector as Float32Array)),
                ],
              );
            }
          }
        }
        return out;
      });
    },

    async get(tenant, id, call) {
      const r = await read("memory.get", `SELECT ${COLUMNS} FROM ${from} WHERE m.tenant = $1 AND m.id = $2 AND NOT m.deleted`, [tenant, id], call);
      const row = r.rows[0];
      return row === undefined ? null : toRecord(row);
    },

    update(tenant, id, change, call) {
      const now = call.now;
      return write("memory.update", tenant, call, async (c, rev) => {
        const cur = await live(c, tenant, id);
        if (cur === undefined) throw notFound(id);
        if (change.expectedVersion !== undefined && change.expectedVersion !== cur.version) {
          throw new VersionConflictError(id, change.expectedVersion, cur.version);
        }
        const content: MemoryContent = change.content;
        const holder = await c.query(
          `SELECT id, expires_at FROM ${s}.memories WHERE tenant = $1 AND scope_key = $2 AND text_hash = $3 AND NOT deleted AND id <> $4`,
          [tenant, cur.scopeKey, content.textHash, id],
        );
        const other = holder.rows[0];
        if (other !== undefined && expiredAt(other.expires_at === null ? null : Number(other.expires_at), now)) await purgeRows(c, tenant, [String(other.id)], rev);
        else if (other !== undefined) {
          throw new ContextError("ALREADY_EXISTS", `memory ${String(other.id)} of the same scope already has this text`, {
            details: { memoryId: id, existingId: String(other.id) },
          });
        }
        await c.query(
          `UPDATE ${s}.memories SET text = $3, text_hash = $4, value = $5, metadata = $6, tags = $7, importance = $8, expires_at = $9,
               ttl_ms = $10, model = $11, version = version + 1, updated_at = $12, rev = $13
            WHERE tenant = $1 AND id = $2`,
          [
            tenant,
            id,
            content.text,
            content.textHash,
            content.valueJson,
            content.metadataJson,
            JSON.stringify(content.tags),
            content.importance,
            content.expiresAt,
            content.ttlMs,
            content.model,
            now,
            rev(),
          ],
        );
        await putVector(c, tenant, id, content.model, content.vector);
        await versionOfCurrent(c, tenant, id, change.op, change.actor, now);
        return fetch(c, tenant, id);
      });
    },

    refresh(tenant, id, expiresAt, call) {
      return write("memory.refresh", tenant, call, async (c, rev) => {
        if ((await live(c, tenant, id)) === undefined) return null;
        await c.query(`UPDATE ${s}.memories SET expires_at = $3, rev = $4 WHERE tenant = $1 AND id = $2`, [tenant, id, expiresAt, rev()]);
        return fetch(c, tenant, id);
      });
    },

    delete(tenant, id, guard, call) {
      const now = call.now;
      return write("memory.delete", tenant, call, async (c, rev) => {
        const cur = await live(c, tenant, id);
        if (cur === undefined) return false;
        if (guard.expectedVersion !== undefined && guard.expectedVersion !== cur.version) {
          throw new VersionConflictError(id, guard.expectedVersion, cur.version);
        }
        // The delete row keeps the last content, at the tombstone's version.
        await c.query(`UPDATE ${s}.memories SET version = version + 1 WHERE tenant = $1 AND id = $2`, [tenant, id]);
        await versionOfCurrent(c, tenant, id, "delete", guard.actor, now);
        await c.query(`UPDATE ${s}.memories SET ${TOMBSTONE}, updated_at = $3, rev = $4 WHERE tenant = $1 AND id = $2`, [tenant, id, now, rev()]);
        await putVector(c, tenant, id, null, null);
        return true;
      });
    },

    async history(tenant, id, call) {
      const r = await read(
        "memory.history",
        `SELECT memory_id, version, op, text, value, metadata, tags, importance, expires_at, actor, at
           FROM ${s}.memory_versions WHERE tenant = $1 AND memory_id = $2 ORDER BY version`,
        [tenant, id],
        call,
      );
      return r.rows.map(toVersion);
    },

    async changes(tenant, afterRev, limit, call) {
      const r = await read(
        "memory.changes",
        `SELECT ${COLUMNS} FROM ${from} WHERE m.tenant = $1 AND m.rev > $2 ORDER BY m.rev LIMIT $3`,
        [tenant, afterRev, limit],
        call,
      );
      return r.rows.map(toRecord);
    },

    setVector(tenant, id, version, model, vector, call) {
      return write("memory.setVector", tenant, call, async (c, rev) => {
        const cur = await live(c, tenant, id);
        if (cur === undefined || cur.version !== version) return false;
        await c.query(`UPDATE ${s}.memories SET model = $3, rev = $4 WHERE tenant = $1 AND id = $2`, [tenant, id, model, rev()]);
        await putVector(c, tenant, id, model, vector);
        return true;
      });
    },

    purge(tenant, ids, call) {
      return write("memory.purge", tenant, call, async (c, rev) => {
        const found = await c.query(`SELECT id, deleted FROM ${s}.memories WHERE tenant = $1 AND id = ANY($2::text[])`, [tenant, ids]);
        if (found.rows.length === 0) return 0;
        await purgeRows(c, tenant, found.rows.map((r) => String(r.id)), rev);
        return found.rows.filter((r) => r.deleted !== true).length;
      });
    },

    async nearest(tenant, query, call) {
      const ext = vec.ext;
      if (ext === null) return null;
      const q = vectorLiteral(query.vector);
      const dims = query.vector.length;
      const toHits = (rows: Record<string, unknown>[]) => rows.map((r) => ({ id: String(r.id), similarity: Number(r.similarity) }));
      if (query.ids !== undefined) {
        const r = await read("memory.nearest", exactSql(s, ext), [tenant, q, query.model, query.ids, query.k], call);
        return toHits(r.rows);
      }
      if (dims > HNSW_MAX_DIMENSIONS) {
        // No index: an exact scan of the tenant's rows of the model.
        const r = await read(
          "memory.nearest",
          `SELECT id, 1 - (embedding OPERATOR(${ext}.<=>) $2::${ext}.vector) AS similarity FROM ${s}.memory_pgvector
            WHERE tenant = $1 AND model = $3 AND dims = $4 ORDER BY 2 DESC, id LIMIT $5`,
          [tenant, q, query.model, dims, query.k],
          call,
        );
        return toHits(r.rows);
      }
      // The HNSW index: ef_search at least k (it bounds the results), iterative scans (pgvector
      // 0.8) so that rows of other tenants filtered out do not starve the answer.
      return tx(
        "memory.nearest",
        async (c) => {
          await c.query(`SELECT set_config('hnsw.ef_search', $1, true)`, [String(Math.min(1000, Math.max(40, query.k)))]);
          if (vec.iterative) await c.query(`SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)`);
          const r = await c.query(approximateSql(s, ext, query.model, dims), [tenant, q, query.k]);
          return toHits(r.rows);
        },
        call,
      );
    },
  };
}
