/**
 * The performance monitor: rolling windows of what the metered tiers time (per operation:
 * count, errors, latency percentiles), the Redis tier's reads, and the process's resources
 * (RSS, heap, CPU, event-loop delay, database files), kept for a configurable time; alert
 * rules evaluated on each window, firing and resolving once each with hysteresis; and
 * recommendations with their reasons.
 *
 * Time moves by {@link Monitor.tick}: a timer calls it every `windowMs`, or a test calls it
 * itself with a fake clock (`manual: true`, `now`) — no sleeps.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { IntervalHistogram } from "node:perf_hooks";
import { ContextError } from "../errors.js";
import type { OperationSample, OperationTimings, StoreMetrics } from "./metrics.js";
import { checkRules, evaluateRules } from "./alerts.js";
import type { AlertEvent, AlertRule, AlertSink, AlertState, MonitorReport, OperationFigures, ResourceFigures } from "./monitor-types.js";
import { recommend } from "./recommendations.js";
import { LATENCY_BASE as LAT_BASE, LATENCY_BUCKETS as LAT_BUCKETS, LATENCY_RATIO as LAT_RATIO } from "./timings.js";

/** Options of {@link createMonitor}. */
export interface MonitorOptions {
  /** Width of one window. @default 10000 */
  windowMs?: number;
  /** How long windows are kept. @default 3600000 (1 h) */
  retentionMs?: number;
  /** Alert rules (see {@link AlertRule}). */
  rules?: readonly AlertRule[];
  /** Where alert transitions go (firing, resolved). */
  sinks?: readonly AlertSink[];
  /** The clock. @default Date.now */
  now?: () => number;
  /** Don't start a timer: the caller calls `tick()` (tests, or an application's own scheduler). */
  manual?: boolean;
}


interface Cell {
  count: number;
  errors: number;
  latency: Uint32Array;
}

interface Window {
  start: number;
  end: number;
  cells: Map<string, Cell>;
  cache: { hits: number; misses: number; fallbacks: number } | null;
  resources: ResourceFigures | null;
}

/** See the module docs. */
export interface Monitor {
  /** Closes the current window: samples resources, evaluates the rules, drops expired windows. */
  tick(): Promise<AlertEvent[]>;
  /** Figures over the last `lastMs` (default: everything kept). */
  report(options?: { lastMs?: number }): MonitorReport;
  /** The same as CSV: one row per window and operation. */
  csv(options?: { lastMs?: number }): string;
  /** Every rule's state (inactive, pending, firing) and its last value. */
  alerts(): AlertState[];
  /** Stops the timer and the listeners; safe to call twice. */
  close(): void;
}

function quantile(latency: Uint32Array, count: number, q: number): number {
  if (count === 0) return 0;
  const rank = Math.ceil(q * count);
  let seen = 0;
  for (let i = 0; i < latency.length; i++) {
    seen += latency[i] as number;
    if (seen >= rank) return LAT_BASE * LAT_RATIO ** i;
  }
  return LAT_BASE * LAT_RATIO ** (latency.length - 1);
}

/** Adds up the cells of `windows` per operation. */
export function figuresOf(windows: readonly Window[]): OperationFigures[] {
  const merged = new Map<string, Cell>();
  for (const w of windows) {
    for (const [key, c] of w.cells) {
      let m = merged.get(key);
      if (m === undefined) merged.set(key, (m = { count: 0, errors: 0, latency: new Uint32Array(LAT_BUCKETS) }));
      m.count += c.count;
      m.errors += c.errors;
      for (let i = 0; i < LAT_BUCKETS; i++) (m.latency[i] as number) += c.latency[i] as number;
    }
  }
  const first = windows[0];
  const last = windows.at(-1);
  const seconds = first === undefined || last === undefined ? 1 : Math.max(0.001, (last.end - first.start) / 1000);
  return [...merged].map(([key, c]) => {
    const [layer, operation] = key.split("\u0000") as [OperationSample["layer"], string];
    return {
      layer,
      operation,
      count: c.count,
      errors: c.errors,
      errorRate: c.count === 0 ? 0 : c.errors / c.count,
      throughput: c.count / seconds,
      p50: quantile(c.latency, c.count, 0.5),
      p95: quantile(c.latency, c.count, 0.95),
      p99: quantile(c.latency, c.count, 0.99),
    };
  });
}

/**
 * Starts a monitor on a store's metrics (`storeMetrics(store)`).
 * @throws `INVALID_INPUT` for a window or retention that is not a positive number of ms, or a bad rule
 * @example
 * ```ts
 * const monitor = createMonitor(storeMetrics(store)!, {
 *   rules: [{ name: "slow appends", metric: "p99_seconds", labels: { operation: "append" }, op: ">", threshold: 0.05, forMs: 60_000, severity: "warning" }],
 *   sinks: [callbackSink((e) => console.log(e.state, e.rule.name))],
 * });
 * ```
 */
