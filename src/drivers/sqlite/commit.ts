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
import type { HeadCache } from "./head-cache.js";
import type { RecordCache } from "./record-cache.js";
import { type CommitHead, type ContextRow, type HeadTuple, type LeaseRow, headTuple, parseObject } from "./rows.js";
import type { Statements } from "./statements.js";

/** What the commit body needs from its connection. */
export interface CommitScope {
  s: Statements;
  records: RecordCache;
  /** Heads as this connection's commits left them; see `HeadCache`. */
  heads: HeadCache;
  /** Parsed schemas by `tenant\0kind`, reused while their text is unchanged. */
  schemas: Map<string, { text: string; parsed: JsonObject }>;
  /** Reads `PRAGMA data_version` (and tells the write lock's wait check it was read). */
  version: () => number;
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
  const fork = r.parentSeq;
  let firstSeq = 1;
  const lineage: [ancestor: number, after: number, upto: number, uptoVersion: number][] = [];
  if (fork !== null) {
    const parent = s.forkHead.get(r.tenant, r.parentId ?? "", r.createdAt) as [number, number, number | null] | undefined;
    if (parent === undefined) throw contextNotFound(r.parentId ?? "");
    const [ppk, pFirst, pFork] = parent;
    const own = pFork ?? 0;
    if (fork > own) lineage.push([ppk, own, fork, r.version]);
    for (const [a, after, upto, uptoVersion] of s.lineageOf.all(ppk) as [number, number, number, number][]) {
      if (after < fork) lineage.push([a, after, Math.min(upto, fork), Math.min(uptoVersion, r.version)]);
    }
    // What the parent compacted away before the fork point, the fork does not have either.
    firstSeq = pFirst <= fork ? pFirst : fork + 1;
  }
  const pk = s.insertContext.get(
    r.tenant, r.id, r.kind, r.userId, r.chatId, r.agentId, r.title, JSON.stringify(r.metadata),
    firstSeq, r.status, r.createdAt, r.updatedAt, r.expiresAt, r.parentId, r.parentVersion, fork,
  ) as number | undefined;
  if (pk === undefined) {
    throw new ContextError("ALREADY_EXISTS", `context ${r.id} already exists`, { details: { contextId: r.id } });
  }
  for (const [a, after, upto, uptoVersion] of lineage) if (upto >= firstSeq) s.insertLineage.run(pk, a, after, upto, uptoVersion);
  s.insertState.run(pk, stateJson, r.version, r.updatedAt);
  s.putCheckpoint.run(pk, r.version, stateJson);
  const base = fork ?? 0;
  const written = insertEvents(s, pk, base + 1, events, undefined, false);
  return { record: { ...r, lastSeq: base + events.length, firstSeq }, events: written };
}

/**
 * The head of a context as this connection's own last commit of it left it, when no other
 * connection has committed since (see `HeadCache`); undefined when it must be read back. Its
 * state is null when that commit was an append that did not read it.
 */
export function cachedHead(scope: CommitScope, tenant: string, id: string, now: number): CommitHead | undefined {
  if (!scope.heads.has(tenant, id)) return undefined;
  const head = scope.heads.get(tenant, id, scope.version());
  // An expired context is read again (and is then not found).
  return head !== undefined && (head[8] === null || head[8] > now) ? head : undefined;
}

/** The body of `commit`; see the `Mutation` contract. */
export function commitBody(scope: CommitScope, tenant: string, id: string, m: Mutation, now: number): CommitResult {
  const { s } = scope;
  const update = m.update;
  const cached = cachedHead(scope, tenant, id, now);
  if (update === undefined && m.snapshot === undefined) {
    // Appends write only their events (BEGIN IMMEDIATE makes max(seq) + 1 race-free); the
    // head row and the state are not touched, nor read: the head is cached without its state
    // (null) when it was not cached, so that the context's next append reads nothing.
    const head = cached ?? (s.appendHead.get(tenant, id, now) as CommitHead | undefined);
    if (head === undefined) throw contextNotFound(id);
    checkGuards(s, head[0], id, head[2], m, now);
    const events = insertEvents(s, head[0], head[3] + 1, m.events, undefined, true);
    const newest = events[events.length - 1];
    const before = headTuple(head);
    const after: HeadTuple = [before[0], before[1], before[2], before[3] + events.length, before[4], Math.max(before[5], newest?.timestamp ?? 0)];
    if (newest !== undefined) {
      const next = head.slice() as CommitHead;
      next[3] = after[3];
      next[7] = newest.timestamp;
      scope.heads.stage(tenant, id, next);
    }
    return { record: recordOf(scope, after), events };
  }

  // A cached head without its state (an append's) is read again, with the state.
  const known = cached !== undefined && cached[9] !== null ? cached : undefined;
  const head = known ?? (s.commitHead.get(tenant, id, now) as CommitHead | undefined);
  if (head === undefined) throw contextNotFound(id);
  const pk = head[0];
  const lastSeqBefore = head[3];
  checkGuards(s, pk, id, head[2], m, now);
  const record = recordOf(scope, headTuple(head));
  let state: JsonObject | undefined;
  // Both reads above have the state: `known` was checked, `commitHead` selects it.
  let stateJson = head[9] as string;
  let version = head[2];
  let events: EventRecord[];
  if (update !== undefined) {
    const result = update({ record, state: parseObject(stateJson), schema: schemaOf(scope, record, head) });
    state = result.state;
    stateJson = result.stateJson;
    version += 1;
    events = insertEvents(s, pk, lastSeqBefore + 1, [result.event, ...m.events], version, true);
    s.writeState.run(stateJson, version, now, pk);
    if (result.checkpoint) s.putCheckpoint.run(pk, version, stateJson);
  } else {
    events = insertEvents(s, pk, lastSeqBefore + 1, m.events, undefined, true);
    s.touchState.run(now, pk);
  }
  const lastSeq = lastSeqBefore + events.length;
  const next = head.slice() as CommitHead;
  next[2] = version;
  next[3] = lastSeq;
  next[6] = now;
  next[7] = events[events.length - 1]?.timestamp ?? head[7];
  next[9] = stateJson;
  scope.heads.stage(tenant, id, next);
  const out: CommitResult = { record: { ...record, version, lastSeq, updatedAt: now }, events };
  if (state !== undefined) out.state = state;
  if (m.snapshot !== undefined) {
    // The snapshot's seq is that of the first event of `events` (after the state event).
    const seq = events[update === undefined ? 0 : 1]?.seq ?? lastSeq;
    const snap = m.snapshot;
    const inserted = s.insertSnapshot.run(pk, snap.name, snap.label, snap.metadata, version, seq, stateJson, now);
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

function schemaOf(scope: CommitScope, record: ContextRecord, head: CommitHead): SchemaRecord | null {
  const json = head[10];
  if (json === null) return null;
  const key = `${record.tenant}\0${record.kind}`;
  let cached = scope.schemas.get(key);
  if (cached?.text !== json) {
    cached = { text: json, parsed: parseObject(json) };
    if (scope.schemas.size >= 1000) scope.schemas.clear();
    scope.schemas.set(key, cached);
  }
  return {
    kind: record.kind,
    schema: cached.parsed,
    revision: head[11] as number,
    updatedAt: head[12] as number,
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
