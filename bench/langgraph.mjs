/**
 * LangGraph.js on contextd (issue 15): ContextdSaver against LangGraph's SqliteSaver and
 * PostgresSaver. Prints one Markdown section to stdout.
 *
 * A real agent loop through LangGraph: a messages StateGraph with two nodes, one `invoke` per
 * step, STEPS steps on one thread, on SQLite against SqliteSaver and on PostgreSQL against
 * PostgresSaver: steps/s, the cost of the last steps against the first ones, bytes on disk.
 *
 * The saver calls alone: the ContextdSaver graph on SQLite runs a second time (the first run,
 * timed, records nothing), and every `put` and `putWrites` LangGraph issues in it is recorded
 * (its arguments as given) and replayed, back to back, against a
 * fresh ContextdSaver and a fresh SqliteSaver (timing calls inside the graph would also count
 * whatever else LangGraph runs while a call awaits). Messages are replayed as one object per
 * message id, as in a run where LangGraph hands the saver back the list the saver gave it.
 * The raw-SQL contenders then store the same rows the replayed ContextdSaver stored (read
 * back from its file) into contextd's own events table (same indexes), one transaction per
 * call as the calls came, encoding each row with JSON.stringify: once built from the calls' own
 * objects (the new messages, the checkpoint, the metadata, the writes as LangGraph passed them,
 * so each message's `toJSON` runs as in any SQL saver; checked to give the stored text row by
 * row), and once from the stored rows parsed back (no serialization at all: the database work
 * alone). `LG_ROUNDS=n` (default 5) rounds of the three, rotating which goes first, by process
 * CPU time and wall time. The saver's share of a step is the replayed calls' time over the
 * graph run's time.
 *
 * `LG_STEPS=n` changes the number of steps, `LG_PG_STEPS=n` those of the PostgreSQL runs alone
 * (SqliteSaver and PostgresSaver store the whole message list at every checkpoint, so their
 * time and size grow with the square of it).
 *
 * `LG_REPLAY_ROUNDS=n` runs only the raw-SQL comparison, for iterating on the saver: the graph
 * runs on ContextdSaver (timed, then recording the calls), then n rounds as above, each printed
 * as it goes, and the median ratios. `LG_PROFILE=file.cpuprofile` also writes a CPU profile of
 * one extra ContextdSaver replay.
 */
import { statSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { loadavg } from "node:os";
import Database from "better-sqlite3";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import { AIMessage, HumanMessage } from "@langchain/core/messages";
import { END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { QUICK, fmtMB, fmtRatio, importContextd, importDist, progress, table, tempDir, text } from "./lib.mjs";

const { openStore, createStore, postgresDriver } = await importContextd();
const { ContextdSaver } = await importDist("integrations/langgraph/index.js");
const STEPS = Number(process.env.LG_STEPS ?? (QUICK ? 50 : 1000));
/** Steps of the PostgreSQL runs (`LG_PG_STEPS`, default STEPS). */
const PG_STEPS = Number(process.env.LG_PG_STEPS ?? STEPS);
const PG_URL = process.env.CONTEXTD_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const dir = tempDir("contextd-bench-lg-");
const dirBytes = (prefix) => readdirSync(dir).filter((f) => f.startsWith(prefix)).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
const content = (i) => `message ${i}: ${text(300, i)}`;

/**
 * Records the saver's `put` and `putWrites` calls (arguments as LangGraph gave them), with one
 * object per message id in a put's lists (see the header), made as the calls come: the saver
 * gets LangGraph's own objects, the recording keeps a copy of the checkpoint whose lists hold
 * the first object of each id. Keeping every list as given would keep every message object
 * every getTuple revived (~1.5 million at 1,000 steps), and the garbage collector's time on
 * that heap would count in the recorded run's steps.
 */
function recorded(saver) {
  const log = [];
  const byId = new Map();
  const one = (m) => {
    if (m === null || typeof m !== "object" || typeof m.id !== "string") return m;
    if (!byId.has(m.id)) byId.set(m.id, m);
    return byId.get(m.id);
  };
  for (const m of ["put", "putWrites"]) {
    const f = saver[m].bind(saver);
    saver[m] = (config, ...args) => {
      let logged = args;
      if (m === "put") {
        const values = { ...args[0].channel_values };
        for (const [k, v] of Object.entries(values)) if (Array.isArray(v)) values[k] = v.map(one);
        logged = [{ ...args[0], channel_values: values }, ...args.slice(1)];
      }
      log.push([m, config.configurable?.checkpoint_ns ?? "", config.configurable?.checkpoint_id, ...logged]);
      return f(config, ...args);
    };
  }
  return log;
}

/** Replays recorded calls on `thread`; returns ms. */
async function replay(saver, log, thread) {
  const t0 = performance.now();
  for (const [m, ns, id, ...args] of log) {
    const config = { configurable: { thread_id: thread, checkpoint_ns: ns, ...(id && { checkpoint_id: id }) } };
    await saver[m](config, ...args);
  }
  return performance.now() - t0;
}

/** Process CPU ms (user + system) so far. */
const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** The rows ContextdSaver stored in `file` (its `lg.*` events, in order), one group per saver call. */
function storedRows(file) {
  const src = new Database(file, { readonly: true });
  const rows = src.prepare("SELECT type, data, tokens FROM events WHERE type LIKE 'lg.%' ORDER BY ctx, seq").all();
  src.close();
  const groups = [];
  let open = [];
  for (const r of rows) {
    open.push(r);
    if (r.type === "lg.checkpoint" || r.type === "lg.writes") {
      groups.push(open);
      open = [];
    }
  }
  return { groups, rows: rows.length };
}

/**
 * The same rows built from the saver calls' own arguments (`calls`): each serialized value the
 * saver stored is replaced by the live value it came from — the new messages of a list, a
 * channel's value, the checkpoint without its values, the metadata, the writes — so that
 * `JSON.stringify` (which calls each message's own `toJSON`) gives the stored text again.
 * Checked row by row: a contender that stored other rows would not be a floor.
 */
function liveRows(groups) {
  if (groups.length !== calls.length) throw new Error(`raw contender: ${groups.length} stored calls, ${calls.length} recorded`);
  return groups.map((group, i) => {
    const [m, , , ...args] = calls[i];
    return group.map((row) => {
      const d = JSON.parse(row.data);
      if (m === "put") {
        const [cp, md] = args;
        if (row.type === "lg.items") d.items = cp.channel_values[d.c].slice(d.n - d.items.length);
        else if (row.type === "lg.value") d.v = { j: cp.channel_values[d.c] };
        else {
          // The checkpoint without its values, as the saver stores it (channel_values last, empty).
          const rest = { ...cp };
          delete rest.channel_values;
          d.cp = { j: { ...rest, channel_values: {} } };
          d.md = { j: md };
        }
      } else d.w = d.w.map(([idx, c], k) => [idx, c, { j: args[0][k][1] }]);
      if (JSON.stringify(d) !== row.data) throw new Error(`raw contender: a ${row.type} row of call ${i} does not encode to the text ContextdSaver stored`);
      return { type: row.type, data: d, tokens: row.tokens };
    });
  });
}

/**
 * Raw better-sqlite3 storing the rows ContextdSaver stored in `file` into a fresh database with
 * contextd's schema, one transaction per saver call (a put's values and checkpoint together,
 * each putWrites alone), encoding each row with `JSON.stringify`. `live`: from the calls' own
 * objects ({@link liveRows}: the serialization any SQL saver does); else from the stored rows
 * parsed back (pre-encoded: no `toJSON` of a message, the floor of the database work alone).
 * Returns ms and process CPU ms of storing them.
 */
let rawRuns = 0;
async function rawReplay(file, live) {
  const { groups, rows } = storedRows(file);
  const prepared = live ? liveRows(groups) : groups.map((g) => g.map((r) => ({ type: r.type, data: JSON.parse(r.data), tokens: r.tokens })));
  const path = join(dir, `raw-${++rawRuns}.db`);
  const s = await openStore(`sqlite:${path}`);
  await s.createContext({ id: "raw" });
  await s.close();
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  const pk = db.prepare("SELECT pk FROM contexts WHERE id = 'raw'").pluck().get();
  const ins = db.prepare("INSERT INTO events (ctx, seq, type, ts, data, metadata, tokens, version) VALUES (?, ?, ?, ?, ?, '{}', ?, NULL)");
  let seq = 0;
  const call = db.transaction((events) => {
    for (const e of events) ins.run(pk, ++seq, e.type, Date.now(), JSON.stringify(e.data), e.tokens);
  }).immediate;
  const c0 = cpuNow();
  const t0 = performance.now();
  for (const c of prepared) call(c);
  const ms = performance.now() - t0;
  const cpu = cpuNow() - c0;
  db.close();
  return { ms, cpu, calls: prepared.length, rows };
}

const graphOf = (checkpointer) =>
  new StateGraph(MessagesAnnotation)
    .addNode("agent", (s) => ({ messages: [new AIMessage({ content: `reply to ${s.messages.length}: ${text(200, s.messages.length)}` })] }))
    .addNode("tool", () => ({ messages: [new AIMessage({ content: "tool ok" })] }))
    .addEdge(START, "agent")
    .addEdge("agent", "tool")
    .addEdge("tool", END)
    .compile({ checkpointer });

/** `steps` invokes on one thread: steps/s, ms of the first and last 10 steps, total ms. */
async function graphRun(checkpointer, thread, steps = STEPS) {
  const g = graphOf(checkpointer);
  const cfg = { configurable: { thread_id: thread } };
  const ms = [];
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    const s = performance.now();
    await g.invoke({ messages: [new HumanMessage(content(i))] }, cfg);
    ms.push(performance.now() - s);
    if ((i + 1) % 100 === 0) progress(`  ${thread}: ${i + 1}/${steps}`);
  }
  const total = performance.now() - t0;
  const avg = (a) => a.reduce((x, y) => x + y, 0) / a.length;
  // Medians too: the first invoke also pays for loading and compiling LangGraph's code.
  const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  return { rate: steps / (total / 1000), first: avg(ms.slice(0, 10)), last: avg(ms.slice(-10)), firstMed: med(ms.slice(0, 10)), lastMed: med(ms.slice(-10)), total };
}

/**
 * The saver calls replayed `rounds` times on a fresh ContextdSaver and by both raw contenders,
 * rotating which goes first; per round, process CPU ms and wall ms of each, printed as it goes.
 * The ratios are taken per round (the same minutes of this machine for all three) and their
 * median reported.
 */
async function replayRounds(rounds) {
  const ours = async (n) => {
    const s = await openStore(`sqlite:${join(dir, `rounds-${n}.db`)}`);
    const saver = new ContextdSaver(s);
    const c0 = cpuNow();
    const ms = await replay(saver, calls, "calls");
    const cpu = cpuNow() - c0;
    await s.close();
    return { ms, cpu };
  };
  await ours(0); // warm-up, and the rows the raw contenders store
  const file = join(dir, "rounds-0.db");
  const runs = { ours: () => ours(runs.n), live: () => rawReplay(file, true), pre: () => rawReplay(file, false), n: 0 };
  const out = { ours: [], live: [], pre: [], rows: 0 };
  const order = ["ours", "live", "pre"];
  for (let r = 1; r <= rounds; r++) {
    runs.n = r;
    const got = {};
    for (let k = 0; k < 3; k++) {
      const name = order[(r + k) % 3];
      got[name] = await runs[name]();
    }
    for (const name of order) out[name].push(got[name]);
    out.rows = got.live.rows;
    const us = (x) => ((1000 * x.cpu) / calls.length).toFixed(1);
    progress(`  round ${r}: CPU µs/call ContextdSaver ${us(got.ours)}, raw ${us(got.live)} (pre-encoded ${us(got.pre)}); raw/ours ${(got.live.cpu / got.ours.cpu).toFixed(2)}× (${(got.pre.cpu / got.ours.cpu).toFixed(2)}×)`);
  }
  if (process.env.LG_PROFILE) {
    const { Session } = await import("node:inspector/promises");
    const { writeFileSync } = await import("node:fs");
    const session = new Session();
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 100 });
    await session.post("Profiler.start");
    await ours(rounds + 1);
    const { profile } = await session.post("Profiler.stop");
    writeFileSync(process.env.LG_PROFILE, JSON.stringify(profile));
    session.disconnect();
  }
  const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const ratio = (name, key) => median(out[name].map((x, i) => x[key] / out.ours[i][key]));
  return {
    rounds,
    rows: out.rows,
    ours: { cpu: median(out.ours.map((x) => x.cpu)), ms: median(out.ours.map((x) => x.ms)) },
    live: { cpu: median(out.live.map((x) => x.cpu)), ms: median(out.live.map((x) => x.ms)), cpuRatio: ratio("live", "cpu"), msRatio: ratio("live", "ms") },
    pre: { cpu: median(out.pre.map((x) => x.cpu)), ms: median(out.pre.map((x) => x.ms)), cpuRatio: ratio("pre", "cpu"), msRatio: ratio("pre", "ms") },
  };
}

