/**
 * Database-side vector search of long-term memory with the `vector` extension (pgvector),
 * when the database has it. Detected at open: when the server has it available,
 * `CREATE EXTENSION IF NOT EXISTS vector` is tried, and when that fails (no privilege) or the
 * server lacks it, the driver goes on
 * without it — the core then searches vectors in its own in-process index, as on every store.
 *
 * With the extension, `memory_pgvector` holds a copy of each memory vector as `vector` (no
 * fixed dimension: models differ), written in the same transaction as the memory (the Float32
 * bytes in `memory_vectors` stay the source of the change feed). One HNSW index per model and
 * dimension is created on demand, when this process first writes a vector of that model: a
 * partial index (`WHERE model = … AND dims = …`) on the expression `embedding::vector(d)`,
 * since an index needs a fixed dimension. pgvector indexes at most 2000 dimensions; vectors of
 * more are searched without an index (exactly, by a scan of the tenant's rows).
 */
import { createHash } from "node:crypto";
import type { PgQueryable } from "./pg-module.js";

/** pgvector's limit on the dimensions of an indexed `vector`. */
export const HNSW_MAX_DIMENSIONS = 2000;

/** What the memory area needs to use pgvector (`null` fields until the driver has opened). */
export interface PgvectorSupport {
  /** The quoted schema of the extension (its type, operator and operator class), or null without it. */
  ext: string | null;
  /** Whether `hnsw.iterative_scan` exists (pgvector ≥ 0.8). */
  iterative: boolean;
  /** The (model, dims) whose index this process knows exists. */
  indexed: Set<string>;
}

/** A vector as pgvector's text input (Float32 values print exactly: they read back as themselves). */
export function vectorLiteral(v: Float32Array): string {
  let out = "[";
  for (let i = 0; i < v.length; i++) out += (i === 0 ? "" : ",") + String(v[i]);
  return out + "]";
}

/** A SQL string literal. */
const literal = (x: string) => `'${x.replace(/'/g, "''")}'`;

/** The name of the HNSW index of a model and dimension. */
export function indexName(model: string, dims: number): string {
  return `memory_pgvector_hnsw_${createHash("sha256").update(`${model}\u0000${dims}`).digest("hex").slice(0, 16)}`;
}

/**
 * Creates the HNSW index of `model`/`dims` if missing (once per process per model), inside the
 * caller's write transaction; serialised between nodes by an advisory lock.
 */
export async function ensureIndex(c: PgQueryable, s: string, schemaName: string, vec: PgvectorSupport, model: string, dims: number): Promise<void> {
  const key = `${model}\u0000${dims}`;
  if (vec.ext === null || dims > HNSW_MAX_DIMENSIONS || vec.indexed.has(key)) return;
  await c.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`contextd:pgvector:${schemaName}`]);
  await c.query(
    `CREATE INDEX IF NOT EXISTS ${indexName(model, dims)} ON ${s}.memory_pgvector
       USING hnsw ((embedding::${vec.ext}.vector(${dims})) ${vec.ext}.vector_cosine_ops)
       WHERE model = ${literal(model)} AND dims = ${dims}`,
  );
  vec.indexed.add(key);
}

/** The SQL of the approximate (HNSW) search of one model: $1 tenant, $2 query text, $3 k. */
export function approximateSql(s: string, ext: string, model: string, dims: number): string {
  const q = `$2::${ext}.vector(${dims})`;
  const d = `embedding::${ext}.vector(${dims}) OPERATOR(${ext}.<=>) ${q}`;
  return `SELECT id, 1 - (${d}) AS similarity FROM ${s}.memory_pgvector
           WHERE tenant = $1 AND model = ${literal(model)} AND dims = ${dims}
           ORDER BY ${d} LIMIT $3`;
}

/** The SQL of the exact search among given ids: $1 tenant, $2 query text, $3 model, $4 ids, $5 k. */
export function exactSql(s: string, ext: string): string {
  // Not the indexed expression (no cast to a fixed dimension): every row is compared.
  const d = `embedding OPERATOR(${ext}.<=>) $2::${ext}.vector`;
  return `SELECT id, 1 - (${d}) AS similarity FROM ${s}.memory_pgvector
           WHERE tenant = $1 AND model = $3 AND id = ANY($4::text[]) AND dims = ${ext}.vector_dims($2::${ext}.vector)
           ORDER BY ${d}, id LIMIT $5`;
}

