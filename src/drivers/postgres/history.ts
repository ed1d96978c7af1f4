/**
 * History reads of the PostgreSQL driver: events, checkpoints, snapshots, and `compact`.
 */
import { contextNotFound, hasForks } from "../../errors.js";
import type { Driver, EventRecordQuery } from "../driver.js";
import type { DriverScope } from "./db.js";
import { parseObject, segmentsCte, toEventRecord, toSnapshotRecord, visible } from "./rows.js";

type HistoryMethods = Pick<
  Driver,
  "readEvents" | "countEvents" | "readCheckpoint" | "listSnapshots" | "getSnapshot" | "latestSnapshotBefore" | "compact"
>;

/** Appends the SQL conditions of an event query to `values`; returns ` AND …` or "". */
function eventFilter(query: Omit<EventRecordQuery, "order" | "limit">, values: unknown[]): string {
  const where: string[] = [];
  const p = (v: unknown) => {
    values.push(v);
    return `$${values.length}`;
  };
  if (query.afterSeq !== undefined) where.push(`e.seq > ${p(query.afterSeq)}`);
  if (query.beforeSeq !== undefined) where.push(`e.seq < ${p(query.beforeSeq)}`);
  if (query.since !== undefined) where.push(`e.ts >= ${p(query.since)}`);
  if (query.until !== undefined) where.push(`e.ts <= ${p(query.until)}`);
  if (query.types !== undefined) where.push(`e.type = ANY(${p(query.types)}::text[])`);
  if (query.minVersion !== undefined) where.push(`e.version > ${p(query.minVersion)}`);
  if (query.maxVersion !== undefined) where.push(`e.version <= ${p(query.maxVersion)}`);
  return where.length === 0 ? "" : ` AND ${where.join(" AND ")}`;
}

/**
 * The visible forks that read some of the events of context `pk` with `lo < seq <= hi` (at most
 * 101). Run after locking that context's row: a fork being made holds a share lock on it.
 */
export async function dependents(
  client: { query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }> },
  s: string,
  pk: unknown,
  now: number,
  lo: number,
  hi: number,
): Promise<string[]> {
  const r = await client.query(
    `SELECT d.id FROM ${s}.lineage l JOIN ${s}.contexts d ON d.pk = l.ctx
      WHERE l.ancestor = $1 AND (d.expires_at IS NULL OR d.expires_at > $2)
        AND GREATEST(l.after_seq, d.first_seq - 1, $3) < LEAST(l.upto_seq, $4)
      ORDER BY d.id LIMIT 101`,
    [pk, now, lo, hi],
  );
  return r.rows.map((x) => String(x.id));
}

