/**
 * Leases of the PostgreSQL driver. Every lease change locks the context's row, so it is
 * ordered with the commits that check fencing tokens under the same lock.
 */
import { ContextError, contextNotFound } from "../../errors.js";
import type { Driver, LeaseRecord } from "../driver.js";
import type { DriverScope } from "./db.js";
import { visible } from "./rows.js";

type LeaseMethods = Pick<Driver, "tryAcquireLease" | "renewLease" | "releaseLease" | "getLease">;

/** The lease methods, over `scope`. */
export function leaseMethods(scope: DriverScope): LeaseMethods {
  const { s, q, read, tx, announce, pkOf } = scope;
  return {
    async tryAcquireLease(tenant, id, holder, ttlMs, call) {
      return tx("tryAcquireLease", async (client) => {
        // Lock first, then read the lease in a second statement: its snapshot is taken after
        // the lock is ours, so it sees a grant committed while we waited (one statement would
        // read the lease as of before the wait).
        const c = await client.query(
          `SELECT c.pk FROM ${s}.contexts c WHERE c.tenant = $1 AND c.id = $2 AND ${visible(3)} FOR UPDATE`,
          [tenant, id, call.now],
        );
        const pk = c.rows[0]?.pk;
        if (pk === undefined) throw contextNotFound(id);
        const r = await client.query(
          `WITH cur AS (SELECT l.holder, l.token, l.expires_at FROM ${s}.leases l WHERE l.ctx = $1),
                g AS (INSERT INTO ${s}.leases AS l (ctx, holder, token, expires_at) VALUES ($1, $2, 1, $3::bigint + $4::bigint)
                      ON CONFLICT (ctx) DO UPDATE SET holder = EXCLUDED.holder, token = l.token + 1, expires_at = EXCLUDED.expires_at
                        WHERE l.holder IS NULL OR l.holder = $2 OR l.expires_at <= $3
                      RETURNING l.holder, l.token, l.expires_at)
           SELECT true AS granted, holder, token, expires_at FROM g
           UNION ALL
           SELECT false, holder, token, expires_at FROM cur WHERE NOT EXISTS (SELECT 1 FROM g)`,
          [pk, holder, call.now, ttlMs],
        );
        const row = r.rows[0];
        if (row === undefined) throw new ContextError("INTERNAL", `lease on context ${id}: neither granted nor held`);
        const lease: LeaseRecord = { holder: String(row.holder), token: Number(row.token), expiresAt: Number(row.expires_at) };
        return { granted: row.granted === true, lease };
      }, call);
    },

    async renewLease(tenant, id, holder, token, ttlMs, call) {
      const r = await q(
        "renewLease",
        `WITH c AS (SELECT c.pk FROM ${s}.contexts c WHERE c.tenant = $1 AND c.id = $2 AND ${visible(3)} FOR UPDATE),
              u AS (UPDATE ${s}.leases l SET expires_at = $3::bigint + $6::bigint
                     WHERE l.ctx = (SELECT pk FROM c) AND l.holder = $4 AND l.token = $5 AND l.expires_at > $3
                     RETURNING l.expires_at)
         SELECT (SELECT pk FROM c) AS pk, (SELECT expires_at FROM u) AS expires_at,
                (SELECT l.token FROM ${s}.leases l WHERE l.ctx = (SELECT pk FROM c)) AS current`,
        [tenant, id, call.now, holder, token, ttlMs],
        call,
      );
      const row = r.rows[0];
      if (row === undefined || row.pk === null) throw contextNotFound(id);
      if (row.expires_at === null) {
        throw new ContextError("LEASE_LOST", `the lease with token ${token} on context ${id} is no longer held by ${holder}`, {
          details: { contextId: id, token, currentToken: row.current === null ? null : Number(row.current) },
        });
      }
      return { holder, token, expiresAt: Number(row.expires_at) };
    },

    async releaseLease(tenant, id, holder, token, call) {
      const values: unknown[] = [tenant, id, call.now, holder, token];
      const r = await q(
        "releaseLease",
        `WITH c AS (SELECT c.pk FROM ${s}.contexts c WHERE c.tenant = $1 AND c.id = $2 AND ${visible(3)} FOR UPDATE),
              u AS (UPDATE ${s}.leases l SET holder = NULL
                     WHERE l.ctx = (SELECT pk FROM c) AND l.holder = $4 AND l.token = $5 RETURNING l.ctx)
         SELECT u.ctx FROM u`,
        values,
        call,
      );
      if (r.rows.length === 0) return false;
      announce({ tenant, contextId: id });
      return true;
    },

    async getLease(tenant, id, call) {
      const r = await read(
        "getLease",
        `SELECT l.holder, l.token, l.expires_at FROM ${s}.leases l
          WHERE l.ctx = ${pkOf} AND l.holder IS NOT NULL AND l.expires_at > $3`,
        [tenant, id, call.now],
        call,
      );
      const row = r.rows[0];
      return row === undefined ? null : { holder: String(row.holder), token: Number(row.token), expiresAt: Number(row.expires_at) };
    },
  };
}
