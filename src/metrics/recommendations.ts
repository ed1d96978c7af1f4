/**
 * Recommendations from the monitor's figures, each with the reason that triggered it, so an
 * operator can judge it: a write-ahead log that keeps growing, a low cache hit rate, appends
 * whose p99 is far above their p50, errors, a blocked event loop, a pool with waiting queries.
 */
import type { MonitorReport, OperationFigures, Recommendation, ResourceFigures } from "./monitor-types.js";


const MIB = 1024 * 1024;

/** The recommendations the figures support (none when there is too little data to say). */
export function recommend(f: { operations: OperationFigures[]; cache: MonitorReport["cache"]; resources: ResourceFigures[] }): Recommendation[] {
  const out: Recommendation[] = [];
  const wal = f.resources.map((r) => r.walBytes).filter((b): b is number => b !== null);
  if (wal.length >= 3) {
    const growing = wal.every((b, i) => i === 0 || b >= (wal[i - 1] as number));
    const last = wal.at(-1) as number;
    if (growing && last > 64 * MIB && last > (wal[0] as number)) {
      out.push({
        code: "WAL_GROWING",
        severity: "warning",
        reason: `the SQLite write-ahead log grew in every window, from ${((wal[0] as number) / MIB).toFixed(1)} to ${(last / MIB).toFixed(1)} MiB`,
        action: "a long-lived reader (an open read transaction, a backup) keeps checkpoints from resetting the log: end it, or run `PRAGMA wal_checkpoint(TRUNCATE)` when idle",
      });
    }
  }
  const c = f.cache;
  if (c !== null && c.hitRate !== null && c.hits + c.misses >= 100 && c.hitRate < 0.5) {
    out.push({
      code: "LOW_CACHE_HIT_RATE",
      severity: "info",
      reason: `the Redis tier served ${(c.hitRate * 100).toFixed(0)} % of ${c.hits + c.misses + c.fallbacks} head reads`,
      action: "reads spread over many contexts, or entries expire before reuse: raise the cache ttlMs, or drop the tier if most reads are single",
    });
  }
  if (c !== null && c.fallbacks > 0) {
    out.push({
      code: "CACHE_FALLING_BACK",
      severity: "warning",
      reason: `${c.fallbacks} head reads fell back to the database because Redis was unavailable`,
      action: "check Redis (reachable, not out of memory); contextd keeps working without it and resumes using it by itself",
    });
  }
  for (const o of f.operations) {
    if (o.layer !== "store") continue;
    if (o.operation === "append" && o.count >= 100 && o.p99 > 10 * o.p50 && o.p99 > 0.005) {
      out.push({
        code: "APPEND_TAIL_LATENCY",
        severity: "warning",
        reason: `append p99 ${(o.p99 * 1000).toFixed(1)} ms is ${(o.p99 / o.p50).toFixed(0)}× its p50 ${(o.p50 * 1000).toFixed(2)} ms over ${o.count} appends`,
        action: "appends wait on something now and then: lock contention on hot contexts (SQLite busy waits, PostgreSQL row locks), checkpoints or GC; spread writers over contexts, or move a shared SQLite file to PostgreSQL",
      });
    }
    if (o.count >= 50 && o.errorRate > 0.05) {
      out.push({
        code: "ERRORS",
        severity: "warning",
        reason: `${(o.errorRate * 100).toFixed(0)} % of ${o.count} ${o.operation} calls failed`,
        action: "see contextd_store_errors_total by code: VERSION_CONFLICT means writers race on one context, DRIVER_UNAVAILABLE a backend outage, NOT_FOUND callers using stale ids",
      });
    }
  }
  const loop = f.resources.map((r) => r.eventLoopDelayP99);
  if (loop.length > 0 && Math.max(...loop) > 0.1) {
    out.push({
      code: "EVENT_LOOP_BLOCKED",
      severity: "warning",
      reason: `the event loop was delayed up to ${(Math.max(...loop) * 1000).toFixed(0)} ms (p99 of a window)`,
      action: "something runs synchronously for long: large exports or imports, huge states, a CPU-bound embedder in the main thread",
    });
  }
  const waiting = f.resources.map((r) => r.poolWaiting ?? 0);
  if (waiting.some((w) => w > 0)) {
    out.push({
      code: "POOL_SATURATED",
      severity: "info",
      reason: `up to ${Math.max(...waiting)} queries waited for a PostgreSQL connection`,
      action: "raise poolSize (within the server's max_connections), or add nodes",
    });
  }
  return out;
}
