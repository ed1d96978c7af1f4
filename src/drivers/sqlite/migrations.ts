/**
 * The schema of the SQLite driver: an ordered list of migrations whose index is the
 * version, recorded in `contextd_migrations`, plus a header marker (`application_id`,
 * `user_version`) so that a contextd file is recognised before anything is read.
 */
import type Database from "better-sqlite3";
import { ContextError } from "../../errors.js";

/** `PRAGMA application_id` of a contextd database: "ctxd" in ASCII. */
export const APPLICATION_ID = 0x63747864;

/** The table that records applied migrations. */
export const MIGRATIONS_TABLE = "contextd_migrations";

/** One schema change. */
export interface Migration {
  /** A short name, recorded with the version. */
  name: string;
  /** The DDL, run inside the migration transaction. */
  sql: string;
}

/**
 * All migrations, in order: `migrations[n]` is migration number `n`, and a database with
 * `user_version = k` has migrations `0 … k-1` applied. Never edit a released entry; append.
 */
export const migrations: readonly Migration[] = [
  {
    name: "initial schema",
    sql: `
      CREATE TABLE contexts (
        pk INTEGER PRIMARY KEY AUTOINCREMENT,
        meta_rev INTEGER NOT NULL DEFAULT 0,
        tenant TEXT NOT NULL,
        id TEXT NOT NULL,
        kind TEXT NOT NULL,
        user_id TEXT,
        chat_id TEXT,
        agent_id TEXT,
        title TEXT,
        metadata TEXT NOT NULL,
        version INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        first_seq INTEGER NOT NULL DEFAULT 1,
        status TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        expires_at INTEGER,
        parent_id TEXT,
        parent_version INTEGER
      );
      CREATE UNIQUE INDEX contexts_tenant_id ON contexts (tenant, id);
      CREATE INDEX contexts_kind ON contexts (tenant, kind, id);
      CREATE INDEX contexts_user ON contexts (tenant, user_id, id) WHERE user_id IS NOT NULL;
      CREATE INDEX contexts_chat ON contexts (tenant, chat_id, id) WHERE chat_id IS NOT NULL;
      CREATE INDEX contexts_agent ON contexts (tenant, agent_id, id) WHERE agent_id IS NOT NULL;
      CREATE INDEX contexts_expiry ON contexts (expires_at) WHERE expires_at IS NOT NULL;

      -- The state lives apart from the head row: an append updates the small head row only,
      -- and SQLite rewrites a whole record (overflow pages included) on every UPDATE.
      CREATE TABLE states (
        ctx INTEGER PRIMARY KEY,
        state TEXT NOT NULL
      );

      CREATE TABLE events (
        ctx INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        ts INTEGER NOT NULL,
        data TEXT NOT NULL,
        metadata TEXT NOT NULL,
        tokens INTEGER,
        version INTEGER,
        PRIMARY KEY (ctx, seq)
      ) WITHOUT ROWID;
      CREATE INDEX events_time ON events (ctx, ts);
      -- "message" events are the bulk of a history: a filter that includes them reads the
      -- primary key, so they stay out of the type index and an append of one writes one
      -- b-tree fewer. Queries for other types add "type <> 'message'" to use it.
      CREATE INDEX events_type ON events (ctx, type, seq) WHERE type <> 'message';
      CREATE INDEX events_version ON events (ctx, version, ts) WHERE version IS NOT NULL;

      CREATE TABLE checkpoints (
        ctx INTEGER NOT NULL,
        version INTEGER NOT NULL,
        state TEXT NOT NULL,
        PRIMARY KEY (ctx, version)
      );

      CREATE TABLE snapshots (
        ctx INTEGER NOT NULL,
        name TEXT NOT NULL,
        label TEXT,
        metadata TEXT NOT NULL,
        version INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        state TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (ctx, name)
      );
      CREATE INDEX snapshots_time ON snapshots (ctx, created_at, seq);

      CREATE TABLE leases (
        ctx INTEGER PRIMARY KEY,
        holder TEXT,
        token INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );

      CREATE TABLE bindings (
        tenant TEXT NOT NULL,
        holder TEXT NOT NULL,
        slot TEXT NOT NULL,
        context_id TEXT NOT NULL,
        PRIMARY KEY (tenant, holder, slot)
      ) WITHOUT ROWID;

      -- Monotonic counters (schema revisions never repeat, even after a delete).
      CREATE TABLE counters (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE schemas (
        tenant TEXT NOT NULL,
        kind TEXT NOT NULL,
        schema TEXT NOT NULL,
        revision INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (tenant, kind)
      ) WITHOUT ROWID;
    `,
  },
  {
    name: "search index",
    // Full-text search (see search.ts): an FTS5 index of the words the core extracts from
    // each event's data, filled lazily by searches, never by appends. The rowid of a row is
    // (ctx << 32) | seq; "words" holds the event's distinct words space-separated (the ascii
    // tokenizer splits them exactly there and nowhere else: every non-ASCII character is a
    // token character), "tf" the counts of the words that occur more than once (JSON).
    // search_progress: per context, the highest seq already indexed.
    sql: `
      CREATE VIRTUAL TABLE search_fts USING fts5(words, tf UNINDEXED, tokenize = 'ascii', detail = none);
      CREATE TABLE search_progress (
        ctx INTEGER PRIMARY KEY,
        seq INTEGER NOT NULL
      );
    `,
  },  {
    name: "active contexts",
    // One name per concept: the table of each holder's active and default context was
    // called "bindings"; the API, the driver and the docs call it the active context.
    sql: `ALTER TABLE bindings RENAME TO active_contexts;`,
  },
  {
    name: "long-term memory",
    // Memories (see memories.ts and drivers/memory-area.ts). A deleted memory stays as a
    // tombstone (deleted = 1, content cleared, text_hash NULL) so the change feed carries the
    // delete. memory_revs: each tenant's last change number; every write of a memory takes
    // the next one, and BEGIN IMMEDIATE serialises writers, so revs follow commit order.
    // JSON columns hold text; vectors are little-endian Float32 BLOBs beside the row, so the
    // lookups by scope, text and rev read small rows.
    sql: `
      CREATE TABLE memories (
        tenant TEXT NOT NULL,
        id TEXT NOT NULL,
        user_id TEXT,
        agent_id TEXT,
        context_id TEXT,
        namespace TEXT NOT NULL,
        scope_key TEXT NOT NULL,
        text TEXT NOT NULL,
        text_hash TEXT,
        value TEXT NOT NULL,
        metadata TEXT NOT NULL,
        tags TEXT NOT NULL,
        importance REAL NOT NULL,
        source_context_id TEXT,
        source_seq INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        expires_at INTEGER,
        ttl_ms INTEGER,
        version INTEGER NOT NULL,
        rev INTEGER NOT NULL,
        deleted INTEGER NOT NULL DEFAULT 0,
        model TEXT,
        PRIMARY KEY (tenant, id)
      );
      CREATE UNIQUE INDEX memories_text ON memories (tenant, scope_key, text_hash) WHERE deleted = 0;
      CREATE UNIQUE INDEX memories_rev ON memories (tenant, rev);
      CREATE INDEX memories_scope ON memories (tenant, user_id, agent_id, context_id) WHERE deleted = 0;
      CREATE INDEX memories_list ON memories (tenant, created_at, id) WHERE deleted = 0;
      CREATE INDEX memories_expiry ON memories (tenant, expires_at) WHERE expires_at IS NOT NULL AND deleted = 0;

      CREATE TABLE memory_vectors (
        tenant TEXT NOT NULL,
        id TEXT NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (tenant, id)
      ) WITHOUT ROWID;

      CREATE TABLE memory_versions (
        tenant TEXT NOT NULL,
        memory_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        op TEXT NOT NULL,
        text TEXT NOT NULL,
        value TEXT NOT NULL,
        metadata TEXT NOT NULL,
        tags TEXT NOT NULL,
        importance REAL NOT NULL,
        expires_at INTEGER,
        actor TEXT,
        at INTEGER NOT NULL,
        PRIMARY KEY (tenant, memory_id, version)
      ) WITHOUT ROWID;

      CREATE TABLE memory_revs (
        tenant TEXT PRIMARY KEY,
        rev INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    name: "head in the state row",
    // A state write (an agent step) rewrote two rows: the state and the wide context row
    // (version, last_seq, updated_at). The version and the time of the last state write now
    // live in the state row, which the write rewrites anyway, so a step touches one row fewer
    // (one B-tree page fewer per commit). contexts.updated_at stays: the time of the last
    // updateContext; a context's updatedAt is the latest of the two and of its newest event.
    // contexts.last_seq was no longer read (the newest seq comes from the events' key).
    sql: `
      ALTER TABLE states ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE states ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
      UPDATE states SET version = coalesce((SELECT c.version FROM contexts c WHERE c.pk = states.ctx), 0);
      ALTER TABLE contexts DROP COLUMN version;
      ALTER TABLE contexts DROP COLUMN last_seq;
    `,
  },
  {
    name: "forks share history",
    // A fork reads its ancestors' events up to its fork point (parent_seq) without copying
    // them. lineage holds one row per ancestor whose events it reads, flattened (a fork of a
    // fork lists its grandparent too): events of `ancestor` with after_seq < seq <= upto_seq,
    // and its checkpoints up to upto_version. The index on ancestor finds the live forks that
    // block a delete or compaction.
    sql: `
      ALTER TABLE contexts ADD COLUMN parent_seq INTEGER;
      CREATE TABLE lineage (
        ctx INTEGER NOT NULL,
        ancestor INTEGER NOT NULL,
        after_seq INTEGER NOT NULL,
        upto_seq INTEGER NOT NULL,
        upto_version INTEGER NOT NULL,
        PRIMARY KEY (ctx, ancestor)
      ) WITHOUT ROWID;
      CREATE INDEX lineage_ancestor ON lineage (ancestor);
    `,
  },
  {
    name: "working memory",
    // Blocks (see blocks.ts and drivers/block-area.ts), keyed by tenant, scope and label. A
    // deleted block stays as a tombstone (deleted = 1) so that, created again, its versions
    // continue; block_versions keeps every version's content and who made it.
    sql: `
      CREATE TABLE blocks (
        tenant TEXT NOT NULL,
        scope_kind TEXT NOT NULL,
        scope_id TEXT NOT NULL,
        label TEXT NOT NULL,
        description TEXT NOT NULL,
        value TEXT NOT NULL,
        schema TEXT,
        limit_chars INTEGER,
        limit_tokens INTEGER,
        version INTEGER NOT NULL,
        deleted INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        updated_by TEXT,
        PRIMARY KEY (tenant, scope_kind, scope_id, label)
      ) WITHOUT ROWID;

      CREATE TABLE block_versions (
        tenant TEXT NOT NULL,
        scope_kind TEXT NOT NULL,
        scope_id TEXT NOT NULL,
        label TEXT NOT NULL,
        version INTEGER NOT NULL,
        op TEXT NOT NULL,
        description TEXT NOT NULL,
        value TEXT NOT NULL,
        schema TEXT,
        limit_chars INTEGER,
        limit_tokens INTEGER,
        actor TEXT,
        at INTEGER NOT NULL,
        PRIMARY KEY (tenant, scope_kind, scope_id, label, version)
      ) WITHOUT ROWID;
    `,
  },
];

/** The schema version this code writes: the number of migrations. */
export const SCHEMA_VERSION = migrations.length;

/**
 * Applies the missing migrations in one `BEGIN IMMEDIATE` transaction, so that
 * processes opening a new file at once apply each migration exactly once.
 * @throws `STORE_INCOMPATIBLE` when the file turns out to be foreign or newer.
 */
export function applyMigrations(db: Database.Database, path: string, now: number = Date.now()): number {
  // The common case, an up-to-date store, needs no write lock.
  const current = db.pragma("user_version", { simple: true }) as number;
  const appId = db.pragma("application_id", { simple: true }) as number;
  if (current === SCHEMA_VERSION && appId === APPLICATION_ID) return 0;
  const run = db.transaction(() => {
    const current = db.pragma("user_version", { simple: true }) as number;
    const appId = db.pragma("application_id", { simple: true }) as number;
    if (current > SCHEMA_VERSION) throw newerSchema(path, current);
    if (appId !== APPLICATION_ID) {
      const tables = userTables(db);
      if (tables.length > 0) throw foreignDatabase(path, tables);
    }
    if (current === SCHEMA_VERSION && appId === APPLICATION_ID) return 0;
    db.exec(
      `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
         version INTEGER PRIMARY KEY,
         name TEXT NOT NULL,
         applied_at INTEGER NOT NULL
       )`,
    );
    const record = db.prepare(`INSERT INTO ${MIGRATIONS_TABLE} (version, name, applied_at) VALUES (?, ?, ?)`);
    let applied = 0;
    for (let version = current; version < SCHEMA_VERSION; version++) {
      const migration = migrations[version] as Migration;
      db.exec(migration.sql);
      record.run(version, migration.name, now);
      applied++;
    }
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
    return applied;
  });
  return run.immediate();
}

/** Names of the tables that are not SQLite's own. */
export function userTables(db: Database.Database): string[] {
  return db
    .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
    .pluck()
    .all() as string[];
}

/** `STORE_INCOMPATIBLE` for a database made by a newer contextd. */
export function newerSchema(path: string, version: number): ContextError {
  return new ContextError(
    "STORE_INCOMPATIBLE",
    `${path} has contextd schema version ${version}, newer than the ${SCHEMA_VERSION} this version knows; upgrade contextd`,
    { details: { path, schemaVersion: version, supported: SCHEMA_VERSION } },
  );
}

/** `STORE_INCOMPATIBLE` for a SQLite database that another program made. */
export function foreignDatabase(path: string, tables: string[]): ContextError {
  return new ContextError(
    "STORE_INCOMPATIBLE",
    `${path} is a SQLite database but not a contextd store (it has tables ${tables.slice(0, 5).join(", ")}); refusing to touch it`,
    { details: { path, tables } },
  );
}
