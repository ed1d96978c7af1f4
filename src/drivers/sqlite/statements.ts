/**
 * The SQL of the SQLite driver: fixed statements prepared once at open, and builders
 * for the few query shapes that depend on filters (cached by shape).
 */
import type Database from "better-sqlite3";
import type { ContextPatch, ContextQuery, EventRecordQuery } from "../driver.js";
import {
  APPEND_HEAD_COLUMNS,
  COMMIT_HEAD_COLUMNS,
  CONTEXT_COLUMNS,
  CONTEXT_FROM,
  EVENT_COLUMNS,
  HEAD_COLUMNS,
  RETURNING_CONTEXT_COLUMNS,
  VISIBLE,
  updatedAtSql,
} from "./rows.js";

const E_COLUMNS = EVENT_COLUMNS.split(", ")
  .map((c) => `e.${c}`)
  .join(", ");
/** The event type left out of the type index (see the initial migration). */
const UNINDEXED_TYPE = "message";

const C_VISIBLE = "c.tenant = ? AND c.id = ? AND (c.expires_at IS NULL OR c.expires_at > ?)";

/** How to prepare a fixed statement: `pluck` returns the first column, `raw` returns arrays. */
export interface StatementSpec {
  sql: string;
  pluck?: boolean;
  raw?: boolean;
}