export function createMonitor(metrics: StoreMetrics, options: MonitorOptions = {}): Monitor {
  const windowMs = options.windowMs ?? 10_000;
  const retentionMs = options.retentionMs ?? 3_600_000;
  for (const [field, v] of [["windowMs", windowMs], ["retentionMs", retentionMs]] as const) {
    if (!Number.isFinite(v) || v <= 0) throw new ContextError("INVALID_INPUT", `${field}: must be a positive number of milliseconds`, { details: { field } });
  }
  const now = options.now ?? Date.now;
  const rules = options.rules ?? [];
  checkRules(rules);
  const sinks = options.sinks ?? [];
  const states = new Map<string, AlertState>();
  const windows: Window[] = [];
  let current: Window = { start: now(), end: now(), cells: new Map(), cache: null, resources: null };
  let lastCache = metrics.driverStats().cache;
  let lastCpu = process.cpuUsage();
  let lastCpuAt = performance.now();
  let loop: IntervalHistogram | undefined;
  try {
    loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
  } catch {
    loop = undefined;
  }

  // What the tiers had counted at the last read: a window is the difference (the tiers keep
  // running totals, so timing an operation costs the monitor nothing).
  const seen = new Map<OperationTimings, Cell>();
  const read = (into: Map<string, Cell>): void => {
    for (const t of metrics.allTimings()) {
      let last = seen.get(t);
      if (last === undefined) seen.set(t, (last = { count: 0, errors: 0, latency: new Uint32Array(LAT_BUCKETS) }));
      if (t.count === last.count) continue;
      const latency = new Uint32Array(LAT_BUCKETS);
      for (let i = 0; i < LAT_BUCKETS; i++) {
        latency[i] = (t.latency[i] as number) - (last.latency[i] as number);
        last.latency[i] = t.latency[i] as number;
      }
      into.set(`${t.layer}\u0000${t.operation}`, { count: t.count - last.count, errors: t.errors - last.errors, latency });
      last.count = t.count;
      last.errors = t.errors;
    }
  };
  // Operations before the monitor started are not its to report.
  const release = metrics.keepTimings();
  read(new Map());

  const sampleResources = (): ResourceFigures => {
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    const at = performance.now();
    const cpuSeconds = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1e6;
    const wall = Math.max(0.001, (at - lastCpuAt) / 1000);
    lastCpu = cpu;
    lastCpuAt = at;
    const stats = metrics.driverStats();
    const delay = loop === undefined ? 0 : loop.percentile(99) / 1e9;
    loop?.reset();
    return {
      at: new Date(now()).toISOString(),
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      heapTotalBytes: mem.heapTotal,
      cpu: cpuSeconds / wall,
      eventLoopDelayP99: delay,
      databaseBytes: stats.files?.databaseBytes ?? null,
      walBytes: stats.files?.walBytes ?? null,
      poolWaiting: stats.pool?.waiting ?? null,
    };
  };

  const within = (lastMs: number | undefined): Window[] => {
    if (lastMs === undefined) return windows;
    const from = now() - lastMs;
    return windows.filter((w) => w.end > from);
  };

  const cacheOf = (ws: readonly Window[]): MonitorReport["cache"] => {
    if (lastCache === undefined) return null;
    const t = { hits: 0, misses: 0, fallbacks: 0 };
    for (const w of ws) {
      if (w.cache === null) continue;
      t.hits += w.cache.hits;
      t.misses += w.cache.misses;
      t.fallbacks += w.cache.fallbacks;
    }
    const reads = t.hits + t.misses + t.fallbacks;
    return { ...t, hitRate: reads === 0 ? null : t.hits / reads };
  };

  const monitor: Monitor = {
    async tick() {
      const end = now();
      current.end = end;
      const cache = metrics.driverStats().cache;
      if (cache !== undefined) {
        const before = lastCache ?? { hits: 0, misses: 0, fallbacks: 0 };
        current.cache = { hits: cache.hits - before.hits, misses: cache.misses - before.misses, fallbacks: cache.fallbacks - before.fallbacks };
        lastCache = cache;
      }
      read(current.cells);
      current.resources = sampleResources();
      windows.push(current);
      current = { start: end, end, cells: new Map(), cache: null, resources: null };
      while (windows.length > 0 && (windows[0] as Window).end <= end - retentionMs) windows.shift();
      const events = evaluateRules(rules, states, end, (lastMs) => {
        const ws = within(lastMs);
        return { operations: figuresOf(ws), cache: cacheOf(ws), resources: ws.at(-1)?.resources ?? null };
      });
      for (const e of events) {
        for (const sink of sinks) {
          try {
            await sink.send(e);
          } catch {
            // A sink's failure is its own (the webhook sink retries and then gives up).
          }
        }
      }
      return events;
    },
    report(o = {}) {
      const ws = within(o.lastMs);
      const operations = figuresOf(ws);
      const resources = ws.map((w) => w.resources).filter((r): r is ResourceFigures => r !== null);
      const cache = cacheOf(ws);
      return {
        from: new Date(ws[0]?.start ?? now()).toISOString(),
        to: new Date(ws.at(-1)?.end ?? now()).toISOString(),
        windowMs,
        retentionMs,
        operations,
        cache,
        resources,
        alerts: monitor.alerts(),
        recommendations: recommend({ operations, cache, resources }),
      };
    },
    csv(o = {}) {
      const rows = ["window_start,window_end,layer,operation,count,errors,error_rate,throughput_per_s,p50_s,p95_s,p99_s"];
      for (const w of within(o.lastMs)) {
        for (const f of figuresOf([w])) {
          const op = /[",\n]/.test(f.operation) ? `"${f.operation.replaceAll('"', '""')}"` : f.operation;
          rows.push(
            [new Date(w.start).toISOString(), new Date(w.end).toISOString(), f.layer, op, f.count, f.errors, f.errorRate, f.throughput, f.p50, f.p95, f.p99]
              .map((v) => (typeof v === "number" ? String(Number(v.toPrecision(6))) : v))
              .join(","),
          );
        }
      }
      return `${rows.join("\n")}\n`;
    },
    alerts() {
      return rules.map((r) => states.get(r.name) ?? { rule: r, state: "inactive" as const, value: null, since: null });
    },
    close() {
      release();
      if (timer !== undefined) clearInterval(timer);
      loop?.disable();
    },
  };
  const timer = options.manual === true ? undefined : setInterval(() => void monitor.tick(), windowMs);
  timer?.unref();
  return monitor;
}
