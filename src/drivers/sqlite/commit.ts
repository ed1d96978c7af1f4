/**
 * The body of `commit` and `insertContext`, run inside a `BEGIN IMMEDIATE` transaction:
 * guards, the `update` callback, events with gapless sequence numbers, head, checkpoint
 * and snapshot. Anything thrown rolls the whole transaction back.
 */
import type { JsonObject } from "../../core/json-types.js";
import { ContextError, VersionConflictError, contextNotFound } from "../../errors.js";
import type {
  CommitResult,
  ContextRecord,
  EventRecord,
  EventRecordInput,
  Mutation,
  SchemaRecord,
  SnapshotRecord,
} from "../driver.js";
import type { RecordCache } from "./record-cache.js";
import { type CommitHeadRow, type ContextRow, type HeadTuple, type LeaseRow, parseObject } from "./rows.js";
import type { Statements } from "./statements.js";

/** What the commit body needs from its connection. */
export interface CommitScope {
  s: Statements;
  records: RecordCache;
  /** Parsed schemas by `tenant\0kind`, reused while their text is unchanged. */
  schemas: Map<string, { text: string; parsed: JsonObject }>;
}

/** The record of a head, from the cache or (inside the same transaction) the full row. */
function recordOf(scope: CommitScope, head: HeadTuple): ContextRecord {
  const cached = scope.records.record(head);
  if (cached !== undefined) return cached;
  return scope.records.remember(scope.s.contextByPk.get(head[0]) as ContextRow);
}

/** Inserts a new context at its version with a checkpoint and its first events. */
export function insertContextBody(
  scope: CommitScope,
  r: ContextRecord,
  stateJson: string,
  events: EventRecordInput[],
): CommitResult {
  const { s } = scope;
  const pk = s.insertContext.get(
    r.tenant, r.id, r.kind, r.userId, r.chatId, r.agentId, r.title, JSON.stringify(r.metadata),
    r.status, r.createdAt, r.updatedAt, r.expiresAt, r.parentId, r.parentVersion,
  ) as number | undefined;
  if (pk === undefined) {
    throw new ContextError("ALREADY_EXISTS", `context ${r.id} already exists`, { details: { contextId: r.id } });
  }
  s.insertState.run(pk, stateJson, r.version, r.updatedAt);
  s.putCheckpoint.run(pk, r.version, stateJson);
  const written = insertEvents(s, pk, 1, events, undefined, false);
  return { record: { ...r, lastSeq: events.length, firstSeq: 1 }, events: written };
}

/** The body of `commit`; see the `Mutation` contract. */
export function commitBody(scope: CommitScope, tenant: string, id: string, m: Mutation, now: number): CommitResult {
  const { s } = scope;
  const update = m.update;
  if (update === undefined && m.snapshot === undefined) {
    // Appends write only their events (BEGIN IMMEDIATE makes max(seq) + 1 race-free); the
    // head row and the state are not touched.
    const head = s.contextHead.get(tenant, id, now) as HeadTuple | undefined;
    if (head === undefined) throw contextNotFound(id);
    checkGuards(s, head[0], id, head[2], m, now);
    const events = insertEvents(s, head[0], head[3] + 1, m.events, undefined, true);
    const newest = events[events.length - 1];
    const after: HeadTuple = [head[0], head[1], head[2], head[3] + events.length, head[4], Math.max(head[5], newest?.timestamp ?? 0)];
    return { record: recordOf(scope, after), events };
  }

  const row = s.commitHead.get(tenant, id, now) as CommitHeadRow | undefined;
  if (row === undefined) throw contextNotFound(id);
  checkGuards(s, row.pk, id, row.version, m, now);
  const record = recordOf(scope, [row.pk, row.meta_rev, row.version, row.last_seq, row.first_seq, row.updated_at]);
  let state: JsonObject | undefined;
  let stateJson = row.state;
  let version = row.version;
  let events: EventRecord[];
  if (update !== undefined) {
    const result = update({ record, state: parseObject(row.state), schema: schemaOf(scope, record, row) });
    state = result.state;
    stateJson = result.stateJson;
    version = row.version + 1;
    events = insertEvents(s, row.pk, row.last_seq + 1, [result.event, ...m.events], version, true);
    s.writeState.run(stateJson, version, now, row.pk);
    if (result.checkpoint) s.putCheckpoint.run(row.pk, version, stateJson);
  } else {
    events = insertEvents(s, row.pk, row.last_seq + 1, m.events, undefined, true);
    s.touchState.run(now, row.pk);
  }
  const lastSeq = row.last_seq + events.length;
  const out: CommitResult = { record: { ...record, version, lastSeq, updatedAt: now }, events };
  if (state !== undefined) out.state = state;
  if (m.snapshot !== undefined) {
    // The snapshot's seq is that of the first event of `events` (after the state event).
    const seq = events[update === undefined ? 0 : 1]?.seq ?? lastSeq;
    const snap = m.snapshot;
    const inserted = s.insertSnapshot.run(row.pk, snap.name, snap.label, snap.metadata, version, seq, stateJson, now);
    if (inserted.changes === 0) {
      throw new ContextError("ALREADY_EXISTS", `context ${id} already has a snapshot "${snap.name}"`, {
        details: { contextId: id, snapshot: snap.name },
      });
    }
    const snapshot: SnapshotRecord = {
      name: snap.name,
      label: snap.label,
      metadata: parseObject(snap.metadata),
      version,
      seq,
      state: state ?? parseObject(stateJson),
      createdAt: now,
    };
    out.snapshot = snapshot;
  }
  return out;
}

