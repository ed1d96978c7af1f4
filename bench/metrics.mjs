/**
 * Metrics and tracing on versus off (issue 13), on the built package (`dist/`), same run:
 *
 * - embedded appends (one ~200-byte message per append, one commit) on a SQLite file and on
 *   the in-memory driver: a store opened with metrics (the default: the store tier,
 *   OpenTelemetry tracing, spans only with an SDK) against one opened with `metrics: false`,
 *   interleaved rounds in this process;
 * - HTTP appends: two `serve()` processes on SQLite files, one with metrics (store, HTTP,
 *   process) and one with `metrics: false` on both store and server, loaded at the same time
 *   by two autocannon instances in this process (32 keep-alive connections each), so that both
 *   see the same machine in every round (this VM's disk and neighbours change from second to
 *   second; rounds that alternate saw ±10 % between the same server's runs). Each round's ratio
 *   is off's CPU per append over on's; the verdict is the median of the rounds' ratios.
 *   `METRICS_AA=1` runs only this part, with both servers without metrics (an A/A run: what
 *   the method reports when there is no difference).
 *
 * Target: on within 5 % of off (ratio ≥ 0.95). Prints a Markdown section.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import autocannon from "autocannon";
import { cpus, loadavg } from "node:os";
import { DIST, METRICS_SERVER, QUICK, ROOT, compare, fmtRate, fmtRatio, importContextd, progress, rate, table, tempDir, text, verdict, median, freePort } from "./lib.mjs";

const EVENT = { type: "message", data: { role: "user", content: text(200) } };
const TARGET = 0.95;
const CONNECTIONS = 32;
const SECONDS = QUICK ? 1 : 5;
const ROUNDS = QUICK ? 2 : Number(process.env.BENCH_RUNS ?? 5);
// Many short rounds: a SQLite append's CPU time swings by ±30 % round to round here (the WAL's syscalls), far more than the tiers cost.
const EMBEDDED_ROUNDS = QUICK ? 3 : Number(process.env.BENCH_EMBEDDED_ROUNDS ?? 41);

/** CPU seconds a process has used so far, user and system (from /proc; Linux). */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  const user = Number(fields[11]) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  return { user, total: user + Number(fields[12]) / 100 };
}
/** Pairs of server processes per HTTP run (each pair serves its share of the rounds). */
const SEGMENTS = QUICK ? 2 : Number(process.env.BENCH_SEGMENTS ?? 4);
/** Both servers without metrics (an A/A run of the method). */
const AA = process.env.METRICS_AA === "1";

const { openStore } = await importContextd();
const dir = tempDir();

async function embedded(label, url) {
  const on = await openStore(url(`on`), { embedder: null });
  const off = await openStore(url(`off`), { embedder: null, metrics: false });
  // Reported beside: metrics with the driver tier (off by default) timing each driver call too.
  const calls = await openStore(url(`calls`), { embedder: null, metrics: { driverCalls: true } });
  const ctxOn = await on.createContext({ kind: "bench" });
  const ctxOff = await off.createContext({ kind: "bench" });
  const ctxCalls = await calls.createContext({ kind: "bench" });
  progress(`embedded appends, ${label}`);
  const ms = QUICK ? 100 : 250;
  const r = await compare(
    {
      on: () => rate(() => on.append(ctxOn.id, EVENT), { ms }),
      off: () => rate(() => off.append(ctxOff.id, EVENT), { ms }),
      calls: () => rate(() => calls.append(ctxCalls.id, EVENT), { ms }),
    },
    EMBEDDED_ROUNDS,
  );
  await on.close();
  await off.close();
  await calls.close();
  // CPU µs per append: what the work costs this process, whatever else the machine runs.
  const row = { label, on: r.on.median, off: r.off.median, cpuOn: 1e6 / r.on.cpuMedian, cpuOff: 1e6 / r.off.cpuMedian };
  const withCalls = { label: `${label}, driver calls timed too (\`driverCalls: true\`)`, on: r.calls.median, off: r.off.median, cpuOn: 1e6 / r.calls.cpuMedian, cpuOff: 1e6 / r.off.cpuMedian, reportedOnly: true };
  return [row, withCalls];
}


async function startServer(metrics, half) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", METRICS_SERVER], {
    cwd: ROOT,
    env: {
      ...process.env,
      DIST_INDEX: `file://${join(DIST, "index.js")}`,
      DIST_SERVER: `file://${join(DIST, "server", "index.js")}`,
      DB: join(dir, `http-${metrics}-${half}.db`),
      PORT: String(port),
      METRICS: AA ? "off" : metrics,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error("server did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
  await fetch(`${url}/v1/contexts`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ id: "bench" }) });
  return { url, child };
}

function cannon(url, duration) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `${url}/v1/contexts/bench/events`,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ events: [EVENT] }),
        connections: CONNECTIONS,
        duration,
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
  });
}

