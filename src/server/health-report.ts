/**
 * The health report: checks by category (system, memory, storage, backends, performance,
 * configuration, security), each with a status, a score, what was seen and how to fix it, and
 * an overall score. JSON at `GET /v1/health/report` (admin scope); a self-contained HTML page
 * (health-html.ts) from `contextd doctor --html FILE`, with the trend against the baseline and
 * the previous report (health-history.ts).
 */
import { statfsSync } from "node:fs";
import { dirname } from "node:path";
import { cpus, loadavg, totalmem } from "node:os";
import { getHeapStatistics } from "node:v8";
import { storeMetrics } from "../index.js";
import type { CircuitSnapshot, ContextStore, Monitor } from "../index.js";
import type { ServerLimits } from "./limits.js";

export type HealthCategory = "system" | "memory" | "storage" | "backends" | "performance" | "configuration" | "security";
export const HEALTH_CATEGORIES: readonly HealthCategory[] = ["system", "memory", "storage", "backends", "performance", "configuration", "security"];

/** One check. `score`: 100 pass, 60 warn, 0 fail. */
export interface HealthCheck {
  category: HealthCategory;
  name: string;
  status: "pass" | "warn" | "fail";
  score: number;
  details: string;
  fix: string | null;
}

/** The report. */
export interface HealthReport {
  at: string;
  /** The mean of the checks' scores, 0–100. */
  score: number;
  /** The worst check's status. */
  status: "pass" | "warn" | "fail";
  categories: { category: HealthCategory; score: number; status: "pass" | "warn" | "fail" }[];
  checks: HealthCheck[];
}

/** What the report looks at besides the store. */
export interface HealthReportOptions {
  store: ContextStore;
  monitor?: Monitor | undefined;
  limits?: ServerLimits | undefined;
  /** Whether the server requires API keys (undefined: not a server). */
  auth?: boolean | undefined;
}

const SCORE = { pass: 100, warn: 60, fail: 0 } as const;
const MIB = 1024 * 1024;

function check(category: HealthCategory, name: string, status: HealthCheck["status"], details: string, fix: string | null = null): HealthCheck {
  return { category, name, status, score: SCORE[status], details, fix: status === "pass" ? null : fix };
}

const worst = (s: readonly HealthCheck["status"][]): HealthCheck["status"] => (s.includes("fail") ? "fail" : s.includes("warn") ? "warn" : "pass");

