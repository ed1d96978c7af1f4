/**
 * `openStore` and `createStore`: the engine on a driver (picked from a store URL, or given),
 * wrapped by the agent layer. Drivers load with dynamic `import()`, so better-sqlite3, pg
 * and redis are needed only when used.
 */
import { join } from "node:path";
import { ContextError, invalidInput } from "./errors.js";
import { contextStore } from "./agent/store.js";
import type { ContextStore, MetricFamily } from "./agent/types.js";
import { createCoreStore } from "./core/store.js";
import type { StoreOptions } from "./core/engine.js";
import type { Driver } from "./drivers/driver.js";
import { inMemoryDriver } from "./drivers/in-memory/driver.js";
import { circuitBreaker } from "./drivers/circuit-breaker.js";
import type { CircuitOptions } from "./core/circuit.js";
import { defaultEmbedder } from "./embeddings/index.js";
import type { MetricsOptions, StoreMetrics } from "./metrics/index.js";

/** Options of {@link createStore}. */
export interface CreateStoreOptions extends StoreOptions {
  /**
   * Metrics and tracing: on by default (a registry of the store's own, see
   * {@link storeMetrics}); `{ registry }` registers them in the application's prom-client
   * registry instead; `{ driverCalls: true }` also times each call of the storage driver;
   * `false` turns metrics and spans off.
   * @default true
   */
  metrics?: boolean | MetricsOptions;
}

/** The metrics of each store made by {@link createStore} (views share their root's). */
const metricsOfStore = new WeakMap<ContextStore, StoreMetrics>();

/**
 * The metrics of a store made by `openStore` / `createStore` (its prom-client `registry`, and
 * `onSample` for every timed operation), or `undefined` for a store opened with
 * `metrics: false`, a tenant view or an HTTP client.
 * @example
 * ```ts
 * const store = await openStore("in-memory:");
 * const text = await storeMetrics(store)?.registry.metrics();
 * ```
 */
export function storeMetrics(store: ContextStore): StoreMetrics | undefined {
  return metricsOfStore.get(store);
}

/** Options of {@link openStore}. */
export interface OpenStoreOptions extends CreateStoreOptions {
  /** A store URL: `in-memory:`, `sqlite:./path.db`, `sqlite::memory:`, `postgres://…[?cache=redis://…]`. */
  url?: string;
  /** A driver made by the caller (takes precedence over `url`). */
  driver?: Driver;
  /** Where the default SQLite file lives. @default "./.contextd" */
  dataDir?: string;
  /** SQLite durability: NORMAL survives a process crash, FULL also a power loss. @default "NORMAL" */
  synchronous?: "NORMAL" | "FULL";
  /**
   * Create a missing SQLite store (the file and its directory). `false` (for tools that only
   * read): a missing file is `NOT_FOUND` naming the path, and nothing is created.
   * @default true
   */
  create?: boolean;
  /**
   * The circuit breakers of a PostgreSQL store (in front of PostgreSQL, and the Redis tier's
   * open time); `false` for none. A breaker makes calls fail fast with `DRIVER_UNAVAILABLE`
   * after `failureThreshold` failures in a row and probes after `openMs` (docs/deploy.md).
   * @default { failureThreshold: 5, openMs: 5000, maxOpenMs: 60000 }
   */
  circuit?: CircuitOptions | false;
}

/** The SQLite file `openStore()` uses when given no URL. */
export function defaultStorePath(dataDir = "./.contextd"): string {
  return join(dataDir, "contextd.db");
}

async function load<T>(what: string, importer: () => Promise<T>, install: string): Promise<T> {
  try {
    return await importer();
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ERR_MODULE_NOT_FOUND") {
      throw new ContextError("DRIVER_UNAVAILABLE", `the ${what} driver needs ${install}: run \`npm install ${install}\``, { cause: e });
    }
    throw e;
  }
}

