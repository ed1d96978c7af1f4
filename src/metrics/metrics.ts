/**
 * The store's metrics: one prom-client registry per store (never prom-client's global one, so
 * two stores in one process, or a store inside an application with its own metrics, never
 * collide), the instruments the metered tiers record into, and the gauges read from the
 * driver's `stats()` on each scrape.
 *
 * Naming follows Prometheus conventions: one `contextd_` prefix, base units (seconds, bytes),
 * `_total` only on counters, and no label whose values grow with the data (no context ids,
 * tenants or keys). Model names come from the application's `model_usage` events; past
 * {@link MAX_MODEL_SERIES} distinct (provider, model) pairs the rest count as `other`.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Driver, DriverStats } from "../drivers/driver.js";
import { ContextError } from "../errors.js";
import { FastHistogram } from "./fast-histogram.js";
import type { HistogramSeries } from "./fast-histogram.js";
import { createTimingTable } from "./timings.js";
import type { OperationLayer, OperationSample, OperationTimings } from "./timings.js";

export type { OperationLayer, OperationSample, OperationTimings } from "./timings.js";

/** Durations of store operations and driver calls: 50 µs to 10 s. */
export const OPERATION_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];
/** Distinct (provider, model) label pairs kept; more count as `other`. */
export const MAX_MODEL_SERIES = 100;

/** How a store's metrics are made (`openStore({ metrics })`). */
export interface MetricsOptions {
  /**
   * Register into this registry (the application's own) instead of a new one. Its metric
   * names must not already include contextd's.
   */
  registry?: Registry;
  /**
   * Also time every call of the storage driver (`commit`, `readHead`, …):
   * `contextd_driver_call_duration_seconds` and the performance monitor's `driver` layer. Off
   * by default: store operations are timed by operation, driver and outcome either way, and
   * this tier costs about as much per operation again (a wrapper, two clock reads and a promise
   * per driver call); turn it on to see the backend's share of an operation apart.
   * @default false
   */
  driverCalls?: boolean;
}

/** The instruments of one store, recorded into by the metered tiers. */
export interface StoreMetrics {
  readonly registry: Registry;
  /** Whether driver calls are timed ({@link MetricsOptions.driverCalls}). */
  readonly driverCalls: boolean;
  /** Times one store operation (`outcome` is `ok` or the error's code). */
  operation(operation: string, outcome: string, seconds: number): void;
  /** Times one driver call. */
  driverCall(call: string, outcome: string, seconds: number): void;
  /**
   * `operation(op, "ok", seconds)` bound once: the hot path of a tier records a success with
   * no label lookup at all.
   */
  operationOk(operation: string): (seconds: number) => void;
  /** `driverCall(call, "ok", seconds)` bound once. */
  driverCallOk(call: string): (seconds: number) => void;
  /** Times one search (`kind`: events or memories). */
  search(kind: "events" | "memories", mode: string, outcome: string, seconds: number): void;
  /** Times one call of the embedding model. */
  embedding(model: string, texts: number, outcome: string, seconds: number): void;
  appended(events: number): void;
  stateWrite(): void;
  lease(result: "acquired" | "renewed" | "released" | "lost" | "timed_out"): void;
  watchers(delta: 1 | -1): void;
  model(provider: string, model: string, inputTokens: number, outputTokens: number, costUsd: number | undefined): void;
  /** The driver whose `stats()` the gauges read (set once the store is open). */
  attach(driver: Driver): void;
  /** The driver's stats right now (`{}` without a driver or stats). */
  driverStats(): DriverStats;
  /**
   * The running totals of `operation` in `layer` (count, errors, fine latency histogram),
   * made on first use: a tier binds them once and records into them (the server's HTTP layer
   * does); the performance monitor reads them at its own interval.
   */
  timings(layer: OperationLayer, operation: string): OperationTimings;
  /** Every (layer, operation) timed so far. */
  allTimings(): Iterable<OperationTimings>;
  /**
   * Keeps the running totals counting until the returned release is called (the performance
   * monitor holds them while it runs; without a holder they stay as they are).
   */
  keepTimings(): () => void;
  /** Hears every timed operation (an application's own listener); returns the unsubscribe. */
  onSample(listener: (sample: OperationSample) => void): () => void;
  /** Records one sample in the running totals and passes it to the listeners. */
  emit(sample: OperationSample): void;
}

/** The outcome label of an error: its `code` when it has a string one, else `INTERNAL`. */
export function outcomeOf(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[A-Z_]{1,40}$/.test(code) ? code : "INTERNAL";
}

/** Makes the metrics of one store. */
export function createStoreMetrics(options: MetricsOptions = {}): StoreMetrics {
  const registry = options.registry ?? new Registry();
  try {
    return instruments(registry, options.driverCalls === true);
  } catch (e) {
    throw new ContextError("INVALID_INPUT", `metrics.registry: ${e instanceof Error ? e.message : String(e)} (one registry per store)`, {
      cause: e,
      details: { field: "metrics.registry" },
    });
  }
}