/**
 * Detects the extension (installing it when allowed) and readies `memory_pgvector`, copying
 * the vectors written before (by a node without the extension). Never throws: any failure
 * leaves the driver without pgvector.
 */
export async function detectPgvector(
  run: (text: string, values?: unknown[]) => Promise<{ rows: Record<string, unknown>[] }>,
  tx: (fn: (c: PgQueryable) => Promise<void>) => Promise<void>,
  s: string,
  schemaName: string,
): Promise<Omit<PgvectorSupport, "indexed"> | null> {
  try {
    // Only when the server has it (no error in the server's log on every open otherwise).
    const available = await run(`SELECT installed_version FROM pg_available_extensions WHERE name = 'vector'`);
    const a = available.rows[0];
    if (a === undefined) return null;
    if (a.installed_version === null) await run("CREATE EXTENSION IF NOT EXISTS vector");
  } catch {
    // Not installed on the server or no privilege: it may still be there (made by an admin).
  }
  try {
    const r = await run(
      `SELECT n.nspname, e.extversion FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'vector'`,
    );
    const row = r.rows[0];
    if (row === undefined) return null;
    const ext = `"${String(row.nspname).replace(/"/g, '""')}"`;
    const [major = 0, minor = 0] = String(row.extversion).split(".").map(Number);
    await tx(async (c) => {
      await c.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`contextd:pgvector:${schemaName}`]);
      await c.query(
        `CREATE TABLE IF NOT EXISTS ${s}.memory_pgvector (
           tenant text COLLATE "C" NOT NULL,
           id text COLLATE "C" NOT NULL,
           model text NOT NULL,
           dims integer NOT NULL,
           embedding ${ext}.vector NOT NULL,
           PRIMARY KEY (tenant, id))`,
      );
    });
    return { ext, iterative: major > 0 || minor >= 8 };
  } catch {
    return null;
  }
}

/**
 * Copies into `memory_pgvector` the vectors it lacks (written by a node without the
 * extension), in batches. Returns how many.
 */
export async function backfill(
  tx: (fn: (c: PgQueryable) => Promise<number>) => Promise<number>,
  s: string,
  schemaName: string,
  vec: PgvectorSupport,
): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await tx(async (c) => {
      const r = await c.query(
        `SELECT v.tenant, v.id, m.model, v.vector FROM ${s}.memory_vectors v
           JOIN ${s}.memories m ON m.tenant = v.tenant AND m.id = v.id
           LEFT JOIN ${s}.memory_pgvector p ON p.tenant = v.tenant AND p.id = v.id
          WHERE p.id IS NULL AND m.model IS NOT NULL AND NOT m.deleted LIMIT 500`,
      );
      for (const row of r.rows) {
        const b = row.vector as Buffer;
        const bytes = new Uint8Array(b.byteLength);
        bytes.set(b);
        const v = new Float32Array(bytes.buffer);
        await putEmbedding(c, s, schemaName, vec, String(row.tenant), String(row.id), String(row.model), v);
      }
      return r.rows.length;
    });
    total += n;
    if (n < 500) return total;
  }
}

/** Writes (or replaces) a memory's row of `memory_pgvector`; with `vector` null, deletes it. */
export async function putEmbedding(
  c: PgQueryable,
  s: string,
  schemaName: string,
  vec: PgvectorSupport,
  tenant: string,
  id: string,
  model: string | null,
  vector: Float32Array | null,
): Promise<void> {
  if (vec.ext === null) return;
  if (vector === null || model === null) {
    await c.query(`DELETE FROM ${s}.memory_pgvector WHERE tenant = $1 AND id = $2`, [tenant, id]);
    return;
  }
  await ensureIndex(c, s, schemaName, vec, model, vector.length);
  await c.query(
    `INSERT INTO ${s}.memory_pgvector (tenant, id, model, dims, embedding) VALUES ($1, $2, $3, $4, $5::${vec.ext}.vector)
     ON CONFLICT (tenant, id) DO UPDATE SET model = EXCLUDED.model, dims = EXCLUDED.dims, embedding = EXCLUDED.embedding`,
    [tenant, id, model, vector.length, vectorLiteral(vector)],
  );
}
