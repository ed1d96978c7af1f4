/**
 * Tools and the concurrency controller (issue 14). Prints one Markdown section to stdout,
 * which `bench/run.mjs` puts into docs/benchmarks.md.
 *
 * - controller overhead: 100,000 no-op calls through `createController` (default options,
 *   concurrency 16) against the same calls through `p-queue` alone, in interleaved rounds in
 *   one process (target ≤ 1.3× its time, on the medians);
 * - rate-limit precision and utilisation: calls against one shared limit (Redis) from 1 and
 *   from 3 processes: the most starts in any window (must be ≤ the limit), the share of the
 *   limit used, and how late calls began after their grant;
 * - a tool call's overhead (input validation + the `tool_call` and `tool_result` events)
 *   against the two raw appends it writes, on embedded SQLite.
 *
 *   npm run build && node bench/tools.mjs                      this section alone, on stdout
 *   node bench/run.mjs --only tools                            the same through the harness
 *   BENCH_OVERHEAD_RUNS=15 node --expose-gc bench/tools.mjs    more rounds of the overhead part
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { loadavg } from "node:os";
import { join } from "node:path";
import PQueue from "p-queue";
import { z } from "zod";
import { DIST, QUICK, ROOT, RUNS, compare, fmtRate, fmtRatio, importContextd, median, progress, rate, spread, table, tempDir, verdict } from "./lib.mjs";

const { openStore, createController, defineTool, callTool } = await importContextd();
const REDIS_URL = process.env.CONTEXTD_BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const out = [];
const say = (line = "") => out.push(line);
say("## Tools and concurrency — issue 14\n");

// ── controller overhead ─────────────────────────────────────────────────────────────────
const N = QUICK ? 5_000 : 100_000;
progress(`controller overhead: ${N} no-op calls`);
const noop = () => undefined;
/** Rounds of the overhead comparison: 100,000 calls take ~0.5–2 s, and the machine is noisy. */
const OVERHEAD_RUNS = Number(process.env.BENCH_OVERHEAD_RUNS ?? (QUICK ? 3 : Math.max(RUNS, 9)));
const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
/** Calls per second of one batch of N calls, by wall-clock and by this process's CPU time. */
const timeOf = async (fn) => {
  const cpu0 = cpuNow();
  const start = performance.now();
  await fn();
  const ms = performance.now() - start;
  return { wall: (N * 1000) / ms, cpu: (N * 1000) / Math.max(cpuNow() - cpu0, 0.001) };
};
const contenders = {
  "p-queue": () =>
    timeOf(async () => {
      const q = new PQueue({ concurrency: 16 });
      const all = [];
      for (let i = 0; i < N; i++) all.push(q.add(noop));
      await Promise.all(all);
    }),
  controller: () =>
    timeOf(async () => {
      const c = createController({ concurrency: 16 });
      const all = [];
      for (let i = 0; i < N; i++) all.push(c.run(noop));
      await Promise.all(all);
      await c.close();
    }),
};
await contenders["p-queue"]();
await contenders.controller(); // warm-up of both, not counted
const overhead = await compare(contenders, OVERHEAD_RUNS);
const ratio = overhead["p-queue"].median / overhead.controller.median;
const cpuRatio = overhead["p-queue"].cpuMedian / overhead.controller.cpuMedian;
const roundRatio = median(overhead.controller.runs.map((c, i) => overhead["p-queue"].runs[i] / c));
say(`### Controller overhead (${N.toLocaleString("en-US")} no-op calls, concurrency 16, median of ${OVERHEAD_RUNS} interleaved rounds)\n`);
say(
  table(
    ["contender", "calls/s", "runs", "time vs p-queue", "by CPU time"],
    [
      ["p-queue alone", fmtRate(overhead["p-queue"].median), spread(overhead["p-queue"].runs), "1.00×", "1.00×"],
      ["createController (defaults: retries 2, progress counters)", fmtRate(overhead.controller.median), spread(overhead.controller.runs), `${fmtRatio(ratio)} ${verdict(ratio <= 1.3, "≤ 1.3×")}`, fmtRatio(cpuRatio)],
    ],
  ),
);
say();
say(`Time vs p-queue is the ratio of the medians; the median of the ${OVERHEAD_RUNS} per-round ratios is ${fmtRatio(roundRatio)}. All ${N.toLocaleString("en-US")} calls are queued before the first runs, so most of the time of both is the garbage collector's work on what each queued call holds.\n`);

