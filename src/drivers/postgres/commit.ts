/**
 * `commit` on PostgreSQL. Two paths with the same guarantees:
 *
 * - append only (no `update`, no `snapshot`): one call of the `append_events` function,
 *   which locks the head row, checks the guards, numbers the events and moves the head in
 *   the statement's own transaction (one round trip);
 * - a state write whose head this driver committed last (see `head-cache.ts`): `update` runs
 *   here on the cached head and one call of `commit_state` writes it if the head is unchanged;
 * - otherwise: BEGIN, `SELECT … FOR UPDATE` of the head, guards and `update(head)` here,
 *   then one statement writing events, head, checkpoint and snapshot, and COMMIT.
 *
 * Either way commits of one context are serialised by the row lock, so sequence numbers
 * have no gaps and two commits never see the same head. Other nodes are told after the
 * commit (see `createNotifier` in `notify.ts`).
 */
import { ContextError, VersionConflictError, contextNotFound, isContextError } from "../../errors.js";
import type {
  CommitResult,
  DriverCall,
  ContextRecord,
  EventRecord,
  EventRecordInput,
  Head,
  Mutation,
  SchemaRecord,
  SnapshotRecord,
  StateUpdate,
} from "../driver.js";
import type { Db } from "./db.js";
import type { HeadCache } from "./head-cache.js";
import { nativeCode } from "./errors.js";
import { CONTEXT_COLUMNS, parseJson, parseObject, toContextRecord, toSchemaRecord, visible } from "./rows.js";

/** Where the commit goes. */
export interface CommitTarget {
  db: Db;
  /** Quoted schema name. */
  schema: string;
  /**
   * NOTIFY channel for a notice inside the commit's transaction, or null (the driver sends
   * notices after the commit instead: see `createNotifier`).
   */
  channel: string | null;
  /** Identifies this driver instance in notifications, so it can skip its own. */
  origin: string;
  /** Heads this driver committed last (one-round-trip state writes). */
  heads: HeadCache;
}

function leaseLost(id: string, token: number, current: number | null): ContextError {
  return new ContextError("LEASE_LOST", `fencing token ${token} is not the current lease of context ${id}`, {
    details: { contextId: id, fencingToken: token, currentToken: current },
  });
}

/** Turns the guard failures raised by `append_events` into contextd errors. */
function guardError(e: unknown, id: string, mutation: Mutation): ContextError | undefined {
  const code = nativeCode(e);
  if (code === "CD404") return contextNotFound(id);
  if (code === "CD423") {
    const detail = (e as { detail?: unknown }).detail;
    return leaseLost(id, mutation.fencingToken ?? 0, typeof detail === "string" && detail !== "" ? Number(detail) : null);
  }
  if (code === "CD409") {
    const detail = Number((e as { detail?: unknown }).detail);
    return new VersionConflictError(id, mutation.expectedVersion ?? 0, detail);
  }
  return undefined;
}

/** Column arrays for `unnest`, one entry per event. */
function eventArrays(events: EventRecordInput[]): unknown[] {
  return [
    events.map((e) => e.type),
    events.map((e) => e.timestamp),
    events.map((e) => e.data),
    events.map((e) => e.metadata),
    events.map((e) => e.tokens),
    events.map((e) => e.version ?? null),
  ];
}

function toWritten(events: EventRecordInput[], firstSeq: number): EventRecord[] {
  return events.map((e, i) => ({
    seq: firstSeq + i,
    type: e.type,
    timestamp: e.timestamp,
    data: parseJson(e.data),
    metadata: parseObject(e.metadata),
    tokens: e.tokens,
    version: e.version ?? null,
  }));
}

/** Runs one mutation; see the module docs. */
export async function commitMutation(t: CommitTarget, tenant: string, id: string, m: Mutation, call: DriverCall): Promise<CommitResult> {
  if (m.update === undefined && m.snapshot === undefined) return appendOnly(t, tenant, id, m, call);
  if (m.update !== undefined && m.snapshot === undefined) {
    const fast = await guessedCommit(t, tenant, id, m, m.update, call);
    if (fast !== undefined) return fast;
  }
  const { result, pk, stateJson, schema } = await lockedCommit(t, tenant, id, m, call);
  // Only a committed head may be cached: see head-cache.ts.
  t.heads.set(tenant, id, { pk, record: result.record, stateJson, schema });
  return result;
}

/**
 * A state write computed from the cached head and committed by `commit_state` in one round
 * trip, or `undefined` when there is no cached head or it is no longer current (the caller
 * then takes the locking path, which also gives the exact error of a write that fails).
 */