/** Runs every check (one `store.health()` round trip; the rest is local). */
export async function healthReport(o: HealthReportOptions): Promise<HealthReport> {
  const checks: HealthCheck[] = [];
  // system
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  checks.push(
    major > 20 || (major === 20 && minor >= 19)
      ? check("system", "node", "pass", `Node ${process.versions.node} on ${process.platform}/${process.arch}`)
      : check("system", "node", "fail", `Node ${process.versions.node} is older than 20.19`, "install Node 20.19 or newer"),
  );
  const perCore = (loadavg()[0] ?? 0) / Math.max(1, cpus().length);
  checks.push(
    check(
      "system",
      "load",
      // Never a failure by itself: a busy machine is slower, not broken.
      perCore > 1.5 ? "warn" : "pass",
      `load average ${(loadavg()[0] ?? 0).toFixed(2)} on ${cpus().length} cores (${perCore.toFixed(2)} per core)`,
      "the machine is busier than its cores: move other work away or add cores; latencies rise with the queue",
    ),
  );
  // memory
  const rss = process.memoryUsage.rss();
  const rssShare = rss / totalmem();
  checks.push(
    check("memory", "rss", rssShare > 0.9 ? "fail" : rssShare > 0.7 ? "warn" : "pass", `RSS ${(rss / MIB).toFixed(0)} MiB, ${(rssShare * 100).toFixed(0)} % of ${(totalmem() / MIB).toFixed(0)} MiB`, "the process uses most of the machine's memory: look for huge states or windows, or give it more memory"),
  );
  const heap = getHeapStatistics();
  const heapShare = heap.used_heap_size / heap.heap_size_limit;
  checks.push(
    check("memory", "heap", heapShare > 0.9 ? "fail" : heapShare > 0.7 ? "warn" : "pass", `heap ${(heap.used_heap_size / MIB).toFixed(0)} of ${(heap.heap_size_limit / MIB).toFixed(0)} MiB (${(heapShare * 100).toFixed(0)} %)`, "near the heap limit: raise --max-old-space-size, or find what holds memory (a heap snapshot)"),
  );
  // backends and storage
  let healthOk = false;
  let details: Record<string, unknown> = {};
  let embedderCircuit: CircuitSnapshot | undefined;
  let embedderModel = "";
  try {
    const h = await o.store.health({ signal: AbortSignal.timeout(5000) });
    healthOk = h.ok;
    details = h.details;
    embedderCircuit = h.embedder?.circuit;
    embedderModel = h.embedder?.model ?? "";
    checks.push(
      !h.ok
        ? check("backends", "database", "fail", `${h.driver} does not answer`, "start the database or fix the store URL; calls fail with DRIVER_UNAVAILABLE meanwhile")
        : check("backends", "database", h.latencyMs > 100 ? "warn" : "pass", `${h.driver} answers in ${h.latencyMs.toFixed(1)} ms`, "a round trip over 100 ms: the database is far, busy or swapping"),
    );
  } catch (e) {
    checks.push(check("backends", "database", "fail", `the store does not answer: ${e instanceof Error ? e.message : String(e)}`, "start the database or fix the store URL"));
  }
  if (embedderCircuit !== undefined) {
    const c = embedderCircuit;
    checks.push(
      check(
        "backends",
        "embedder",
        c.state === "open" ? "fail" : c.state === "half-open" ? "warn" : "pass",
        c.state === "closed"
          ? `embedding model ${embedderModel}: circuit closed (${c.counters.opened} openings so far)`
          : `embedding model ${embedderModel}: circuit ${c.state} after ${c.failures} failures in a row${c.lastError === null ? "" : ` (${c.lastError})`}` +
              (c.nextProbeAt === null ? "" : `; next probe at ${new Date(c.nextProbeAt).toISOString()}`),
        "memory writes and searches by meaning fail with EMBEDDING_FAILED meanwhile: check the embedding service (its URL, key, quota); the circuit closes by itself when a probe succeeds",
      ),
    );
  }
  const stats = storeMetrics(o.store)?.driverStats() ?? {};
  const cache = details["cache"] as { up?: boolean } | undefined;
  if (stats.cache !== undefined || cache !== undefined) {
    const up = stats.cache?.up ?? cache?.up === true;
    checks.push(check("backends", "redis", up ? "pass" : "warn", up ? "the Redis tier is in use" : "Redis is unavailable: reads and writes go to the database", "start Redis or fix ?cache=; contextd resumes using it by itself"));
  }
  if (stats.pool !== undefined) {
    const p = stats.pool;
    checks.push(check("backends", "pool", p.waiting > 0 ? "warn" : "pass", `PostgreSQL pool: ${p.total} of ${p.max} connections, ${p.idle} idle, ${p.waiting} waiting`, "queries wait for connections: raise poolSize or add nodes"));
  }
  if (stats.files !== undefined) {
    const f = stats.files;
    checks.push(check("storage", "wal", f.walBytes > 256 * MIB ? "warn" : "pass", `database ${(f.databaseBytes / MIB).toFixed(1)} MiB, write-ahead log ${(f.walBytes / MIB).toFixed(1)} MiB`, "the WAL is large: a long-lived reader blocks checkpoints; end it or run PRAGMA wal_checkpoint(TRUNCATE) when idle"));
    try {
      const fs = statfsSync(dirname(f.path));
      const free = (fs.bavail * fs.bsize) / Math.max(1, fs.blocks * fs.bsize);
      checks.push(check("storage", "disk", free < 0.02 ? "fail" : free < 0.1 ? "warn" : "pass", `${((fs.bavail * fs.bsize) / MIB / 1024).toFixed(1)} GiB free (${(free * 100).toFixed(0)} %) where the database lives`, "free disk space: writes fail when the disk is full (SQLITE_FULL)"));
    } catch {
      // statfs is not available everywhere.
    }
  }
  const sync = details["synchronousLevel"];
  if (typeof sync === "number") {
    checks.push(check("storage", "durability", "pass", sync >= 2 ? "synchronous=FULL: commits survive a power loss" : "synchronous=NORMAL: commits survive a process crash, the last ones may be lost on power loss"));
  }
  if (!healthOk && checks.every((c) => c.category !== "storage")) checks.push(check("storage", "store", "fail", "the store is unavailable", "see backends"));
  // performance
  if (o.monitor !== undefined) {
    const r = o.monitor.report({ lastMs: 5 * 60_000 });
    const store = r.operations.filter((x) => x.layer === "store");
    const count = store.reduce((n, x) => n + x.count, 0);
    const errors = store.reduce((n, x) => n + x.errors, 0);
    const rate = count === 0 ? 0 : errors / count;
    checks.push(check("performance", "errors", rate > 0.25 ? "fail" : rate > 0.05 ? "warn" : "pass", `${errors} of ${count} store operations failed in the last 5 minutes`, "see contextd_store_errors_total by code"));
    const append = store.find((x) => x.operation === "append");
    if (append !== undefined) {
      checks.push(check("performance", "append latency", append.p99 > 0.1 ? "warn" : "pass", `append p50 ${(append.p50 * 1000).toFixed(2)} ms, p99 ${(append.p99 * 1000).toFixed(2)} ms over ${append.count}`, "appends are slow: see the monitor's recommendations (contention, checkpoints, GC)"));
    }
    const loop = Math.max(0, ...r.resources.map((x) => x.eventLoopDelayP99));
    checks.push(check("performance", "event loop", loop > 0.1 ? "warn" : "pass", `event-loop delay p99 up to ${(loop * 1000).toFixed(1)} ms`, "something blocks the event loop: large imports/exports, huge states"));
    const firing = r.alerts.filter((a) => a.state === "firing");
    checks.push(check("performance", "alerts", firing.some((a) => a.rule.severity === "critical") ? "fail" : firing.length > 0 ? "warn" : "pass", firing.length === 0 ? `no alert firing (${r.alerts.length} rules)` : `firing: ${firing.map((a) => a.rule.name).join(", ")}`, "see GET /v1/alerts"));
  }
  // configuration and security (a server's)
  if (o.limits !== undefined) {
    const l = o.limits;
    checks.push(check("configuration", "request deadline", l.requestTimeoutMs > 0 && l.requestTimeoutMs <= 120_000 ? "pass" : "warn", `requests time out after ${l.requestTimeoutMs} ms`, "set --timeout to a deadline clients can wait for (≤ 2 min)"));
    checks.push(check("configuration", "body limit", l.maxBodyBytes <= 64 * MIB ? "pass" : "warn", `bodies up to ${(l.maxBodyBytes / MIB).toFixed(1)} MiB`, "a body limit above 64 MiB lets one request take much memory: lower --max-body"));
    checks.push(check("configuration", "rate limit", l.rateLimit ? "pass" : "warn", l.rateLimit ? `${l.rateLimit.perSecond} requests/s per key` : "no rate limit", "set --rate-limit so one client cannot starve the others"));
  }
  if (o.auth !== undefined) {
    checks.push(check("security", "api keys", o.auth ? "pass" : "warn", o.auth ? "every request needs an API key" : "no API keys: open to anyone on this machine (loopback only)", "create keys (contextd keys create) before exposing the server"));
  }
  const categories = HEALTH_CATEGORIES.map((category) => {
    const cs = checks.filter((c) => c.category === category);
    return cs.length === 0 ? null : { category, score: Math.round(cs.reduce((n, c) => n + c.score, 0) / cs.length), status: worst(cs.map((c) => c.status)) };
  }).filter((c): c is HealthReport["categories"][number] => c !== null);
  return {
    at: new Date().toISOString(),
    score: Math.round(checks.reduce((n, c) => n + c.score, 0) / Math.max(1, checks.length)),
    status: worst(checks.map((c) => c.status)),
    categories,
    checks,
  };
}
