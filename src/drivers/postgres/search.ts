/**
 * Full-text search of the PostgreSQL driver: a tsvector per event in `event_search` with a
 * GIN index (see the "search_index" migration), filled lazily. Appends (commit.ts and the
 * SQL functions) write nothing to it; `searchEvents` first indexes the events of the
 * searched contexts above their high-water mark in `search_progress`, with the words the
 * core computes in JS, then queries with a tsquery of the words (AND). Hits are joined back to
 * `events` and `contexts`, so removed events, expired contexts and other tenants never show.
 *
 * Concurrent searches may index the same events: the inserts are idempotent (ON CONFLICT DO
 * NOTHING) and the high-water mark only moves up. Appends are never blocked by an indexer.
 */
import { searchTerms } from "../../core/words.js";
import type { JsonValue } from "../../core/json-types.js";
import type { DriverCall, EventSearchArea, EventSearchHit } from "../driver.js";
import type { DriverScope } from "./db.js";
import { segmentsCte, toEventRecord, visible } from "./rows.js";

/** Contexts indexed per round trip, and events read per context per round trip. */
const CONTEXTS_PER_ROUND = 50;
const EVENTS_PER_CONTEXT = 500;
/** A tsvector holds at most 1 MiB of lexemes: an event with more words keeps the first ones. */
const MAX_TSVECTOR_BYTES = 1_000_000;

/**
 * The tsvector text of an event's words: each lexeme once, its one position the number of
 * occurrences (1…16383, see `MAX_WORD_COUNT`). Words are letters and digits only, so they
 * need no escaping inside the quotes. Null when the event has no words.
 */
export function tsvectorText(data: JsonValue): string | null {
  const terms = searchTerms(data);
  if (terms.size === 0) return null;
  const parts: string[] = [];
  let bytes = 0;
  for (const [w, n] of terms) {
    bytes += Buffer.byteLength(w) + 12;
    if (bytes > MAX_TSVECTOR_BYTES) break;
    parts.push(`'${w}':${n}`);
  }
  return parts.join(" ");
}

