/**
 * Row shapes of the SQLite schema and their mapping to driver records.
 */
import type { JsonObject, JsonValue } from "../../core/json-types.js";
import type { ContextRecord, EventRecord, SchemaRecord, SnapshotRecord } from "../driver.js";

/**
 * The sequence number of a context's newest event, read from the events' primary key (one
 * seek). Plain appends write no row but their events: the head row is not rewritten, which
 * saves one B-tree page per commit.
 */
export function lastSeqSql(c = "c"): string {
  // A fork without events of its own is at its fork point.
  return `coalesce((SELECT max(seq) FROM events WHERE ctx = ${c}.pk), ${c}.parent_seq, 0)`;
}

/**
 * When a context last changed: the latest of its row's `updated_at` (`updateContext`), its
 * state row's `updated_at` (commits that write the state) and the time of its newest event.
 */
export function updatedAtSql(c = "c", stateUpdatedAt = "st.updated_at"): string {
  return `max(${c}.updated_at, ${stateUpdatedAt}, ${newestTsSql(c)})`;
}

/** The time of a context's newest event (0 without events), one seek on the events' key. */
function newestTsSql(c = "c"): string {
  return `coalesce((SELECT ts FROM events WHERE ctx = ${c}.pk ORDER BY seq DESC LIMIT 1), 0)`;
}

/**
 * What context reads select from: the context row (identity, owners, metadata, expiry) and its
 * state row, which also holds the head fields a state write changes (`version`, `updated_at`),
 * so that a step rewrites the small state row only, never the wide context row. CROSS JOIN
 * keeps the context row the outer loop (SQLite does not reorder it).
 */
export const CONTEXT_FROM = "contexts c CROSS JOIN states st ON st.ctx = c.pk";

function contextColumns(c: string, version: string, stateUpdatedAt: string): string {
  return (
    `${c}.pk, ${c}.meta_rev, ${c}.id, ${c}.tenant, ${c}.kind, ${c}.user_id, ${c}.chat_id, ${c}.agent_id, ${c}.title, ` +
    `${c}.metadata, ${version} AS version, ${lastSeqSql(c)} AS last_seq, ${c}.first_seq, ${c}.status, ${c}.created_at, ` +
    `${updatedAtSql(c, stateUpdatedAt)} AS updated_at, ${c}.expires_at, ${c}.parent_id, ${c}.parent_version, ${c}.parent_seq`
  );
}

/** Columns of a context row, in the order of {@link ContextRow}; select them `FROM` {@link CONTEXT_FROM}. */
export const CONTEXT_COLUMNS = contextColumns("c", "st.version", "st.updated_at");

/** {@link CONTEXT_COLUMNS} for the `RETURNING` clause of an `UPDATE contexts` (which cannot join). */
export const RETURNING_CONTEXT_COLUMNS = contextColumns(
  "contexts",
  "(SELECT version FROM states WHERE ctx = contexts.pk)",
  "(SELECT updated_at FROM states WHERE ctx = contexts.pk)",
);

/** A `contexts` row without its state. */
export interface ContextRow {
  pk: number;
  /** Incremented by every `updateContext`: the identity part of the row changed. */
  meta_rev: number;
  id: string;
  tenant: string;
  kind: string;
  user_id: string | null;
  chat_id: string | null;
  agent_id: string | null;
  title: string | null;
  metadata: string;
  version: number;
  last_seq: number;
  first_seq: number;
  status: "active" | "archived";
  created_at: number;
  updated_at: number;
  expires_at: number | null;
  parent_id: string | null;
  parent_version: number | null;
  parent_seq: number | null;
}

/**
 * The columns a commit changes, in the order of {@link HeadTuple}; with the cached rest of
 * the row (see `RecordCache`) they make the record without reading every column.
 */
export const HEAD_COLUMNS = `c.pk, c.meta_rev, st.version, ${lastSeqSql()} AS last_seq, c.first_seq, ${updatedAtSql()} AS updated_at`;

/** The {@link HEAD_COLUMNS} of a row, as better-sqlite3 returns them in raw mode. */
export type HeadTuple = [pk: number, metaRev: number, version: number, lastSeq: number, firstSeq: number, updatedAt: number];

