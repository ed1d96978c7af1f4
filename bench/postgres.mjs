/**
 * contextd on PostgreSQL (+ Redis) against raw `pg` / raw Redis doing the same SQL and
 * commands on the same servers, in the same process, interleaved round by round; plus
 * three nodes against one, and LangGraph.js `PostgresSaver` on the agent-step workload.
 *
 * Prints one Markdown section to stdout and writes it to docs/benchmarks-postgres.md.
 * Needs PostgreSQL (`CONTEXTD_BENCH_POSTGRES_URL`, default postgres://postgres@127.0.0.1:5432/test)
 * and Redis (`CONTEXTD_BENCH_REDIS_URL`, default redis://127.0.0.1:6379). Every schema and key
 * it makes is removed afterwards.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { createClient } from "redis";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import { langGraphSteps } from "./langgraph-steps.mjs";
import {
  compare,
  fmtRate,
  fmtRatio,
  importDist,
  progress,
  QUICK,
  rate,
  rateOfN,
  ROOT,
  RUNS,
  spread,
  table,
  text,
  verdict,
} from "./lib.mjs";

const PG_URL = process.env.CONTEXTD_BENCH_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const REDIS_URL = process.env.CONTEXTD_BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const MICRO_MS = QUICK ? 100 : 700;
const STEP_RUNS = QUICK ? 1 : 3;
/** Concurrent agents, and steps per agent, of the concurrent agent-step run. */
const AGENTS = 8;
const CONCURRENT_STEPS = 500;
const tag = randomBytes(4).toString("hex");
const CD_SCHEMA = `bench_cd_${tag}`;
const RAW_SCHEMA = `bench_raw_${tag}`;
const SAVER_SCHEMA = `bench_saver_${tag}`;

const { createStore } = await importDist("open.js");
const { postgresDriver } = await importDist("drivers/postgres/driver.js");
const { redisCache } = await importDist("drivers/redis/cache.js");

const message = (i) => ({ type: "message", data: { role: i % 2 ? "assistant" : "user", content: text(160, i) } });
/** A ~1 KB state, as in the core benchmark. */
const STATE = { step: 1, plan: [text(200, 1), text(200, 2), text(200, 3)], lastMessage: text(200, 4), counters: { tokens: 1234, calls: 56 } };

const admin = new pg.Pool({ connectionString: PG_URL, max: 10 });
const quietLogger = { warn: (m) => progress(`warning: ${m}`), info: () => undefined };

function pgStore(options = {}) {
  return createStore(postgresDriver({ connectionString: PG_URL, schema: CD_SCHEMA, poolSize: 10, ...options }));
}
function cachedStore() {
  const inner = postgresDriver({ connectionString: PG_URL, schema: CD_SCHEMA, poolSize: 10 });
  return createStore(redisCache(inner, { url: REDIS_URL, prefix: CD_SCHEMA, logger: quietLogger }));
}