/** The fixed statements of the driver. */
const FIXED = {
  insertContext: { sql: `INSERT INTO contexts (tenant, id, kind, user_id, chat_id, agent_id, title, metadata,
       first_seq, status, created_at, updated_at, expires_at, parent_id, parent_version, parent_seq)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (tenant, id) DO NOTHING RETURNING pk`, pluck: true },
  contextHead: { sql: `SELECT ${HEAD_COLUMNS} FROM ${CONTEXT_FROM} WHERE ${C_VISIBLE}`, raw: true },
  contextFull: { sql: `SELECT ${CONTEXT_COLUMNS} FROM ${CONTEXT_FROM} WHERE ${C_VISIBLE}` },
  contextByPk: { sql: `SELECT ${CONTEXT_COLUMNS} FROM ${CONTEXT_FROM} WHERE c.pk = ?` },
  insertState: { sql: "INSERT INTO states (ctx, state, version, updated_at) VALUES (?, ?, ?, ?)" },
  readHead: { sql: `SELECT ${HEAD_COLUMNS}, st.state FROM ${CONTEXT_FROM} WHERE ${C_VISIBLE}`, raw: true },
  readState: { sql: `SELECT st.state, st.version FROM ${CONTEXT_FROM} WHERE ${C_VISIBLE}`, raw: true },
  readHeadFull: { sql: `SELECT ${CONTEXT_COLUMNS}, st.state FROM ${CONTEXT_FROM} WHERE ${C_VISIBLE}` },
  commitHead: {
    sql: `SELECT ${COMMIT_HEAD_COLUMNS}, s.schema, s.revision, s.updated_at
     FROM ${CONTEXT_FROM} LEFT JOIN schemas s ON s.tenant = c.tenant AND s.kind = c.kind
     WHERE ${C_VISIBLE}`,
    raw: true,
  },
  /** The head of a context for an append: a commit head without state or schema. */
  appendHead: { sql: `SELECT ${APPEND_HEAD_COLUMNS} FROM ${CONTEXT_FROM} WHERE ${C_VISIBLE}`, raw: true },
  /** A state write: the state and the head fields beside it (the context row is not touched). */
  writeState: { sql: "UPDATE states SET state = ?, version = ?, updated_at = ? WHERE ctx = ?" },
  deleteState: { sql: "DELETE FROM states WHERE ctx = ?" },
  touchState: { sql: "UPDATE states SET updated_at = ? WHERE ctx = ?" },
  insertEvent: { sql: "INSERT INTO events (ctx, seq, type, ts, data, metadata, tokens, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)" },
  putCheckpoint: { sql: "INSERT OR REPLACE INTO checkpoints (ctx, version, state) VALUES (?, ?, ?)" },
  insertSnapshot: { sql: `INSERT INTO snapshots (ctx, name, label, metadata, version, seq, state, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (ctx, name) DO NOTHING` },
  visiblePk: { sql: `SELECT pk FROM contexts WHERE tenant = ? AND id = ? AND ${VISIBLE}`, pluck: true },
  /** What a history read needs to know of a context: its key, first seq and fork point. */
  forkHead: { sql: `SELECT pk, first_seq, parent_seq FROM contexts WHERE tenant = ? AND id = ? AND ${VISIBLE}`, raw: true },
  /** A fork's ancestors, nearest first. */
  lineageOf: { sql: "SELECT ancestor, after_seq, upto_seq, upto_version FROM lineage WHERE ctx = ? ORDER BY upto_seq DESC", raw: true },
  insertLineage: { sql: "INSERT INTO lineage (ctx, ancestor, after_seq, upto_seq, upto_version) VALUES (?, ?, ?, ?, ?)" },
  /** Visible forks that read some of the ancestor's events with lo < seq <= hi. */
  dependents: {
    sql: `SELECT d.id FROM lineage l JOIN contexts d ON d.pk = l.ctx
     WHERE l.ancestor = ? AND (d.expires_at IS NULL OR d.expires_at > ?)
       AND max(l.after_seq, d.first_seq - 1, ?) < min(l.upto_seq, ?) ORDER BY d.id LIMIT 101`,
    pluck: true,
  },
  deleteLineage: { sql: "DELETE FROM lineage WHERE ctx = ?" },
  deleteLineageOf: { sql: "DELETE FROM lineage WHERE ancestor = ?" },
  trimLineage: { sql: "DELETE FROM lineage WHERE ctx = ? AND upto_seq < ?" },
  checkpointByPk: { sql: "SELECT version, state FROM checkpoints WHERE ctx = ? AND version <= ? ORDER BY version DESC LIMIT 1" },
  deleteEvents: { sql: "DELETE FROM events WHERE ctx = ?" },
  deleteCheckpoints: { sql: "DELETE FROM checkpoints WHERE ctx = ?" },
  deleteSnapshots: { sql: "DELETE FROM snapshots WHERE ctx = ?" },
  deleteLease: { sql: "DELETE FROM leases WHERE ctx = ?" },
  deleteContext: { sql: "DELETE FROM contexts WHERE pk = ?" },
  expiredPks: { sql: "SELECT pk FROM contexts WHERE expires_at <= ?", pluck: true },
  expiredPksOfTenant: { sql: "SELECT pk FROM contexts WHERE tenant = ? AND expires_at <= ?", pluck: true },
  readCheckpoint: { sql: `SELECT k.version, k.state FROM contexts c JOIN checkpoints k ON k.ctx = c.pk
     WHERE ${C_VISIBLE} AND k.version <= ? ORDER BY k.version DESC LIMIT 1` },
  listSnapshots: { sql: `SELECT s.name, s.label, s.metadata, s.version, s.seq, s.state, s.created_at
     FROM contexts c JOIN snapshots s ON s.ctx = c.pk WHERE ${C_VISIBLE} ORDER BY s.seq, s.name` },
  getSnapshot: { sql: `SELECT s.name, s.label, s.metadata, s.version, s.seq, s.state, s.created_at
     FROM contexts c JOIN snapshots s ON s.ctx = c.pk WHERE ${C_VISIBLE} AND s.name = ?` },
  latestSnapshotBefore: { sql: `SELECT s.name, s.label, s.metadata, s.version, s.seq, s.state, s.created_at
     FROM contexts c JOIN snapshots s ON s.ctx = c.pk WHERE ${C_VISIBLE} AND s.created_at <= ?
     ORDER BY s.seq DESC LIMIT 1` },
  compactEvents: { sql: "DELETE FROM events WHERE ctx = ? AND seq < ?" },
  compactCheckpoints: { sql: "DELETE FROM checkpoints WHERE ctx = ? AND version < ?" },
  setFirstSeq: { sql: "UPDATE contexts SET first_seq = max(first_seq, ?) WHERE pk = ?" },
  getLease: { sql: "SELECT holder, token, expires_at FROM leases WHERE ctx = ?" },
  putLease: { sql: `INSERT INTO leases (ctx, holder, token, expires_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (ctx) DO UPDATE SET holder = excluded.holder, token = excluded.token,
       expires_at = excluded.expires_at` },
  renewLease: { sql: "UPDATE leases SET expires_at = ? WHERE ctx = ?" },
  releaseLease: { sql: "UPDATE leases SET holder = NULL, expires_at = 0 WHERE ctx = ?" },
  getActiveContext: { sql: "SELECT context_id FROM active_contexts WHERE tenant = ? AND holder = ? AND slot = ?", pluck: true },
  putActiveContext: { sql: `INSERT INTO active_contexts (tenant, holder, slot, context_id) VALUES (?, ?, ?, ?)
     ON CONFLICT (tenant, holder, slot) DO UPDATE SET context_id = excluded.context_id` },
  deleteActiveContext: { sql: "DELETE FROM active_contexts WHERE tenant = ? AND holder = ? AND slot = ?" },
  nextSchemaRevision: { sql: `INSERT INTO counters (name, value) VALUES ('schema_revision', 1)
     ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value`, pluck: true },
  putSchema: { sql: `INSERT INTO schemas (tenant, kind, schema, revision, updated_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (tenant, kind) DO UPDATE SET schema = excluded.schema, revision = excluded.revision,
       updated_at = excluded.updated_at` },
  getSchema: { sql: "SELECT kind, schema, revision, updated_at FROM schemas WHERE tenant = ? AND kind = ?" },
  listSchemas: { sql: "SELECT kind, schema, revision, updated_at FROM schemas WHERE tenant = ? ORDER BY kind" },
  deleteSchema: { sql: "DELETE FROM schemas WHERE tenant = ? AND kind = ?" },
  dataVersion: { sql: "PRAGMA data_version", pluck: true },
  ping: { sql: "SELECT 1", pluck: true },
  } satisfies Record<string, StatementSpec>;

