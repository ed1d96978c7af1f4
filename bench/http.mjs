/**
 * HTTP benchmark (issue 4), on the built package (`dist/`):
 *
 * - appends per second over HTTP with 32 keep-alive connections (autocannon), against a bare
 *   `node:http` handler doing the same raw better-sqlite3 insert with the same pragmas, in the
 *   same run (target ≥ 0.6×): what the framework, validation, auth and logging cost;
 * - p50/p99 latency of get-state and append;
 * - SSE fan-out: 100 watchers of one context while 10k events are appended over HTTP; every
 *   watcher must receive every event in order; p50/p99 delivery lag.
 *
 * Each server runs in its own child process; the load generator runs here. Prints a Markdown
 * section to stdout and writes it to docs/benchmarks-http.md (not in quick mode).
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import autocannon from "autocannon";
import { DIST, QUICK, ROOT, fmtRate, fmtRatio, median, progress, table, tempDir, text, verdict, freePort } from "./lib.mjs";

const CONNECTIONS = 32;
const SECONDS = QUICK ? 2 : 8;
const ROUNDS = QUICK ? 1 : Number(process.env.BENCH_RUNS ?? 3);
const WATCHERS = QUICK ? 10 : 100;
const EVENTS = QUICK ? 500 : 10_000;
const EVENT = { type: "message", data: { role: "user", content: text(200) } };
const APPEND_BODY = JSON.stringify({ events: [EVENT] });

async function waitReady(url, child) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server at ${url} did not become ready`);
}

/** A child process running `node args`, ready when `url/healthz` answers. */
async function startProcess(args, url, env = {}) {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  try {
    await waitReady(url, child);
  } catch (e) {
    child.kill("SIGKILL");
    throw new Error(`${e.message}\n${stderr}`, { cause: e });
  }
  return {
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

// The bare baseline: node:http + better-sqlite3, same pragmas as contextd's SQLite driver
// (WAL, synchronous=NORMAL), one transaction per append: next seq, insert the event, bump
// the head, like contextd's append does. No framework, validation, auth or logging.
const BARE = `
import { createServer } from "node:http";
import Database from "better-sqlite3";
const db = new Database(process.env.BARE_DB);
db.pragma("journal_mode = WAL");
db.pragma("synchronous = NORMAL");
db.exec("CREATE TABLE IF NOT EXISTS heads (ctx TEXT PRIMARY KEY, last_seq INTEGER NOT NULL, state TEXT NOT NULL, version INTEGER NOT NULL)");
db.exec("CREATE TABLE IF NOT EXISTS events (ctx TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, ts TEXT NOT NULL, data TEXT, PRIMARY KEY (ctx, seq))");
db.prepare("INSERT OR IGNORE INTO heads VALUES ('bench', 0, '{}', 1)").run();
const head = db.prepare("SELECT last_seq FROM heads WHERE ctx = ?");
const insert = db.prepare("INSERT INTO events VALUES (?, ?, ?, ?, ?)");
const bump = db.prepare("UPDATE heads SET last_seq = ? WHERE ctx = ?");
const append = db.transaction((ctx, e) => {
  const seq = head.get(ctx).last_seq + 1;
  const ts = new Date().toISOString();
  insert.run(ctx, seq, e.type, ts, JSON.stringify(e.data));
  bump.run(seq, ctx);
  return { contextId: ctx, seq, type: e.type, timestamp: ts, data: e.data };
});
createServer((req, res) => {
  if (req.url === "/healthz") return res.end("{}");
  let body = "";
  req.setEncoding("utf8");
  req.on("data", (d) => (body += d));
  req.on("end", () => {
    const { events } = JSON.parse(body);
    const out = events.map((e) => append("bench", e));
    res.writeHead(201, { "content-type": "application/json" });
    res.end(JSON.stringify(out));
  });
}).listen(Number(process.env.BARE_PORT), "127.0.0.1");
`;

function cannon(opts) {
  return new Promise((resolve, reject) => {
    autocannon({ connections: CONNECTIONS, duration: SECONDS, pipelining: 1, ...opts }, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

function checkErrors(name, r) {
  const bad = r.errors + r.timeouts + r.non2xx;
  if (bad > 0) throw new Error(`${name}: ${r.errors} errors, ${r.timeouts} timeouts, ${r.non2xx} non-2xx responses`);
}

async function appendRates(contextdUrl, bareUrl) {
  const post = { method: "POST", headers: { "content-type": "application/json" }, body: APPEND_BODY };
  const runs = { contextd: [], bare: [], p50: [], p99: [] };
  // Warm-up (JIT, SQLite page cache), not measured.
  await cannon({ url: `${contextdUrl}/v1/contexts/bench/events`, ...post, duration: QUICK ? 1 : 3 });
  await cannon({ url: `${bareUrl}/append`, ...post, duration: QUICK ? 1 : 3 });
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which goes first, so drift on a shared machine does not favour one.
    const order = round % 2 === 0 ? ["contextd", "bare"] : ["bare", "contextd"];
    for (const who of order) {
      const url = who === "contextd" ? `${contextdUrl}/v1/contexts/bench/events` : `${bareUrl}/append`;
      const r = await cannon({ url, ...post });
      checkErrors(`append ${who}`, r);
      runs[who].push(r.requests.average);
      if (who === "contextd") {
        runs.p50.push(r.latency.p50);
        runs.p99.push(r.latency.p99);
      }
      progress(`append ${who} round ${round + 1}: ${fmtRate(r.requests.average)}/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms`);
    }
  }
  return runs;
}

async function getStateLatency(url) {
  const runs = { rate: [], p50: [], p99: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const r = await cannon({ url: `${url}/v1/contexts/bench/state` });
    checkErrors("get state", r);
    runs.rate.push(r.requests.average);
    runs.p50.push(r.latency.p50);
    runs.p99.push(r.latency.p99);
    progress(`get state round ${round + 1}: ${fmtRate(r.requests.average)}/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms`);
  }
  return runs;
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function fanOut(url, createClient) {
  const writer = createClient({ url });
  const ctx = await writer.createContext({ kind: "fanout" });
  const lags = [];
  let inOrder = 0;
  // Each watcher first receives a "go" event: once all have, every watcher is live, and the
  // measured events are delivered live, not replayed.
  const go = await writer.append(ctx.id, { type: "go" });
  const first = go[0].seq;
  const live = [];
  const watchers = Array.from({ length: WATCHERS }, () => {
    let markLive;
    live.push(new Promise((r) => (markLive = r)));
    return (async () => {
      const client = createClient({ url });
      let expected = first + 1;
      let ok = true;
      for await (const e of client.watch(ctx.id, { afterSeq: first - 1 })) {
        if (e.seq === first) {
          markLive();
          continue;
        }
        lags.push(Date.now() - Date.parse(e.timestamp));
        if (e.seq !== expected) ok = false;
        expected++;
        if (e.seq >= first + EVENTS) break;
      }
      if (ok && expected === first + EVENTS + 1) inOrder++;
      await client.close();
    })();
  });
  await Promise.all(live);
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < EVENTS) {
        next++;
        await writer.append(ctx.id, { type: "tick", data: { n: next } });
      }
    }),
  );
  const appendSeconds = (performance.now() - started) / 1000;
  await Promise.all(watchers);
  const deliverSeconds = (performance.now() - started) / 1000;
  await writer.close();
  lags.sort((a, b) => a - b);
  return { inOrder, deliveries: lags.length, p50: percentile(lags, 50), p99: percentile(lags, 99), max: lags.at(-1), appendSeconds, deliverSeconds };
}

const dir = tempDir("contextd-bench-http-");
const [contextdPort, barePort] = [await freePort(), await freePort()];
const contextdUrl = `http://127.0.0.1:${contextdPort}`;
const bareUrl = `http://127.0.0.1:${barePort}`;
progress(`starting contextd serve on ${contextdUrl} and the bare handler on ${bareUrl}`);
const contextd = await startProcess(
  [join(DIST, "cli", "main.js"), "serve", "--store", `sqlite:${join(dir, "contextd.db")}`, "--port", String(contextdPort), "--log-level", "info"],
  contextdUrl,
);
const bare = await startProcess(["--input-type=module", "-e", BARE], bareUrl, { BARE_DB: join(dir, "bare.db"), BARE_PORT: String(barePort) });

const { createClient } = await import(new URL(`file://${join(DIST, "client", "index.js")}`).href);
try {
  const setup = createClient({ url: contextdUrl });
  await setup.createContext({ id: "bench", state: { step: 0, notes: text(500) } });
  await setup.close();

  const appends = await appendRates(contextdUrl, bareUrl);
  const reads = await getStateLatency(contextdUrl);
  progress(`SSE fan-out: ${WATCHERS} watchers × ${EVENTS} events`);
  const fan = await fanOut(contextdUrl, createClient);
  progress(`fan-out: ${fan.inOrder}/${WATCHERS} complete and in order, p99 lag ${fan.p99} ms`);

  const ratio = median(appends.contextd) / median(appends.bare);
  const section = [
    "## HTTP server and client (issue 4)",
    "",
    `\`contextd serve\` (built \`dist/\`, SQLite file, request logging on at level info to /dev/null) and a bare \`node:http\` + better-sqlite3 handler doing the same append transaction with the same pragmas, each in its own process; load from autocannon in a third: ${CONNECTIONS} keep-alive connections on loopback, ${SECONDS} s per run, medians of ${ROUNDS} alternating runs. Each append is one ~200-byte message event in one commit (WAL, synchronous=NORMAL, as contextd's default). contextd serves these appends by its Node fast path: the same gate (API-key check, tenant, rate limit, deadline, request log), zod schemas, route code and error table as the hono route, without the fetch adapter and middleware chain (docs/design.md); get-state goes through hono.`,
    "",
    table(
      ["measure", "contextd over HTTP", "bare node:http + SQLite", "ratio", "target"],
      [
        ["appends/s", fmtRate(median(appends.contextd)), fmtRate(median(appends.bare)), fmtRatio(ratio), verdict(ratio >= 0.6, "≥ 0.6×")],
        ["append latency p50 / p99", `${median(appends.p50)} / ${median(appends.p99)} ms`, "", "", ""],
        ["get-state requests/s", fmtRate(median(reads.rate)), "", "", ""],
        ["get-state latency p50 / p99", `${median(reads.p50)} / ${median(reads.p99)} ms`, "", "", ""],
      ],
    ),
    "",
    `Runs (appends/s): contextd ${appends.contextd.map(fmtRate).join(", ")}; bare ${appends.bare.map(fmtRate).join(", ")}.`,
    "",
    `**SSE fan-out**: ${WATCHERS} watchers (the HTTP client's \`watch\`, one SSE connection each) of one context while ${EVENTS.toLocaleString("en-US")} events are appended over HTTP by 4 concurrent writers.`,
    "",
    table(
      ["watchers complete and in order", "deliveries", "delivery lag p50 / p99 / max", "appended in", "all delivered in", "target"],
      [
        [
          `${fan.inOrder} / ${WATCHERS}`,
          fan.deliveries.toLocaleString("en-US"),
          `${fan.p50} / ${fan.p99} / ${fan.max} ms`,
          `${fan.appendSeconds.toFixed(1)} s`,
          `${fan.deliverSeconds.toFixed(1)} s`,
          verdict(fan.inOrder === WATCHERS && fan.deliveries === WATCHERS * EVENTS, "every watcher gets every event, in order"),
        ],
      ],
    ),
    "",
    "Lag is the time from the event's commit timestamp (set by the server) to its arrival at the watcher, on one machine clock; the watchers run in the load-generating process, so they compete for the same 2 cores.",
    "",
  ].join("\n");
  process.stdout.write(`${section}\n`);
  if (!QUICK) writeFileSync(join(ROOT, "docs", "benchmarks-http.md"), `${section}\n`);
} finally {
  await contextd.stop();
  await bare.stop();
}
