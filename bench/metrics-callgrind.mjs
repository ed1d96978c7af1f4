/**
 * Metrics on versus off for HTTP appends (issue 13), counted with callgrind instead of timed:
 * instructions and first-level cache misses per append on the server's main thread, which do
 * not depend on what else the machine runs (timed runs on a shared 2-core VM do not resolve 5 %).
 *
 * For each side (`on`: store, driver and HTTP metrics, tracing check, performance monitor;
 * `off`: `metrics: false` on store and server) one `serve()` process on a SQLite file runs under
 * `valgrind --tool=callgrind --cache-sim=yes --separate-threads=yes` (node with
 * `--perf-basic-prof`, so JIT code can be named from /tmp/perf-<pid>.map). Then: CG_WARMUP
 * appends (default 5,000: node's HTTP code is still being optimized after 3,000), counters
 * zeroed, CG_APPENDS appends over the same CG_CONNECTIONS keep-alive connections dumped, the
 * connections closed, counters zeroed again, CG_IDLE seconds idle dumped (what the process runs
 * by the clock: the monitor's and the event-loop-delay histograms' timers). Per append =
 * (appends dump − idle dump scaled to the appends' wall time) / CG_APPENDS, main thread only.
 *
 *   npm run build && node bench/metrics-callgrind.mjs
 *   CONTEXTD_DIST=.tmp/dist-base node bench/metrics-callgrind.mjs   (another build)
 *   CG_SIDES=on CG_KEEP=.tmp/cg node bench/metrics-callgrind.mjs     (keep the dumps; `<dump>.named` has JIT code named:
 *     callgrind_annotate --inclusive=yes --threshold=100 .tmp/cg/cg.<pid>.1-01.named)
 *
 * Figures from separate runs differ by a few % (JIT tiering and GC timing): compare a side with
 * itself only across runs of the same build, and on/off within one run. Prints a Markdown table.
 */
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { request, Agent } from "node:http";
import { DIST, METRICS_SERVER, ROOT, freePort, progress, table, tempDir, text } from "./lib.mjs";

const APPENDS = Number(process.env.CG_APPENDS ?? 2000);
const WARMUP = Number(process.env.CG_WARMUP ?? 5000);
const IDLE_SECONDS = Number(process.env.CG_IDLE ?? 10);
const CONNECTIONS = Number(process.env.CG_CONNECTIONS ?? 4);
const SIDES = (process.env.CG_SIDES ?? "on,off").split(",");
const dir = process.env.CG_KEEP !== undefined ? resolve(process.env.CG_KEEP) : tempDir("contextd-cg-");
mkdirSync(dir, { recursive: true });
const BODY = JSON.stringify({ events: [{ type: "message", data: { role: "user", content: text(200) } }] });

// CG_ELD_RESOLUTION=ms: every event-loop-delay histogram of the server (prom-client's and the
// monitor's, 10 ms) samples at this interval instead. Valgrind runs the server ~50× slower,
// so a 10 ms timer fires ~50× more often per request than it does natively and its code and
// data evict the request path's from the caches; ~500 ms keeps the natural ratio.
const SERVER = `
if (process.env.ELD_RESOLUTION) {
  const perf = (await import("node:perf_hooks")).default;
  const monitor = perf.monitorEventLoopDelay;
  perf.monitorEventLoopDelay = (o) => monitor({ ...o, resolution: Number(process.env.ELD_RESOLUTION) });
  (await import("node:module")).syncBuiltinESMExports();
}
${METRICS_SERVER}`;

/** Sends `n` appends through `agent` (`CONNECTIONS` keep-alive connections), `CONNECTIONS` in flight. */
async function appends(port, agent, n) {
  let left = n;
  const one = () =>
    new Promise((ok, fail) => {
      const req = request(
        { host: "127.0.0.1", port, path: "/v1/contexts/bench/events", method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(BODY) } },
        (res) => {
          res.resume();
          res.on("end", () => (res.statusCode === 201 ? ok() : fail(new Error(`status ${res.statusCode}`))));
        },
      );
      req.on("error", fail);
      req.end(BODY);
    });
  const worker = async () => {
    while (left > 0) {
      left--;
      await one();
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
}

/** The counters of a callgrind dump file (`summary:`/`totals:` against `events:`). */
function counters(file) {
  const lines = readFileSync(file, "utf8").split("\n");
  const names = lines.find((l) => l.startsWith("events:")).slice(7).trim().split(/\s+/);
  const total = lines.find((l) => l.startsWith("summary:")) ?? lines.find((l) => l.startsWith("totals:"));
  const values = total.split(":")[1].trim().split(/\s+/).map(Number);
  return Object.fromEntries(names.map((n, i) => [n, values[i] ?? 0]));
}

/** The main thread's file of dump `n` of process `pid` (thread 1 is the main thread). */
function mainThreadDump(pid, n) {
  const name = readdirSync(dir).find((f) => f === `cg.${pid}.${n}-01`);
  if (name === undefined) throw new Error(`no dump ${n} of ${pid} in ${dir}`);
  return join(dir, name);
}

/**
 * Writes `<file>.named`: the dump with JIT code named from node's /tmp/perf-<pid>.map
 * (callgrind knows it only by address), for `callgrind_annotate --inclusive=yes`.
 */
function nameJitCode(file, pid) {
  let map;
  try {
    map = readFileSync(`/tmp/perf-${pid}.map`, "utf8");
  } catch {
    return;
  }
  const ranges = [];
  for (const line of map.split("\n")) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line);
    if (m !== null) ranges.push({ start: parseInt(m[1], 16), end: parseInt(m[1], 16) + parseInt(m[2], 16), name: m[3] });
  }
  // Code is moved and reused as it is collected: the latest entry that covers an address wins.
  const nameOf = (address) => {
    for (let i = ranges.length - 1; i >= 0; i--) {
      const r = ranges[i];
      if (address >= r.start && address < r.end) return r.name.replace(/\s+/g, "_");
    }
    return undefined;
  };
  const named = readFileSync(file, "utf8").replace(/^(c?fn=\(\d+\)) 0x([0-9a-f]+)$/gm, (all, head, hex) => {
    const name = nameOf(parseInt(hex, 16));
    return name === undefined ? all : `${head} ${name}`;
  });
  writeFileSync(`${file}.named`, named);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const control = (pid, flag) => execFileSync("callgrind_control", [flag, String(pid)], { stdio: "ignore" });

