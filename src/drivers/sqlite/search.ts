/**
 * Full-text search of the SQLite driver: an FTS5 index (`search_fts`, see the "search index"
 * migration) that catches up lazily. Appends write nothing to it; `searchEvents` first
 * indexes the events appended since the last search (per context, above the high-water
 * mark in `search_progress`), in short write transactions, with the words the core computes,
 * then queries it. Hits are joined back to `events` and `contexts`, so events removed by
 * `compact`, `deleteContext` or `purgeExpired` never come back, and expired contexts and other
 * tenants are filtered out.
 */
import type Database from "better-sqlite3";
import { searchTerms } from "../../core/words.js";
import type { JsonValue } from "../../core/json-types.js";
import type { EventSearch, EventSearchHit } from "../driver.js";
import { EVENT_COLUMNS, type EventRow, lastSeqSql, toEventRecord, VISIBLE } from "./rows.js";

/** Events indexed per write transaction, so that other processes' writers wait briefly. */
const BATCH = 2000;
/** The rowid of an index row is (ctx << 32) | seq: both must fit. */
const MAX_SEQ = 2 ** 32;
const MAX_CTX = 2 ** 31;

const E_COLUMNS = EVENT_COLUMNS.split(", ")
  .map((c) => `e.${c}`)
  .join(", ");

/** The FTS5 query of `words`: each a quoted string (a single token of the ascii tokenizer), all required. */
function matchExpression(words: readonly string[]): string {
  return words.map((w) => `"${w.replaceAll('"', '""')}"`).join(" AND ");
}

/** The search index of one connection. */
export class SearchIndex {
  readonly #db: Database.Database;
  readonly #cache = new Map<string, Database.Statement>();

  constructor(db: Database.Database) {
    this.#db = db;
  }

  #prepare(key: string, sql: () => string): Database.Statement {
    let stmt = this.#cache.get(key);
    if (stmt === undefined) {
      stmt = this.#db.prepare(sql());
      if (this.#cache.size >= 64) this.#cache.clear();
      this.#cache.set(key, stmt);
    }
    return stmt;
  }