/** The fixed statements, each prepared on first use (so that opening a store stays cheap). */
export type Statements = { readonly [K in keyof typeof FIXED]: Database.Statement };

/**
 * Statements of `specs` (SQL text, or a spec with `pluck`/`raw`), each prepared on the
 * connection the first time it is used (so that opening a store stays cheap).
 */
export function lazyStatements<K extends string>(db: Database.Database, specs: Readonly<Record<K, string | StatementSpec>>): { readonly [P in K]: Database.Statement } {
  const statements = {} as Record<string, Database.Statement>;
  for (const [name, value] of Object.entries(specs) as [string, string | StatementSpec][]) {
    const spec = typeof value === "string" ? { sql: value } : value;
    Object.defineProperty(statements, name, {
      configurable: true,
      enumerable: true,
      get() {
        const stmt = db.prepare(spec.sql);
        if (spec.pluck === true) stmt.pluck();
        if (spec.raw === true) stmt.raw();
        Object.defineProperty(statements, name, { value: stmt, enumerable: true });
        return stmt;
      },
    });
  }
  return statements as { readonly [P in K]: Database.Statement };
}

/** Makes the lazily prepared fixed statements of a connection. */
export function prepareStatements(db: Database.Database): Statements {
  return lazyStatements(db, FIXED);
}

/** A query whose SQL depends on which filters are set. */
export interface BuiltQuery {
  /** Identifies the SQL text, for the statement cache. */
  key: string;
  sql: string;
  params: unknown[];
}

/** `readEvents` (rows) or `countEvents` (count) for one visible context. */
export function eventsQuery(
  tenant: string,
  id: string,
  now: number,
  q: Omit<EventRecordQuery, "order" | "limit"> & Partial<Pick<EventRecordQuery, "order" | "limit">>,
  mode: "rows" | "count",
): BuiltQuery {
  return buildEventsQuery([C_VISIBLE], [tenant, id, now], "FROM contexts c JOIN events e", "ON e.ctx = c.pk WHERE", q, mode, mode);
}

/**
 * {@link eventsQuery} for part of a fork's history: the events of the context with key `pk`
 * with `lo < seq <= hi` (an ancestor's, which may have expired: it is read by key).
 */
export function segmentQuery(
  pk: number,
  lo: number,
  hi: number,
  q: Omit<EventRecordQuery, "order" | "limit"> & Partial<Pick<EventRecordQuery, "order" | "limit">>,
  mode: "rows" | "count",
): BuiltQuery {
  return buildEventsQuery(["e.ctx = ?", "e.seq > ?", "e.seq <= ?"], [pk, lo, hi], "FROM events e", "WHERE", q, mode, `${mode}#`);
}

