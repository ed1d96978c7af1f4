/**
 * The PostgreSQL schema of contextd, as an ordered list of migrations. The index + 1 of a
 * migration is its version; applied versions are recorded in `<schema>.migrations`.
 * Migrations run inside one transaction at `open()`, under an advisory lock so several
 * nodes starting together apply them once.
 */
import { ContextError } from "../../errors.js";

/** One step of the schema. `sql` receives the quoted schema name. */
export interface Migration {
  name: string;
  sql: (schema: string) => string;
}

/** Queries `applyMigrations` needs: a client already inside the caller's connection. */
export interface MigrationClient {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

/** The migrations, oldest first. Never edit a released one: append a new one. */
export const MIGRATIONS: readonly Migration[] = [
  {
    name: "initial",
    sql: (s) => `
CREATE TABLE ${s}.contexts (
  pk bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant text COLLATE "C" NOT NULL,
  id text COLLATE "C" NOT NULL,
  kind text NOT NULL,
  user_id text,
  chat_id text,
  agent_id text,
  title text,
  metadata text NOT NULL,
  state text NOT NULL,
  version bigint NOT NULL,
  last_seq bigint NOT NULL,
  first_seq bigint NOT NULL DEFAULT 1,
  status text NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  expires_at bigint,
  parent_id text,
  parent_version bigint,
  CONSTRAINT contexts_tenant_id UNIQUE (tenant, id)
);
CREATE INDEX contexts_expires ON ${s}.contexts (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE ${s}.events (
  ctx bigint NOT NULL,
  seq bigint NOT NULL,
  type text NOT NULL,
  ts bigint NOT NULL,
  data text NOT NULL,
  metadata text NOT NULL,
  tokens integer,
  version bigint,
  PRIMARY KEY (ctx, seq)
);
CREATE INDEX events_version ON ${s}.events (ctx, version) WHERE version IS NOT NULL;
CREATE TABLE ${s}.checkpoints (
  ctx bigint NOT NULL,
  version bigint NOT NULL,
  state text NOT NULL,
  PRIMARY KEY (ctx, version)
);
CREATE TABLE ${s}.snapshots (
  ctx bigint NOT NULL,
  name text NOT NULL,
  label text,
  metadata text NOT NULL,
  version bigint NOT NULL,
  seq bigint NOT NULL,
  state text NOT NULL,
  created_at bigint NOT NULL,
  PRIMARY KEY (ctx, name)
);
CREATE INDEX snapshots_created ON ${s}.snapshots (ctx, created_at);
CREATE TABLE ${s}.leases (
  ctx bigint PRIMARY KEY,
  holder text,
  token bigint NOT NULL,
  expires_at bigint NOT NULL
);
CREATE TABLE ${s}.bindings (
  tenant text COLLATE "C" NOT NULL,
  holder text NOT NULL,
  slot text NOT NULL,
  context_id text NOT NULL,
  PRIMARY KEY (tenant, holder, slot)
);
CREATE SEQUENCE ${s}.schema_revisions;
CREATE TABLE ${s}.schemas (
  tenant text COLLATE "C" NOT NULL,
  kind text COLLATE "C" NOT NULL,
  schema text NOT NULL,
  revision bigint NOT NULL,
  updated_at bigint NOT NULL,
  PRIMARY KEY (tenant, kind)
);
-- The append-only commit in one round trip: lock the head, check the guards, number the
-- events without gaps and move the head, all in the statement's transaction (p_channel:
-- NOTIFY inside it too; the driver passes NULL and notifies after the commit instead).
-- Guard failures raise SQLSTATE CD404 / CD409 (detail = current version) / CD423.
CREATE FUNCTION ${s}.append_events(
  p_tenant text, p_id text, p_now bigint, p_expected bigint, p_token bigint,
  p_types text[], p_ts bigint[], p_data text[], p_meta text[], p_tokens integer[],
  p_channel text, p_origin text
) RETURNS TABLE (
  o_kind text, o_user_id text, o_chat_id text, o_agent_id text, o_title text, o_metadata text,
  o_version bigint, o_last_seq bigint, o_first_seq bigint, o_status text, o_created_at bigint,
  o_expires_at bigint, o_parent_id text, o_parent_version bigint
) LANGUAGE plpgsql AS $fn$
DECLARE
  r record;
  l ${s}.leases%ROWTYPE;
  n integer := coalesce(array_length(p_types, 1), 0);
BEGIN
  -- Moving the head locks the row: concurrent commits of this context queue here. The
  -- guards below raise, which rolls the move back.
  UPDATE ${s}.contexts c SET last_seq = c.last_seq + n, updated_at = p_now
    WHERE c.tenant = p_tenant AND c.id = p_id AND (c.expires_at IS NULL OR c.expires_at > p_now)
    RETURNING c.pk, c.kind, c.user_id, c.chat_id, c.agent_id, c.title, c.metadata, c.version, c.last_seq,
              c.first_seq, c.status, c.created_at, c.expires_at, c.parent_id, c.parent_version
    INTO r;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'CD404', MESSAGE = 'context not found';
  END IF;
  IF p_token IS NOT NULL THEN
    -- A statement of its own, after the lock: it sees a lease granted while we waited.
    SELECT * INTO l FROM ${s}.leases WHERE ctx = r.pk;
    IF NOT FOUND OR l.token <> p_token OR l.holder IS NULL OR l.expires_at <= p_now THEN
      RAISE EXCEPTION USING ERRCODE = 'CD423', MESSAGE = 'lease lost', DETAIL = coalesce(l.token::text, '');
    END IF;
  END IF;
  IF p_expected IS NOT NULL AND p_expected <> r.version THEN
    RAISE EXCEPTION USING ERRCODE = 'CD409', MESSAGE = 'version conflict', DETAIL = r.version::text;
  END IF;
  IF n > 0 THEN
    INSERT INTO ${s}.events (ctx, seq, type, ts, data, metadata, tokens, version)
      SELECT r.pk, r.last_seq - n + u.ord, u.type, u.ts, u.data, u.meta, u.tokens, NULL
      FROM unnest(p_types, p_ts, p_data, p_meta, p_tokens) WITH ORDINALITY AS u(type, ts, data, meta, tokens, ord);
    IF p_channel IS NOT NULL THEN
      PERFORM pg_notify(p_channel, json_build_object('t', p_tenant, 'c', p_id, 's', r.last_seq, 'o', p_origin)::text);
    END IF;
  END IF;
  -- o_last_seq: the last sequence number before these events.
  RETURN QUERY SELECT r.kind, r.user_id, r.chat_id, r.agent_id, r.title, r.metadata, r.version,
    r.last_seq - n, r.first_seq, r.status, r.created_at, r.expires_at, r.parent_id, r.parent_version;
END
$fn$;
`,
  },
  {
    name: "commit_state",
    sql: (s) => `
-- A state write in one round trip, when the driver already knows the head it computed the new
-- state from (see commit-state.ts): the write applies only if the context row (by pk) is still
-- at p_base and the kind's schema still at p_schema_rev; otherwise nothing is written and no
-- row is returned, and the driver takes the locking path. Fencing failures raise CD423.
CREATE FUNCTION ${s}.commit_state(
  p_pk bigint, p_base bigint, p_schema_rev bigint, p_now bigint, p_token bigint, p_state text, p_checkpoint boolean,
  p_types text[], p_ts bigint[], p_data text[], p_meta text[], p_tokens integer[]
) RETURNS TABLE (
  o_kind text, o_user_id text, o_chat_id text, o_agent_id text, o_title text, o_metadata text,
  o_version bigint, o_last_seq bigint, o_first_seq bigint, o_status text, o_created_at bigint,
  o_expires_at bigint, o_parent_id text, o_parent_version bigint
) LANGUAGE plpgsql AS $fn$
DECLARE
  r record;
  l ${s}.leases%ROWTYPE;
  n integer := coalesce(array_length(p_types, 1), 0);
BEGIN
  UPDATE ${s}.contexts c SET version = p_base + 1, state = p_state, last_seq = c.last_seq + n, updated_at = p_now
    WHERE c.pk = p_pk AND c.version = p_base AND (c.expires_at IS NULL OR c.expires_at > p_now)
      AND (SELECT sc.revision FROM ${s}.schemas sc WHERE sc.tenant = c.tenant AND sc.kind = c.kind) IS NOT DISTINCT FROM p_schema_rev
    RETURNING c.kind, c.user_id, c.chat_id, c.agent_id, c.title, c.metadata, c.version, c.last_seq,
              c.first_seq, c.status, c.created_at, c.expires_at, c.parent_id, c.parent_version
    INTO r;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  IF p_token IS NOT NULL THEN
    SELECT * INTO l FROM ${s}.leases WHERE ctx = p_pk;
    IF NOT FOUND OR l.token <> p_token OR l.holder IS NULL OR l.expires_at <= p_now THEN
      RAISE EXCEPTION USING ERRCODE = 'CD423', MESSAGE = 'lease lost', DETAIL = coalesce(l.token::text, '');
    END IF;
  END IF;
  -- The first event is the state event: it carries the new version.
  INSERT INTO ${s}.events (ctx, seq, type, ts, data, metadata, tokens, version)
    SELECT p_pk, r.last_seq - n + u.ord, u.type, u.ts, u.data, u.meta, u.tokens, CASE WHEN u.ord = 1 THEN r.version END
    FROM unnest(p_types, p_ts, p_data, p_meta, p_tokens) WITH ORDINALITY AS u(type, ts, data, meta, tokens, ord);
  IF p_checkpoint THEN
    INSERT INTO ${s}.checkpoints (ctx, version, state) VALUES (p_pk, r.version, p_state)
      ON CONFLICT (ctx, version) DO UPDATE SET state = EXCLUDED.state;
  END IF;
  RETURN QUERY SELECT r.kind, r.user_id, r.chat_id, r.agent_id, r.title, r.metadata, r.version,
    r.last_seq - n, r.first_seq, r.status, r.created_at, r.expires_at, r.parent_id, r.parent_version;
END
$fn$;
`,
  },
  {
    name: "search_index",
    sql: (s) => `
-- Full-text search (see search.ts). Appends write nothing here: searches index the events
-- appended since the last search (above the per-context high-water mark in search_progress),
-- with the words contextd's core extracts in JS (not PostgreSQL's text parser, which keeps
-- emails, URLs and hyphenated words whole). Each lexeme's single position holds how often
-- the word occurs in the event (at most 16383), which is what the score adds up.
CREATE TABLE ${s}.event_search (
  ctx bigint NOT NULL,
  seq bigint NOT NULL,
  words tsvector NOT NULL,
  PRIMARY KEY (ctx, seq)
);
CREATE INDEX event_search_words ON ${s}.event_search USING gin (words);
CREATE TABLE ${s}.search_progress (
  ctx bigint PRIMARY KEY,
  seq bigint NOT NULL
);
`,
  },  {
    name: "active_contexts",
    // One name per concept: the table of each holder's active and default context was
    // called "bindings"; the API, the driver and the docs call it the active context.
    sql: (s) => `ALTER TABLE ${s}.bindings RENAME TO active_contexts;`,
  },
  {
    name: "memories",
    sql: (s) => `
-- Long-term memory (see memories.ts and drivers/memory-area.ts). A deleted memory stays as a
-- tombstone (deleted, content cleared, text_hash NULL) so the change feed carries the delete.
-- memory_revs holds each tenant's last change number: every memory write locks its tenant's
-- row first and takes the next numbers, so revs follow commit order and a reader of rev > n
-- misses nothing. JSON columns hold text; vectors are Float32 bytes (little-endian) beside the row.
CREATE TABLE ${s}.memory_revs (
  tenant text COLLATE "C" PRIMARY KEY,
  rev bigint NOT NULL
);
CREATE TABLE ${s}.memories (
  tenant text COLLATE "C" NOT NULL,
  id text COLLATE "C" NOT NULL,
  user_id text,
  agent_id text,
  context_id text,
  namespace text NOT NULL,
  scope_key text NOT NULL,
  text text NOT NULL,
  text_hash text,
  value text NOT NULL,
  metadata text NOT NULL,
  tags text NOT NULL,
  importance double precision NOT NULL,
  source_context_id text,
  source_seq bigint,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  expires_at bigint,
  ttl_ms bigint,
  version bigint NOT NULL,
  rev bigint NOT NULL,
  deleted boolean NOT NULL DEFAULT false,
  model text,
  PRIMARY KEY (tenant, id)
);
CREATE UNIQUE INDEX memories_text ON ${s}.memories (tenant, scope_key, text_hash) WHERE NOT deleted;
CREATE UNIQUE INDEX memories_rev ON ${s}.memories (tenant, rev);
CREATE INDEX memories_scope ON ${s}.memories (tenant, user_id, agent_id, context_id) WHERE NOT deleted;
CREATE INDEX memories_list ON ${s}.memories (tenant, created_at, id) WHERE NOT deleted;
CREATE INDEX memories_expiry ON ${s}.memories (tenant, expires_at) WHERE expires_at IS NOT NULL AND NOT deleted;
CREATE TABLE ${s}.memory_vectors (
  tenant text COLLATE "C" NOT NULL,
  id text COLLATE "C" NOT NULL,
  vector bytea NOT NULL,
  PRIMARY KEY (tenant, id)
);
CREATE TABLE ${s}.memory_versions (
  tenant text COLLATE "C" NOT NULL,
  memory_id text COLLATE "C" NOT NULL,
  version bigint NOT NULL,
  op text NOT NULL,
  text text NOT NULL,
  value text NOT NULL,
  metadata text NOT NULL,
  tags text NOT NULL,
  importance double precision NOT NULL,
  expires_at bigint,
  actor text,
  at bigint NOT NULL,
  PRIMARY KEY (tenant, memory_id, version)
);
`,
  },
  {
    name: "forks_share_history",
    // A fork reads its ancestors' events up to its fork point (parent_seq) without copying
    // them. lineage holds one row per ancestor whose events it reads, flattened (a fork of a
    // fork lists its grandparent too): events of `ancestor` with after_seq < seq <= upto_seq,
    // and its checkpoints up to upto_version. The index on ancestor finds the live forks that
    // block a delete or compaction.
    sql: (s) => `
ALTER TABLE ${s}.contexts ADD COLUMN parent_seq bigint;
CREATE TABLE ${s}.lineage (
  ctx bigint NOT NULL,
  ancestor bigint NOT NULL,
  after_seq bigint NOT NULL,
  upto_seq bigint NOT NULL,
  upto_version bigint NOT NULL,
  PRIMARY KEY (ctx, ancestor)
);
CREATE INDEX lineage_ancestor ON ${s}.lineage (ancestor);
`,
  },
  {
    // Working-memory blocks (see blocks.ts and drivers/block-area.ts). A write inserts a
    // tombstone placeholder when the block has no row (ON CONFLICT DO NOTHING), then locks the
    // row FOR UPDATE: writers of one block are serialised, on every node, creation included.
    name: "blocks",
    sql: (s) => `
CREATE TABLE ${s}.blocks (
  tenant text COLLATE "C" NOT NULL,
  scope_kind text COLLATE "C" NOT NULL,
  scope_id text COLLATE "C" NOT NULL,
  label text COLLATE "C" NOT NULL,
  description text NOT NULL,
  value text NOT NULL,
  schema text,
  limit_chars integer,
  limit_tokens integer,
  version bigint NOT NULL,
  deleted boolean NOT NULL DEFAULT false,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  updated_by text,
  PRIMARY KEY (tenant, scope_kind, scope_id, label)
);
CREATE TABLE ${s}.block_versions (
  tenant text COLLATE "C" NOT NULL,
  scope_kind text COLLATE "C" NOT NULL,
  scope_id text COLLATE "C" NOT NULL,
  label text COLLATE "C" NOT NULL,
  version bigint NOT NULL,
  op text NOT NULL,
  description text NOT NULL,
  value text NOT NULL,
  schema text,
  limit_chars integer,
  limit_tokens integer,
  actor text,
  at bigint NOT NULL,
  PRIMARY KEY (tenant, scope_kind, scope_id, label, version)
);
`,
  },
];

/** The newest schema version this build knows. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Creates the schema if needed and applies the missing migrations, inside the caller's
 * transaction. A schema made by a newer contextd, or a schema holding other tables, is
 * refused with `STORE_INCOMPATIBLE` and left untouched.
 *
 * @returns the schema version after the call
 * @throws `STORE_INCOMPATIBLE`
 */
export async function applyMigrations(client: MigrationClient, schemaName: string, quoted: string): Promise<number> {
  await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`contextd:migrate:${schemaName}`]);
  const tables = await client.query(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = $1",
    [schemaName],
  );
  const names = new Set(tables.rows.map((r) => String(r.table_name)));
  if (names.size > 0 && !names.has("migrations")) {
    throw new ContextError(
      "STORE_INCOMPATIBLE",
      `PostgreSQL schema "${schemaName}" holds tables but is not a contextd store; choose another schema`,
      { details: { schema: schemaName, tables: [...names].slice(0, 20) } },
    );
  }
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${quoted}.migrations (
       version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
  );
  const current = await client.query(`SELECT coalesce(max(version), 0) AS v FROM ${quoted}.migrations`);
  const applied = Number(current.rows[0]?.v ?? 0);
  if (applied > SCHEMA_VERSION) {
    throw new ContextError(
      "STORE_INCOMPATIBLE",
      `PostgreSQL schema "${schemaName}" is at version ${applied}, made by a newer contextd (this one knows ${SCHEMA_VERSION}); upgrade contextd`,
      { details: { schema: schemaName, found: applied, supported: SCHEMA_VERSION } },
    );
  }
  for (let v = applied + 1; v <= SCHEMA_VERSION; v++) {
    const m = MIGRATIONS[v - 1];
    if (m === undefined) break;
    await client.query(m.sql(quoted));
    await client.query(`INSERT INTO ${quoted}.migrations (version, name) VALUES ($1, $2)`, [v, m.name]);
  }
  return SCHEMA_VERSION;
}
