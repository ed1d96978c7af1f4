/**
 * The active-context adapter's bindings (holder → context) in the PostgreSQL driver.
 */
import type { Driver } from "../driver.js";
import type { DriverScope } from "./db.js";

type BindingMethods = Pick<Driver, "getBinding" | "setBinding">;

/** The binding methods, over `scope`. */
export function bindingMethods(scope: DriverScope): BindingMethods {
  const { s, read, tx } = scope;
  return {
    async getBinding(tenant, holder, slot) {
      const r = await read("getBinding", `SELECT context_id FROM ${s}.bindings WHERE tenant = $1 AND holder = $2 AND slot = $3`, [
        tenant,
        holder,
        slot,
      ]);
      const row = r.rows[0];
      return row === undefined ? null : String(row.context_id);
    },

    async setBinding(tenant, holder, slot, contextId) {
      return tx("setBinding", async (client) => {
        // Serialise writers of this slot, also when it does not exist yet.
        await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`contextd:binding:${tenant}:${holder}:${slot}`]);
        const old = await client.query(
          `SELECT context_id FROM ${s}.bindings WHERE tenant = $1 AND holder = $2 AND slot = $3`,
          [tenant, holder, slot],
        );
        if (contextId === null) {
          await client.query(`DELETE FROM ${s}.bindings WHERE tenant = $1 AND holder = $2 AND slot = $3`, [tenant, holder, slot]);
        } else {
          await client.query(
            `INSERT INTO ${s}.bindings (tenant, holder, slot, context_id) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant, holder, slot) DO UPDATE SET context_id = EXCLUDED.context_id`,
            [tenant, holder, slot, contextId],
          );
        }
        const row = old.rows[0];
        return row === undefined ? null : String(row.context_id);
      });
    },
  };
}