function buildEventsQuery(
  where: string[],
  params: unknown[],
  fromEvents: string,
  join: string,
  q: Omit<EventRecordQuery, "order" | "limit"> & Partial<Pick<EventRecordQuery, "order" | "limit">>,
  mode: "rows" | "count",
  key: string,
): BuiltQuery {
  const add = (flag: string, clause: string, value: unknown) => {
    where.push(clause);
    params.push(value);
    key += flag;
  };
  if (q.afterSeq !== undefined) add("a", "e.seq > ?", q.afterSeq);
  if (q.beforeSeq !== undefined) add("b", "e.seq < ?", q.beforeSeq);
  if (q.since !== undefined) add("s", "e.ts >= ?", q.since);
  if (q.until !== undefined) add("u", "e.ts <= ?", q.until);
  if (q.maxVersion !== undefined) add("M", "e.version IS NOT NULL AND e.version <= ?", q.maxVersion);
  if (q.minVersion !== undefined) add("m", "e.version IS NOT NULL AND e.version > ?", q.minVersion);
  let indexed = "";
  if (q.types !== undefined) {
    if (q.types.length === 0) {
      where.push("0");
      key += "t0";
    } else {
      // "=" (not a one-element IN) lets the (ctx, type, seq) index deliver seq order.
      if (q.types.length === 1) add("t", "e.type = ?", q.types[0]);
      else {
        where.push(`e.type IN (${q.types.map(() => "?").join(", ")})`);
        params.push(...q.types);
        key += `t${q.types.length}`;
      }
      // Repeats the partial index's condition so SQLite may use it (see the migration).
      if (!q.types.includes(UNINDEXED_TYPE)) {
        where.push(`e.type <> '${UNINDEXED_TYPE}'`);
        // Without statistics the planner may prefer scanning the primary key for the order.
        indexed = " INDEXED BY events_type";
        key += "x";
      }
    }
  }
  const from = `${fromEvents}${indexed} ${join} ${where.join(" AND ")}`;
  if (mode === "count") return { key, sql: `SELECT count(*) ${from}`, params };
  const order = q.order === "desc" ? "DESC" : "ASC";
  params.push(q.limit ?? -1);
  key += order;
  // Versioned events (state, restore) have versions increasing with seq, so ordering them by
  // version is the same order and lets the partial version index serve it without a sort.
  const versioned = q.minVersion !== undefined || q.maxVersion !== undefined;
  return { key, sql: `SELECT ${E_COLUMNS} ${from} ORDER BY e.${versioned ? "version" : "seq"} ${order} LIMIT ?`, params };
}

/** `listContexts` in one tenant. */
export function contextsQuery(tenant: string, q: ContextQuery, now: number): BuiltQuery {
  const where = ["c.tenant = ?", VISIBLE];
  const params: unknown[] = [tenant, now];
  let key = "list";
  const add = (flag: string, clause: string, value: unknown) => {
    where.push(clause);
    params.push(value);
    key += flag;
  };
  if (q.kind !== undefined) add("k", "c.kind = ?", q.kind);
  if (q.userId !== undefined) add("U", "c.user_id = ?", q.userId);
  if (q.chatId !== undefined) add("C", "c.chat_id = ?", q.chatId);
  if (q.agentId !== undefined) add("A", "c.agent_id = ?", q.agentId);
  if (q.status !== undefined) add("S", "c.status = ?", q.status);
  if (q.updatedSince !== undefined) add("u", `${updatedAtSql()} >= ?`, q.updatedSince);
  if (q.afterId !== undefined) add("i", q.order === "desc" ? "c.id < ?" : "c.id > ?", q.afterId);
  const order = q.order === "desc" ? "DESC" : "ASC";
  params.push(q.limit);
  key += order;
  return {
    key,
    sql: `SELECT ${CONTEXT_COLUMNS} FROM ${CONTEXT_FROM} WHERE ${where.join(" AND ")} ORDER BY c.id ${order} LIMIT ?`,
    params,
  };
}

/** `updateContext`: sets the fields present in the patch, and `updated_at`. */
export function patchQuery(tenant: string, id: string, patch: ContextPatch, now: number): BuiltQuery {
  const sets: string[] = [];
  const params: unknown[] = [];
  let key = "patch";
  const set = (flag: string, column: string, value: unknown) => {
    sets.push(`${column} = ?`);
    params.push(value);
    key += flag;
  };
  if (patch.title !== undefined) set("t", "title", patch.title);
  if (patch.metadata !== undefined) set("m", "metadata", patch.metadata);
  if (patch.expiresAt !== undefined) set("e", "expires_at", patch.expiresAt);
  if (patch.status !== undefined) set("s", "status", patch.status);
  sets.push("updated_at = ?", "meta_rev = meta_rev + 1");
  params.push(now, tenant, id, now);
  return {
    key,
    sql: `UPDATE contexts SET ${sets.join(", ")} WHERE tenant = ? AND id = ? AND ${VISIBLE} RETURNING ${RETURNING_CONTEXT_COLUMNS}`,
    params,
  };
}
