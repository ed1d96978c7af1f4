/**
 * The embedded SQLite driver (better-sqlite3, WAL). Each method is one transaction;
 * `commit` runs under `BEGIN IMMEDIATE`, which serialises writers across processes.
 */
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import type { JsonObject } from "../../core/json-types.js";
import { ContextError, abortedError, contextNotFound, hasForks } from "../../errors.js";
import type {
  ActiveSlot,
  ChangeNotice,
  CommitResult,
  ContextPatch,
  ContextQuery,
  ContextRecord,
  Driver,
  DriverCall,
  DriverStats,
  DriverCapabilities,
  EventRecord,
  EventRecordInput,
  EventRecordQuery,
  EventSearch,
  EventSearchArea,
  EventSearchHit,
  LeaseRecord,
  Mutation,
  SchemaRecord,
  SnapshotRecord,
} from "../driver.js";
import { ChangeFeed } from "./change-feed.js";
import { type CommitScope, cachedHead, commitBody, insertContextBody } from "./commit.js";
import { HeadCache } from "./head-cache.js";
import { wrapNative } from "./errors.js";
import { inspectDatabaseFile } from "./inspect.js";
import { acquireLease, readLease, releaseLease, renewLease } from "./leases.js";
import { SCHEMA_VERSION, applyMigrations } from "./migrations.js";
import { RecordCache } from "./record-cache.js";
import { SearchIndex } from "./search.js";
import { SqliteMemories } from "./memories.js";
import type { MemoryArea } from "../memory-area.js";
import type { BlockArea } from "../block-area.js";
import { SqliteBlocks } from "./blocks.js";
import { type LockWaits, type SeenVersion, type WriteTransaction, writeTransaction } from "./write-lock.js";
import {
  type ContextRow,
  type EventRow,
  type HeadTuple,
  type SchemaRow,
  type SnapshotRow,
  headTuple,
  parseObject,
  toContextRecord,
  toEventRecord,
  toSchemaRecord,
  toSnapshotRecord,
} from "./rows.js";
import { type BuiltQuery, type Statements, contextsQuery, eventsQuery, patchQuery, prepareStatements, segmentQuery } from "./statements.js";

/** `forkHead`: a context's key, first seq and fork point. */
type ForkHead = [pk: number, firstSeq: number, parentSeq: number | null];
/** Part of a fork's history: the events of context `pk` with `lo < seq <= hi`. */
type Segment = [pk: number, lo: number, hi: number];
const MAX_SEQ = Number.MAX_SAFE_INTEGER;

/** Options of {@link sqliteDriver}. */
export interface SqliteDriverOptions {
  /** A file path (its directory is created) or `":memory:"`. */
  path: string;
  /**
   * Create the file (and its directory) when it does not exist. `false`: a missing file is
   * `NOT_FOUND` naming the path and nothing is created (for commands that only read).
   * @default true
   */
  create?: boolean;
  /**
   * `NORMAL`: in WAL mode an acknowledged commit survives a crash of the process (the last
   * commits may be lost on a power failure). `FULL`: they survive a power failure too.
   * @default "NORMAL"
   */
  synchronous?: "NORMAL" | "FULL";
  /** How long a write waits for another connection's lock before `DRIVER_UNAVAILABLE`. @default 5000 */
  busyTimeoutMs?: number;
  /** How often subscribers look for commits of other processes. @default 30 */
  pollIntervalMs?: number;
}

type Db = Database.Database;
/**
 * Operations that change what a commit reads as a context's head (its row, state, events' range
 * or schema) other than `commit`: they clear the connection's `HeadCache`.
 */
const CHANGES_HEADS = new Set(["insertContext", "updateContext", "deleteContext", "compact", "purgeExpired", "putSchema", "deleteSchema"]);

type CommitTransaction = (tenant: string, id: string, m: Mutation, now: number) => CommitResult;

const STATEMENT_CACHE_SIZE = 128;

/**
 * A failure of `open` that another process can cause for a moment: a lock conflict (native,
 * or wrapped by the file inspection) or a finding the inspection marks `retryable`.
 */
