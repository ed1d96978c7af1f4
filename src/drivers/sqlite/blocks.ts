/**
 * The working-memory area of the SQLite driver (see drivers/block-area.ts and the "working
 * memory" migration). Every write runs under `BEGIN IMMEDIATE`, which serialises the writers
 * of every process on the file: the core's `update` sees exactly the block it replaces.
 */
import type Database from "better-sqlite3";
import { lazyStatements } from "./statements.js";
import type { WriteTransaction } from "./write-lock.js";
import { blockConflict } from "../block-area.js";
import type { BlockChange, BlockHistoryPage, BlockKey, BlockRecord, BlockVersionRecord } from "../block-area.js";
import type { JsonObject, JsonValue } from "../../core/json-types.js";

interface BlockRow {
  label: string;
  description: string;
  value: string;
  schema: string | null;
  limit_chars: number | null;
  limit_tokens: number | null;
  version: number;
  deleted: number;
  created_at: number;
  updated_at: number;
  updated_by: string | null;
}

interface VersionRow {
  label: string;
  version: number;
  op: BlockVersionRecord["op"];
  description: string;
  value: string;
  schema: string | null;
  limit_chars: number | null;
  limit_tokens: number | null;
  actor: string | null;
  at: number;
}

const COLUMNS = "label, description, value, schema, limit_chars, limit_tokens, version, deleted, created_at, updated_at, updated_by";
const KEY = "tenant = ? AND scope_kind = ? AND scope_id = ?";

const SQL = {
  list: `SELECT ${COLUMNS} FROM blocks WHERE ${KEY} AND deleted = 0 ORDER BY label`,
  get: `SELECT ${COLUMNS} FROM blocks WHERE ${KEY} AND label = ?`,
  upsert: `INSERT INTO blocks (tenant, scope_kind, scope_id, label, description, value, schema, limit_chars, limit_tokens, version,
       deleted, created_at, updated_at, updated_by)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)
     ON CONFLICT (tenant, scope_kind, scope_id, label) DO UPDATE SET description = excluded.description, value = excluded.value,
       schema = excluded.schema, limit_chars = excluded.limit_chars, limit_tokens = excluded.limit_tokens, version = excluded.version,
       deleted = 0, created_at = excluded.created_at, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
  tombstone: `UPDATE blocks SET deleted = 1, version = ?, updated_at = ?, updated_by = ? WHERE ${KEY} AND label = ?`,
  addVersion: `INSERT INTO block_versions (tenant, scope_kind, scope_id, label, version, op, description, value, schema, limit_chars,
       limit_tokens, actor, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  history: `SELECT label, version, op, description, value, schema, limit_chars, limit_tokens, actor, at
     FROM block_versions WHERE ${KEY} AND label = ? AND version > ? ORDER BY version LIMIT ?`,
} as const;

type Statements = { readonly [K in keyof typeof SQL]: Database.Statement };

/** The content columns of a block or version row, parsed (a block and its versions store them alike). */
function contentOf(r: Pick<VersionRow, "description" | "value" | "schema" | "limit_chars" | "limit_tokens">) {
  return {
    description: r.description,
    value: JSON.parse(r.value) as JsonValue,
    schema: r.schema === null ? null : (JSON.parse(r.schema) as JsonObject),
    limitChars: r.limit_chars,
    limitTokens: r.limit_tokens,
  };
}

function toRecord(key: BlockKey, r: BlockRow): BlockRecord {
  return {
    key: { ...key },
    label: r.label,
    ...contentOf(r),
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    updatedBy: r.updated_by,
  };
}

/** The block storage of one connection; each method runs in the driver's `#run`. */
export class SqliteBlocks {
  readonly #writeTx: WriteTransaction;
  readonly #s: Statements;

  constructor(db: Database.Database, write: WriteTransaction) {
    this.#writeTx = write;
    // Prepared on first use, like the driver's fixed statements: opening stays cheap.
    this.#s = lazyStatements(db, SQL);
  }

  #row(tenant: string, key: BlockKey, label: string): BlockRow | undefined {
    return this.#s.get.get(tenant, key.kind, key.id, label) as BlockRow | undefined;
  }

  list(tenant: string, key: BlockKey): BlockRecord[] {
    return (this.#s.list.all(tenant, key.kind, key.id) as BlockRow[]).map((r) => toRecord(key, r));
  }

  get(tenant: string, key: BlockKey, label: string): BlockRecord | null {
    const r = this.#row(tenant, key, label);
    return r === undefined || r.deleted !== 0 ? null : toRecord(key, r);
  }

  write(tenant: string, key: BlockKey, label: string, change: BlockChange, now: number): BlockRecord {
    return this.#writeTx(() => {
      const row = this.#row(tenant, key, label);
      const current = row === undefined || row.deleted !== 0 ? null : toRecord(key, row);
      const actual = current?.version ?? 0;
      if (change.ifVersion !== undefined && change.ifVersion !== actual) throw blockConflict(key, label, change.ifVersion, actual);
      const c = change.update(current);
      const version = (row?.version ?? 0) + 1;
      const createdAt = current?.createdAt ?? now;
      const s = this.#s;
      s.upsert.run(tenant, key.kind, key.id, label, c.description, c.valueJson, c.schemaJson, c.limitChars, c.limitTokens, version, createdAt, now, change.actor);
      s.addVersion.run(tenant, key.kind, key.id, label, version, change.op, c.description, c.valueJson, c.schemaJson, c.limitChars, c.limitTokens, change.actor, now);
      return toRecord(key, {
        label,
        description: c.description,
        value: c.valueJson,
        schema: c.schemaJson,
        limit_chars: c.limitChars,
        limit_tokens: c.limitTokens,
        version,
        deleted: 0,
        created_at: createdAt,
        updated_at: now,
        updated_by: change.actor,
      });
    });
  }

  delete(tenant: string, key: BlockKey, label: string, ifVersion: number | undefined, actor: string | null, now: number): boolean {
    return this.#writeTx(() => {
      const row = this.#row(tenant, key, label);
      if (row === undefined || row.deleted !== 0) return false;
      if (ifVersion !== undefined && ifVersion !== row.version) throw blockConflict(key, label, ifVersion, row.version);
      const version = row.version + 1;
      this.#s.tombstone.run(version, now, actor, tenant, key.kind, key.id, label);
      this.#s.addVersion.run(tenant, key.kind, key.id, label, version, "delete", row.description, row.value, row.schema, row.limit_chars, row.limit_tokens, actor, now);
      return true;
    });
  }

  history(tenant: string, key: BlockKey, label: string, page: BlockHistoryPage): BlockVersionRecord[] {
    // LIMIT -1: no limit.
    return (this.#s.history.all(tenant, key.kind, key.id, label, page.afterVersion, page.limit ?? -1) as VersionRow[]).map((v) => ({
      label: v.label,
      version: v.version,
      op: v.op,
      ...contentOf(v),
      actor: v.actor,
      at: v.at,
    }));
  }
}
