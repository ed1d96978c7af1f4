/**
 * History reads of the PostgreSQL driver: events, checkpoints, snapshots, and `compact`.
 */
import { contextNotFound } from "../../errors.js";
import type { Driver, EventRecordQuery } from "../driver.js";
import type { DriverScope } from "./db.js";
import { parseObject, toEventRecord, toSnapshotRecord, visible } from "./rows.js";

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

/** The history methods, over `scope`. */
export function historyMethods(scope: DriverScope): HistoryMethods {
  const { s, read, tx, pkOf, exists } = scope;
  return {
    async readEvents(tenant, id, query, call) {
      const values: unknown[] = [tenant, id, call.now];
      const filter = eventFilter(query, values);
      values.push(query.limit);
      const r = await read(
        "readEvents",
        `SELECT e.seq, e.type, e.ts, e.data, e.metadata, e.tokens, e.version FROM ${s}.events e
          WHERE e.ctx = ${pkOf}${filter}
          ORDER BY e.seq ${query.order === "desc" ? "DESC" : "ASC"} LIMIT $${values.length}`,
        values,
        call,
      );
      if (r.rows.length === 0) await exists(tenant, id, call);
      return r.rows.map(toEventRecord);
    },

    async countEvents(tenant, id, query, call) {
      const values: unknown[] = [tenant, id, call.now];
      const filter = eventFilter(query, values);
      const r = await read("countEvents", `SELECT count(*)::bigint AS n FROM ${s}.events e WHERE e.ctx = ${pkOf}${filter}`, values, call);
      const n = Number(r.rows[0]?.n ?? 0);
      if (n === 0) await exists(tenant, id, call);
      return n;
    },

    async readCheckpoint(tenant, id, version, call) {
      const r = await read(
        "readCheckpoint",
        `SELECT k.version, k.state FROM ${s}.checkpoints k WHERE k.ctx = ${pkOf} AND k.version <= $4
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
          `SELECT c.pk FROM ${s}.contexts c WHERE c.tenant = $1 AND c.id = $2 AND ${visible(3)} FOR UPDATE`,
          [tenant, id, call.now],
        );
        const pk = c.rows[0]?.pk;
        if (pk === undefined) throw contextNotFound(id);
        await client.query(
          `INSERT INTO ${s}.checkpoints (ctx, version, state) VALUES ($1, $2, $3)
           ON CONFLICT (ctx, version) DO UPDATE SET state = EXCLUDED.state`,
          [pk, checkpoint.version, checkpoint.stateJson],
        );
        await client.query(`DELETE FROM ${s}.checkpoints WHERE ctx = $1 AND version < $2`, [pk, checkpoint.version]);
        const d = await client.query(`DELETE FROM ${s}.events WHERE ctx = $1 AND seq < $2`, [pk, beforeSeq]);
        await client.query(`DELETE FROM ${s}.event_search WHERE ctx = $1 AND seq < $2`, [pk, beforeSeq]);
        await client.query(`UPDATE ${s}.contexts SET first_seq = GREATEST(first_seq, $2) WHERE pk = $1`, [pk, beforeSeq]);
        return d.rowCount ?? 0;
      }, call);
      return removed;
    },
  };
}