function isTransient(e: unknown): boolean {
  if (typeof e !== "object" || e === null) return false;
  const { code, details } = e as { code?: unknown; details?: { sqliteCode?: unknown; retryable?: unknown } };
  if (details?.retryable === true) return true;
  const sqliteCode = details?.sqliteCode ?? code;
  return typeof sqliteCode === "string" && /^SQLITE_(BUSY|LOCKED)/.test(sqliteCode);
}

/**
 * Creates a driver that keeps contexts in one SQLite file, safe for several processes.
 * Opening refuses (and never modifies) a file that is not a contextd store.
 *
 * @example
 * ```ts
 * const store = await openStore({ driver: sqliteDriver({ path: "./.contextd/contextd.db" }) });
 * ```
 */
export function sqliteDriver(options: SqliteDriverOptions): Driver {
  return new SqliteDriver(options);
}

class SqliteDriver implements Driver {
  readonly name = "sqlite";
  readonly capabilities: DriverCapabilities;
  readonly search: EventSearchArea = {
    searchEvents: (tenant: string, search: EventSearch, call: DriverCall): Promise<EventSearchHit[]> =>
      this.#run("searchEvents", call, () => (this.#search as SearchIndex).search(tenant, search, call.now)),
  };
  readonly memory: MemoryArea = {
    add: (tenant, memories, actor, call) => this.#memory("memory.add", call, (m) => m.add(tenant, memories, actor, call.now)),
    get: (tenant, id, call) => this.#memory("memory.get", call, (m) => m.get(tenant, id)),
    update: (tenant, id, change, call) =>
      this.#memory("memory.update", call, (m) => m.update(tenant, id, change.content, change.op, change.expectedVersion, change.actor, call.now)),
    refresh: (tenant, id, expiresAt, call) => this.#memory("memory.refresh", call, (m) => m.refresh(tenant, id, expiresAt)),
    delete: (tenant, id, guard, call) =>
      this.#memory("memory.delete", call, (m) => m.delete(tenant, id, guard.expectedVersion, guard.actor, call.now)),
    history: (tenant, id, call) => this.#memory("memory.history", call, (m) => m.history(tenant, id)),
    changes: (tenant, afterRev, limit, call) => this.#memory("memory.changes", call, (m) => m.changes(tenant, afterRev, limit)),
    setVector: (tenant, id, version, model, vector, call) =>
      this.#memory("memory.setVector", call, (m) => m.setVector(tenant, id, version, model, vector)),
    purge: (tenant, ids, call) => this.#memory("memory.purge", call, (m) => m.purge(tenant, ids)),
  };
  readonly blocks: BlockArea = {
    list: (tenant, key, call) => this.#blocks("blocks.list", call, (b) => b.list(tenant, key)),
    get: (tenant, key, label, call) => this.#blocks("blocks.get", call, (b) => b.get(tenant, key, label)),
    write: (tenant, key, label, change, call) => this.#blocks("blocks.write", call, (b) => b.write(tenant, key, label, change, call.now)),
    delete: (tenant, key, label, guard, call) =>
      this.#blocks("blocks.delete", call, (b) => b.delete(tenant, key, label, guard.ifVersion, guard.actor, call.now)),
    history: (tenant, key, label, page, call) => this.#blocks("blocks.history", call, (b) => b.history(tenant, key, label, page)),
  };
  readonly #path: string;
  readonly #create: boolean;
  readonly #synchronous: "NORMAL" | "FULL";
  readonly #busyTimeoutMs: number;
  #db: Db | undefined;
  #scope: CommitScope | undefined;
  #search: SearchIndex | undefined;
  #memories: SqliteMemories | undefined;
  #blockStore: SqliteBlocks | undefined;
  #closed = false;
  readonly #cache = new Map<string, Database.Statement>();
  readonly #records = new RecordCache();
  readonly #feed: ChangeFeed;
  #commitTx: CommitTransaction | undefined;
  #write: WriteTransaction | undefined;
  readonly #lockWaits: LockWaits = { waits: 0, waitMs: 0 };