// 1. Real graph on SQLite (timed), then the same graph again recording the saver's calls.
progress(`langgraph: graph on SQLite, ${STEPS} steps`);
const store2 = await openStore(`sqlite:${join(dir, "graph.db")}`);
const gOurs = await graphRun(new ContextdSaver(store2), "ours");
await store2.close();
progress(`langgraph: graph on SQLite again, recording the saver's calls`);
const storeR = await openStore(`sqlite:${join(dir, "recording.db")}`);
const recording = new ContextdSaver(storeR);
const calls = recorded(recording);
await graphRun(recording, "recorded");
await storeR.close();
if (process.env.LG_REPLAY_ROUNDS) {
  console.log(`graph on ContextdSaver: ${STEPS} steps, ${gOurs.rate.toFixed(1)} steps/s, ms/step ${gOurs.first.toFixed(1)} (steps 1–10) → ${gOurs.last.toFixed(1)} (last 10): ${(gOurs.last / gOurs.first).toFixed(1)}×; medians ${gOurs.firstMed.toFixed(1)} → ${gOurs.lastMed.toFixed(1)}: ${(gOurs.lastMed / gOurs.firstMed).toFixed(1)}×`);
  const rr = await replayRounds(Number(process.env.LG_REPLAY_ROUNDS));
  console.log(`median over ${rr.rounds} rounds: raw/ours CPU ${rr.live.cpuRatio.toFixed(2)}× (pre-encoded rows ${rr.pre.cpuRatio.toFixed(2)}×), wall ${rr.live.msRatio.toFixed(2)}× (${rr.pre.msRatio.toFixed(2)}×); load ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  process.exit(0);
}
const gdb = new Database(join(dir, "graph-saver.db"));
gdb.pragma("journal_mode = WAL");
gdb.pragma("synchronous = NORMAL");
const gTheirs = await graphRun(new SqliteSaver(gdb), "sqlitesaver");
gdb.pragma("wal_checkpoint(TRUNCATE)");
gdb.close();
const bytesOurs = dirBytes("graph.db");
const bytesTheirs = dirBytes("graph-saver.db");

// 2. The recorded saver calls alone.
progress(`langgraph: ${calls.length} recorded saver calls replayed`);
const puts = calls.filter((c) => c[0] === "put").length;
const store4 = await openStore(`sqlite:${join(dir, "calls.db")}`);
const cOurs = await replay(new ContextdSaver(store4), calls, "calls");
await store4.close();
const cdb = new Database(join(dir, "calls-saver.db"));
cdb.pragma("journal_mode = WAL");
cdb.pragma("synchronous = NORMAL");
const cTheirs = await replay(new SqliteSaver(cdb), calls, "calls");
cdb.close();
const ROUNDS = Number(process.env.LG_ROUNDS ?? (QUICK ? 1 : 5));
progress(`langgraph: the calls against raw SQL, ${ROUNDS} rounds`);
const rr = await replayRounds(ROUNDS);

// 3. Real graph on PostgreSQL.
let pgRows = null;
try {
  progress("langgraph: graph on PostgreSQL");
  const { PostgresSaver } = await import("@langchain/langgraph-checkpoint-postgres");
  const pg = (await import("pg")).default;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  const suffix = Math.random().toString(36).slice(2, 8);
  const [s1, s2] = [`bench_lg_ours_${suffix}`, `bench_lg_theirs_${suffix}`];
  const size = async (schema) =>
    Number((await admin.query("SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'", [schema])).rows[0].n);
  try {
    const store3 = await createStore(postgresDriver({ connectionString: PG_URL, schema: s1 }));
    const pOurs = await graphRun(new ContextdSaver(store3), "ours-pg", PG_STEPS);
    await store3.close();
    await admin.query(`CREATE SCHEMA ${s2}`);
    const ps = PostgresSaver.fromConnString(PG_URL, { schema: s2 });
    await ps.setup();
    const pTheirs = await graphRun(ps, "postgressaver", PG_STEPS);
    await ps.end();
    await admin.query("VACUUM ANALYZE");
    pgRows = { pOurs, pTheirs, bOurs: await size(s1), bTheirs: await size(s2) };
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${s1} CASCADE`);
    await admin.query(`DROP SCHEMA IF EXISTS ${s2} CASCADE`);
    await admin.end();
  }
} catch (e) {
  progress(`langgraph: PostgreSQL part skipped: ${e.message}`);
}