/** Makes the driver a store URL names. */
export async function driverFromUrl(url: string, options: Pick<OpenStoreOptions, "synchronous" | "create" | "circuit"> = {}): Promise<Driver> {
  if (typeof url !== "string" || url.length === 0) throw invalidInput("url", "must be a store URL such as sqlite:./data.db");
  // `memory:` is the name this URL had before long-term memory existed; it still works.
  if (url === "in-memory:" || url === "in-memory:" || url === "memory://") return inMemoryDriver();
  if (url.startsWith("sqlite:")) {
    const [rest = "", query = ""] = url.slice("sqlite:".length).replace(/^\/\//, "").split("?", 2);
    const params = new URLSearchParams(query);
    const synchronous = (params.get("synchronous")?.toUpperCase() ?? options.synchronous ?? "NORMAL") as "NORMAL" | "FULL";
    if (synchronous !== "NORMAL" && synchronous !== "FULL") throw invalidInput("url", "synchronous must be NORMAL or FULL");
    if (rest.length === 0) throw invalidInput("url", "sqlite: needs a path, e.g. sqlite:./data.db or sqlite::memory:");
    const { sqliteDriver } = await import("./drivers/sqlite/driver.js");
    return sqliteDriver({ path: rest, synchronous, ...(options.create === false && { create: false }) });
  }
  if (url.startsWith("postgres://") || url.startsWith("postgresql://")) {
    const parsed = new URL(url);
    const cache = parsed.searchParams.get("cache");
    const schema = parsed.searchParams.get("schema");
    parsed.searchParams.delete("cache");
    parsed.searchParams.delete("schema");
    const { postgresDriver } = await load("postgres", () => import("./drivers/postgres/driver.js"), "pg");
    const pg = postgresDriver({ connectionString: parsed.toString(), ...(schema !== null && { schema }) });
    const inner = options.circuit === false ? pg : circuitBreaker(pg, { ...options.circuit, name: "postgres" });
    if (cache === null) return inner;
    if (!cache.startsWith("redis://") && !cache.startsWith("rediss://")) throw invalidInput("url", "cache must be a redis:// URL");
    const { redisCache } = await load("redis", () => import("./drivers/redis/cache.js"), "redis");
    return redisCache(inner, { url: cache });
  }
  throw invalidInput("url", `unknown store URL ${JSON.stringify(url.slice(0, 40))} (use in-memory:, sqlite:PATH or postgres://…)`);
}

/**
 * Opens a store: the embedded SQLite default under `./.contextd/`, or the one a URL names.
 * @example
 * ```ts
 * await using store = await openStore("sqlite:./agent.db");
 * const ctx = await store.createContext({ kind: "chat" });
 * ```
 * @throws `STORE_INCOMPATIBLE` / `CORRUPT` for a file that is not a usable contextd database
 * @throws `NOT_FOUND` for a missing SQLite file when `create` is `false`
 */
export async function openStore(target?: string | OpenStoreOptions, options: CreateStoreOptions = {}): Promise<ContextStore> {
  const o: OpenStoreOptions = typeof target === "string" ? { ...options, url: target } : { ...options, ...target };
  const { url, driver, dataDir, synchronous, create, circuit, ...storeOptions } = o;
  const d =
    driver ??
    (await driverFromUrl(url ?? `sqlite:${defaultStorePath(dataDir)}`, {
      ...(synchronous !== undefined && { synchronous }),
      ...(create !== undefined && { create }),
      ...(circuit !== undefined && { circuit }),
    }));
  return createStore(d, storeOptions);
}

/**
 * Opens `driver` and returns a store on it (the engine with the agent layer). Without an
 * `embedder` option the store uses the process's shared Universal Sentence Encoder
 * ({@link defaultEmbedder}), which loads on the first embedding, not here; `embedder: null`
 * gives a store without one (text search only).
 * @throws what `driver.open()` throws (`DRIVER_UNAVAILABLE`, `CORRUPT`, `STORE_INCOMPATIBLE`)
 * @example
 * ```ts
 * const store = await createStore(inMemoryDriver());
 * const ctx = await store.createContext({ kind: "chat", state: { turns: 0 } });
 * ```
 */
export async function createStore(driver: Driver, options: CreateStoreOptions = {}): Promise<ContextStore> {
  const { metrics: metricsOption = true, ...storeOptions } = options;
  const embedder = storeOptions.embedder === undefined ? defaultEmbedder() : storeOptions.embedder;
  if (metricsOption === false) return contextStore(await createCoreStore(driver, { ...storeOptions, embedder }));
  const m = await import("./metrics/index.js");
  const metrics = m.createStoreMetrics(metricsOption === true ? {} : metricsOption);
  metrics.attach(driver);
  const core = await createCoreStore(metrics.driverCalls ? m.meteredDriver(driver, metrics) : driver, {
    ...storeOptions,
    embedder: embedder === null ? null : m.meteredEmbedder(embedder, metrics),
  });
  const store = contextStore(m.meteredStore(core, metrics), {
    metrics: async () => (await metrics.registry.getMetricsAsJSON()) as unknown as MetricFamily[],
  });
  metricsOfStore.set(store, metrics);
  return store;
}
