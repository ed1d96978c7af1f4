/**
 * The PostgreSQL driver: many `contextd serve` nodes on one database.
 *
 * Tables live in their own schema (default `contextd`), created and migrated at `open()`.
 * Child tables (events, checkpoints, snapshots, leases) use the context's surrogate bigint
 * key. Commits are serialised per context by the head row's lock; change notices travel
 * between nodes by LISTEN/NOTIFY (see `notify.ts`).
 */
import { randomUUID } from "node:crypto";
import { ContextError, contextNotFound, hasForks } from "../../errors.js";
import type { ChangeNotice, CommitResult, ContextRecord, Driver, DriverCall, EventRecordInput } from "../driver.js";
import { commitMutation } from "./commit.js";
import type { CommitTarget } from "./commit.js";
import { createDb } from "./db.js";
import type { Db, DriverScope } from "./db.js";
import { activeContextMethods } from "./active-contexts.js";
import { dependents, historyMethods } from "./history.js";
import { leaseMethods } from "./leases.js";
import { schemaMethods } from "./state-schemas.js";
import { searchArea } from "./search.js";
import { memoryArea } from "./memories.js";
import { blockArea } from "./blocks.js";
import { backfill, detectPgvector } from "./pgvector.js";
import type { PgvectorSupport } from "./pgvector.js";
import { applyMigrations, SCHEMA_VERSION } from "./migrations.js";
import { createHeadCache } from "./head-cache.js";
import { createNotifier, createNotifyListener } from "./notify.js";
import type { Notifier, NotifyListener } from "./notify.js";
import { loadPg, numericTypes } from "./pg-module.js";
import type { PgConfig, PgModule } from "./pg-module.js";
import {
  CONTEXT_COLUMNS,
  parseJson,
  parseObject,
  toContextRecord,
  visible,
} from "./rows.js";