/**
 * The head of a context inside a commit, as better-sqlite3 returns it in raw mode (an array is
 * cheaper to build than a row object): the {@link HeadTuple} fields with the parts of
 * "updated at" apart, the expiry, the state and the schema of its kind.
 */
export type CommitHead = [
  pk: number,
  metaRev: number,
  version: number,
  lastSeq: number,
  firstSeq: number,
  rowUpdatedAt: number,
  stateUpdatedAt: number,
  newestEventTs: number,
  expiresAt: number | null,
  /** The state JSON; null in a head read for an append, which does not need it (see `APPEND_HEAD_COLUMNS`). */
  state: string | null,
  schemaJson: string | null,
  schemaRevision: number | null,
  schemaUpdatedAt: number | null,
];

/** The columns of a {@link CommitHead}; select them `FROM` {@link CONTEXT_FROM}. */
export const COMMIT_HEAD_COLUMNS = `c.pk, c.meta_rev, st.version, ${lastSeqSql()}, c.first_seq, c.updated_at, st.updated_at,
  ${newestTsSql()}, c.expires_at, st.state`;

/**
 * The columns of a {@link CommitHead} without the state or the schema (NULL in their places),
 * for an append, which writes only its events: reading a large state back for it would cost
 * more than the append.
 */
export const APPEND_HEAD_COLUMNS = `c.pk, c.meta_rev, st.version, ${lastSeqSql()}, c.first_seq, c.updated_at, st.updated_at,
  ${newestTsSql()}, c.expires_at, NULL, NULL, NULL, NULL`;

/** The {@link HeadTuple} of a {@link CommitHead}. */
export function headTuple(h: CommitHead): HeadTuple {
  return [h[0], h[1], h[2], h[3], h[4], Math.max(h[5], h[6], h[7])];
}

/** Columns of an event row, in the order of {@link EventRow}. */
export const EVENT_COLUMNS = "seq, type, ts, data, metadata, tokens, version";

/** An `events` row. */
export interface EventRow {
  seq: number;
  type: string;
  ts: number;
  data: string;
  metadata: string;
  tokens: number | null;
  version: number | null;
}

/** A `snapshots` row. */
export interface SnapshotRow {
  name: string;
  label: string | null;
  metadata: string;
  version: number;
  seq: number;
  state: string;
  created_at: number;
}

/** A `schemas` row. */
export interface SchemaRow {
  kind: string;
  schema: string;
  revision: number;
  updated_at: number;
}

/** A `leases` row. */
export interface LeaseRow {
  holder: string | null;
  token: number;
  expires_at: number;
}

/** The expiry filter of every visible-context query; binds `now`. */
export const VISIBLE = "(expires_at IS NULL OR expires_at > ?)";

/** Parses JSON text that the core encoded as an object. */
export function parseObject(text: string): JsonObject {
  return text === "{}" ? {} : (JSON.parse(text) as JsonObject);
}

/** Maps a context row to its record. */
export function toContextRecord(row: ContextRow): ContextRecord {
  return {
    id: row.id,
    tenant: row.tenant,
    kind: row.kind,
    userId: row.user_id,
    chatId: row.chat_id,
    agentId: row.agent_id,
    title: row.title,
    metadata: parseObject(row.metadata),
    version: row.version,
    lastSeq: row.last_seq,
    status: row.status,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    expiresAt: row.expires_at,
    parentId: row.parent_id,
    parentVersion: row.parent_version,
    parentSeq: row.parent_seq,
    firstSeq: row.first_seq,
  };
}

/** Maps an event row to its record. */
export function toEventRecord(row: EventRow): EventRecord {
  return {
    seq: row.seq,
    type: row.type,
    timestamp: row.ts,
    data: JSON.parse(row.data) as JsonValue,
    metadata: parseObject(row.metadata),
    tokens: row.tokens,
    version: row.version,
  };
}

/** Maps a snapshot row to its record. */
export function toSnapshotRecord(row: SnapshotRow): SnapshotRecord {
  return {
    name: row.name,
    label: row.label,
    metadata: parseObject(row.metadata),
    version: row.version,
    seq: row.seq,
    state: parseObject(row.state),
    createdAt: row.created_at,
  };
}

/** Maps a schema row to its record. */
export function toSchemaRecord(row: SchemaRow): SchemaRecord {
  return { kind: row.kind, schema: parseObject(row.schema), revision: row.revision, updatedAt: row.updated_at };
}
