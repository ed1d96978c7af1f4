/**
 * LangGraph.js on contextd (issue 15): ContextdSaver against LangGraph's SqliteSaver and
 * PostgresSaver. Prints one Markdown section to stdout.
 *
 * 1. Saver calls alone, as LangGraph issues them per step (`put` with the whole, growing
 *    messages list, then `putWrites`), against SqliteSaver and against raw better-sqlite3
 *    inserting the same rows ContextdSaver stores (new items, checkpoint, writes) in one transaction.
 * 2. A real agent loop through LangGraph: a messages StateGraph with two nodes, one `invoke`
 *    per step, STEPS steps on one thread: steps/s, the cost of the last steps against the
 *    first ones, bytes on disk; on SQLite against SqliteSaver, on PostgreSQL against PostgresSaver.
 */
import { statSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { loadavg } from "node:os";
import Database from "better-sqlite3";
import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import { AIMessage, HumanMessage } from "@langchain/core/messages";
import { END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { QUICK, fmtMB, fmtRatio, importContextd, importDist, progress, table, tempDir, text } from "./lib.mjs";

const { openStore, createStore, postgresDriver } = await importContextd();
const { ContextdSaver } = await importDist("integrations/langgraph/index.js");
const STEPS = QUICK ? 50 : 1000;
const SAVER_STEPS = QUICK ? 100 : 1000;
const PG_URL = process.env.CONTEXTD_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const dir = tempDir("contextd-bench-lg-");
const dirBytes = (prefix) => readdirSync(dir).filter((f) => f.startsWith(prefix)).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
const content = (i) => `message ${i}: ${text(300, i)}`;

/** Saver calls alone: per step a put (whole message list) and a putWrites of the new message; returns steps/s. */
async function saverCalls(saver, thread, n) {
  let config = await saver.put({ configurable: { thread_id: thread, checkpoint_ns: "" } }, emptyCheckpoint(), { source: "input", step: -1, parents: {} }, {});
  let messages = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const m = { role: "user", content: content(i), id: `msg-${i}` };
    messages = [...messages, m];
    const versions = { messages: i + 2, step: i + 2 };
    const checkpoint = { v: 4, id: uuid6(i), ts: new Date().toISOString(), channel_values: { messages, step: i }, channel_versions: versions, versions_seen: { agent: { messages: i + 1 } } };
    config = await saver.put(config, checkpoint, { source: "loop", step: i, parents: {} }, versions);
    await saver.putWrites(config, [["messages", [m]]], `task-${i}`);
  }
  return n / ((performance.now() - t0) / 1000);
}

/** Raw better-sqlite3 storing the rows ContextdSaver stores per step, in one transaction. */
function rawCalls(n) {
  const db = new Database(join(dir, "raw.db"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.exec("CREATE TABLE ev (ctx INTEGER, seq INTEGER, type TEXT, ts INTEGER, data TEXT, PRIMARY KEY (ctx, seq))");
  const ins = db.prepare("INSERT INTO ev VALUES (1, ?, ?, ?, ?)");
  let seq = 0;
  const step = db.transaction((i) => {
    const m = { lc: 1, type: "constructor", id: ["x"], kwargs: { role: "user", content: content(i), id: `msg-${i}` } };
    ins.run(++seq, "lg.items", Date.now(), JSON.stringify({ c: "messages", base: seq - 4, first: 1, n: i + 1, items: [m] }));
    ins.run(++seq, "lg.value", Date.now(), JSON.stringify({ c: "step", v: { j: i } }));
    ins.run(++seq, "lg.checkpoint", Date.now(), JSON.stringify({ ns: "", id: uuid6(i), parent: null, max: "", cp: { j: { v: 4, ts: new Date().toISOString(), channel_versions: { messages: i + 2, step: i + 2 }, versions_seen: { agent: { messages: i + 1 } } } }, md: { j: { source: "loop", step: i, parents: {} } }, at: { messages: -2, step: -1 } }));
    ins.run(++seq, "lg.writes", Date.now(), JSON.stringify({ ns: "", cp: uuid6(i), task: `task-${i}`, path: "", w: [[0, "messages", { j: [m] }]] }));
  }).immediate;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) step(i);
  const r = n / ((performance.now() - t0) / 1000);
  db.close();
  return r;
}

const graphOf = (checkpointer) =>
  new StateGraph(MessagesAnnotation)
    .addNode("agent", (s) => ({ messages: [new AIMessage({ content: `reply to ${s.messages.length}: ${text(200, s.messages.length)}` })] }))
    .addNode("tool", () => ({ messages: [new AIMessage({ content: "tool ok" })] }))
    .addEdge(START, "agent")
    .addEdge("agent", "tool")
    .addEdge("tool", END)
    .compile({ checkpointer });

/** STEPS invokes on one thread: steps/s, ms of the first and last 10 steps. */
async function graphRun(checkpointer, thread) {
  const g = graphOf(checkpointer);
  const cfg = { configurable: { thread_id: thread } };
  const ms = [];
  const t0 = performance.now();
  for (let i = 0; i < STEPS; i++) {
    const s = performance.now();
    await g.invoke({ messages: [new HumanMessage(content(i))] }, cfg);
    ms.push(performance.now() - s);
  }
  const total = performance.now() - t0;
  const avg = (a) => a.reduce((x, y) => x + y, 0) / a.length;
  return { rate: STEPS / (total / 1000), first: avg(ms.slice(0, 10)), last: avg(ms.slice(-10)) };
}

// 1. Saver calls alone.
progress("langgraph: saver calls");
const store1 = await openStore(`sqlite:${join(dir, "calls.db")}`);
const ours = await saverCalls(new ContextdSaver(store1), "calls", SAVER_STEPS);
await store1.close();
const sdb = new Database(join(dir, "calls-saver.db"));
sdb.pragma("journal_mode = WAL");
sdb.pragma("synchronous = NORMAL");
const theirs = await saverCalls(new SqliteSaver(sdb), "calls", SAVER_STEPS);
sdb.close();
const raw = rawCalls(SAVER_STEPS);

// 2. Real graph on SQLite.
progress("langgraph: graph on SQLite");
const store2 = await openStore(`sqlite:${join(dir, "graph.db")}`);
const gOurs = await graphRun(new ContextdSaver(store2), "g");
await store2.close();
const gdb = new Database(join(dir, "graph-saver.db"));
gdb.pragma("journal_mode = WAL");
gdb.pragma("synchronous = NORMAL");
const gTheirs = await graphRun(new SqliteSaver(gdb), "g");
gdb.pragma("wal_checkpoint(TRUNCATE)");
gdb.close();
const bytesOurs = dirBytes("graph.db");
const bytesTheirs = dirBytes("graph-saver.db");

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
    const pOurs = await graphRun(new ContextdSaver(store3), "g");
    await store3.close();
    await admin.query(`CREATE SCHEMA ${s2}`);
    const ps = PostgresSaver.fromConnString(PG_URL, { schema: s2 });
    await ps.setup();
    const pTheirs = await graphRun(ps, "g");
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
const lines = [
  "## LangGraph.js checkpointer (issue 15)",
  "",
  `ContextdSaver (\`contextd/langgraph\`) against LangGraph's own savers; load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}. One run each${QUICK ? " (QUICK: figures meaningless)" : ""}.`,
  "",
  `### Saver calls alone (${SAVER_STEPS} steps of \`put\` + \`putWrites\`, messages list growing by one per step)`,
  "",
  table(["contender", "steps/s", "ContextdSaver is"], [
    ["ContextdSaver on SQLite", f(ours), ""],
    ["SqliteSaver", f(theirs), `${fmtRatio(ours / theirs)} (target ≥ 20×)`],
    ["raw better-sqlite3, same rows, one transaction", f(raw), `${fmtRatio(ours / raw)} (target ≥ 0.7×)`],
  ]),
  "",
  `### A messages graph, ${STEPS} invokes on one thread (two nodes per step)`,
  "",
  table(["saver", "steps/s", "ms/step, steps 1–10", `ms/step, last 10`, "bytes on disk"], [
    ["ContextdSaver on SQLite", f(gOurs.rate), f(gOurs.first), f(gOurs.last), fmtMB(bytesOurs)],
    ["SqliteSaver", f(gTheirs.rate), f(gTheirs.first), f(gTheirs.last), fmtMB(bytesTheirs)],
    ...(pgRows
      ? [
          ["ContextdSaver on PostgreSQL", f(pgRows.pOurs.rate), f(pgRows.pOurs.first), f(pgRows.pOurs.last), fmtMB(pgRows.bOurs)],
          ["PostgresSaver", f(pgRows.pTheirs.rate), f(pgRows.pTheirs.first), f(pgRows.pTheirs.last), fmtMB(pgRows.bTheirs)],
        ]
      : []),
  ]),
  "",
  `On disk ContextdSaver holds ${fmtRatio(bytesOurs / bytesTheirs)} of SqliteSaver's bytes (target ≤ 1/10)${pgRows ? ` and ${fmtRatio(pgRows.bOurs / pgRows.bTheirs)} of PostgresSaver's` : ""}.`,
  "",
];
process.stdout.write(lines.join("\n"));

// 4. The store (ContextdStore against InMemoryStore), in its own module.
const { storeSection } = await import("./langgraph-store.mjs");
process.stdout.write(`\n${await storeSection()}`);