/** The history methods, over `scope`. */
export function historyMethods(scope: DriverScope): HistoryMethods {
  const { s, read, tx, pkOf, exists } = scope;
  return {
    async readEvents(tenant, id, query, call) {
      const values: unknown[] = [tenant, id, call.now];
      const filter = eventFilter(query, values);
      values.push(query.limit);
      const order = query.order === "desc" ? "DESC" : "ASC";
      // Each part of the history (one for a context that is not a fork) is an index range;
      // at most `limit` rows are read from each, and only the parts the page needs hold any.
      const r = await read(
        "readEvents",
        `${segmentsCte(s)}
         SELECT x.* FROM g CROSS JOIN LATERAL (
           SELECT e.seq, e.type, e.ts, e.data, e.metadata, e.tokens, e.version FROM ${s}.events e
            WHERE e.ctx = g.ctx AND e.seq > g.lo AND e.seq <= g.hi${filter}
            ORDER BY e.seq ${order} LIMIT $${values.length}) x
         ORDER BY x.seq ${order} LIMIT $${values.length}`,
        values,
        call,
      );
      if (r.rows.length === 0) await exists(tenant, id, call);
      return r.rows.map(toEventRecord);
    },

    async countEvents(tenant, id, query, call) {
      const values: unknown[] = [tenant, id, call.now];
      const filter = eventFilter(query, values);
      const r = await read(
        "countEvents",
        `${segmentsCte(s)}
         SELECT coalesce(sum((SELECT count(*) FROM ${s}.events e WHERE e.ctx = g.ctx AND e.seq > g.lo AND e.seq <= g.hi${filter})), 0)::bigint AS n
           FROM g`,
        values,
        call,
      );
      const n = Number(r.rows[0]?.n ?? 0);
      if (n === 0) await exists(tenant, id, call);
      return n;
    },

    async readCheckpoint(tenant, id, version, call) {
      const r = await read(
        "readCheckpoint",
        // A fork's versions up to its fork point are its ancestors': their checkpoints serve them.
        `${segmentsCte(s)}
         SELECT k.version, k.state FROM g CROSS JOIN LATERAL (
           SELECT k.version, k.state FROM ${s}.checkpoints k WHERE k.ctx = g.ctx AND k.version <= LEAST($4, g.uv)
            ORDER BY k.version DESC LIMIT 1) k
          ORDER BY k.version DESC LIMIT 1`,
        [tenant, id, call.now, version],
        call,
      );
      const row = r.rows[0];
      return row === undefined ? null : { version: Number(row.version), state: parseObject(row.state) };
    },

    async listSnapshots(tenant, id, call) {
      const r = await read(
        "listSnapshots",
        `SELECT * FROM ${s}.snapshots n WHERE n.ctx = ${pkOf} ORDER BY n.seq ASC`,
        [tenant, id, call.now],
        call,
      );
      if (r.rows.length === 0) await exists(tenant, id, call);
      return r.rows.map(toSnapshotRecord);
    },

    async getSnapshot(tenant, id, name, call) {
      const r = await read("getSnapshot", `SELECT * FROM ${s}.snapshots n WHERE n.ctx = ${pkOf} AND n.name = $4`, [
        tenant,
        id,
        call.now,
        name,
      ], call);
      const row = r.rows[0];
      return row === undefined ? null : toSnapshotRecord(row);
    },

    async latestSnapshotBefore(tenant, id, time, call) {
      const r = await read(
        "latestSnapshotBefore",
        `SELECT * FROM ${s}.snapshots n WHERE n.ctx = ${pkOf} AND n.created_at <= $4 ORDER BY n.seq DESC LIMIT 1`,
        [tenant, id, call.now, time],
        call,
      );
      const row = r.rows[0];
      return row === undefined ? null : toSnapshotRecord(row);
    },

    async compact(tenant, id, beforeSeq, checkpoint, call) {
      const removed = await tx("compact", async (client) => {
        const c = await client.query(
          `SELECT c.pk, c.first_seq, c.parent_seq FROM ${s}.contexts c WHERE c.tenant = $1 AND c.id = $2 AND ${visible(3)} FOR UPDATE`,
          [tenant, id, call.now],
        );
        const row = c.rows[0];
        const pk = row?.pk;
        if (row === undefined || pk === undefined) throw contextNotFound(id);
        const first = Number(row.first_seq);
        const own = Math.max(row.parent_seq === null ? 0 : Number(row.parent_seq), first - 1);
        const forks = await dependents(client, s, pk, call.now, own, beforeSeq - 1);
        if (forks.length > 0) throw hasForks(id, "compact", forks);
        await client.query(
          `INSERT INTO ${s}.checkpoints (ctx, version, state) VALUES ($1, $2, $3)
           ON CONFLICT (ctx, version) DO UPDATE SET state = EXCLUDED.state`,
          [pk, checkpoint.version, checkpoint.stateJson],
        );
        await client.query(`DELETE FROM ${s}.checkpoints WHERE ctx = $1 AND version < $2`, [pk, checkpoint.version]);
        const d = await client.query(`DELETE FROM ${s}.events WHERE ctx = $1 AND seq < $2`, [pk, beforeSeq]);
        await client.query(`DELETE FROM ${s}.event_search WHERE ctx = $1 AND seq < $2`, [pk, beforeSeq]);
        await client.query(`UPDATE ${s}.contexts SET first_seq = GREATEST(first_seq, $2) WHERE pk = $1`, [pk, beforeSeq]);
        // Ancestors whose events the fork no longer reads are no longer its ancestors.
        await client.query(`DELETE FROM ${s}.lineage WHERE ctx = $1 AND upto_seq < $2`, [pk, Math.max(first, beforeSeq)]);
        return d.rowCount ?? 0;
      }, call);
      return removed;
    },
  };
}