async function side(metrics) {
  const port = await freePort();
  const child = spawn(
    "valgrind",
    ["--tool=callgrind", "--cache-sim=yes", "--separate-threads=yes", `--callgrind-out-file=${join(dir, "cg.%p")}`, process.execPath, "--perf-basic-prof", "--input-type=module", "-e", SERVER],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        DIST_INDEX: `file://${join(DIST, "index.js")}`,
        DIST_SERVER: `file://${join(DIST, "server", "index.js")}`,
        DB: join(dir, `cg-${metrics}-${Date.now()}.db`),
        PORT: String(port),
        METRICS: metrics,
        ELD_RESOLUTION: process.env.CG_ELD_RESOLUTION ?? "",
      },
      stdio: ["ignore", "ignore", "ignore"],
    },
  );
  try {
    const deadline = Date.now() + 300_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
      try {
        if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error("server did not start");
      await sleep(500);
    }
    await fetch(`http://127.0.0.1:${port}/v1/contexts`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ id: "bench" }) });
    progress(`${metrics}: pid ${child.pid}, ${WARMUP} appends of warm-up`);
    // The same connections for warm-up and count: closing sockets deoptimizes much of node's
    // HTTP code, and under valgrind it takes thousands of requests to be optimized again.
    const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
    await appends(port, agent, WARMUP);
    control(child.pid, "-z");
    progress(`${metrics}: ${APPENDS} appends counted`);
    let t = performance.now();
    await appends(port, agent, APPENDS);
    control(child.pid, "-d");
    const busySeconds = (performance.now() - t) / 1000;
    agent.destroy();
    await sleep(2000);
    control(child.pid, "-z");
    t = performance.now();
    await sleep(IDLE_SECONDS * 1000);
    control(child.pid, "-d");
    const idleSeconds = (performance.now() - t) / 1000;
    const busy = counters(mainThreadDump(child.pid, 1));
    const idle = counters(mainThreadDump(child.pid, 2));
    if (process.env.CG_KEEP !== undefined) nameJitCode(mainThreadDump(child.pid, 1), child.pid);
    const scale = busySeconds / idleSeconds;
    const per = (event) => (busy[event] - idle[event] * scale) / APPENDS;
    const raw = (event) => busy[event] / APPENDS;
    return { metrics, pid: child.pid, busySeconds, idleIrPerSecond: idle.Ir / idleSeconds, Ir: per("Ir"), I1mr: per("I1mr"), D1mr: per("D1mr"), D1mw: per("D1mw"), rawIr: raw("Ir"), rawI1mr: raw("I1mr"), rawD1mr: raw("D1mr") };
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r)));
  }
}

const results = [];
for (const s of SIDES) results.push(await side(s));
const k = (x) => (x / 1000).toFixed(1) + "k";
const out = [
  `Callgrind, main thread, per HTTP append (${APPENDS} appends from ${CONNECTIONS} connections after ${WARMUP} of warm-up; idle subtracted, raw in brackets); build ${DIST}:`,
  "",
  table(
    ["side", "instructions", "I1 misses", "D1 read misses", "D1 write misses", "idle instr./s", "pid"],
    results.map((r) => [r.metrics, `${k(r.Ir)} (${k(r.rawIr)})`, `${r.I1mr.toFixed(0)} (${r.rawI1mr.toFixed(0)})`, `${r.D1mr.toFixed(0)} (${r.rawD1mr.toFixed(0)})`, r.D1mw.toFixed(0), k(r.idleIrPerSecond), String(r.pid)]),
  ),
];
const on = results.find((r) => r.metrics === "on");
const off = results.find((r) => r.metrics === "off");
if (on !== undefined && off !== undefined) {
  const ratio = (a, b) => (a / b).toFixed(3);
  out.push("", `on / off: instructions ${ratio(on.Ir, off.Ir)}, I1 misses ${ratio(on.I1mr, off.I1mr)}, D1 read misses ${ratio(on.D1mr, off.D1mr)}`);
}
process.stdout.write(out.join("\n") + "\n");