/** Fencing token first (a stale holder must learn it lost the lease), then the version. */
function checkGuards(s: Statements, pk: number, id: string, version: number, m: Mutation, now: number): void {
  if (m.fencingToken !== undefined) {
    const lease = s.getLease.get(pk) as LeaseRow | undefined;
    if (lease === undefined || lease.holder === null || lease.token !== m.fencingToken || lease.expires_at <= now) {
      throw new ContextError("LEASE_LOST", `fencing token ${m.fencingToken} is not the current lease of context ${id}`, {
        details: { contextId: id, fencingToken: m.fencingToken, currentToken: lease?.token ?? null },
      });
    }
  }
  if (m.expectedVersion !== undefined && m.expectedVersion !== version) {
    throw new VersionConflictError(id, m.expectedVersion, version);
  }
}

function schemaOf(scope: CommitScope, record: ContextRecord, row: CommitHeadRow): SchemaRecord | null {
  if (row.schema_json === null) return null;
  const key = `${record.tenant}\0${record.kind}`;
  let cached = scope.schemas.get(key);
  if (cached?.text !== row.schema_json) {
    cached = { text: row.schema_json, parsed: parseObject(row.schema_json) };
    if (scope.schemas.size >= 1000) scope.schemas.clear();
    scope.schemas.set(key, cached);
  }
  return {
    kind: record.kind,
    schema: cached.parsed,
    revision: row.schema_revision as number,
    updatedAt: row.schema_updated_at as number,
  };
}

/**
 * Inserts events from `firstSeq` on. The first one gets `stateVersion` when given (the state
 * event of an update); the others keep their `version` when `keepVersions`, else null.
 */
function insertEvents(
  s: Statements,
  pk: number,
  firstSeq: number,
  events: EventRecordInput[],
  stateVersion: number | undefined,
  keepVersions: boolean,
): EventRecord[] {
  const out = new Array<EventRecord>(events.length);
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as EventRecordInput;
    const seq = firstSeq + i;
    const version = i === 0 && stateVersion !== undefined ? stateVersion : keepVersions ? (e.version ?? null) : null;
    s.insertEvent.run(pk, seq, e.type, e.timestamp, e.data, e.metadata, e.tokens, version);
    out[i] = {
      seq,
      type: e.type,
      timestamp: e.timestamp,
      data: e.values ? e.values.data : (JSON.parse(e.data) as EventRecord["data"]),
      metadata: e.values ? e.values.metadata : parseObject(e.metadata),
      tokens: e.tokens,
      version,
    };
  }
  return out;
}