// ── rate-limit precision and utilisation ───────────────────────────────────────────────
const LIMIT = 20;
const WINDOW = 1000;
const PER = QUICK ? 10 : 40;
/** Runs `processes` workers against one shared limit; returns their grants and start times. */
async function shared(processes) {
  const prefix = `bench_limits_${randomBytes(4).toString("hex")}`;
  const children = Array.from({ length: processes }, () => {
    const child = spawn(process.execPath, [join(ROOT, "bench", "rate-worker.mjs"), DIST, REDIS_URL, prefix, String(PER), String(LIMIT), String(WINDOW)], { stdio: ["pipe", "pipe", "inherit"] });
    const lines = [];
    let partial = "";
    const ready = new Promise((resolve) =>
      child.stdout.setEncoding("utf8").on("data", (d) => {
        const parts = (partial + d).split("\n");
        partial = parts.pop();
        for (const l of parts) {
          if (l === "ready") resolve();
          else lines.push(l);
        }
      }),
    );
    const exited = new Promise((resolve) => child.on("close", resolve));
    return { child, lines, ready, exited };
  });
  await Promise.all(children.map((c) => c.ready));
  for (const c of children) c.child.stdin.write("go\n");
  await Promise.all(children.map((c) => c.exited));
  const starts = children.flatMap((c) => c.lines.filter((l) => l.startsWith("start ")).map((l) => l.split(" ").slice(1).map(Number)));
  const granted = starts.map(([g]) => g).sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < granted.length; i++) {
    while (granted[i] - granted[j] >= WINDOW) j++;
    most = Math.max(most, i - j + 1);
  }
  const first = granted[0];
  const full = Math.floor((granted.at(-1) - first) / WINDOW);
  let used = 0;
  for (const g of granted) if (g < first + full * WINDOW) used++;
  const late = starts.map(([g, b]) => b - g).sort((a, b) => a - b);
  return { calls: granted.length, most, used: used / (full * LIMIT), p50: late[late.length >> 1], p99: late[Math.floor(late.length * 0.99)] };
}
progress("rate limits: 1 and 3 processes on Redis");
const rows = [];
for (const processes of [1, 3]) {
  const r = await shared(processes);
  rows.push([String(processes), String(r.calls), `${r.most} ${verdict(r.most <= LIMIT, `≤ ${LIMIT}`)}`, `${(r.used * 100).toFixed(1)} % ${verdict(r.used >= 0.95, "≥ 95 %")}`, `${r.p50.toFixed(1)} / ${r.p99.toFixed(1)} ms`]);
}
say(`### Rate-limit precision and utilisation (limit ${LIMIT} per ${WINDOW} ms, shared through Redis, ${PER} calls per process)\n`);
say(table(["processes", "calls", "most starts in any window (by grant)", "limit used (whole windows)", "start after grant p50 / p99"], rows));
say();
say("A start is counted at its grant (the limiter's decision, on Redis's clock); the call begins when its timer fires, the lateness in the last column.\n");

// ── tool call overhead ──────────────────────────────────────────────────────────────────
progress("tool call overhead on SQLite");
const dir = tempDir();
const store = await openStore(`sqlite:${join(dir, "tools.db")}`);
const ctx = await store.createContext({});
const weather = defineTool({ name: "weather", description: "weather of a city", input: z.object({ city: z.string(), days: z.number().int().optional() }), run: ({ city }) => ({ city, sky: "clear", temperature: 21 }) });
const target = { store, contextId: ctx.id };
let n = 0;
const tools = await compare({
  "two raw appends": () =>
    rate(async () => {
      const id = `c${n++}`;
      await store.append(ctx.id, { type: "tool_call", data: { id, name: "weather", arguments: { city: "Paris" } } });
      await store.append(ctx.id, { type: "tool_result", data: { toolCallId: id, name: "weather", outcome: "ok", attempts: 1, durationMs: 0, output: { city: "Paris", sky: "clear", temperature: 21 } } });
    }),
  callTool: () => rate(() => callTool(target, weather, { city: "Paris" })),
});
await store.close();
const toolRatio = tools["two raw appends"].median / tools.callTool.median;
say(`### A tool call against the two appends it writes (embedded SQLite, median of ${RUNS})\n`);
say(
  table(
    ["contender", "calls/s", "runs", "time vs raw"],
    [
      ["two raw appends", fmtRate(tools["two raw appends"].median), spread(tools["two raw appends"].runs), "1.00×"],
      ["callTool (validation, timeout, two events)", fmtRate(tools.callTool.median), spread(tools.callTool.runs), fmtRatio(toolRatio)],
    ],
  ),
);
say();
say(`Load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(", ")}. Reproduce: \`npm run build && node bench/tools.mjs\` (the Redis of \`.ci/run\` at 127.0.0.1:6379, or \`CONTEXTD_BENCH_REDIS_URL\`), or \`node bench/run.mjs --only tools\`.`);
console.log(out.join("\n"));
process.exit(0);
