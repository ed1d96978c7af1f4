/**
 * Outage and recovery against the real services: the store's PostgreSQL connections are
 * terminated (`pg_terminate_backend`) and then PostgreSQL and Redis are made unreachable
 * (through TCP proxies only this store uses). Calls fail with typed errors meanwhile and work
 * again by themselves; no acknowledged write is lost; a watcher that resumes from its last
 * sequence number sees every event once, in order.
 */
import { randomBytes } from "node:crypto";
import { afterAll, expect, it } from "vitest";
import { createStore } from "../src/open.js";
import type { ContextStore } from "../src/agent/types.js";
import type { ContextEvent } from "../src/core/types.js";
import { postgresDriver } from "../src/drivers/postgres/driver.js";
import { redisCache } from "../src/drivers/redis/cache.js";
import { inMemoryDriver } from "../src/drivers/in-memory/driver.js";
import { isContextError } from "../src/errors.js";
import {
  adminQuery,
  describeWithServices,
  dropRedisPrefix,
  dropSchema,
  PG_URL,
  probePostgres,
  probeRedis,
  randomSchema,
  REDIS_URL,
} from "./services.js";
import { startTcpProxy } from "./tcp-proxy.js";
import type { TcpProxy } from "./tcp-proxy.js";

const reasons = [await probePostgres(), await probeRedis()];
const leftovers = new Set<string>();
afterAll(async () => {
  for (const s of leftovers) await dropSchema(s).catch(() => undefined);
});

