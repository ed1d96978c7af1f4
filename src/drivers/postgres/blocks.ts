/**
 * The working-memory area of the PostgreSQL driver (see drivers/block-area.ts and the "blocks"
 * migration). A write makes sure the block has a row (a tombstone placeholder, inserted with
 * ON CONFLICT DO NOTHING), locks it FOR UPDATE, and only then reads it and runs the core's
 * `update`: writers of one block queue on its row lock on every node, creation included.
 */
import { blockConflict } from "../block-area.js";
import type { BlockArea, BlockKey, BlockRecord, BlockVersionRecord } from "../block-area.js";
import type { JsonObject, JsonValue } from "../../core/json-types.js";
import type { DriverScope } from "./db.js";

const COLUMNS = "label, description, value, schema, limit_chars, limit_tokens, version, deleted, created_at, updated_at, updated_by";
const KEY = "tenant = $1 AND scope_kind = $2 AND scope_id = $3";

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/** The content columns of a block or version row, parsed (a block and its versions store them alike). */
function contentOf(r: Record<string, unknown>) {
  return {
    description: String(r.description),
    value: JSON.parse(String(r.value)) as JsonValue,
    schema: r.schema === null || r.schema === undefined ? null : (JSON.parse(String(r.schema)) as JsonObject),
    limitChars: num(r.limit_chars),
    limitTokens: num(r.limit_tokens),
  };
}

function toRecord(key: BlockKey, r: Record<string, unknown>): BlockRecord {
  return {
    key: { ...key },
    label: String(r.label),
    ...contentOf(r),
    version: Number(r.version),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    updatedBy: str(r.updated_by),
  };
}

/** The block area over the driver's pool. */
export function blockArea(scope: DriverScope): BlockArea {
  const { s, read, tx } = scope;
  return {
    async list(tenant, key, call) {
      const r = await read("blocks.list", `SELECT ${COLUMNS} FROM ${s}.blocks WHERE ${KEY} AND NOT deleted ORDER BY label`, [tenant, key.kind, key.id], call);
      return r.rows.map((row) => toRecord(key, row));
    },

    async get(tenant, key, label, call) {
      const r = await read("blocks.get", `SELECT ${COLUMNS} FROM ${s}.blocks WHERE ${KEY} AND label = $4 AND NOT deleted`, [tenant, key.kind, key.id, label], call);
      const row = r.rows[0];
      return row === undefined ? null : toRecord(key, row);
    },

    write(tenant, key, label, change, call) {
      return tx(
        "blocks.write",
        async (c) => {
          const args = [tenant, key.kind, key.id, label];
          await c.query(
            `INSERT INTO ${s}.blocks (tenant, scope_kind, scope_id, label, description, value, version, deleted, created_at, updated_at)
             VALUES ($1, $2, $3, $4, '', 'null', 0, true, $5, $5) ON CONFLICT DO NOTHING`,
            [...args, call.now],
          );
          const locked = await c.query(`SELECT ${COLUMNS} FROM ${s}.blocks WHERE ${KEY} AND label = $4 FOR UPDATE`, args);
          const row = locked.rows[0] as Record<string, unknown>;
          const current = row.deleted === true ? null : toRecord(key, row);
          const actual = current?.version ?? 0;
          if (change.ifVersion !== undefined && change.ifVersion !== actual) throw blockConflict(key, label, change.ifVersion, actual);
          const b = change.update(current);
          const version = Number(row.version) + 1;
          const createdAt = current?.createdAt ?? call.now;
          const content = [b.description, b.valueJson, b.schemaJson, b.limitChars, b.limitTokens];
          await c.query(
            `UPDATE ${s}.blocks SET description = $5, value = $6, schema = $7, limit_chars = $8, limit_tokens = $9, version = $10,
               deleted = false, created_at = $11, updated_at = $12, updated_by = $13 WHERE ${KEY} AND label = $4`,
            [...args, ...content, version, createdAt, call.now, change.actor],
          );
          await c.query(
            `INSERT INTO ${s}.block_versions (tenant, scope_kind, scope_id, label, description, value, schema, limit_chars, limit_tokens,
               version, op, actor, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
            [...args, ...content, version, change.op, change.actor, call.now],
          );
          return toRecord(key, {
            label,
            description: b.description,
            value: b.valueJson,
            schema: b.schemaJson,
            limit_chars: b.limitChars,
            limit_tokens: b.limitTokens,
            version,
            created_at: createdAt,
            updated_at: call.now,
            updated_by: change.actor,
          });
        },
        call,
      );
    },

    delete(tenant, key, label, guard, call) {
      return tx(
        "blocks.delete",
        async (c) => {
          const args = [tenant, key.kind, key.id, label];
          const locked = await c.query(`SELECT ${COLUMNS} FROM ${s}.blocks WHERE ${KEY} AND label = $4 AND NOT deleted FOR UPDATE`, args);
          const row = locked.rows[0];
          if (row === undefined) return false;
          const current = Number(row.version);
          if (guard.ifVersion !== undefined && guard.ifVersion !== current) throw blockConflict(key, label, guard.ifVersion, current);
          await c.query(
            `UPDATE ${s}.blocks SET deleted = true, version = $5, updated_at = $6, updated_by = $7 WHERE ${KEY} AND label = $4`,
            [...args, current + 1, call.now, guard.actor],
          );
          await c.query(
            `INSERT INTO ${s}.block_versions (tenant, scope_kind, scope_id, label, description, value, schema, limit_chars, limit_tokens,
               version, op, actor, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'delete', $11, $12)`,
            [...args, row.description, row.value, row.schema, row.limit_chars, row.limit_tokens, current + 1, guard.actor, call.now],
          );
          return true;
        },
        call,
      );
    },

    async history(tenant, key, label, page, call) {
      const r = await read(
        "blocks.history",
        `SELECT label, version, op, description, value, schema, limit_chars, limit_tokens, actor, at
         FROM ${s}.block_versions WHERE ${KEY} AND label = $4 AND version > $5 ORDER BY version LIMIT $6`,
        [tenant, key.kind, key.id, label, page.afterVersion, page.limit],
        call,
      );
      return r.rows.map(
        (v): BlockVersionRecord => ({
          label: String(v.label),
          version: Number(v.version),
          op: String(v.op) as BlockVersionRecord["op"],
          ...contentOf(v),
          actor: str(v.actor),
          at: Number(v.at),
        }),
      );
    },
  };
}
