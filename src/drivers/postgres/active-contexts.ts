/**
 * Active contexts (holder → context, in the `active` and `default` slots) in the PostgreSQL driver.
 */
import type { Driver } from "../driver.js";
import type { DriverScope } from "./db.js";

type ActiveContextMethods = Pick<Driver, "getActiveContext" | "setActiveContext">;

/** The active-context methods, over `scope`. */
export function activeContextMethods(scope: DriverScope): ActiveContextMethods {
  const { s, read, tx } = scope;
  return {
    async getActiveContext(tenant, holder, slot, call) {
      const r = await read("getActiveContext", `SELECT context_id FROM ${s}.active_contexts WHERE tenant = $1 AND holder = $2 AND slot = $3`, [
        tenant,
        holder,
        slot,
      ], call);
      const row = r.rows[0];
      return row === undefined ? null : String(row.context_id);
    },

    async setActiveContext(tenant, holder, slot, contextId, call) {
      return tx("setActiveContext", async (client) => {
        // Serialise writers of this slot, also when it does not exist yet.
        await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`contextd:active:${tenant}:${holder}:${slot}`]);
        const old = await client.query(
          `SELECT context_id FROM ${s}.active_contexts WHERE tenant = $1 AND holder = $2 AND slot = $3`,
          [tenant, holder, slot],
        );
        if (contextId === null) {
          await client.query(`DELETE FROM ${s}.active_contexts WHERE tenant = $1 AND holder = $2 AND slot = $3`, [tenant, holder, slot]);
        } else {
          await client.query(
            `INSERT INTO ${s}.active_contexts (tenant, holder, slot, context_id) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant, holder, slot) DO UPDATE SET context_id = EXCLUDED.context_id`,
            [tenant, holder, slot, contextId],
          );
        }
        const row = old.rows[0];
        return row === undefined ? null : String(row.context_id);
      }, call);
    },
  };
}
