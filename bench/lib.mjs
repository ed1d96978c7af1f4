/**
 * Shared helpers of the benchmark scripts: where the built package is, temp dirs, timing
 * loops, medians of several runs, ratio formatting, RSS, and Markdown tables.
 *
 * Every script under bench/ is a plain ESM file run by `node`; it prints one Markdown
 * section to stdout (progress goes to stderr) and `bench/run.mjs` assembles them.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The repository root. */
export const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));

/**
 * The directory of the built package: `$CONTEXTD_DIST` (set by `bench/run.mjs --dist DIR`
 * when `dist/` cannot be rebuilt) or `dist/`.
 */
export const DIST = resolve(ROOT, process.env.CONTEXTD_DIST ?? "dist");

/** Imports the built package (`dist/index.js`), the same entry users get. */
export function importContextd() {
  return import(pathToFileURL(join(DIST, "index.js")).href);
}

/** Imports a module of the built package by its path under `dist/` (e.g. `drivers/sqlite/driver.js`). */
export function importDist(path) {
  return import(pathToFileURL(join(DIST, path)).href);
}

/** `BENCH_QUICK=1` shrinks every workload, for a smoke run of the harness (figures are then meaningless). */
export const QUICK = process.env.BENCH_QUICK === "1";

/** Runs per measurement (medians are reported). */
export const RUNS = QUICK ? 3 : Number(process.env.BENCH_RUNS ?? 5);

/** A fresh temp dir; `cleanup()` removes every dir made here (also on exit). */
const made = [];
export function tempDir(prefix = "contextd-bench-") {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
export function cleanup() {
  while (made.length > 0) rmSync(made.pop(), { recursive: true, force: true });
}
process.on("exit", cleanup);
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}

/** Logs progress to stderr (stdout is the Markdown section). */
export function progress(...parts) {
  process.stderr.write(`[bench] ${parts.join(" ")}\n`);
}

/** CPU time (user + system) of this process so far, in ms. */
function cpuMs() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * A measured rate: `wall` = ops per second of elapsed time (what a user sees), `cpu` = ops
 * per CPU-second of this process (less sensitive to other processes on a shared machine;
 * time spent waiting for the disk is not counted).
 * @typedef {{ wall: number, cpu: number }} Rate
 */

/**
 * Rate of `op` (sync or async), run back to back for at least `ms` milliseconds and at
 * least `minOps` times. `opsPerCall` counts units per call (e.g. 1000 events per batch).
 * @returns {Promise<Rate>}
 */
export async function rate(op, { ms = 400, minOps = 20, opsPerCall = 1, warmup = 5 } = {}) {
  for (let i = 0; i < warmup; i++) await op(i);
  let calls = 0;
  const cpu0 = cpuMs();
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms || calls < minOps) {
    await op(calls);
    calls++;
    elapsed = performance.now() - start;
  }
  const units = calls * opsPerCall * 1000;
  return { wall: units / elapsed, cpu: units / Math.max(cpuMs() - cpu0, 0.001) };
}

/** Rate of exactly `n` calls of `op` (for fixed workloads such as "2000 steps"). @returns {Promise<Rate>} */
export async function rateOfN(op, n, opsPerCall = 1) {
  const cpu0 = cpuMs();
  const start = performance.now();
  for (let i = 0; i < n; i++) await op(i);
  const units = n * opsPerCall * 1000;
  return { wall: units / (performance.now() - start), cpu: units / Math.max(cpuMs() - cpu0, 0.001) };
}

/** The median of numbers. */
export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Measures several contenders in interleaved rounds (A B, B A, A B…: the order flips every
 * round) so that drift of the machine (other processes, WAL growth, JIT, GC) and any
 * first-in-round effect hit all of them alike.
 * `contenders` maps a name to `async (round) => Rate`. Returns name →
 * `{ median, runs, cpuMedian, cpuRuns }` (median/runs: wall-clock rates).
 */
export async function compare(contenders, runs = RUNS) {
  const results = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
  const entries = Object.entries(contenders);
  for (let r = 0; r < runs; r++) {
    for (const [name, fn] of r % 2 === 0 ? entries : [...entries].reverse()) {
      if (typeof globalThis.gc === "function") globalThis.gc();
      results[name].push(await fn(r));
    }
  }
  return Object.fromEntries(
    Object.entries(results).map(([k, v]) => {
      const wall = v.map((x) => x.wall);
      const cpu = v.map((x) => x.cpu);
      return [k, { median: median(wall), runs: wall, cpuMedian: median(cpu), cpuRuns: cpu }];
    }),
  );
}

/** `12,345` (ops/s) with sensible precision. */
export function fmtRate(n) {
  if (n >= 100) return Math.round(n).toLocaleString("en-US");
  if (n >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

/** `0.83×`. */
export function fmtRatio(r) {
  return `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`;
}

/** Megabytes with one decimal. */
export function fmtMB(bytes) {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** ✓ or ✗ with the target, e.g. `✓ (≥ 0.7×)`. */
export function verdict(ok, target) {
  return `${ok ? "✓" : "✗"} (${target})`;
}

/** The spread of runs, e.g. `min 1,200 – max 1,350`. */
export function spread(runs) {
  return `${fmtRate(Math.min(...runs))}–${fmtRate(Math.max(...runs))}`;
}

/** A Markdown table. */
export function table(header, rows) {
  const line = (cells) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** Resident set size now, and the peak so far (kernel's maxRSS), in bytes. */
export function rss() {
  return { now: process.memoryUsage.rss(), peak: process.resourceUsage().maxRSS * 1024 };
}

/** A deterministic ~`size`-byte ASCII string (no randomness: runs are comparable). */
export function text(size, seed = 0) {
  const words = ["context", "agent", "tool", "state", "model", "token", "memory", "plan", "step", "result", "user", "reply"];
  let s = "";
  let i = seed;
  while (s.length < size) s += `${words[i++ % words.length]} `;
  return s.slice(0, size);
}

/** A free TCP port on loopback (for a server child the bench starts). */
export function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * The body of a `contextd serve` child for the metrics benches (`node --input-type=module -e`):
 * a SQLite store at `DB` served on `PORT`, metrics on when `METRICS=on`, else off on the store
 * and the server; `DIST_INDEX` and `DIST_SERVER` are the build's entry files as URLs.
 */
export const METRICS_SERVER = `
const { openStore } = await import(process.env.DIST_INDEX);
const { serve } = await import(process.env.DIST_SERVER);
const { pino } = await import("pino");
const on = process.env.METRICS === "on";
const store = await openStore("sqlite:" + process.env.DB, { embedder: null, ...(on ? {} : { metrics: false }) });
await serve({ store, port: Number(process.env.PORT), logger: pino({ level: "silent" }), handleSignals: true, ...(on ? {} : { metrics: false }) });
`;