  constructor(options: SqliteDriverOptions) {
    const memory = options.path === ":memory:";
    this.#path = memory ? options.path : resolve(options.path);
    this.#create = options.create ?? true;
    this.#synchronous = options.synchronous ?? "NORMAL";
    this.#busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    this.capabilities = { crossProcessWatch: true, durable: !memory, search: true, memory: true, blocks: true };
    this.#feed = new ChangeFeed(() => {
      try {
        return this.#scope?.version();
      } catch {
        return undefined; // Busy or closing: the next tick looks again.
      }
    }, options.pollIntervalMs ?? 30);
  }

  async open(): Promise<void> {
    if (this.#db !== undefined) return;
    if (this.#closed) throw this.#closedError();
    const path = this.#path;
    // Opening a file that other processes open, checkpoint or recover at the same moment can
    // fail for a moment, e.g. SQLITE_BUSY at once where SQLite skips the busy handler to
    // avoid a deadlock (switching a new file to WAL): retry until the busy timeout.
    const deadline = Date.now() + this.#busyTimeoutMs;
    for (let delay = 2; ; delay = Math.min(delay * 2, 100)) {
      try {
        if (path !== ":memory:") {
          // Refuse foreign, newer or damaged files before touching them (not even the journal mode).
          inspectDatabaseFile(path);
          if (!this.#create && !existsSync(path)) {
            throw new ContextError("NOT_FOUND", `no contextd store at ${path} (nothing was created; a command that writes creates it)`, {
              details: { path },
            });
          }
          mkdirSync(dirname(path), { recursive: true });
        }
        this.#connect(path);
        return;
      } catch (e) {
        if (!isTransient(e) || Date.now() + delay > deadline) throw wrapNative(e, "open", path);
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (this.#closed) throw this.#closedError();
    }
  }

  /** Opens the connection, sets it up and migrates; closes it again on failure. */
  #connect(path: string): void {
    const db = new Database(path, { timeout: this.#busyTimeoutMs });
    try {
      if (path !== ":memory:") db.pragma("journal_mode = WAL");
      db.pragma(`synchronous = ${this.#synchronous}`);
      applyMigrations(db, path);
      const s = prepareStatements(db);
      // Every read of data_version tells the write lock's wait check what this connection has seen.
      const seen: SeenVersion = { value: undefined };
      const version = (): number => (seen.value = s.dataVersion.get() as number);
      const scope: CommitScope = { s, records: this.#records, heads: new HeadCache(), schemas: new Map(), version };
      const write = writeTransaction(db, this.#lockWaits, seen);
      this.#commitTx = (tenant, id, m, now) => {
        try {
          const result = write(() => commitBody(scope, tenant, id, m, now));
          scope.heads.committed();
          return result;
        } catch (e) {
          scope.heads.clear();
          throw e;
        }
      };
      this.#scope = scope;
      this.#search = new SearchIndex(db);
      this.#memories = new SqliteMemories(db, write);
      this.#blockStore = new SqliteBlocks(db, write);
      this.#write = write;
      this.#db = db;
    } catch (e) {
      db.close();
      throw e;
    }
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#feed.close();
    this.#cache.clear();
    this.#records.clear();
    const db = this.#db;
    this.#db = undefined;
    this.#scope = undefined;
    this.#search = undefined;
    this.#memories = undefined;
    this.#blockStore = undefined;
    if (db?.open === true) db.close();
    return Promise.resolve();
  }

  stats(): DriverStats {
    const locks = { waits: this.#lockWaits.waits, waitSeconds: this.#lockWaits.waitMs / 1000 };
    if (this.#path === ":memory:") return { locks };
    const size = (p: string): number => statSync(p, { throwIfNoEntry: false })?.size ?? 0;
    return { files: { path: this.#path, databaseBytes: size(this.#path), walBytes: size(`${this.#path}-wal`) }, locks };
  }

  ping(call: DriverCall): Promise<Record<string, unknown>> {
    return this.#run("ping", call, (s, db) => {
      s.ping.get();
      return {
        path: this.#path,
        journalMode: db.pragma("journal_mode", { simple: true }),
        synchronous: this.#synchronous,
        synchronousLevel: db.pragma("synchronous", { simple: true }),
        schemaVersion: SCHEMA_VERSION,
      };
    });
  }

  insertContext(record: ContextRecord, stateJson: string, events: EventRecordInput[], call: DriverCall): Promise<CommitResult> {
    return this.#run("insertContext", call, () =>
      this.#announce(record.tenant, record.id, this.#writeTx(() => insertContextBody(this.#scope as CommitScope, record, stateJson, events))),
    );
  }

  getContext(tenant: string, id: string, call: DriverCall): Promise<ContextRecord | null> {
    const now = call.now;
    return this.#run("getContext", call, (s) => {
      // This connection's last commit of the context, if no other connection committed since.
      const own = cachedHead(this.#scope as CommitScope, tenant, id, now);
      const head = own !== undefined ? headTuple(own) : (s.contextHead.get(tenant, id, now) as HeadTuple | undefined);
      if (head === undefined) return null;
      const cached = this.#records.record(head);
      if (cached !== undefined) return cached;
      const row = s.contextFull.get(tenant, id, now) as ContextRow | undefined;
      return row === undefined ? null : this.#records.remember(row);
    });
  }

  listContexts(tenant: string, query: ContextQuery, call: DriverCall): Promise<ContextRecord[]> {
    return this.#run("listContexts", call, () => {
      const q = contextsQuery(tenant, query, call.now);
      return (this.#statement(q).all(...q.params) as ContextRow[]).map(toContextRecord);
    });
  }

  updateContext(tenant: string, id: string, patch: ContextPatch, call: DriverCall): Promise<ContextRecord | null> {
    return this.#run("updateContext", call, () => {
      const q = patchQuery(tenant, id, patch, call.now);
      const row = this.#statement(q).get(...q.params) as ContextRow | undefined;
      return row === undefined ? null : this.#records.remember(row);
    });
  }

  deleteContext(tenant: string, id: string, call: DriverCall): Promise<boolean> {
    const now = call.now;
    return this.#run("deleteContext", call, (s) =>
      this.#writeTx(() => {
          const pk = s.visiblePk.get(tenant, id, now) as number | undefined;
          if (pk === undefined) return false;
          const forks = s.dependents.all(pk, now, 0, MAX_SEQ) as string[];
          if (forks.length > 0) throw hasForks(id, "delete", forks);
          this.#deleteByPk(s, pk);
          return true;
        }),
    ).then((deleted) => {
      if (deleted) this.#feed.notify({ tenant, contextId: id });
      return deleted;
    });
  }

  readHead(tenant: string, id: string, call: DriverCall): Promise<{ record: ContextRecord; state: JsonObject } | null> {
    const now = call.now;
    return this.#run("readHead", call, (s) => {
      const head = s.readHead.get(tenant, id, now) as [...HeadTuple, string] | undefined;
      if (head === undefined) return null;
      const cached = this.#records.record(head as unknown as HeadTuple);
      if (cached !== undefined) return { record: cached, state: parseObject(head[6]) };
      // First read of this context here, or it was updated: read the whole row once.
      const row = s.readHeadFull.get(tenant, id, now) as (ContextRow & { state: string }) | undefined;
      return row === undefined ? null : { record: this.#records.remember(row), state: parseObject(row.state) };
    });
  }

  readState(tenant: string, id: string, call: DriverCall): Promise<{ state: JsonObject; version: number } | null> {
    return this.#run("readState", call, (s) => {
      const row = s.readState.get(tenant, id, call.now) as [string, number] | undefined;
      return row === undefined ? null : { state: parseObject(row[0]), version: row[1] };
    });
  }

  commit(tenant: string, id: string, mutation: Mutation, call: DriverCall): Promise<CommitResult> {
    // Announced inside the call, once committed (the feed never throws): no extra promise hop.
    return this.#run("commit", call, () => this.#announce(tenant, id, (this.#commitTx as CommitTransaction)(tenant, id, mutation, call.now)));
  }

  readEvents(tenant: string, id: string, query: EventRecordQuery, call: DriverCall): Promise<EventRecord[]> {
    return this.#run("readEvents", call, (s) => {
      const now = call.now;
      const head = s.forkHead.get(tenant, id, now) as ForkHead | undefined;
      if (head === undefined) throw contextNotFound(id);
      if (head[2] !== null) return this.#forkEvents(s, head, query).map(toEventRecord);
      const q = eventsQuery(tenant, id, now, query, "rows");
      return (this.#statement(q).all(...q.params) as EventRow[]).map(toEventRecord);
    });
  }

  countEvents(tenant: string, id: string, query: Omit<EventRecordQuery, "order" | "limit">, call: DriverCall): Promise<number> {
    return this.#run("countEvents", call, (s) => {
      const now = call.now;
      const head = s.forkHead.get(tenant, id, now) as ForkHead | undefined;
      if (head === undefined) throw contextNotFound(id);
      if (head[2] !== null) {
        let n = 0;
        for (const [pk, lo, hi] of this.#segments(s, head, query)) {
          const q = segmentQuery(pk, lo, hi, query, "count");
          n += this.#statement(q).pluck().get(...q.params) as number;
        }
        return n;
      }
      const q = eventsQuery(tenant, id, now, query, "count");
      const count = this.#statement(q).pluck().get(...q.params) as number;
      if (count === 0) this.#mustExist(s, tenant, id, now);
      return count;
    });
  }

  readCheckpoint(tenant: string, id: string, version: number, call: DriverCall): Promise<{ version: number; state: JsonObject } | null> {
    return this.#run("readCheckpoint", call, (s) => {
      let row = s.readCheckpoint.get(tenant, id, call.now, version) as { version: number; state: string } | undefined;
      if (row === undefined) {
        // A fork's versions up to its fork point are its ancestors': their checkpoints serve them.
        const head = s.forkHead.get(tenant, id, call.now) as ForkHead | undefined;
        if (head !== undefined && head[2] !== null) {
          for (const [a, , , uptoVersion] of s.lineageOf.all(head[0]) as [number, number, number, number][]) {
            if (version > uptoVersion) continue;
            row = s.checkpointByPk.get(a, version) as { version: number; state: string } | undefined;
            if (row !== undefined) break;
          }
        }
      }
      return row === undefined ? null : { version: row.version, state: parseObject(row.state) };
    });
  }

  listSnapshots(tenant: string, id: string, call: DriverCall): Promise<SnapshotRecord[]> {
    return this.#run("listSnapshots", call, (s) => {
      const now = call.now;
      const rows = s.listSnapshots.all(tenant, id, now) as SnapshotRow[];
      if (rows.length === 0) this.#mustExist(s, tenant, id, now);
      return rows.map(toSnapshotRecord);
    });
  }

  getSnapshot(tenant: string, id: string, name: string, call: DriverCall): Promise<SnapshotRecord | null> {
    return this.#run("getSnapshot", call, (s) => {
      const row = s.getSnapshot.get(tenant, id, call.now, name) as SnapshotRow | undefined;
      return row === undefined ? null : toSnapshotRecord(row);
    });
  }

  latestSnapshotBefore(tenant: string, id: string, time: number, call: DriverCall): Promise<SnapshotRecord | null> {
    return this.#run("latestSnapshotBefore", call, (s) => {
      const row = s.latestSnapshotBefore.get(tenant, id, call.now, time) as SnapshotRow | undefined;
      return row === undefined ? null : toSnapshotRecord(row);
    });
  }

  compact(
    tenant: string,
    id: string,
    beforeSeq: number,
    checkpoint: { version: number; stateJson: string },
    call: DriverCall,
  ): Promise<number> {
    return this.#run("compact", call, (s) =>
      this.#writeTx(() => {
          const head = s.forkHead.get(tenant, id, call.now) as ForkHead | undefined;
          if (head === undefined) throw contextNotFound(id);
          const [pk, first, fork] = head;
          const forks = s.dependents.all(pk, call.now, Math.max(fork ?? 0, first - 1), beforeSeq - 1) as string[];
          if (forks.length > 0) throw hasForks(id, "compact", forks);
          s.putCheckpoint.run(pk, checkpoint.version, checkpoint.stateJson);
          const removed = s.compactEvents.run(pk, beforeSeq).changes;
          s.compactCheckpoints.run(pk, checkpoint.version);
          s.setFirstSeq.run(beforeSeq, pk);
          // Ancestors whose events the fork no longer reads are no longer its ancestors.
          s.trimLineage.run(pk, Math.max(first, beforeSeq));
          (this.#search as SearchIndex).compact(pk, beforeSeq);
          return removed;
        }),
    );
  }

  purgeExpired(tenant: string | undefined, call: DriverCall): Promise<number> {
    const now = call.now;
    return this.#run("purgeExpired", call, (s) =>
      this.#writeTx(() => {
          const pks = (tenant === undefined ? s.expiredPks.all(now) : s.expiredPksOfTenant.all(tenant, now)) as number[];
          let n = 0;
          for (const pk of pks) {
            // An expired context whose history a live fork reads stays (invisible) until the fork goes.
            if ((s.dependents.all(pk, now, 0, MAX_SEQ) as string[]).length > 0) continue;
            this.#deleteByPk(s, pk);
            n++;
          }
          return n;
        }),
    );
  }

  tryAcquireLease(
    tenant: string,
    id: string,
    holder: string,
    ttlMs: number,
    call: DriverCall,
  ): Promise<{ granted: boolean; lease: LeaseRecord }> {
    return this.#run("tryAcquireLease", call, (s) =>
      this.#writeTx(() => acquireLease(s, tenant, id, holder, ttlMs, call.now)),
    );
  }

  renewLease(tenant: string, id: string, holder: string, token: number, ttlMs: number, call: DriverCall): Promise<LeaseRecord> {
    return this.#run("renewLease", call, (s) =>
      this.#writeTx(() => renewLease(s, tenant, id, holder, token, ttlMs, call.now)),
    );
  }

  releaseLease(tenant: string, id: string, holder: string, token: number, call: DriverCall): Promise<boolean> {
    return this.#run("releaseLease", call, (s) =>
      this.#writeTx(() => releaseLease(s, tenant, id, holder, token, call.now)),
    ).then((released) => {
      if (released) this.#feed.notify({ tenant, contextId: id });
      return released;
    });
  }

  getLease(tenant: string, id: string, call: DriverCall): Promise<LeaseRecord | null> {
    return this.#run("getLease", call, (s, db) => db.transaction(() => readLease(s, tenant, id, call.now))());
  }

  getActiveContext(tenant: string, holder: string, slot: ActiveSlot, call: DriverCall): Promise<string | null> {
    return this.#run("getActiveContext", call, (s) => (s.getActiveContext.get(tenant, holder, slot) as string | undefined) ?? null);
  }

  setActiveContext(
    tenant: string,
    holder: string,
    slot: ActiveSlot,
    contextId: string | null,
    call: DriverCall,
  ): Promise<string | null> {
    return this.#run("setActiveContext", call, (s) =>
      this.#writeTx(() => {
          const previous = (s.getActiveContext.get(tenant, holder, slot) as string | undefined) ?? null;
          if (contextId === null) s.deleteActiveContext.run(tenant, holder, slot);
          else s.putActiveContext.run(tenant, holder, slot, contextId);
          return previous;
        }),
    );
  }

  putSchema(tenant: string, kind: string, schemaJson: string, call: DriverCall): Promise<SchemaRecord> {
    const now = call.now;
    return this.#run("putSchema", call, (s) =>
      this.#writeTx(() => {
          // Revisions come from one counter, so a kind deleted and set again never reuses one.
          const revision = s.nextSchemaRevision.get() as number;
          s.putSchema.run(tenant, kind, schemaJson, revision, now);
          return toSchemaRecord({ kind, schema: schemaJson, revision, updated_at: now });
        }),
    );
  }

  getSchema(tenant: string, kind: string, call: DriverCall): Promise<SchemaRecord | null> {
    return this.#run("getSchema", call, (s) => {
      const row = s.getSchema.get(tenant, kind) as SchemaRow | undefined;
      return row === undefined ? null : toSchemaRecord(row);
    });
  }

  listSchemas(tenant: string, call: DriverCall): Promise<SchemaRecord[]> {
    return this.#run("listSchemas", call, (s) => (s.listSchemas.all(tenant) as SchemaRow[]).map(toSchemaRecord));
  }

  deleteSchema(tenant: string, kind: string, call: DriverCall): Promise<boolean> {
    return this.#run("deleteSchema", call, (s) => s.deleteSchema.run(tenant, kind).changes > 0);
  }

  subscribe(listener: (notice: ChangeNotice) => void): () => void {
    if (this.#closed) return () => {};
    return this.#feed.subscribe(listener);
  }

  /** Tells subscribers about written events, then passes the result through. */
  #announce(tenant: string, contextId: string, result: CommitResult): CommitResult {
    if (result.events.length > 0 && this.#feed.active) {
      this.#feed.notify({ tenant, contextId, lastSeq: result.record.lastSeq });
    }
    return result;
  }

  /**
   * The parts of a fork's history that can hold events of `q`, newest first: its own events
   * after the fork point, then each ancestor's up to its cut; none below the fork's first seq.
   */
  #segments(s: Statements, head: ForkHead, q: { afterSeq?: number; beforeSeq?: number }): Segment[] {
    const [pk, first, fork] = head;
    const floor = Math.max(first - 1, q.afterSeq ?? 0);
    const ceiling = q.beforeSeq === undefined ? MAX_SEQ : q.beforeSeq - 1;
    const out: Segment[] = [];
    const add = (p: number, lo: number, hi: number) => {
      const l = Math.max(lo, floor);
      const h = Math.min(hi, ceiling);
      if (l < h) out.push([p, l, h]);
    };
    add(pk, fork ?? 0, MAX_SEQ);
    for (const [a, after, upto] of s.lineageOf.all(pk) as [number, number, number, number][]) add(a, after, upto);
    return out;
  }

  /** A page of a fork's history: each part in turn, in the query's order, until the page is full. */
  #forkEvents(s: Statements, head: ForkHead, query: EventRecordQuery): EventRow[] {
    const segments = this.#segments(s, head, query);
    if (query.order === "asc") segments.reverse();
    const rows: EventRow[] = [];
    for (const [pk, lo, hi] of segments) {
      const q = segmentQuery(pk, lo, hi, { ...query, limit: query.limit - rows.length }, "rows");
      rows.push(...(this.#statement(q).all(...q.params) as EventRow[]));
      if (rows.length >= query.limit) break;
    }
    return rows;
  }

  /** Throws `NOT_FOUND` unless the context is visible (after a query that found nothing). */
  #mustExist(s: Statements, tenant: string, id: string, now: number): void {
    if (s.visiblePk.get(tenant, id, now) === undefined) throw contextNotFound(id);
  }

  #deleteByPk(s: Statements, pk: number): void {
    s.deleteEvents.run(pk);
    s.deleteCheckpoints.run(pk);
    s.deleteSnapshots.run(pk);
    s.deleteLease.run(pk);
    s.deleteState.run(pk);
    s.deleteContext.run(pk);
    s.deleteLineage.run(pk);
    // Expired forks that still name it as an ancestor are never read again.
    s.deleteLineageOf.run(pk);
    (this.#search as SearchIndex).forget(pk);
    this.#records.forget(pk);
  }

  /** The prepared statement of a built query, from the cache when its shape was seen. */
  #statement(q: BuiltQuery): Database.Statement {
    let stmt = this.#cache.get(q.key);
    if (stmt === undefined) {
      stmt = (this.#db as Db).prepare(q.sql);
      if (this.#cache.size >= STATEMENT_CACHE_SIZE) this.#cache.clear();
      this.#cache.set(q.key, stmt);
    }
    return stmt;
  }

  #memory<T>(operation: string, call: DriverCall, fn: (m: SqliteMemories) => T): Promise<T> {
    return this.#run(operation, call, () => fn(this.#memories as SqliteMemories));
  }

  #blocks<T>(operation: string, call: DriverCall, fn: (b: SqliteBlocks) => T): Promise<T> {
    return this.#run(operation, call, () => fn(this.#blockStore as SqliteBlocks));
  }

  #closedError(): ContextError {
    return new ContextError("CLOSED", "the SQLite driver is closed", { details: { path: this.#path } });
  }

  /**
   * Runs one synchronous operation as a promise, wrapping native errors. A call whose signal
   * has fired does not start; once started it runs to completion (it is synchronous).
   */
  /** A write transaction of the open connection (callers run inside `#run`, which checks it is open). */
  #writeTx<T>(fn: () => T): T {
    return (this.#write as WriteTransaction)(fn);
  }

  #run<T>(operation: string, call: DriverCall, fn: (s: Statements, db: Db) => T): Promise<T> {
    const scope = this.#scope;
    const db = this.#db;
    if (scope === undefined || db === undefined) {
      return Promise.reject(
        this.#closed
          ? this.#closedError()
          : new ContextError("INTERNAL", `sqlite ${operation} called before open()`, { details: { operation } }),
      );
    }
    if (call.signal?.aborted === true) return Promise.reject(abortedError(call.signal));
    if (CHANGES_HEADS.has(operation)) scope.heads.clear();
    try {
      return Promise.resolve(fn(scope.s, db));
    } catch (e) {
      return Promise.reject(wrapNative(e, operation, this.#path));
    }
  }
}
