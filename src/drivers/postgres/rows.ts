/**
 * Column lists and the mapping of PostgreSQL rows to driver records. JSON is stored as
 * text exactly as the core encoded it and parsed on the way out.
 */
import type { JsonObject, JsonValue } from "../../core/json-types.js";
import type { ContextRecord, EventRecord, SchemaRecord, SnapshotRecord } from "../driver.js";

/** The columns of a context record, prefixed by the table alias `c`. */
export const CONTEXT_COLUMNS =
  "c.pk, c.tenant, c.id, c.kind, c.user_id, c.chat_id, c.agent_id, c.title, c.metadata, c.version, c.last_seq, " +
  "c.first_seq, c.status, c.created_at, c.updated_at, c.expires_at, c.parent_id, c.parent_version, c.parent_seq";

/**
 * The parts of a context's history (`g(ctx, lo, hi, uv)`: the events of `ctx` with
 * `lo < seq <= hi`, its checkpoints up to version `uv`): its own events, and for a fork each
 * ancestor's up to its cut (read by key: an expired ancestor kept for its forks too); none below
 * the context's first seq. Binds $1 tenant, $2 id, $3 now.
 */
export function segmentsCte(s: string): string {
  return `WITH h AS (SELECT c.pk, c.first_seq, c.parent_seq FROM ${s}.contexts c WHERE c.tenant = $1 AND c.id = $2 AND ${visible(3)}),
    g AS (SELECT h.pk AS ctx, GREATEST(coalesce(h.parent_seq, 0), h.first_seq - 1) AS lo, 9007199254740991::bigint AS hi,
                 9007199254740991::bigint AS uv FROM h
          UNION ALL
          SELECT l.ancestor, GREATEST(l.after_seq, h.first_seq - 1), l.upto_seq, l.upto_version
            FROM h JOIN ${s}.lineage l ON l.ctx = h.pk)`;
}

/** The SQL condition "not expired at $n" for alias `c`. */
export function visible(param: number): string {
  return `(c.expires_at IS NULL OR c.expires_at > $${param})`;
}

type Row = Record<string, unknown>;

const str = (v: unknown): string => String(v);
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** Parses JSON text stored by the core. */
export function parseJson(text: unknown): JsonValue {
  return JSON.parse(String(text)) as JsonValue;
}

/** Parses JSON text that holds an object. */
export function parseObject(text: unknown): JsonObject {
  return JSON.parse(String(text)) as JsonObject;
}

/** A context row (selected with {@link CONTEXT_COLUMNS}) as a record. */
export function toContextRecord(r: Row): ContextRecord {
  return {
    id: str(r.id),
    tenant: str(r.tenant),
    kind: str(r.kind),
    userId: strOrNull(r.user_id),
    chatId: strOrNull(r.chat_id),
    agentId: strOrNull(r.agent_id),
    title: strOrNull(r.title),
    metadata: parseObject(r.metadata),
    version: num(r.version),
    lastSeq: num(r.last_seq),
    status: r.status === "archived" ? "archived" : "active",
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    expiresAt: numOrNull(r.expires_at),
    parentId: strOrNull(r.parent_id),
    parentVersion: numOrNull(r.parent_version),
    parentSeq: numOrNull(r.parent_seq),
    firstSeq: num(r.first_seq),
  };
}

/** An event row as a record. */
export function toEventRecord(r: Row): EventRecord {
  return {
    seq: num(r.seq),
    type: str(r.type),
    timestamp: num(r.ts),
    data: parseJson(r.data),
    metadata: parseObject(r.metadata),
    tokens: numOrNull(r.tokens),
    version: numOrNull(r.version),
  };
}

/** A snapshot row as a record. */
export function toSnapshotRecord(r: Row): SnapshotRecord {
  return {
    name: str(r.name),
    label: strOrNull(r.label),
    metadata: parseObject(r.metadata),
    version: num(r.version),
    seq: num(r.seq),
    state: parseObject(r.state),
    createdAt: num(r.created_at),
  };
}

/** A schema row as a record. */
export function toSchemaRecord(r: Row): SchemaRecord {
  return { kind: str(r.kind), schema: parseObject(r.schema), revision: num(r.revision), updatedAt: num(r.updated_at) };
}