/** Options of {@link postgresDriver}. */
export interface PostgresDriverOptions {
  /** @default process.env.DATABASE_URL, else "postgres://postgres@127.0.0.1:5432/postgres" */
  connectionString?: string;
  /** The schema holding contextd's tables (letters, digits, `_`). @default "contextd" */
  schema?: string;
  /** Most connections in the pool (two more are used: LISTEN and NOTIFY). @default 10 */
  poolSize?: number;
  /** An idle pooled connection is closed after this long. @default 30000 */
  idleTimeoutMs?: number;
  /** Connecting gives up after this long, so calls fail fast with `DRIVER_UNAVAILABLE`. @default 3000 */
  connectionTimeoutMs?: number;
  /** Server-side `statement_timeout`; the client gives up 1 s later. @default 15000 */
  statementTimeoutMs?: number;
  /**
   * `synchronous_commit` of contextd's sessions. `"on"` (the server's default) acknowledges a
   * write once PostgreSQL has flushed it to its WAL; `"off"` acknowledges before the flush:
   * several times the commit rate on slow disks, and a crash of any contextd node still loses
   * nothing, but a crash of the PostgreSQL server can lose the last few hundred milliseconds
   * of acknowledged writes (never corrupting anything). @default the server's setting
   */
  synchronousCommit?: "on" | "off" | "local" | "remote_write" | "remote_apply";
  /** Send and receive cross-node change notices with LISTEN/NOTIFY. @default true */
  notify?: boolean;
  /** `application_name` shown in `pg_stat_activity`. @default "contextd" */
  applicationName?: string;
  /** Passed to `pg` as is (e.g. `{ rejectUnauthorized: true, ca }`). */
  ssl?: unknown;
  /** Called when a connection is lost in the background (the driver reconnects by itself). */
  onConnectionLost?: (error: unknown) => void;
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * A driver for PostgreSQL (needs the `pg` package).
 *
 * @throws `INVALID_INPUT` for a schema name that is not a plain identifier
 * @example
 * ```ts
 * const store = await createStore(postgresDriver({ connectionString: "postgres://localhost/app" }));
 * ```
 */
export function postgresDriver(options: PostgresDriverOptions = {}): Driver {
  const schemaName = options.schema ?? "contextd";
  if (!SCHEMA_NAME.test(schemaName)) {
    throw new ContextError("INVALID_INPUT", `schema: "${schemaName}" is not a plain SQL identifier (letters, digits, _)`, {
      details: { field: "schema" },
    });
  }
  const s = `"${schemaName}"`;
  const useNotify = options.notify ?? true;
  const channel = `${schemaName}_changes`;
  const origin = randomUUID();
  const listeners = new Set<(n: ChangeNotice) => void>();
  let db: Db | undefined;
  let pg: PgModule | undefined;
  let config: PgConfig | undefined;
  let opening: Promise<void> | undefined;
  let listener: NotifyListener | undefined;
  let notifier: Notifier | undefined;
  let identity = "";
  let closed = false;
  // Calls in flight when close() starts finish normally (a watcher's read, a commit);
  // calls that start after it fail with CLOSED.
  let active = 0;
  let drained: (() => void) | undefined;

  const emit = (n: ChangeNotice) => {
    for (const l of [...listeners]) {
      try {
        l(n);
      } catch {
        // A listener's failure is its own; the others still hear the change.
      }
    }
  };

  const need = (): Db => {
    if (db === undefined) throw new ContextError("INTERNAL", "the PostgreSQL driver was used before open()");
    return db;
  };
  const heads = createHeadCache();
  const target = (): CommitTarget => ({ db: need(), schema: s, channel: null, origin, heads });
  /** Tells this process at once and the other nodes right after (see `createNotifier`). */
  const announce = (n: ChangeNotice) => {
    emit(n);
    notifier?.send(n);
  };
  const q = (op: string, text: string, values: unknown[], call: DriverCall) => need().query(op, text, values, false, call.signal);
  const read = (op: string, text: string, values: unknown[], call: DriverCall) => need().query(op, text, values, true, call.signal);
  /**
   * The one definition of deleting contexts with everything of theirs: a WITH clause that
   * deletes the contexts matching `where` (on `c`) and their rows in every other table; the
   * statement that follows sees the deleted keys as `d(pk)`. (Not foreign keys with ON DELETE
   * CASCADE: those would add a lookup of the context to every event insert.)
   */
  const deleteCascade = (where: string) =>
    `WITH d AS (DELETE FROM ${s}.contexts c WHERE ${where} RETURNING c.pk),
          e AS (DELETE FROM ${s}.events WHERE ctx IN (SELECT pk FROM d)),
          k AS (DELETE FROM ${s}.checkpoints WHERE ctx IN (SELECT pk FROM d)),
          n AS (DELETE FROM ${s}.snapshots WHERE ctx IN (SELECT pk FROM d)),
          l AS (DELETE FROM ${s}.leases WHERE ctx IN (SELECT pk FROM d)),
          x AS (DELETE FROM ${s}.event_search WHERE ctx IN (SELECT pk FROM d)),
          p AS (DELETE FROM ${s}.search_progress WHERE ctx IN (SELECT pk FROM d)),
          -- Its own ancestry, and the rows of expired forks that named it (never read again).
          f AS (DELETE FROM ${s}.lineage WHERE ctx IN (SELECT pk FROM d) OR ancestor IN (SELECT pk FROM d))`;
  const tx = <T>(op: string, fn: Parameters<Db["tx"]>[1], call: DriverCall) => need().tx(op, fn, call.signal) as Promise<T>;
  /**
   * Inserts a fork: under a share lock on its parent's row (a delete or compaction of the parent
   * waits, then sees the fork), with its lineage — the parent's, cut at the fork point, plus the
   * parent itself. Its events are numbered after the fork point.
   */
  const insertFork = async (record: ContextRecord, stateJson: string, events: EventRecordInput[], call: DriverCall): Promise<CommitResult> => {
    const fork = record.parentSeq as number;
    const firstSeq = await tx<number>(
      "insertContext",
      async (client) => {
        const p = await client.query(
          `SELECT c.pk, c.first_seq, c.parent_seq FROM ${s}.contexts c WHERE c.tenant = $1 AND c.id = $2 AND ${visible(3)} FOR KEY SHARE`,
          [record.tenant, record.parentId, call.now],
        );
        const parent = p.rows[0];
        if (parent === undefined) throw contextNotFound(record.parentId ?? "");
        const own = parent.parent_seq === null ? 0 : Number(parent.parent_seq);
        const lineage: [unknown, number, number, number][] = [];
        if (fork > own) lineage.push([parent.pk, own, fork, record.version]);
        const l = await client.query(`SELECT ancestor, after_seq, upto_seq, upto_version FROM ${s}.lineage WHERE ctx = $1`, [parent.pk]);
        for (const r of l.rows) {
          const after = Number(r.after_seq);
          if (after < fork) lineage.push([r.ancestor, after, Math.min(Number(r.upto_seq), fork), Math.min(Number(r.upto_version), record.version)]);
        }
        // What the parent compacted away before the fork point, the fork does not have either.
        const first = Number(parent.first_seq) <= fork ? Number(parent.first_seq) : fork + 1;
        const kept = lineage.filter((x) => x[2] >= first);
        const r = await client.query(
          `WITH c AS (
             INSERT INTO ${s}.contexts (tenant, id, kind, user_id, chat_id, agent_id, title, metadata, state, version,
                                        last_seq, first_seq, status, created_at, updated_at, expires_at, parent_id, parent_version, parent_seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
             ON CONFLICT ON CONSTRAINT contexts_tenant_id DO NOTHING RETURNING pk),
           e AS (INSERT INTO ${s}.events (ctx, seq, type, ts, data, metadata, tokens, version)
             SELECT c.pk, $19 + u.ord, u.type, u.ts, u.data, u.meta, u.tokens, NULL
               FROM c, unnest($20::text[], $21::bigint[], $22::text[], $23::text[], $24::integer[])
                       WITH ORDINALITY AS u(type, ts, data, meta, tokens, ord)),
           k AS (INSERT INTO ${s}.checkpoints (ctx, version, state) SELECT c.pk, $10, $9 FROM c),
           l AS (INSERT INTO ${s}.lineage (ctx, ancestor, after_seq, upto_seq, upto_version)
             SELECT c.pk, u.a, u.af, u.up, u.uv FROM c, unnest($25::bigint[], $26::bigint[], $27::bigint[], $28::bigint[]) AS u(a, af, up, uv))
           SELECT c.pk FROM c`,
          [
            record.tenant, record.id, record.kind, record.userId, record.chatId, record.agentId, record.title,
            JSON.stringify(record.metadata), stateJson, record.version, fork + events.length, first, record.status,
            record.createdAt, record.updatedAt, record.expiresAt, record.parentId, record.parentVersion, fork,
            events.map((e) => e.type), events.map((e) => e.timestamp), events.map((e) => e.data), events.map((e) => e.metadata),
            events.map((e) => e.tokens),
            kept.map((x) => x[0]), kept.map((x) => x[1]), kept.map((x) => x[2]), kept.map((x) => x[3]),
          ],
        );
        if (r.rows.length === 0) {
          throw new ContextError("ALREADY_EXISTS", `context ${record.id} already exists`, { details: { contextId: record.id } });
        }
        return first;
      },
      call,
    );
    const written = events.map((e, i) => ({
      seq: fork + i + 1,
      type: e.type,
      timestamp: e.timestamp,
      data: parseJson(e.data),
      metadata: parseObject(e.metadata),
      tokens: e.tokens,
      version: null,
    }));
    if (events.length > 0) announce({ tenant: record.tenant, contextId: record.id, lastSeq: fork + events.length });
    return { record: { ...record, lastSeq: fork + events.length, firstSeq }, events: written };
  };
  /** Live forks read the history of `c`: it is not purged. */
  const noLiveForks = `NOT EXISTS (SELECT 1 FROM ${s}.lineage l JOIN ${s}.contexts d2 ON d2.pk = l.ctx
      WHERE l.ancestor = c.pk AND (d2.expires_at IS NULL OR d2.expires_at > $1)
        AND GREATEST(l.after_seq, d2.first_seq - 1) < l.upto_seq)`;
  /** The surrogate key of a visible context, as a SQL expression on $1 (tenant), $2 (id), $3 (now). */
  const pkOf = `(SELECT c.pk FROM ${s}.contexts c WHERE c.tenant = $1 AND c.id = $2 AND ${visible(3)})`;

  const startListening = () => {
    if (!useNotify || listener !== undefined || closed || pg === undefined || config === undefined) return;
    const { Client } = pg;
    const cfg = dedicatedConfig(config);
    listener = createNotifyListener({
      makeClient: () => new Client(cfg),
      channel,
      origin,
      onNotice: emit,
      onLost: (e) => options.onConnectionLost?.(e),
    });
  };

  async function exists(tenant: string, id: string, call: DriverCall): Promise<void> {
    const r = await read(
      "getContext",
      `SELECT 1 FROM ${s}.contexts c WHERE c.tenant = $1 AND c.id = $2 AND ${visible(3)}`,
      [tenant, id, call.now],
      call,
    );
    if (r.rows.length === 0) throw contextNotFound(id);
  }

  const scope: DriverScope = {
    s,
    q,
    read,
    tx: (op, fn, call) => need().tx(op, fn, call.signal),
    announce,
    pkOf,
    exists,
  };

  const vec: PgvectorSupport = { ext: null, iterative: false, indexed: new Set() };

  const driver: Driver = {
    name: "postgres",
    capabilities: { crossProcessWatch: useNotify, durable: true, search: true, memory: true, blocks: true },
    search: searchArea(scope),
    memory: memoryArea(scope, schemaName, vec),
    blocks: blockArea(scope),

    open() {
      opening ??= (async () => {
        pg = await loadPg();
        const statementTimeout = options.statementTimeoutMs ?? 15_000;
        config = {
          connectionString:
            options.connectionString ?? process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
          application_name: options.applicationName ?? "contextd",
          statement_timeout: statementTimeout,
          query_timeout: statementTimeout + 1000,
          connectionTimeoutMillis: options.connectionTimeoutMs ?? 3000,
          keepAlive: true,
          types: numericTypes(pg),
          max: options.poolSize ?? 10,
          idleTimeoutMillis: options.idleTimeoutMs ?? 30_000,
        };
        if (options.ssl !== undefined) config.ssl = options.ssl;
        if (options.synchronousCommit !== undefined) {
          if (!["on", "off", "local", "remote_write", "remote_apply"].includes(options.synchronousCommit)) {
            throw new ContextError("INVALID_INPUT", `synchronousCommit: unknown setting ${JSON.stringify(options.synchronousCommit)}`, {
              details: { field: "synchronousCommit" },
            });
          }
          config.options = `-c synchronous_commit=${options.synchronousCommit}`;
        }
        db = createDb(pg, config, (e) => options.onConnectionLost?.(e));
        await db.tx("open", async (client) => {
          await applyMigrations(client, schemaName, s);
        });
        identity = await storeIdentity(db, schemaName);
        const opened = db;
        const found = await detectPgvector(
          (text, values) => opened.query("open.pgvector", text, values),
          (fn) => opened.tx("open.pgvector", fn),
          s,
          schemaName,
        );
        if (found !== null) {
          vec.ext = found.ext;
          vec.iterative = found.iterative;
          // Vectors written without the extension are copied; if that fails, the driver goes on without it.
          await backfill((fn) => opened.tx("open.pgvector", fn), s, schemaName, vec).catch(() => {
            vec.ext = null;
          });
        }
        if (useNotify) {
          // Its notices are hints, sent after the commit they announce: no need to wait for a flush.
          const { Client } = pg;
          const cfg = dedicatedConfig(config, "-c synchronous_commit=off");
          notifier = createNotifier({
            makeClient: () => new Client(cfg),
            channel,
            origin,
            onError: (e) => options.onConnectionLost?.(e),
          });
        }
        if (listeners.size > 0) startListening();
      })().catch(async (e: unknown) => {
        // A failed open leaves nothing behind, so open() can be tried again.
        opening = undefined;
        const d = db;
        db = undefined;
        await notifier?.close();
        notifier = undefined;
        await d?.close();
        throw e;
      });
      return opening;
    },

    async close() {
      if (closed) return;
      closed = true;
      listeners.clear();
      if (active > 0) await new Promise<void>((resolve) => (drained = resolve));
      await notifier?.close();
      await listener?.close();
      await db?.close();
    },

    async ping(call) {
      const d = need();
      const start = performance.now();
      await d.query("ping", "SELECT 1", [], true, call.signal);
      return {
        schema: schemaName,
        schemaVersion: SCHEMA_VERSION,
        latencyMs: performance.now() - start,
        pool: { total: d.pool.totalCount, idle: d.pool.idleCount, waiting: d.pool.waitingCount },
        listening: listener !== undefined,
        identity,
      };
    },

    async insertContext(record, stateJson, events, call) {
      if (record.parentSeq !== null) return insertFork(record, stateJson, events, call);
      const n = events.length;
      const values: unknown[] = [
        record.tenant,
        record.id,
        record.kind,
        record.userId,
        record.chatId,
        record.agentId,
        record.title,
        JSON.stringify(record.metadata),
        stateJson,
        record.version,
        n,
        record.status,
        record.createdAt,
        record.updatedAt,
        record.expiresAt,
        record.parentId,
        record.parentVersion,
        events.map((e) => e.type),
        events.map((e) => e.timestamp),
        events.map((e) => e.data),
        events.map((e) => e.metadata),
        events.map((e) => e.tokens),
      ];
      const r = await q(
        "insertContext",
        `WITH c AS (
           INSERT INTO ${s}.contexts (tenant, id, kind, user_id, chat_id, agent_id, title, metadata, state, version,
                                      last_seq, first_seq, status, created_at, updated_at, expires_at, parent_id, parent_version)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $13, $14, $15, $16, $17)
           ON CONFLICT ON CONSTRAINT contexts_tenant_id DO NOTHING RETURNING pk),
         e AS (INSERT INTO ${s}.events (ctx, seq, type, ts, data, metadata, tokens, version)
           SELECT c.pk, u.ord, u.type, u.ts, u.data, u.meta, u.tokens, NULL
             FROM c, unnest($18::text[], $19::bigint[], $20::text[], $21::text[], $22::integer[])
                     WITH ORDINALITY AS u(type, ts, data, meta, tokens, ord)),
         k AS (INSERT INTO ${s}.checkpoints (ctx, version, state) SELECT c.pk, $10, $9 FROM c)
         SELECT c.pk FROM c`,
        values,
        call,
      );
      if (r.rows.length === 0) {
        throw new ContextError("ALREADY_EXISTS", `context ${record.id} already exists`, { details: { contextId: record.id } });
      }
      const stored: ContextRecord = { ...record, lastSeq: n, firstSeq: 1 };
      const written = events.map((e, i) => ({
        seq: i + 1,
        type: e.type,
        timestamp: e.timestamp,
        data: parseJson(e.data),
        metadata: parseObject(e.metadata),
        tokens: e.tokens,
        version: null,
      }));
      if (n > 0) announce({ tenant: record.tenant, contextId: record.id, lastSeq: n });
      return { record: stored, events: written };
    },

    async getContext(tenant, id, call) {
      const r = await read(
        "getContext",
        `SELECT ${CONTEXT_COLUMNS} FROM ${s}.contexts c WHERE c.tenant = $1 AND c.id = $2 AND ${visible(3)}`,
        [tenant, id, call.now],
        call,
      );
      const row = r.rows[0];
      return row === undefined ? null : toContextRecord(row);
    },

    async listContexts(tenant, query, call) {
      const values: unknown[] = [tenant, call.now];
      const p = (v: unknown) => {
        values.push(v);
        return `$${values.length}`;
      };
      const where = [`c.tenant = $1`, visible(2)];
      if (query.kind !== undefined) where.push(`c.kind = ${p(query.kind)}`);
      if (query.userId !== undefined) where.push(`c.user_id = ${p(query.userId)}`);
      if (query.chatId !== undefined) where.push(`c.chat_id = ${p(query.chatId)}`);
      if (query.agentId !== undefined) where.push(`c.agent_id = ${p(query.agentId)}`);
      if (query.status !== undefined) where.push(`c.status = ${p(query.status)}`);
      if (query.updatedSince !== undefined) where.push(`c.updated_at >= ${p(query.updatedSince)}`);
      const desc = query.order === "desc";
      if (query.afterId !== undefined) where.push(`c.id ${desc ? "<" : ">"} ${p(query.afterId)}`);
      const r = await read(
        "listContexts",
        `SELECT ${CONTEXT_COLUMNS} FROM ${s}.contexts c WHERE ${where.join(" AND ")}
          ORDER BY c.id ${desc ? "DESC" : "ASC"} LIMIT ${p(query.limit)}`,
        values,
        call,
      );
      return r.rows.map(toContextRecord);
    },

    async updateContext(tenant, id, patch, call) {
      const values: unknown[] = [tenant, id, call.now];
      const p = (v: unknown) => {
        values.push(v);
        return `$${values.length}`;
      };
      const set = ["updated_at = $3"];
      if (patch.title !== undefined) set.push(`title = ${p(patch.title)}`);
      if (patch.metadata !== undefined) set.push(`metadata = ${p(patch.metadata)}`);
      if (patch.expiresAt !== undefined) set.push(`expires_at = ${p(patch.expiresAt)}`);
      if (patch.status !== undefined) set.push(`status = ${p(patch.status)}`);
      const r = await q(
        "updateContext",
        `UPDATE ${s}.contexts c SET ${set.join(", ")} WHERE c.tenant = $1 AND c.id = $2 AND ${visible(3)}
         RETURNING ${CONTEXT_COLUMNS}`,
        values,
        call,
      );
      const row = r.rows[0];
      return row === undefined ? null : toContextRecord(row);
    },

    async deleteContext(tenant, id, call) {
      const values: unknown[] = [tenant, id, call.now];
      const deleted = await tx(
        "deleteContext",
        async (client) => {
          // The row lock waits for a fork being made of it (which holds a share lock), so the
          // check below sees every fork that will exist.
          const c = await client.query(`SELECT c.pk FROM ${s}.contexts c WHERE c.tenant = $1 AND c.id = $2 AND ${visible(3)} FOR UPDATE`, values);
          const pk = c.rows[0]?.pk;
          if (pk === undefined) return false;
          const forks = await dependents(client, s, pk, call.now, 0, Number.MAX_SAFE_INTEGER);
          if (forks.length > 0) throw hasForks(id, "delete", forks);
          await client.query(`${deleteCascade("c.pk = $1")} SELECT d.pk FROM d`, [pk]);
          return true;
        },
        call,
      );
      if (!deleted) return false;
      announce({ tenant, contextId: id });
      return true;
    },

    async readHead(tenant, id, call) {
      const r = await read(
        "readHead",
        `SELECT ${CONTEXT_COLUMNS}, c.state FROM ${s}.contexts c WHERE c.tenant = $1 AND c.id = $2 AND ${visible(3)}`,
        [tenant, id, call.now],
        call,
      );
      const row = r.rows[0];
      return row === undefined ? null : { record: toContextRecord(row), state: parseObject(row.state) };
    },

    async commit(tenant, id, mutation, call) {
      const result = await commitMutation(target(), tenant, id, mutation, call);
      if (result.events.length > 0) announce({ tenant, contextId: id, lastSeq: result.record.lastSeq });
      return result;
    },

    async purgeExpired(tenant, call) {
      const values: unknown[] = [call.now];
      if (tenant !== undefined) values.push(tenant);
      const r = await q(
        "purgeExpired",
        // An expired context whose history a live fork reads stays (invisible) until the fork goes.
        `${deleteCascade(`c.expires_at IS NOT NULL AND c.expires_at <= $1 ${tenant === undefined ? "" : "AND c.tenant = $2"} AND ${noLiveForks}`)}
         SELECT count(*)::bigint AS n FROM d`,
        values,
        call,
      );
      return Number(r.rows[0]?.n ?? 0);
    },

    ...historyMethods(scope),
    ...leaseMethods(scope),
    ...activeContextMethods(scope),
    ...schemaMethods(scope),

    stats() {
      const pool = db?.pool;
      return pool === undefined
        ? {}
        : { pool: { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: options.poolSize ?? 10 } };
    },

    subscribe(listener) {
      listeners.add(listener);
      startListening();
      return () => {
        listeners.delete(listener);
      };
    },
  };
  return guardClosed(driver, () => closed, {
    enter: () => void active++,
    leave: () => {
      if (--active === 0 && drained !== undefined) drained();
    },
  });
}

/**
 * The config of a dedicated connection beside the pool (LISTEN, NOTIFY): no pool settings, no
 * statement timeout (LISTEN waits), a client-side query timeout; `options` replaces the pool's.
 */
function dedicatedConfig(config: PgConfig, options?: string): PgConfig {
  const cfg: PgConfig = { ...config, statement_timeout: 0, query_timeout: 5000 };
  if (options !== undefined) cfg.options = options;
  delete cfg.max;
  delete cfg.idleTimeoutMillis;
  return cfg;
}

/**
 * Names this store uniquely among PostgreSQL servers: the cluster's system identifier, the
 * database and the schema. A cache tier in front derives its default key prefix from it.
 */
async function storeIdentity(db: Db, schemaName: string): Promise<string> {
  try {
    const r = await db.query("identity", "SELECT system_identifier::text AS id, current_database() AS db FROM pg_control_system()");
    return `${String(r.rows[0]?.id)}/${String(r.rows[0]?.db)}/${schemaName}`;
  } catch {
    const r = await db.query(
      "identity",
      "SELECT coalesce(host(inet_server_addr()), 'local') || ':' || coalesce(inet_server_port(), 0) AS id, current_database() AS db",
    );
    return `${String(r.rows[0]?.id)}/${String(r.rows[0]?.db)}/${schemaName}`;
  }
}

const UNGUARDED = new Set<string>(["open", "close", "subscribe", "name", "capabilities", "stats"]);

/**
 * Wraps the async methods of `driver` (and of its memory and block areas) so they count as in flight and
 * fail with CLOSED after close.
 */
function guardClosed(driver: Driver, isClosed: () => boolean, track: { enter(): void; leave(): void }): Driver {
  const guard = (source: object, skip: ReadonlySet<string>): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(source)) {
      if (skip.has(key) || typeof value !== "function") {
        out[key] = value;
        continue;
      }
      const fn = value as (...args: unknown[]) => Promise<unknown>;
      out[key] = async (...args: unknown[]) => {
        if (isClosed()) throw new ContextError("CLOSED", "the PostgreSQL driver is closed");
        track.enter();
        try {
          return await fn(...args);
        } finally {
          track.leave();
        }
      };
    }
    return out;
  };
  const out = guard(driver, UNGUARDED);
  if (driver.memory !== undefined) out["memory"] = guard(driver.memory, new Set());
  if (driver.blocks !== undefined) out["blocks"] = guard(driver.blocks, new Set());
  return out as unknown as Driver;
}
