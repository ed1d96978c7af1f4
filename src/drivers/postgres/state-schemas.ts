/**
 * JSON Schemas registered per context kind, in the PostgreSQL driver. Revisions come from
 * one sequence, so they increase with every put (also after a delete).
 */
import { ContextError } from "../../errors.js";
import type { Driver } from "../driver.js";
import type { DriverScope } from "./db.js";
import { toSchemaRecord } from "./rows.js";

type SchemaMethods = Pick<Driver, "putSchema" | "getSchema" | "listSchemas" | "deleteSchema">;

/** The schema methods, over `scope`. */
export function schemaMethods(scope: DriverScope): SchemaMethods {
  const { s, q, read } = scope;
  return {
    async putSchema(tenant, kind, schemaJson, call) {
      const r = await q(
        "putSchema",
        `INSERT INTO ${s}.schemas (tenant, kind, schema, revision, updated_at)
         VALUES ($1, $2, $3, nextval('${s}.schema_revisions'), $4)
         ON CONFLICT (tenant, kind) DO UPDATE SET schema = EXCLUDED.schema, revision = EXCLUDED.revision,
                                                 updated_at = EXCLUDED.updated_at
         RETURNING kind, schema, revision, updated_at`,
        [tenant, kind, schemaJson, call.now],
        call,
      );
      const row = r.rows[0];
      if (row === undefined) throw new ContextError("INTERNAL", `putSchema ${kind} returned no row`);
      return toSchemaRecord(row);
    },

    async getSchema(tenant, kind, call) {
      const r = await read("getSchema", `SELECT kind, schema, revision, updated_at FROM ${s}.schemas WHERE tenant = $1 AND kind = $2`, [
        tenant,
        kind,
      ], call);
      const row = r.rows[0];
      return row === undefined ? null : toSchemaRecord(row);
    },

    async listSchemas(tenant, call) {
      const r = await read(
        "listSchemas",
        `SELECT kind, schema, revision, updated_at FROM ${s}.schemas WHERE tenant = $1 ORDER BY kind`,
        [tenant],
        call,
      );
      return r.rows.map(toSchemaRecord);
    },

    async deleteSchema(tenant, kind, call) {
      const r = await q("deleteSchema", `DELETE FROM ${s}.schemas WHERE tenant = $1 AND kind = $2`, [tenant, kind], call);
      return (r.rowCount ?? 0) > 0;
    },
  };
}