/** The search area over `scope`. */
export function searchArea(scope: DriverScope): EventSearchArea {
  const { s, q, read } = scope;

  /** Indexes the not yet indexed events of the tenant's visible contexts (or of one). */
  async function catchUp(tenant: string, contextId: string | undefined, call: DriverCall): Promise<void> {
    const values: unknown[] = [tenant, call.now];
    if (contextId !== undefined) values.push(contextId);
    const pending = await read(
      "searchEvents",
      `SELECT c.pk, coalesce(p.seq, 0) AS done FROM ${s}.contexts c LEFT JOIN ${s}.search_progress p ON p.ctx = c.pk
        WHERE c.tenant = $1 AND ${visible(2)} ${contextId === undefined ? "" : "AND c.id = $3"}
          AND c.last_seq > coalesce(p.seq, 0)`,
      values,
      call,
    );
    await index(pending.rows.map((r) => ({ pk: String(r.pk), done: Number(r.done) })), call);
  }

  /** Indexes the events of the contexts in `work` above their high-water marks. */
  async function index(work: { pk: string; done: number }[], call: DriverCall): Promise<void> {
    while (work.length > 0) {
      const round = work.splice(0, CONTEXTS_PER_ROUND);
      const r = await read(
        "searchEvents",
        `SELECT e.ctx, e.seq, e.data FROM unnest($1::bigint[], $2::bigint[]) AS p(ctx, done)
           CROSS JOIN LATERAL (SELECT x.ctx, x.seq, x.data FROM ${s}.events x
                                WHERE x.ctx = p.ctx AND x.seq > p.done ORDER BY x.seq LIMIT $3) e`,
        [round.map((w) => w.pk), round.map((w) => w.done), EVENTS_PER_CONTEXT],
        call,
      );
      const ctxs: string[] = [];
      const seqs: number[] = [];
      const vectors: string[] = [];
      const last = new Map<string, { seq: number; n: number }>();
      for (const row of r.rows) {
        const ctx = String(row.ctx);
        const seq = Number(row.seq);
        const l = last.get(ctx);
        last.set(ctx, { seq: Math.max(seq, l?.seq ?? 0), n: (l?.n ?? 0) + 1 });
        const vector = tsvectorText(JSON.parse(String(row.data)) as JsonValue);
        if (vector === null) continue;
        ctxs.push(ctx);
        seqs.push(seq);
        vectors.push(vector);
      }
      if (last.size === 0) continue;
      const progressCtx = [...last.keys()];
      await q(
        "searchEvents",
        `WITH i AS (INSERT INTO ${s}.event_search (ctx, seq, words)
                      SELECT u.ctx, u.seq, u.words::tsvector FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS u(ctx, seq, words)
                      ON CONFLICT (ctx, seq) DO NOTHING)
         INSERT INTO ${s}.search_progress (ctx, seq) SELECT * FROM unnest($4::bigint[], $5::bigint[])
           ON CONFLICT (ctx) DO UPDATE SET seq = GREATEST(${s}.search_progress.seq, EXCLUDED.seq)`,
        [ctxs, seqs, vectors, progressCtx, progressCtx.map((c) => last.get(c)?.seq ?? 0)],
        call,
      );
      // A context with a full page may have more.
      for (const [pk, l] of last) if (l.n === EVENTS_PER_CONTEXT) work.push({ pk, done: l.seq });
    }
  }

  async function searchFork(
    contextId: string,
    segments: Record<string, unknown>[],
    search: Parameters<EventSearchArea["searchEvents"]>[1],
    call: DriverCall,
  ): Promise<EventSearchHit[]> {
    await index(segments.map((r) => ({ pk: String(r.ctx), done: Number(r.done) })), call);
    const values: unknown[] = [
      search.words.map((w) => `'${w}'`).join(" & "),
      search.words,
      segments.map((r) => String(r.ctx)),
      segments.map((r) => String(r.lo)),
      segments.map((r) => String(r.hi)),
    ];
    let types = "";
    if (search.types !== undefined) {
      values.push(search.types);
      types = ` AND e.type = ANY($${values.length}::text[])`;
    }
    values.push(search.limit);
    const r = await read(
      "searchEvents",
      `WITH g AS (SELECT * FROM unnest($3::bigint[], $4::bigint[], $5::bigint[]) AS g(ctx, lo, hi)),
         h AS (
           SELECT x.ctx, x.seq, e.ts,
                  (SELECT sum(u.positions[1]) FROM unnest(x.words) u WHERE u.lexeme = ANY($2::text[]))::bigint AS score
             FROM g JOIN ${s}.event_search x ON x.ctx = g.ctx AND x.seq > g.lo AND x.seq <= g.hi
             JOIN ${s}.events e ON e.ctx = x.ctx AND e.seq = x.seq
            WHERE x.words @@ $1::tsquery${types}
            ORDER BY score DESC, e.ts DESC, x.seq DESC
            LIMIT $${values.length})
       SELECT h.score, e.seq, e.type, e.ts, e.data, e.metadata, e.tokens, e.version
         FROM h JOIN ${s}.events e ON e.ctx = h.ctx AND e.seq = h.seq
        ORDER BY h.score DESC, h.ts DESC, h.seq DESC`,
      values,
      call,
    );
    return r.rows.map((row) => ({ contextId, event: toEventRecord(row), score: Number(row.score) }));
  }

  return {
    async searchEvents(tenant, search, call): Promise<EventSearchHit[]> {
      if (search.contextId !== undefined) {
        // A fork's search reads its own events and each ancestor's up to its cut.
        const g = await read(
          "searchEvents",
          `${segmentsCte(s)} SELECT g.ctx, g.lo, g.hi, coalesce(p.seq, 0) AS done, (SELECT parent_seq FROM h) AS fork
             FROM g LEFT JOIN ${s}.search_progress p ON p.ctx = g.ctx`,
          [tenant, search.contextId, call.now],
          call,
        );
        if (g.rows.length === 0) return [];
        if (g.rows[0]?.fork !== null) return searchFork(search.contextId, g.rows, search, call);
      }
      await catchUp(tenant, search.contextId, call);
      const values: unknown[] = [
        search.words.map((w) => `'${w}'`).join(" & "),
        search.words,
        tenant,
        call.now,
      ];
      const p = (v: unknown) => {
        values.push(v);
        return `$${values.length}`;
      };
      const where = [`x.words @@ $1::tsquery`, "c.tenant = $3", visible(4)];
      if (search.contextId !== undefined) where.push(`c.id = ${p(search.contextId)}`);
      if (search.types !== undefined) where.push(`e.type = ANY(${p(search.types)}::text[])`);
      const limit = p(search.limit);
      // The score adds up the occurrence counts (the positions) of the query's lexemes. The
      // ranking keys are sorted first; the events' data is read for the hits only.
      const r = await read(
        "searchEvents",
        `WITH h AS (
           SELECT x.ctx, x.seq, c.id, e.ts,
                  (SELECT sum(u.positions[1]) FROM unnest(x.words) u WHERE u.lexeme = ANY($2::text[]))::bigint AS score
             FROM ${s}.event_search x
             JOIN ${s}.contexts c ON c.pk = x.ctx
             JOIN ${s}.events e ON e.ctx = x.ctx AND e.seq = x.seq
            WHERE ${where.join(" AND ")}
            ORDER BY score DESC, e.ts DESC, c.id ASC, x.seq DESC
            LIMIT ${limit})
         SELECT h.id AS context_id, h.score, e.seq, e.type, e.ts, e.data, e.metadata, e.tokens, e.version
           FROM h JOIN ${s}.events e ON e.ctx = h.ctx AND e.seq = h.seq
          ORDER BY h.score DESC, h.ts DESC, h.id ASC, h.seq DESC`,
        values,
        call,
      );
      return r.rows.map((row) => ({ contextId: String(row.context_id), event: toEventRecord(row), score: Number(row.score) }));
    },
  };
}