/** Retries `call` until it succeeds; every failure meanwhile must be DRIVER_UNAVAILABLE. */
async function untilRecovered<T>(call: () => Promise<T>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await call();
    } catch (e) {
      if (!isContextError(e, "DRIVER_UNAVAILABLE")) throw e;
      if (Date.now() > deadline) throw new Error(`${what} did not recover within ${timeoutMs} ms`, { cause: e });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function proxiedUrl(base: string, proxy: TcpProxy): string {
  const u = new URL(base);
  u.hostname = "127.0.0.1";
  u.port = String(proxy.port);
  return u.toString();
}

describeWithServices("outage recovery (PostgreSQL + Redis)", reasons, () => {
  it("fails with DRIVER_UNAVAILABLE during outages and recovers without a restart, losing no acknowledged write", async () => {
    const pgTarget = new URL(PG_URL);
    const redisTarget = new URL(REDIS_URL);
    const pgProxy = await startTcpProxy(pgTarget.hostname, Number(pgTarget.port || 5432));
    const redisProxy = await startTcpProxy(redisTarget.hostname, Number(redisTarget.port || 6379));
    const schema = randomSchema("cdo");
    leftovers.add(schema);
    const app = `contextd-outage-${randomBytes(4).toString("hex")}`;
    const warnings: string[] = [];
    const store = await createStore(
      redisCache(
        postgresDriver({ connectionString: proxiedUrl(PG_URL, pgProxy), schema, poolSize: 4, applicationName: app, connectionTimeoutMs: 1000 }),
        { url: proxiedUrl(REDIS_URL, redisProxy), prefix: schema, probeIntervalMs: 100, logger: { warn: (m) => void warnings.push(m) } },
      ),
    );
    // A second node with direct connections keeps writing through the outage of the first.
    const other = await createStore(postgresDriver({ connectionString: PG_URL, schema, poolSize: 2 }));
    const acknowledged: number[] = [];
    const controller = new AbortController();
    const seen: ContextEvent[] = [];
    try {
      const ctx = await store.createContext({ state: { n: 0 } });
      const write = async (s: ContextStore, i: number) => {
        const [e] = await s.append(ctx.id, { type: "message", data: { i } });
        if (e !== undefined) acknowledged.push(i);
      };
      let total = 0;
      // A watcher that, like an application, resumes from the last sequence number it saw
      // when a read fails with DRIVER_UNAVAILABLE during the outage.
      const watcher = (async () => {
        let last = 0;
        while (!controller.signal.aborted) {
          try {
            for await (const e of store.watch(ctx.id, { afterSeq: last, signal: controller.signal })) {
              seen.push(e);
              last = e.seq;
              if (seen.length === total && total > 0) return;
            }
            return;
          } catch (e) {
            if (!isContextError(e, "DRIVER_UNAVAILABLE")) throw e;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      })();
      let i = 0;
      for (; i < 5; i++) await write(store, i);

      // 1. Every connection of the store is terminated by the server.
      await adminQuery(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '${app}'`);
      await untilRecovered(() => write(store, i), "a write after pg_terminate_backend");
      i++;

      // 2. PostgreSQL and Redis both unreachable for this store.
      pgProxy.cut();
      redisProxy.cut();
      for (const call of [
        () => store.getState(ctx.id),
        () => store.append(ctx.id, { type: "lost?" }),
        () => store.replaceState(ctx.id, { n: -1 }),
      ]) {
        const started = Date.now();
        const err = await call().then(
          () => null,
          (e: unknown) => e,
        );
        expect(isContextError(err, "DRIVER_UNAVAILABLE")).toBe(true);
        expect((err as Error).cause).toBeDefined();
        // A guard against hanging, not a speed claim: the connect timeout is 1 s.
        expect(Date.now() - started).toBeLessThan(8000);
      }
      // The other node keeps working meanwhile.
      for (let k = 0; k < 3; k++, i++) await write(other, i);

      // 3. Both come back: the store recovers by itself.
      pgProxy.restore();
      redisProxy.restore();
      await untilRecovered(() => write(store, i), "a write after the outage");
      i++;
      for (; i < 15; i++) await write(i % 2 === 0 ? store : other, i);

      const events = (await store.readEvents(ctx.id, { limit: 1000 })).items;
      expect(events.map((e) => e.seq)).toEqual(events.map((_, k) => k + 1));
      const written = events.filter((e) => e.type === "message").map((e) => (e.data as { i: number }).i);
      for (const a of acknowledged) expect(written).toContain(a);
      expect(written).toHaveLength(acknowledged.length);
      expect(warnings).toHaveLength(1);

      // The watcher lived through it and saw every event once, in order.
      total = events.length;
      if (seen.length < total) {
        const guard = setTimeout(() => controller.abort(), 10_000);
        await watcher;
        clearTimeout(guard);
      } else {
        controller.abort();
        await watcher;
      }
      expect(seen.map((e) => e.seq)).toEqual(events.map((e) => e.seq));
    } finally {
      controller.abort();
      await store.close();
      await other.close();
      await pgProxy.close();
      await redisProxy.close();
      await dropSchema(schema);
      await dropRedisPrefix(schema);
    }
  });
});

describeWithServices("closing while Redis is cut off", [await probeRedis()], () => {
  // Without a bound, a graceful close waits for the replies of the commands still queued on
  // the connection, which a partitioned Redis never sends: shutdown hung for ever.
  for (const outage of ["freeze", "cut"] as const) {
    it(`close() returns while Redis stays unreachable (${outage === "freeze" ? "a partition: the connection open, nothing answers" : "connections dropped and refused"})`, async () => {
      const target = new URL(REDIS_URL);
      const proxy = await startTcpProxy(target.hostname, Number(target.port || 6379));
      const prefix = randomSchema("cdc");
      const warnings: string[] = [];
      const store = await createStore(
        redisCache(inMemoryDriver(), { url: proxiedUrl(REDIS_URL, proxy), prefix, probeIntervalMs: 100, logger: { warn: (m) => void warnings.push(m) } }),
        { embedder: null },
      );
      try {
        const ctx = await store.createContext({ state: { n: 1 } });
        expect((await store.getState(ctx.id)).state).toEqual({ n: 1 });
        proxy[outage]();
        // The read waits on Redis, which does not answer; the tier notices, marks it down and
        // answers from the store — with the command still queued on the Redis connection.
        expect((await store.getState(ctx.id)).state).toEqual({ n: 1 });
        expect(warnings).toHaveLength(1);
        // Still unreachable: close() must not wait for Redis.
        await store.close();
        const after = await store.getState(ctx.id).catch((e: unknown) => e);
        expect(isContextError(after, "CLOSED")).toBe(true);
      } finally {
        await store.close();
        proxy.restore();
        await proxy.close();
        await dropRedisPrefix(prefix);
      }
    });
  }
});