// ── raw pg: the same tables contextd uses, without contextd ──────────────────
async function rawSetup() {
  await admin.query(`CREATE SCHEMA ${RAW_SCHEMA}`);
  await admin.query(`CREATE TABLE ${RAW_SCHEMA}.events (
    ctx bigint NOT NULL, seq bigint NOT NULL, type text NOT NULL, ts bigint NOT NULL, data text NOT NULL,
    metadata text NOT NULL, tokens integer, version bigint, PRIMARY KEY (ctx, seq))`);
  await admin.query(`CREATE TABLE ${RAW_SCHEMA}.states (id text PRIMARY KEY, state text NOT NULL, version bigint NOT NULL)`);
}
let rawCtx = 0;
/** Raw single-row commits: one INSERT per event, autocommit. */
function rawSingle(pool) {
  const ctx = ++rawCtx;
  let seq = 0;
  return (i) => {
    const m = message(i);
    return pool.query(
      `INSERT INTO ${RAW_SCHEMA}.events (ctx, seq, type, ts, data, metadata, tokens, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [ctx, ++seq, m.type, Date.now(), JSON.stringify(m.data), "{}", null, null],
    );
  };
}
/** Raw batched commits: one multi-row INSERT … SELECT FROM unnest per batch. */
function rawBatch(pool, size) {
  const ctx = ++rawCtx;
  let seq = 0;
  return (b) => {
    const batch = Array.from({ length: size }, (_, k) => message(b * size + k));
    const first = seq;
    seq += size;
    const now = Date.now();
    // The same columns and values contextd writes: per-event time, metadata and tokens.
    return pool.query(
      `INSERT INTO ${RAW_SCHEMA}.events (ctx, seq, type, ts, data, metadata, tokens, version)
       SELECT $1, $2::bigint + u.ord, u.type, u.ts, u.data, u.meta, u.tokens, NULL
         FROM unnest($3::text[], $4::bigint[], $5::text[], $6::text[], $7::integer[])
              WITH ORDINALITY AS u(type, ts, data, meta, tokens, ord)`,
      [
        ctx,
        first,
        batch.map((m) => m.type),
        batch.map(() => now),
        batch.map((m) => JSON.stringify(m.data)),
        batch.map(() => "{}"),
        batch.map(() => null),
      ],
    );
  };
}

// ── 1 & 2. appends ────────────────────────────────────────────────────────────
async function appends() {
  const store = await pgStore();
  const pool = new pg.Pool({ connectionString: PG_URL, max: 10 });
  const size = 100;
  const single = await compare({
    contextd: async () => {
      const { id } = await store.createContext();
      return rate((i) => store.append(id, message(i)), { ms: MICRO_MS, warmup: 20 });
    },
    raw: () => rate(rawSingle(pool), { ms: MICRO_MS, warmup: 20 }),
  });
  const batched = await compare({
    contextd: async () => {
      const { id } = await store.createContext();
      return rate((b) => store.append(id, Array.from({ length: size }, (_, k) => message(b * size + k))), {
        ms: MICRO_MS,
        warmup: 3,
        minOps: 5,
        opsPerCall: size,
      });
    },
    raw: () => rate(rawBatch(pool, size), { ms: MICRO_MS, warmup: 3, minOps: 5, opsPerCall: size }),
  });
  await store.close();
  await pool.end();
  return { single, batched, size };
}

// ── 3. reads through the Redis cache ─────────────────────────────────────────
async function cachedReads() {
  const store = await cachedStore();
  const { id } = await store.createContext({ state: STATE });
  await store.replaceState(id, STATE);
  await store.getState(id);
  const redis = createClient({ url: REDIS_URL });
  redis.on("error", () => undefined);
  await redis.connect();
  const key = `${RAW_SCHEMA}:state`;
  await redis.hSet(key, "state", JSON.stringify(STATE));
  const r = await compare({
    contextd: () => rate(() => store.getState(id), { ms: MICRO_MS, warmup: 100 }),
    raw: () => rate(async () => JSON.parse(await redis.hGet(key, "state")), { ms: MICRO_MS, warmup: 100 }),
  });
  const health = await store.health();
  await redis.del(key);
  redis.destroy();
  await store.close();
  return { ...r, cacheUp: health.details?.cache?.up === true };
}

// ── 4. three nodes against one ───────────────────────────────────────────────
async function nodes(count, workers, ms, work) {
  const stores = [];
  for (let n = 0; n < count; n++) stores.push(await pgStore({ poolSize: workers }));
  const prepared = await Promise.all(stores.map((s) => work.prepare(s)));
  const deadline = performance.now() + ms;
  let ops = 0;
  let conflicts = 0;
  const start = performance.now();
  await Promise.all(
    stores.flatMap((s, n) =>
      Array.from({ length: workers }, async (_, w) => {
        while (performance.now() < deadline) {
          const r = await work.run(s, prepared[n], w);
          if (r) ops++;
          else conflicts++;
        }
      }),
    ),
  );
  const seconds = (performance.now() - start) / 1000;
  for (const s of stores) await s.close();
  return { rate: ops / seconds, conflicts: conflicts / seconds };
}

async function multiNode() {
  const ms = QUICK ? 500 : 3000;
  const workers = 8;
  const distinct = {
    prepare: async (s) => Promise.all(Array.from({ length: workers }, () => s.createContext().then((c) => c.id))),
    run: async (s, ids, w) => {
      await s.append(ids[w], message(w));
      return true;
    },
  };
  let hotId;
  const hot = {
    prepare: async (s) => {
      if (hotId === undefined) hotId = (await s.createContext({ state: { n: 0 } })).id;
      return hotId;
    },
    run: async (s, id) => {
      const cur = await s.getState(id);
      try {
        await s.replaceState(id, { n: cur.state.n + 1 }, { expectedVersion: cur.version });
        return true;
      } catch (e) {
        if (e?.code === "VERSION_CONFLICT") return false;
        throw e;
      }
    },
  };
  const out = { workers, seconds: ms / 1000 };
  out.distinct1 = await nodes(1, workers, ms, distinct);
  out.distinct3 = await nodes(3, workers, ms, distinct);
  out.hot1 = await nodes(1, workers, ms, hot);
  hotId = undefined;
  out.hot3 = await nodes(3, workers, ms, hot);
  return out;
}

// ── 5. agent steps vs LangGraph PostgresSaver ────────────────────────────────
async function contextdSteps(store, n) {
  const { id, version: v0 } = await store.createContext({ state: {} });
  let version = v0;
  return rateOfN(async (i) => {
    const m = message(i);
    // One commit: the compare-and-set state write carries the message.
    const r = await store.patchState(id, { step: i, lastMessage: m.data.content }, { expectedVersion: version, events: [m] });
    version = r.version;
  }, n);
}

function saverSteps(saver, round, n) {
  return langGraphSteps(saver, `thread-${tag}-${round}`, n, message, true);
}

/** `agents` loops of `steps` each, at once; aggregate steps/s. */
async function concurrentSteps(agents, run) {
  const start = performance.now();
  const per = await Promise.all(Array.from({ length: agents }, (_, k) => run(k)));
  const steps = per.reduce((n, x) => n + x, 0);
  return { wall: (steps * 1000) / (performance.now() - start), cpu: 0 };
}

async function agentSteps() {
  const steps = QUICK ? 100 : 2000;
  const out = { steps };
  // Both contenders with the server's default durability (synchronous_commit=on), then both
  // with synchronous_commit=off (acknowledged before the WAL flush).
  for (const sync of ["on", "off"]) {
    const store = await pgStore({ synchronousCommit: sync, poolSize: AGENTS });
    const saverPool = new pg.Pool({ connectionString: PG_URL, max: AGENTS, options: `-c synchronous_commit=${sync}` });
    const saver = new PostgresSaver(saverPool, undefined, { schema: SAVER_SCHEMA });
    await saver.setup();
    out[sync] = await compare(
      {
        contextd: () => contextdSteps(store, steps),
        postgresSaver: (round) => saverSteps(saver, `${sync}-${round}`, steps),
      },
      STEP_RUNS,
    );
    if (sync === "on") {
      // Many agents at once, each on its own context / thread: commits of different agents
      // share WAL flushes (PostgreSQL's group commit), so the flush no longer bounds one agent.
      const n = QUICK ? 50 : CONCURRENT_STEPS;
      out.concurrent = await compare(
        {
          contextd: () => concurrentSteps(AGENTS, async () => (await contextdSteps(store, n), n)),
          postgresSaver: (round) => concurrentSteps(AGENTS, async (k) => (await saverSteps(saver, `c-${round}-${k}`, n), n)),
        },
        STEP_RUNS,
      );
    }
    await store.close();
    await saverPool.end();
  }
  return out;
}

// ── report ────────────────────────────────────────────────────────────────────
function ratioRow(what, r, target, min) {
  const ratio = r.contextd.median / r.raw.median;
  return [what, fmtRate(r.contextd.median), fmtRate(r.raw.median), fmtRatio(ratio), verdict(ratio >= min, target), `${spread(r.contextd.runs)} / ${spread(r.raw.runs)}`];
}

async function main() {
  const pgVersion = (await admin.query("SHOW server_version")).rows[0].server_version;
  const settings = (await admin.query("SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit')")).rows;
  await rawSetup();
  progress("postgres: 1-2. appends vs raw pg");
  const a = await appends();
  progress("postgres: 3. reads through Redis vs raw HGET");
  const c = await cachedReads();
  progress("postgres: 4. three nodes vs one");
  const m = await multiNode();
  progress("postgres: 5. agent steps vs PostgresSaver");
  const s = await agentSteps();
  const stepRatio = s.on.contextd.median / s.on.postgresSaver.median;
  const stepRatioOff = s.off.contextd.median / s.off.postgresSaver.median;
  const section = [
    "## PostgreSQL and Redis (issue 5)",
    "",
    `PostgreSQL ${pgVersion} (${settings.map((x) => `${x.name}=${x.setting}`).join(", ")}) and Redis on this machine, over loopback. ` +
      `contextd runs through its public store API (\`createStore(postgresDriver(…))\`, + \`redisCache\` where stated); ` +
      `the baselines use \`pg\` / node-redis directly with the same SQL and commands. Medians of ${RUNS} interleaved runs ` +
      `(agent steps: ${STEP_RUNS}); ops/s, higher is better. Generated by \`node bench/postgres.mjs\`.`,
    "",
    table(
      ["workload", "contextd", "raw", "ratio", "target", "spread (contextd / raw)"],
      [
        ratioRow("append, one commit each (event/s) vs single-row INSERT", a.single, "≥ 0.6×", 0.6),
        ratioRow(`append, batches of ${a.size} (event/s) vs \`unnest\` multi-row INSERT`, a.batched, "≥ 0.5×", 0.5),
        ratioRow("read current state (~1 KB) through the Redis cache vs HGET + JSON.parse", c, "≥ 0.8×", 0.8),
      ],
    ),
    "",
    c.cacheUp ? "" : "**The Redis cache was not up during the read benchmark: the figure is a read from PostgreSQL.**\n",
    "One commit each of contextd is one round trip (a server-side function locks the head row, checks the guards, " +
      "numbers the event and moves the head; the NOTIFY to other nodes follows on its own connection); the raw baseline " +
      "inserts the row alone, while contextd also moves the head row and sends a NOTIFY for the other nodes (batched " +
      "per 2 ms): with a fast WAL flush this extra work per commit shows in the ratio, with a slow one the flush " +
      "dominates both. The read goes " +
      "through the whole store (`getState`): one Lua call that resolves the cache epoch and reads the head, then two " +
      "JSON.parse (record and state) against the baseline's one HGET and one parse.",
    "",
    `### Three nodes against one (${m.workers} concurrent callers per node, ${m.seconds} s each; nodes are separate stores with their own pools in one process on ${"2"} shared cores)`,
    "",
    table(
      ["workload", "1 node", "3 nodes"],
      [
        ["appends on distinct contexts (commit/s, aggregate)", fmtRate(m.distinct1.rate), fmtRate(m.distinct3.rate)],
        [
          "compare-and-set increments on one hot context (successful/s)",
          `${fmtRate(m.hot1.rate)} (${fmtRate(m.hot1.conflicts)} conflicts/s)`,
          `${fmtRate(m.hot3.rate)} (${fmtRate(m.hot3.conflicts)} conflicts/s)`,
        ],
      ],
    ),
    "",
    "Three nodes run three times the callers (each node its own pool and callers). On one machine they share the CPU and " +
      "the database; distinct contexts scale with the number of concurrent committers (PostgreSQL flushes concurrent " +
      "commits together), while CAS on one hot context is bound by its row lock: every success is one version, and " +
      "the other callers of that round get VERSION_CONFLICT and retry.",
    "",
    `### Agent steps vs LangGraph.js PostgresSaver (${s.steps} steps per run)`,
    "",
    "A step appends a ~200-byte message and makes a compare-and-set state write (contextd: one commit, `patchState(id, patch, { expectedVersion, events: [message] })`); " +
      "`PostgresSaver.put` stores a new checkpoint holding the whole, growing message list.",
    "",
    table(
      ["synchronous_commit", "contextd steps/s", "PostgresSaver steps/s", "ratio", "target", "spread (contextd / PostgresSaver)"],
      [
        ["on (server default, both)", fmtRate(s.on.contextd.median), fmtRate(s.on.postgresSaver.median), fmtRatio(stepRatio),
          verdict(stepRatio >= 20, "≥ 20×"), `${spread(s.on.contextd.runs)} / ${spread(s.on.postgresSaver.runs)}`],
        ["off (both)", fmtRate(s.off.contextd.median), fmtRate(s.off.postgresSaver.median), fmtRatio(stepRatioOff),
          verdict(stepRatioOff >= 20, "≥ 20×"), `${spread(s.off.contextd.runs)} / ${spread(s.off.postgresSaver.runs)}`],
      ],
    ),
    "",
    `With ${AGENTS} agents stepping at once (each ${QUICK ? 50 : CONCURRENT_STEPS} steps on its own context / thread, synchronous_commit=on, ` +
      `each side with a pool of ${AGENTS}): contextd ${fmtRate(s.concurrent.contextd.median)} steps/s in all, PostgresSaver ` +
      `${fmtRate(s.concurrent.postgresSaver.median)} steps/s (${fmtRatio(s.concurrent.contextd.median / s.concurrent.postgresSaver.median)}; ` +
      `spread ${spread(s.concurrent.contextd.runs)} / ${spread(s.concurrent.postgresSaver.runs)}). Informational: shorter message lists than ` +
      "the 2,000-step run, so not the target's workload.",
    "",
    "With `synchronous_commit=on` every acknowledged step waits for one WAL flush, on both sides. A bare single-row " +
      `INSERT (no contextd, section above) commits at ${fmtRate(a.single.raw.median)}/s on this machine: ` +
      `${fmtRatio(a.single.raw.median / s.on.postgresSaver.median)} PostgresSaver's step rate. A 20× lead ` +
      `(${fmtRate(20 * s.on.postgresSaver.median)} steps/s) would need a whole agent step to commit faster than that bare INSERT, ` +
      "so it is out of reach here for any store that makes each step durable before acknowledging it. contextd's step " +
      `runs at ${fmtRatio(s.on.contextd.median / a.single.raw.median)} the bare INSERT's rate: it is one round trip (the driver ` +
      "computes the new state from the head it committed last and the `commit_state` function applies it if the head is " +
      "unchanged) and one flush. With `synchronous_commit=off` (contextd's `synchronousCommit: \"off\"`: a crash of a " +
      "contextd node still loses nothing; a crash of the PostgreSQL server may lose the last few hundred ms) the flush " +
      "leaves both sides and what each step writes shows: PostgresSaver rewrites the whole, growing message list every " +
      "step, contextd appends one row and rewrites a small state.",
    "",
  ]
    .filter((l) => l !== null)
    .join("\n");
  writeFileSync(join(ROOT, "docs", "benchmarks-postgres.md"), `${section}\n`);
  process.stdout.write(`${section}\n`);
}

async function cleanup() {
  for (const s of [CD_SCHEMA, RAW_SCHEMA, SAVER_SCHEMA]) await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`).catch(() => undefined);
  const redis = createClient({ url: REDIS_URL });
  redis.on("error", () => undefined);
  try {
    await redis.connect();
    for await (const keys of redis.scanIterator({ MATCH: `${CD_SCHEMA}:*`, COUNT: 1000 })) {
      if (keys.length > 0) await redis.del(keys);
    }
    redis.destroy();
  } catch {
    // Keys expire by themselves (TTL).
  }
  await admin.end();
}

try {
  await main();
} finally {
  await cleanup();
}
