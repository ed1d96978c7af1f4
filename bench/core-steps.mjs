/**
 * Agent steps on the embedded store against LangGraph.js SqliteSaver and raw SQL (section 5
 * of the core benchmark; run through bench/core.mjs).
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import { langGraphSteps } from "./langgraph-steps.mjs";
import { QUICK, compare, rate, rateOfN } from "./lib.mjs";

/**
 * One agent step on contextd, one commit: a compare-and-set state write that carries the
 * message (`patchState(id, patch, { expectedVersion, events: [message] })`): the message and the
 * new state land together or not at all.
 */
export async function contextdSteps(store, id, n, message) {
  let version = (await store.getState(id)).version;
  return rateOfN(async (i) => {
    const m = message(i);
    const r = await store.patchState(id, { step: i, lastMessage: m.data.content }, { expectedVersion: version, events: [m] });
    version = r.version;
  }, n);
}

/** The same step as two calls (append, then a compare-and-set state write): two commits. */
async function contextdTwoCommitSteps(store, id, n, message) {
  let version = (await store.getState(id)).version;
  return rateOfN(async (i) => {
    const m = message(i);
    await store.append(id, m);
    const r = await store.patchState(id, { step: i, lastMessage: m.data.content }, { expectedVersion: version });
    version = r.version;
  }, n);
}

/** The same steps as LangGraph persists them: a new checkpoint holding the whole message list. */
async function saverSteps(dir, round, n, { message, busyTimeoutMs }) {
  const db = new Database(join(dir, `saver-${round}.db`), { timeout: busyTimeoutMs });
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  const saver = new SqliteSaver(db);
  const result = await langGraphSteps(saver, `thread-${round}`, n, message, false);
  db.close();
  return result;
}

/**
 * Raw better-sqlite3 doing a step's SQL: insert the message (one transaction); then read the
 * state row, check its version, write the new state and insert the state event (one transaction).
 */
let rawStepContext = 100;
/** The same step in raw SQL: one transaction (as contextd) or two (append, then CAS). */
function rawSteps(raw, n, message, oneTransaction = true) {
  const ctx = rawStepContext++;
  const id = `ctx-${ctx}`;
  raw.db.prepare("INSERT INTO raw_states (id, state, version) VALUES (?, '{}', 1)").run(id);
  const read = raw.db.prepare("SELECT state, version FROM raw_states WHERE id = ?");
  const write = raw.db.prepare("UPDATE raw_states SET state = ?, version = ? WHERE id = ? AND version = ?");
  const insert = raw.db.prepare(
    "INSERT INTO events (ctx, seq, type, ts, data, metadata, tokens, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
  );
  let seq = 0;
  const messageTx = raw.db.transaction((m) => {
    insert.run(ctx, ++seq, m.type, Date.now(), JSON.stringify(m.data), "{}", null, null);
  }).immediate;
  const stateTx = raw.db.transaction((patch, expected) => {
    const row = read.get(id);
    if (row.version !== expected) throw new Error("version conflict");
    const state = { ...JSON.parse(row.state), ...patch };
    write.run(JSON.stringify(state), expected + 1, id, expected);
    insert.run(ctx, ++seq, "state", Date.now(), JSON.stringify({ op: "merge", patch }), "{}", null, expected + 1);
    return expected + 1;
  }).immediate;
  const stepTx = raw.db.transaction((m, patch, expected) => {
    const row = read.get(id);
    if (row.version !== expected) throw new Error("version conflict");
    const state = { ...JSON.parse(row.state), ...patch };
    write.run(JSON.stringify(state), expected + 1, id, expected);
    insert.run(ctx, ++seq, "state", Date.now(), JSON.stringify({ op: "merge", patch }), "{}", null, expected + 1);
    insert.run(ctx, ++seq, m.type, Date.now(), JSON.stringify(m.data), "{}", null, null);
    return expected + 1;
  }).immediate;
  let version = 1;
  return rateOfN((i) => {
    const m = message(i);
    if (oneTransaction) version = stepTx(m, { step: i, lastMessage: m.data.content }, version);
    else {
      messageTx(m);
      version = stateTx({ step: i, lastMessage: m.data.content }, version);
    }
  }, n);
}

/**
 * Section 5 of the core benchmark: agent steps on contextd (one commit, and two), on raw SQL
 * doing the same transactions, and on LangGraph's SqliteSaver.
 *
 * @param deps what core.mjs shares: `openStore`, `rawDb(path)`, `sqliteUrl(dir, name)`, the
 *   `message(i)` workload, the number of `runs` and the driver's `busyTimeoutMs`
 */
export async function agentSteps(dir, { openStore, rawDb, sqliteUrl, message, runs, busyTimeoutMs }) {
  const steps = QUICK ? 200 : 2000;
  const store = await openStore(sqliteUrl(dir, "agent.db"));
  const raw = rawDb(join(dir, "raw-agent.db"));
  const r = await compare({
    contextd: async () => contextdSteps(store, (await store.createContext({ state: {} })).id, steps, message),
    sqliteSaver: (round) => saverSteps(dir, round, steps, { message, busyTimeoutMs }),
    rawSteps: () => rawSteps(raw, steps, message, true),
    twoCommits: async () => contextdTwoCommitSteps(store, (await store.createContext({ state: {} })).id, steps, message),
    rawTwoCommits: () => rawSteps(raw, steps, message, false),
    rawCommits: () => rate((i) => raw.insertOne(message(i)), { ms: 400 }),
  }, runs);

  await store.close();
  raw.db.close();
  return { steps, ...r };
}
