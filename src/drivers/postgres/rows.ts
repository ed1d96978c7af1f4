/**
 * Column lists and the mapping of PostgreSQL rows to driver records. JSON is stored as
 * text exactly as the core encoded it and parsed on the way out.
 */
import type { JsonObject, JsonValue } from "../../core/json-types.js";
import type { ContextRecord, EventRecord, SchemaRecord, SnapshotRecord } from "../driver.js";

/** The columns of a context record, prefixed by the table alias `c`. */
export const CONTEXT_COLUMNS =
  "c.pk, c.tenant, c.id, c.kind, c.user_id, c.chat_id, c.agent_id, c.title, c.metadata, c.version, c.last_seq, " +
  "c.first_seq, c.status, c.created_at, c.updated_at, c.expires_at, c.parent_id, c.parent_version";

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