/**
 * A recorder of successes bound to one operation's success series and running totals. The
 * series is made on the first success, not here: an operation never called exports no series.
 */
function okRecorder(makeSeries: () => HistogramSeries, totals: OperationTimings): (seconds: number) => void {
  let series: HistogramSeries | undefined;
  return (seconds) => {
    (series ??= makeSeries()).observe(seconds);
    totals.observe(seconds, "ok");
  };
}

function instruments(registry: Registry, timeDriverCalls: boolean): StoreMetrics {
  const registers = [registry];
  let driver: Driver | undefined;
  let driverName = "unknown";
  const stats = (): DriverStats => {
    try {
      return driver?.stats?.() ?? {};
    } catch {
      return {};
    }
  };

  const operations = new FastHistogram({
    name: "contextd_store_operation_duration_seconds",
    help: "Store API operations (append, patchState, readEvents, …) by operation, driver and outcome (ok or the error code).",
    buckets: OPERATION_BUCKETS,
    registers,
  });
  // Exported only when driver calls are timed: no empty family otherwise.
  const driverCalls = new FastHistogram({
    name: "contextd_driver_call_duration_seconds",
    help: "Calls of the storage driver (commit, readHead, …) by call, driver and outcome.",
    buckets: OPERATION_BUCKETS,
    registers: timeDriverCalls ? registers : [],
  });
  const errors = new Counter({
    name: "contextd_store_errors_total",
    help: "Store operations that failed, by error code.",
    labelNames: ["code"],
    registers,
  });
  const conflicts = new Counter({
    name: "contextd_version_conflicts_total",
    help: "Writes refused because expectedVersion was stale (VERSION_CONFLICT).",
    registers,
  });
  const leases = new Counter({
    name: "contextd_leases_total",
    help: "Lease transitions: acquired, renewed, released, lost (LEASE_LOST) and timed_out (a waiting acquire gave up).",
    labelNames: ["result"],
    registers,
  });
  // Plain numbers on the hot path, read when scraped.
  let appended = 0;
  let written = 0;
  new Counter({
    name: "contextd_appended_events_total",
    help: "Events appended (by append and with state writes).",
    registers,
    collect() {
      this.reset();
      this.inc(appended);
    },
  });
  new Counter({
    name: "contextd_state_writes_total",
    help: "State writes (replace, patch, set, remove, restore).",
    registers,
    collect() {
      this.reset();
      this.inc(written);
    },
  });
  const watchers = new Gauge({ name: "contextd_watchers", help: "Open watch iterators of this store.", registers });
  const searches = new Histogram({
    name: "contextd_search_duration_seconds",
    help: "Searches of the history (events) and of long-term memory, by mode and outcome.",
    labelNames: ["kind", "mode", "outcome"],
    buckets: OPERATION_BUCKETS,
    registers,
  });
  const embeddings = new Histogram({
    name: "contextd_embedding_duration_seconds",
    help: "Calls of the embedding model, by model and outcome.",
    labelNames: ["model", "outcome"],
    buckets: OPERATION_BUCKETS,
    registers,
  });
  const embeddedTexts = new Counter({ name: "contextd_embedded_texts_total", help: "Texts given to the embedding model.", labelNames: ["model"], registers });
  const modelTokens = new Counter({
    name: "contextd_model_tokens_total",
    help: "Tokens of model calls recorded as model_usage events, by provider, model and direction (input, output).",
    labelNames: ["provider", "model", "direction"],
    registers,
  });
  const modelCost = new Counter({
    name: "contextd_model_cost_usd_total",
    help: "Cost in US dollars of model calls recorded as model_usage events (given, or from the price table).",
    labelNames: ["provider", "model"],
    registers,
  });
  const modelCalls = new Counter({
    name: "contextd_model_calls_total",
    help: "Model calls recorded as model_usage events.",
    labelNames: ["provider", "model"],
    registers,
  });

  // Gauges read from the driver's stats() on each scrape, registered for the backends the
  // driver has (a gauge without labels would otherwise show a misleading 0).
  const driverGauges = (name: string): void => {
    if (name.endsWith("+redis")) {
      new Counter({
        name: "contextd_cache_reads_total",
        help: "Reads of context heads by the Redis tier: hit, miss, or fallback (Redis unavailable: read from the database).",
        labelNames: ["result"],
        registers,
        collect() {
          const c = stats().cache;
          this.reset();
          if (c === undefined) return;
          this.inc({ result: "hit" }, c.hits);
          this.inc({ result: "miss" }, c.misses);
          this.inc({ result: "fallback" }, c.fallbacks);
        },
      });
      new Gauge({
        name: "contextd_cache_up",
        help: "1 while the Redis tier is in use, 0 while it falls back to the database.",
        registers,
        collect() {
          const c = stats().cache;
          this.reset();
          if (c !== undefined) this.set(c.up ? 1 : 0);
        },
      });
    }
    if (name.startsWith("postgres")) {
      const poolGauge = (metricName: string, help: string, pick: (p: NonNullable<DriverStats["pool"]>) => number) =>
        new Gauge({
          name: metricName,
          help,
          registers,
          collect() {
            const p = stats().pool;
            this.reset();
            if (p !== undefined) this.set(pick(p));
          },
        });
      poolGauge("contextd_postgres_pool_connections", "Connections of the PostgreSQL pool (idle and in use).", (p) => p.total);
      poolGauge("contextd_postgres_pool_idle_connections", "Idle connections of the PostgreSQL pool.", (p) => p.idle);
      poolGauge("contextd_postgres_pool_waiting_clients", "Queries waiting for a connection of the PostgreSQL pool.", (p) => p.waiting);
      poolGauge("contextd_postgres_pool_max_connections", "The PostgreSQL pool's size limit.", (p) => p.max);
    }
    if (name.startsWith("sqlite")) {
      new Counter({
        name: "contextd_sqlite_lock_waits_total",
        help: "Writes that waited for SQLite's write lock held by another connection (BEGIN IMMEDIATE took 1 ms or more).",
        registers,
        collect() {
          this.reset();
          this.inc(stats().locks?.waits ?? 0);
        },
      });
      new Counter({
        name: "contextd_sqlite_lock_wait_seconds_total",
        help: "Seconds writes waited for SQLite's write lock held by another connection.",
        registers,
        collect() {
          this.reset();
          this.inc(stats().locks?.waitSeconds ?? 0);
        },
      });
      new Gauge({
        name: "contextd_sqlite_file_size_bytes",
        help: "Size of the SQLite database file and of its write-ahead log.",
        labelNames: ["file"],
        registers,
        collect() {
          const f = stats().files;
          this.reset();
          if (f === undefined) return;
          this.set({ file: "database" }, f.databaseBytes);
          this.set({ file: "wal" }, f.walBytes);
        },
      });
    }
  };

  // Children bound once per label set: the hot path does no label hashing of its own.
  const opChildren = new Map<string, HistogramSeries>();
  const callChildren = new Map<string, HistogramSeries>();
  const models = new Set<string>();
  const table = createTimingTable();
  return {
    registry,
    driverCalls: timeDriverCalls,
    operation(operation, outcome, seconds) {
      const key = `${operation}\u0000${outcome}`;
      let child = opChildren.get(key);
      if (child === undefined) {
        child = operations.series({ operation, driver: driverName, outcome });
        opChildren.set(key, child);
      }
      child.observe(seconds);
      if (outcome !== "ok") {
        errors.inc({ code: outcome });
        if (outcome === "VERSION_CONFLICT") conflicts.inc();
        if (outcome === "LEASE_LOST") leases.inc({ result: "lost" });
      }
      table.of("store", operation).observe(seconds, outcome);
    },
    driverCall(call, outcome, seconds) {
      const key = `${call}\u0000${outcome}`;
      let child = callChildren.get(key);
      if (child === undefined) {
        child = driverCalls.series({ call, driver: driverName, outcome });
        callChildren.set(key, child);
      }
      child.observe(seconds);
      table.of("driver", call).observe(seconds, outcome);
    },
    operationOk: (operation) => okRecorder(() => operations.series({ operation, driver: driverName, outcome: "ok" }), table.of("store", operation)),
    driverCallOk: (call) => okRecorder(() => driverCalls.series({ call, driver: driverName, outcome: "ok" }), table.of("driver", call)),
    search(kind, mode, outcome, seconds) {
      searches.observe({ kind, mode, outcome }, seconds);
    },
    embedding(model, texts, outcome, seconds) {
      embeddings.observe({ model, outcome }, seconds);
      embeddedTexts.inc({ model }, texts);
      table.of("embedding", "embed").observe(seconds, outcome);
    },
    appended(events) {
      appended += events;
    },
    stateWrite() {
      written++;
    },
    lease(result) {
      leases.inc({ result });
    },
    watchers(delta) {
      watchers.inc(delta);
    },
    model(provider, model, inputTokens, outputTokens, costUsd) {
      const key = `${provider}\u0000${model}`;
      if (!models.has(key)) {
        if (models.size >= MAX_MODEL_SERIES) {
          provider = "other";
          model = "other";
        } else models.add(key);
      }
      modelCalls.inc({ provider, model });
      if (inputTokens > 0) modelTokens.inc({ provider, model, direction: "input" }, inputTokens);
      if (outputTokens > 0) modelTokens.inc({ provider, model, direction: "output" }, outputTokens);
      if (costUsd !== undefined && costUsd > 0) modelCost.inc({ provider, model }, costUsd);
    },
    attach(d) {
      if (driver !== undefined) return;
      driver = d;
      driverName = d.name;
      driverGauges(d.name);
    },
    driverStats: stats,
    timings: (layer, operation) => table.of(layer, operation),
    allTimings: () => table.all(),
    keepTimings: () => table.keep(),
    onSample: (listener) => table.onSample(listener),
    emit(sample) {
      table.of(sample.layer, sample.operation).observe(sample.seconds, sample.outcome);
    },
  };
}