  /** Searches (after bringing the index up to date for the contexts searched). */
  search(tenant: string, q: EventSearch, now: number): EventSearchHit[] {
    if (q.contextId !== undefined) {
      const head = this.#prepare("forkHead", () => `SELECT pk, first_seq, parent_seq FROM contexts WHERE tenant = ? AND id = ? AND ${VISIBLE}`)
        .raw()
        .get(tenant, q.contextId, now) as [number, number, number | null] | undefined;
      if (head === undefined) return [];
      if (head[2] !== null) return this.#searchFork(q, q.contextId, head);
    }
    this.catchUp(tenant, q.contextId, now);
    const params: unknown[] = [matchExpression(q.words)];
    let key = `q${q.words.length}`;
    // Score: the occurrences of the query's words; "tf" has the counts above 1.
    const score = q.words
      .map((w) => {
        params.push(`$."${w}"`);
        return "coalesce(json_extract(f.tf, ?), 1)";
      })
      .join(" + ");
    const where = ["search_fts MATCH ?", "c.tenant = ?", `(c.expires_at IS NULL OR c.expires_at > ?)`];
    const scoreParams = params.splice(1);
    params.push(tenant, now);
    if (q.contextId !== undefined) {
      const pk = this.#prepare("pk", () => `SELECT pk FROM contexts WHERE tenant = ? AND id = ? AND ${VISIBLE}`)
        .pluck()
        .get(tenant, q.contextId, now) as number | undefined;
      if (pk === undefined || pk >= MAX_CTX) return [];
      where.push("c.pk = ?", "f.rowid BETWEEN (? << 32) AND (? << 32) + 4294967295");
      params.push(pk, pk, pk);
      key += "c";
    }
    if (q.types !== undefined) {
      where.push(`e.type IN (${q.types.map(() => "?").join(", ")})`);
      params.push(...q.types);
      key += `t${q.types.length}`;
    }
    params.push(q.limit);
    const stmt = this.#prepare(
      key,
      // The ranking keys are sorted first; the events' data is read for the hits only.
      () => `WITH h AS (
          SELECT e.ctx, e.seq, e.ts, c.id, ${score} AS score
          FROM search_fts f
          JOIN events e ON e.ctx = (f.rowid >> 32) AND e.seq = (f.rowid & 4294967295)
          JOIN contexts c ON c.pk = e.ctx
          WHERE ${where.join(" AND ")}
          ORDER BY score DESC, e.ts DESC, c.id ASC, e.seq DESC
          LIMIT ?)
        SELECT h.id AS context_id, ${E_COLUMNS}, h.score FROM h JOIN events e ON e.ctx = h.ctx AND e.seq = h.seq
        ORDER BY h.score DESC, h.ts DESC, h.id ASC, h.seq DESC`,
    );
    const rows = stmt.all(...scoreParams, ...params) as (EventRow & { context_id: string; score: number })[];
    return rows.map((r) => ({ contextId: r.context_id, event: toEventRecord(r), score: r.score }));
  }

  /**
   * A search of one fork: its own events after the fork point and each ancestor's up to its cut
   * (ancestors are read by key: an expired one kept for its forks too), reported as the fork's.
   */
  #searchFork(q: EventSearch, contextId: string, head: [number, number, number | null]): EventSearchHit[] {
    const [pk, first, fork] = head;
    const floor = first - 1;
    const segments: [number, number, number][] = [];
    const add = (p: number, lo: number, hi: number) => {
      const l = Math.max(lo, floor) + 1;
      const h = Math.min(hi, MAX_SEQ - 1);
      if (l <= h && p < MAX_CTX) segments.push([p, l, h]);
    };
    add(pk, fork ?? 0, MAX_SEQ - 1);
    const lineage = this.#prepare("lineage", () => "SELECT ancestor, after_seq, upto_seq FROM lineage WHERE ctx = ? ORDER BY upto_seq DESC").raw();
    for (const [a, after, upto] of lineage.all(pk) as [number, number, number][]) add(a, after, upto);
    if (segments.length === 0) return [];
    this.#index(segments.map((x) => x[0]));
    const params: unknown[] = [];
    const score = q.words
      .map((w) => {
        params.push(`$."${w}"`);
        return "coalesce(json_extract(f.tf, ?), 1)";
      })
      .join(" + ");
    params.push(matchExpression(q.words));
    const ranges = segments.map(() => "f.rowid BETWEEN (? << 32) + ? AND (? << 32) + ?").join(" OR ");
    for (const [p, l, h] of segments) params.push(p, l, p, h);
    let key = `fork${q.words.length}r${segments.length}`;
    let types = "";
    if (q.types !== undefined) {
      types = ` AND e.type IN (${q.types.map(() => "?").join(", ")})`;
      params.push(...q.types);
      key += `t${q.types.length}`;
    }
    params.push(q.limit);
    const stmt = this.#prepare(
      key,
      () => `WITH h AS (
          SELECT e.ctx, e.seq, e.ts, ${score} AS score
          FROM search_fts f
          JOIN events e ON e.ctx = (f.rowid >> 32) AND e.seq = (f.rowid & 4294967295)
          WHERE search_fts MATCH ? AND (${ranges})${types}
          ORDER BY score DESC, e.ts DESC, e.seq DESC
          LIMIT ?)
        SELECT ${E_COLUMNS}, h.score FROM h JOIN events e ON e.ctx = h.ctx AND e.seq = h.seq
        ORDER BY h.score DESC, h.ts DESC, h.seq DESC`,
    );
    const rows = stmt.all(...params) as (EventRow & { score: number })[];
    return rows.map((r) => ({ contextId, event: toEventRecord(r), score: r.score }));
  }

  /** Indexes the events of the tenant's visible contexts (or of one) that are not indexed yet. */
  catchUp(tenant: string, contextId: string | undefined, now: number): void {
    const pending = this.#prepare(
      contextId === undefined ? "pending" : "pending1",
      () => `SELECT pk FROM (
          SELECT c.pk, coalesce(p.seq, 0) AS done, ${lastSeqSql("c")} AS last
          FROM contexts c LEFT JOIN search_progress p ON p.ctx = c.pk
          WHERE c.tenant = ? ${contextId === undefined ? "" : "AND c.id = ?"} AND (c.expires_at IS NULL OR c.expires_at > ?))
        WHERE last > done ORDER BY pk`,
    )
      .pluck()
      .all(...(contextId === undefined ? [tenant, now] : [tenant, contextId, now])) as number[];
    this.#index(pending);
  }

  /** Indexes the events of the contexts with keys `pending` that are not indexed yet. */
  #index(pending: number[]): void {
    if (pending.length === 0) return;
    const progress = this.#prepare("progress", () => "SELECT seq FROM search_progress WHERE ctx = ?").pluck();
    const read = this.#prepare("read", () => "SELECT seq, data FROM events WHERE ctx = ? AND seq > ? ORDER BY seq LIMIT ?").raw();
    const insert = this.#prepare("insert", () => "INSERT INTO search_fts (rowid, words, tf) VALUES ((? << 32) | ?, ?, ?)");
    const advance = this.#prepare(
      "advance",
      () => "INSERT INTO search_progress (ctx, seq) VALUES (?, ?) ON CONFLICT (ctx) DO UPDATE SET seq = max(seq, excluded.seq)",
    );
    let i = 0;
    const batch = this.#db.transaction(() => {
      let budget = BATCH;
      while (i < pending.length && budget > 0) {
        const pk = pending[i] as number;
        // Read again inside the write lock: another process may have indexed meanwhile.
        const done = (progress.get(pk) as number | undefined) ?? 0;
        const rows = read.all(pk, done, budget) as [number, string][];
        for (const [seq, data] of rows) {
          if (seq >= MAX_SEQ || pk >= MAX_CTX) continue;
          const terms = searchTerms(JSON.parse(data) as JsonValue);
          if (terms.size === 0) continue;
          let tf: Record<string, number> | null = null;
          for (const [w, n] of terms) if (n > 1) (tf ??= {})[w] = n;
          insert.run(pk, seq, [...terms.keys()].join(" "), tf === null ? null : JSON.stringify(tf));
        }
        const last = rows[rows.length - 1];
        if (last !== undefined) advance.run(pk, last[0]);
        if (rows.length < budget) i++;
        budget -= rows.length;
      }
    });
    while (i < pending.length) batch.immediate();
  }

  /** Drops the index rows of a context (deleted or purged). */
  forget(pk: number): void {
    if (pk >= MAX_CTX) return;
    this.#prepare("forget", () => "DELETE FROM search_fts WHERE rowid BETWEEN (? << 32) AND (? << 32) + 4294967295").run(pk, pk);
    this.#prepare("forgetProgress", () => "DELETE FROM search_progress WHERE ctx = ?").run(pk);
  }

  /** Drops the index rows of events removed by `compact`. */
  compact(pk: number, beforeSeq: number): void {
    if (pk >= MAX_CTX) return;
    this.#prepare("compact", () => "DELETE FROM search_fts WHERE rowid >= (? << 32) AND rowid < (? << 32) + ?").run(
      pk,
      pk,
      Math.min(beforeSeq, MAX_SEQ),
    );
  }
}