async function guessedCommit(
  t: CommitTarget,
  tenant: string,
  id: string,
  m: Mutation,
  compute: (head: Head) => StateUpdate,
  call: DriverCall,
): Promise<CommitResult | undefined> {
  const cached = t.heads.get(tenant, id);
  if (cached === undefined) return undefined;
  if (m.expectedVersion !== undefined && m.expectedVersion !== cached.record.version) return undefined;
  let update: StateUpdate;
  try {
    update = compute({ record: cached.record, state: parseObject(cached.stateJson), schema: cached.schema });
  } catch {
    // Judged against a head that may be stale: let the locking path judge it against the real one.
    return undefined;
  }
  const version = cached.record.version + 1;
  const events: EventRecordInput[] = [{ ...update.event, version }, ...m.events];
  const [types, ts, data, meta, tokens] = eventArrays(events);
  let row: Record<string, unknown> | undefined;
  try {
    const r = await t.db.query(
      "commit",
      `SELECT * FROM ${t.schema}.commit_state($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [cached.pk, cached.record.version, cached.schema?.revision ?? null, call.now, m.fencingToken ?? null, update.stateJson,
        update.checkpoint, types, ts, data, meta, tokens],
      false,
      call.signal,
    );
    row = r.rows[0];
  } catch (e) {
    const cause = isContextError(e) ? e.cause : e;
    throw guardError(cause, id, m) ?? e;
  }
  if (row === undefined) {
    t.heads.delete(tenant, id);
    return undefined;
  }
  const before = Number(row.o_last_seq);
  const record = outputRecord(row, tenant, id, before + events.length, call.now, cached.record.parentSeq);
  t.heads.set(tenant, id, { pk: cached.pk, record, stateJson: update.stateJson, schema: cached.schema });
  return { record, events: toWritten(events, before + 1), state: update.state };
}

/** The record a commit function (`append_events`, `commit_state`) returned. */
function outputRecord(
  row: Record<string, unknown>,
  tenant: string,
  id: string,
  lastSeq: number,
  now: number,
  parentSeq: number | null,
): ContextRecord {
  return {
    id,
    tenant,
    kind: String(row.o_kind),
    userId: (row.o_user_id as string | null) ?? null,
    chatId: (row.o_chat_id as string | null) ?? null,
    agentId: (row.o_agent_id as string | null) ?? null,
    title: (row.o_title as string | null) ?? null,
    metadata: parseObject(row.o_metadata),
    version: Number(row.o_version),
    lastSeq,
    status: row.o_status === "archived" ? "archived" : "active",
    createdAt: Number(row.o_created_at),
    updatedAt: now,
    expiresAt: row.o_expires_at === null ? null : Number(row.o_expires_at),
    parentId: (row.o_parent_id as string | null) ?? null,
    parentVersion: row.o_parent_version === null ? null : Number(row.o_parent_version),
    // The commit functions do not return it (they predate forks sharing history); it never
    // changes, so the committed head's is taken when there is one.
    parentSeq,
    firstSeq: Number(row.o_first_seq),
  };
}

async function appendOnly(t: CommitTarget, tenant: string, id: string, m: Mutation, call: DriverCall): Promise<CommitResult> {
  const [types, ts, data, meta, tokens] = eventArrays(m.events);
  let row: Record<string, unknown> | undefined;
  try {
    const r = await t.db.query(
      "commit",
      `SELECT * FROM ${t.schema}.append_events($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [tenant, id, call.now, m.expectedVersion ?? null, m.fencingToken ?? null, types, ts, data, meta, tokens, t.channel, t.origin],
      false,
      call.signal,
    );
    row = r.rows[0];
  } catch (e) {
    const cause = isContextError(e) ? e.cause : e;
    throw guardError(cause, id, m) ?? e;
  }
  if (row === undefined) throw contextNotFound(id);
  const before = Number(row.o_last_seq);
  const record = outputRecord(row, tenant, id, before + m.events.length, call.now, t.heads.get(tenant, id)?.record.parentSeq ?? null);
  return { record, events: toWritten(m.events, before + 1) };
}

interface LockedOutcome {
  result: CommitResult;
  pk: number;
  stateJson: string;
  schema: SchemaRecord | null;
}

async function lockedCommit(t: CommitTarget, tenant: string, id: string, m: Mutation, call: DriverCall): Promise<LockedOutcome> {
  const s = t.schema;
  return t.db.tx("commit", async (client) => {
    const r = await client.query(
      `SELECT ${CONTEXT_COLUMNS}, c.state,
              sc.kind AS s_kind, sc.schema AS s_schema, sc.revision AS s_revision, sc.updated_at AS s_updated
         FROM ${s}.contexts c
         LEFT JOIN ${s}.schemas sc ON sc.tenant = c.tenant AND sc.kind = c.kind
        WHERE c.tenant = $1 AND c.id = $2 AND ${visible(3)}
        FOR UPDATE OF c`,
      [tenant, id, call.now],
    );
    const row = r.rows[0];
    if (row === undefined) throw contextNotFound(id);
    const head: Head = {
      record: toContextRecord(row),
      state: parseObject(row.state),
      schema:
        row.s_kind === null || row.s_kind === undefined
          ? null
          : toSchemaRecord({ kind: row.s_kind, schema: row.s_schema, revision: row.s_revision, updated_at: row.s_updated }),
    };
    const pk = Number(row.pk);
    if (m.fencingToken !== undefined) {
      // A statement of its own, so its snapshot is taken after the row lock is ours: a lease
      // granted while this commit waited for the lock is seen (a join in the locking
      // statement would show the lease as it was before the wait).
      const l = (await client.query(`SELECT holder, token, expires_at FROM ${s}.leases WHERE ctx = $1`, [pk])).rows[0];
      const ok =
        l !== undefined && Number(l.token) === m.fencingToken && l.holder !== null && Number(l.expires_at) > call.now;
      if (!ok) throw leaseLost(id, m.fencingToken, l === undefined ? null : Number(l.token));
    }
    if (m.expectedVersion !== undefined && m.expectedVersion !== head.record.version) {
      throw new VersionConflictError(id, m.expectedVersion, head.record.version);
    }
    let update: StateUpdate | undefined;
    if (m.update !== undefined) update = m.update(head);
    let snapshot: SnapshotRecord | undefined;
    const version = update === undefined ? head.record.version : head.record.version + 1;
    const events: EventRecordInput[] = update === undefined ? [...m.events] : [{ ...update.event, version }, ...m.events];
    const firstSeq = head.record.lastSeq + 1;
    const lastSeq = head.record.lastSeq + events.length;

    const values: unknown[] = [pk, head.record.lastSeq, ...eventArrays(events), version, lastSeq, call.now];
    const p = (v: unknown) => {
      values.push(v);
      return `$${values.length}`;
    };
    const ctes = [
      `e AS (INSERT INTO ${s}.events (ctx, seq, type, ts, data, metadata, tokens, version)
             SELECT $1, $2 + u.ord, u.type, u.ts, u.data, u.meta, u.tokens, u.version
               FROM unnest($3::text[], $4::bigint[], $5::text[], $6::text[], $7::integer[], $8::bigint[])
                    WITH ORDINALITY AS u(type, ts, data, meta, tokens, version, ord))`,
      `h AS (UPDATE ${s}.contexts SET version = $9, last_seq = $10, updated_at = $11${
        update === undefined ? "" : `, state = ${p(update.stateJson)}`
      } WHERE pk = $1)`,
    ];
    if (update?.checkpoint) {
      ctes.push(
        `k AS (INSERT INTO ${s}.checkpoints (ctx, version, state) VALUES ($1, $9, ${p(update.stateJson)})
               ON CONFLICT (ctx, version) DO UPDATE SET state = EXCLUDED.state)`,
      );
    }
    if (m.snapshot !== undefined) {
      const snapSeq = Math.min(update === undefined ? firstSeq : firstSeq + 1, lastSeq);
      const stateText = update === undefined ? String(row.state) : update.stateJson;
      snapshot = {
        name: m.snapshot.name,
        label: m.snapshot.label,
        metadata: parseObject(m.snapshot.metadata),
        version,
        seq: snapSeq,
        state: update === undefined ? head.state : update.state,
        createdAt: call.now,
      };
      ctes.push(
        `sn AS (INSERT INTO ${s}.snapshots (ctx, name, label, metadata, version, seq, state, created_at)
                VALUES ($1, ${p(m.snapshot.name)}, ${p(m.snapshot.label)}, ${p(m.snapshot.metadata)}, $9,
                        ${p(snapSeq)}, ${p(stateText)}, $11)
                ON CONFLICT (ctx, name) DO NOTHING RETURNING 1)`,
      );
    }
    const snap = m.snapshot !== undefined ? "(SELECT count(*) FROM sn)" : "1";
    const w = await client.query(`WITH ${ctes.join(",\n")} SELECT ${snap}::int AS snap`, values);
    if (m.snapshot !== undefined && Number(w.rows[0]?.snap) === 0) {
      throw new ContextError("ALREADY_EXISTS", `snapshot ${m.snapshot.name} already exists on context ${id}`, {
        details: { contextId: id, name: m.snapshot.name },
      });
    }
    const record: ContextRecord = { ...head.record, version, lastSeq, updatedAt: call.now };
    const result: CommitResult = { record, events: toWritten(events, firstSeq) };
    if (update !== undefined) result.state = update.state;
    if (snapshot !== undefined) result.snapshot = snapshot;
    return { result, pk, stateJson: update === undefined ? String(row.state) : update.stateJson, schema: head.schema };
  }, call.signal);
}