async function http() {
  const runs = { on: [], off: [] };
  const cpu = { on: [], off: [] };
  const pairs = [];
  const userPairs = [];
  let scrape = "";
  // Fresh server processes per segment, started in the other order every other segment: A/A
  // runs (two identical servers) measured one process 3 % cheaper or dearer than the other for a
  // whole run, so one pair of processes does not resolve a few %. Which load starts first
  // alternates by round.
  for (let half = 1; half <= SEGMENTS; half++) {
    const order = half % 2 === 1 ? ["on", "off"] : ["off", "on"];
    progress(`HTTP appends: starting two servers (metrics ${order.join(", then ")})`);
    const servers = {};
    try {
      for (const who of order) servers[who] = await startServer(who, half);
      for (const who of order) await cannon(servers[who].url, 1); // warm-up
      const rounds = Math.floor(ROUNDS / SEGMENTS) + (half <= ROUNDS % SEGMENTS ? 1 : 0);
      for (let round = 0; round < rounds; round++) {
        const before = { on: cpuSeconds(servers.on.child.pid), off: cpuSeconds(servers.off.child.pid) };
        const [on, off] =
          round % 2 === 0
            ? await Promise.all([cannon(servers.on.url, SECONDS), cannon(servers.off.url, SECONDS)])
            : (await Promise.all([cannon(servers.off.url, SECONDS), cannon(servers.on.url, SECONDS)])).reverse();
        const perAppend = {};
        for (const [who, r] of [["on", on], ["off", off]]) {
          if (r.non2xx > 0 || r.errors > 0) throw new Error(`${who}: ${r.non2xx} non-2xx, ${r.errors} errors`);
          const after = cpuSeconds(servers[who].child.pid);
          perAppend[who] = { total: ((after.total - before[who].total) * 1e6) / r.requests.total, user: ((after.user - before[who].user) * 1e6) / r.requests.total };
          runs[who].push(r.requests.average);
          cpu[who].push(perAppend[who].total);
        }
        pairs.push(perAppend.off.total / perAppend.on.total);
        userPairs.push(perAppend.off.user / perAppend.on.user);
        progress(`HTTP round ${pairs.length}/${ROUNDS}: on ${fmtRate(on.requests.average)}/s ${perAppend.on.total.toFixed(1)} µs CPU per append, off ${fmtRate(off.requests.average)}/s ${perAppend.off.total.toFixed(1)} µs; off/on ${pairs.at(-1).toFixed(3)}`);
      }
      scrape = await (await fetch(`${servers.on.url}/metrics`)).text();
    } finally {
      for (const s of Object.values(servers)) s.child.kill("SIGTERM");
    }
  }
  return {
    label: "HTTP, SQLite file (fast append path)",
    on: median(runs.on),
    off: median(runs.off),
    cpuOn: median(cpu.on),
    cpuOff: median(cpu.off),
    cpuRatio: median(pairs),
    pairs,
    userRatio: median(userPairs),
    scrapeBytes: scrape.length,
  };
}

const rows = [];
// An A/A run measures the HTTP method alone.
if (!AA) rows.push(...(await embedded("embedded, SQLite file", (n) => `sqlite:${join(dir, `embedded-${n}.db`)}`)));
// The in-memory driver (tests, throwaway stores) is reported without a target: an append there
// costs ~5 µs of CPU, so the fixed cost of timing it (clock reads, two histogram observations,
// the tiers' promise hops: ~0.5–1 µs) is a larger share than on any store that persists.
if (!AA) rows.push({ ...(await embedded("embedded, in-memory", () => "in-memory:"))[0], reportedOnly: true });
const h = await http();
rows.push(h);

const out = [
  "## Metrics and tracing on versus off (issue 13)",
  "",
  `Appends per second, and CPU time per append, with metrics on (the default: the store tier, OpenTelemetry tracing (spans only once an application registers an SDK), and for HTTP the request histogram and process metrics) and off (\`metrics: false\` on the store and the server), measured in the same run; embedded, also with the driver tier on (\`metrics: { driverCalls: true }\`, off by default: every driver call timed as well), reported only. Embedded: the stores in this process, medians of ${EMBEDDED_ROUNDS} interleaved rounds, one ~200-byte message per append. HTTP: two \`serve()\` processes on SQLite files${AA ? " (**A/A run: both without metrics**)" : ""}, loaded at the same time by two autocannon instances with ${CONNECTIONS} keep-alive connections each, ${ROUNDS} rounds of ${SECONDS} s over ${SEGMENTS} pairs of fresh server processes (started in the other order every other pair), medians; the HTTP ratio is the median of the rounds' ratios. Target: on ≥ ${TARGET}× off (within 5 %).`,
  "",
  table(
    ["workload", "on (appends/s)", "off (appends/s)", "on / off", "CPU µs per append on / off", "CPU cost ratio off / on", "target (CPU)"],
    rows.map((r) => [
      r.label,
      fmtRate(r.on),
      fmtRate(r.off),
      fmtRatio(r.on / r.off),
      `${r.cpuOn.toFixed(1)} / ${r.cpuOff.toFixed(1)}`,
      fmtRatio(r.cpuRatio ?? r.cpuOff / r.cpuOn),
      r.reportedOnly === true ? "(reported only)" : verdict((r.cpuRatio ?? r.cpuOff / r.cpuOn) >= TARGET, `≥ ${TARGET}×`),
    ]),
  ),
  "",
  `Load average during the run: ${loadavg().map((l) => l.toFixed(1)).join(", ")} on ${cpus().length} cores. Wall-clock rates move with whatever else the machine runs; the CPU time each append costs the process that serves it (embedded: this process, \`process.cpuUsage\`; HTTP: the server process, from /proc) does not, so the target is judged on it: off's CPU per append over on's, ≥ ${TARGET}×.`,
  "",
  `HTTP, each round's off/on CPU ratio: ${h.pairs.map((x) => x.toFixed(2)).join(" ")}; user CPU alone (what the metrics code runs on; the kernel's share is the same syscalls for both, counted with strace): median ${fmtRatio(h.userRatio)}.`,
  "",
  `A scrape of \`/metrics\` after the HTTP runs was ${(h.scrapeBytes / 1024).toFixed(1)} KiB of text.`,
  "",
];
process.stdout.write(out.join("\n"));
