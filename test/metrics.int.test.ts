/**
 * The backend figures of the metrics against the real services: the Redis tier's hits,
 * misses and fall-backs (Redis made unreachable through a TCP proxy only this store uses),
 * and the PostgreSQL pool.
 */
import { afterAll, expect, it } from "vitest";
import { createStore, storeMetrics } from "../src/open.js";
import { callbackSink } from "../src/metrics/alerts.js";
import { createMonitor } from "../src/metrics/monitor.js";
import type { AlertEvent } from "../src/metrics/monitor-types.js";
import { postgresDriver } from "../src/drivers/postgres/driver.js";
import { redisCache } from "../src/drivers/redis/cache.js";
import { describeWithServices, dropRedisPrefix, dropSchema, PG_URL, probePostgres, probeRedis, randomSchema, REDIS_URL } from "./services.js";
import { startTcpProxy } from "./tcp-proxy.js";

const reasons = [await probePostgres(), await probeRedis()];
const leftovers = new Set<string>();
afterAll(async () => {
  for (const s of leftovers) {
    await dropSchema(s).catch(() => undefined);
    await dropRedisPrefix(s).catch(() => undefined);
  }
});

/** PostgreSQL under the Redis tier, with Redis reached through a TCP proxy only this store uses. */
async function proxiedStore(o: { poolSize: number; probeIntervalMs: number }) {
  const redisTarget = new URL(REDIS_URL);
  const proxy = await startTcpProxy(redisTarget.hostname, Number(redisTarget.port || 6379));
  const schema = randomSchema("cdm");
  leftovers.add(schema);
  const url = new URL(REDIS_URL);
  url.hostname = "127.0.0.1";
  url.port = String(proxy.port);
  const store = await createStore(
    redisCache(postgresDriver({ connectionString: PG_URL, schema, poolSize: o.poolSize }), {
      url: url.toString(),
      prefix: schema,
      probeIntervalMs: o.probeIntervalMs,
      logger: { warn: () => undefined },
    }),
    { embedder: null },
  );
  return { proxy, store };
}

/** Waits (at most 10 s) until the store's Redis tier reports Redis up again. */
async function untilCacheUp(store: Awaited<ReturnType<typeof createStore>>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (storeMetrics(store)?.driverStats().cache?.up !== true && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

/** One series of Prometheus text, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describeWithServices("metrics of PostgreSQL and the Redis tier", reasons, () => {
  it("counts cache hits and misses, falls back (and says so) while Redis is unreachable, and shows the pool", async () => {
    const { proxy, store } = await proxiedStore({ poolSize: 3, probeIntervalMs: 100 });
    try {
      const text = () => (storeMetrics(store)?.registry.metrics() ?? Promise.resolve(""));
      const ctx = await store.createContext({ state: { n: 0 } });
      await store.getState(ctx.id);
      await store.getState(ctx.id);
      let t = await text();
      expect(sample(t, 'contextd_cache_reads_total{result="hit"}')).toBeGreaterThanOrEqual(1);
      expect(sample(t, "contextd_cache_up")).toBe(1);
      expect(sample(t, "contextd_postgres_pool_max_connections")).toBe(3);
      expect(sample(t, "contextd_postgres_pool_connections")).toBeGreaterThanOrEqual(1);
      expect(sample(t, "contextd_postgres_pool_waiting_clients")).toBe(0);
      const fallbacks = sample(t, 'contextd_cache_reads_total{result="fallback"}') ?? 0;

      proxy.cut();
      // Every read is still answered (from PostgreSQL) and counted as a fall-back.
      expect((await store.getState(ctx.id)).state).toEqual({ n: 0 });
      expect((await store.getState(ctx.id)).state).toEqual({ n: 0 });
      t = await text();
      expect(sample(t, 'contextd_cache_reads_total{result="fallback"}')).toBeGreaterThanOrEqual(fallbacks + 2);
      expect(sample(t, "contextd_cache_up")).toBe(0);
    } finally {
      // Closing while the Redis client is still reconnecting was seen to hang now and then
      // (node-redis close() waiting on a command of the dead socket): wait until it is back.
      proxy.restore();
      await untilCacheUp(store);
      await store.close();
      await proxy.close();
    }
  });

  it("a stopped Redis fires the cache fall-back alert once, and it resolves once when Redis is back", async () => {
    const { proxy, store } = await proxiedStore({ poolSize: 2, probeIntervalMs: 50 });
    const clock = { t: 0 };
    const events: AlertEvent[] = [];
    const metrics = storeMetrics(store)!;
    const monitor = createMonitor(metrics, {
      manual: true,
      now: () => clock.t,
      windowMs: 10_000,
      rules: [{ name: "redis down", metric: "cache_fallback_rate", op: ">", threshold: 0.5, clear: 0.1, windowMs: 10_000, severity: "critical" }],
      sinks: [callbackSink((e) => void events.push(e))],
    });
    const tick = () => {
      clock.t += 10_000;
      return monitor.tick();
    };
    try {
      const ctx = await store.createContext({ state: { n: 0 } });
      const reads = async (n: number) => {
        for (let i = 0; i < n; i++) await store.getState(ctx.id);
      };
      await reads(5);
      expect(await tick()).toEqual([]);
      proxy.cut();
      await reads(5);
      expect((await tick()).map((e) => e.state)).toEqual(["firing"]);
      await reads(5);
      expect(await tick()).toEqual([]);
      proxy.restore();
      await untilCacheUp(store);
      await reads(5);
      expect((await tick()).map((e) => e.state)).toEqual(["resolved"]);
      expect(events.map((e) => e.state)).toEqual(["firing", "resolved"]);
    } finally {
      monitor.close();
      proxy.restore();
      await untilCacheUp(store);
      await store.close();
      await proxy.close();
    }
  });
});