const f = (x) => x.toFixed(1);
const f2 = (x) => x.toFixed(2);
const share = (r, saverMs) => `${((100 * saverMs) / r.total).toFixed(0)} %`;
const row = (name, r, bytes, saverMs) => [
  name,
  f(r.rate),
  saverMs === undefined ? "" : share(r, saverMs),
  `${f(r.first)} (median ${f(r.firstMed)})`,
  `${f(r.last)} (median ${f(r.lastMed)})`,
  `${fmtRatio(r.last / r.first)} (medians ${fmtRatio(r.lastMed / r.firstMed)})`,
  fmtMB(bytes),
];
const lines = [
  "## LangGraph.js checkpointer (issue 15)",
  "",
  `ContextdSaver (\`contextd/langgraph\`) against LangGraph's own savers; load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}. One run each, contenders one after the other in one process${QUICK ? " (QUICK: figures meaningless)" : ""}.`,
  "",
  `### Saver calls alone, as LangGraph issued them (${puts} \`put\` and ${calls.length - puts} \`putWrites\` recorded over ${STEPS} invokes of the graph below, replayed on SQLite)`,
  "",
  table(["contender", "total ms", "ms per put (with the writes before it)", "ContextdSaver is"], [
    ["ContextdSaver", f(cOurs), f2(cOurs / puts), ""],
    ["SqliteSaver", f(cTheirs), f2(cTheirs / puts), `${fmtRatio(cTheirs / cOurs)} faster (target ≥ 20×)`],
  ]),
  "",
  `Against raw SQL storing the same ${rr.rows} rows (better-sqlite3, contextd's schema, one transaction per call, prepared inserts, \`JSON.stringify\` per row), ${rr.rounds} rounds rotating which contender goes first; per call, medians of the rounds; ratios are the median of the rounds' own ratios:`,
  "",
  table(["contender", "CPU µs per call", "wall µs per call", "ContextdSaver's speed against it, by CPU (wall)"], [
    ["ContextdSaver", f((1000 * rr.ours.cpu) / calls.length), f((1000 * rr.ours.ms) / calls.length), ""],
    ["raw SQL from the calls' own objects (each message's `toJSON`, as any SQL saver must)", f((1000 * rr.live.cpu) / calls.length), f((1000 * rr.live.ms) / calls.length), `${fmtRatio(rr.live.cpuRatio)} (${fmtRatio(rr.live.msRatio)}) (target ≥ 0.7×)`],
    ["raw SQL from the stored rows parsed back (no serialization: the database work alone)", f((1000 * rr.pre.cpu) / calls.length), f((1000 * rr.pre.ms) / calls.length), `${fmtRatio(rr.pre.cpuRatio)} (${fmtRatio(rr.pre.msRatio)})`],
  ]),
  "",
  `### A messages graph, ${STEPS} invokes on one thread (two nodes per step)`,
  "",
  table(["saver", "steps/s", "saver calls' share", "ms/step, steps 1–10", "ms/step, last 10", "last/first", "bytes on disk"], [
    row("ContextdSaver on SQLite", gOurs, bytesOurs, cOurs),
    row("SqliteSaver", gTheirs, bytesTheirs, cTheirs),
  ]),
  ...(pgRows
    ? [
        "",
        `On PostgreSQL, ${PG_STEPS} invokes:`,
        "",
        table(["saver", "steps/s", "ms/step, steps 1–10", "ms/step, last 10", "last/first", "bytes on disk"], [
          row("ContextdSaver on PostgreSQL", pgRows.pOurs, pgRows.bOurs).filter((_, i) => i !== 2),
          row("PostgresSaver", pgRows.pTheirs, pgRows.bTheirs).filter((_, i) => i !== 2),
        ]),
      ]
    : []),
  "",
  `On disk ContextdSaver holds ${fmtRatio(bytesOurs / bytesTheirs)} of SqliteSaver's bytes (target ≤ 1/10)${pgRows ? ` and ${fmtRatio(pgRows.bOurs / pgRows.bTheirs)} of PostgresSaver's` : ""}. Saver calls' share: the replayed put + putWrites time over the graph run's time (getTuple, once per invoke, not included).`,
  "",
];
process.stdout.write(lines.join("\n"));

// 4. The store (ContextdStore against InMemoryStore), in its own module.
const { storeSection } = await import("./langgraph-store.mjs");
process.stdout.write(`\n${await storeSection()}`);
