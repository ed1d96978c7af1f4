/**
 * The circuit breakers against the real services, made unreachable through TCP proxies only
 * this store uses: PostgreSQL's breaker opens after its threshold and then fails calls without
 * reaching the database (no connection attempt at the proxy), probes after its open time and
 * closes by itself once PostgreSQL is back; the Redis tier's circuit opens at the first
 * failure (reads go on from PostgreSQL), probes and closes when Redis is back. Every
 * transition is reported and health shows the circuits.
 */
import { randomBytes } from "node:crypto";
import { afterAll, expect, it } from "vitest";
import { createStore } from "../src/open.js";
import type { CircuitTransition } from "../src/core/circuit.js";
import { circuitBreaker } from "../src/drivers/circuit-breaker.js";
import { postgresDriver } from "../src/drivers/postgres/driver.js";
import { redisCache } from "../src/drivers/redis/cache.js";
import { type ContextError, isContextError } from "../src/errors.js";
import { describeWithServices, dropRedisPrefix, dropSchema, PG_URL, probePostgres, probeRedis, randomSchema, REDIS_URL } from "./services.js";
import { startTcpProxy } from "./tcp-proxy.js";
import type { TcpProxy } from "./tcp-proxy.js";

const reasons = [await probePostgres(), await probeRedis()];
const leftovers = new Set<string>();
afterAll(async () => {
  for (const s of leftovers) await dropSchema(s).catch(() => undefined);
});

function proxiedUrl(base: string, proxy: TcpProxy): string {
  const u = new URL(base);
  u.hostname = "127.0.0.1";
  u.port = String(proxy.port);
  return u.toString();
}

/** Resolves when `transitions` gets one to `to` of `circuit` (checked on every push). */
function waitFor(transitions: CircuitTransition[], circuit: string, to: string, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const check = () => {
      if (transitions.some((t) => t.circuit === circuit && t.to === to)) return resolve();
      if (Date.now() > deadline) return reject(new Error(`${circuit} never went ${to}: ${JSON.stringify(transitions)}`));
      setTimeout(check, 20);
    };
    check();
  });
}

describeWithServices("circuit breakers (PostgreSQL + Redis through TCP proxies)", reasons, () => {
  it("opens after repeated failures, fails fast without reaching the backend, probes half-open and recovers by itself", async () => {
    const pgTarget = new URL(PG_URL);
    const redisTarget = new URL(REDIS_URL);
    const pgProxy = await startTcpProxy(pgTarget.hostname, Number(pgTarget.port || 5432));
    const redisProxy = await startTcpProxy(redisTarget.hostname, Number(redisTarget.port || 6379));
    const schema = randomSchema("cdb");
    leftovers.add(schema);
    const pgName = `postgres-${randomBytes(3).toString("hex")}`;
    const transitions: CircuitTransition[] = [];
    const warnings: string[] = [];
    const store = await createStore(
      redisCache(
        circuitBreaker(
          // No LISTEN connection: every connection attempt at the proxy is then a call's.
          postgresDriver({ connectionString: proxiedUrl(PG_URL, pgProxy), schema, poolSize: 2, connectionTimeoutMs: 1000, notify: false }),
          { name: pgName, failureThreshold: 3, openMs: 300, onTransition: (t) => transitions.push(t) },
        ),
        {
          url: proxiedUrl(REDIS_URL, redisProxy),
          prefix: schema,
          probeIntervalMs: 100,
          logger: { warn: (m) => void warnings.push(m) },
          onTransition: (t) => transitions.push(t),
        },
      ),
      { embedder: null },
    );
    try {
      const ctx = await store.createContext({ state: { n: 1 } });
      await store.append(ctx.id, { type: "message", data: { i: 0 } });

      // 1. Redis goes away: its circuit opens, reads go on from PostgreSQL.
      redisProxy.cut();
      await store.replaceState(ctx.id, { n: 2 });
      expect((await store.getState(ctx.id)).state).toEqual({ n: 2 });
      await waitFor(transitions, "redis", "open");
      const cacheDuring = (await store.health()).details["cache"] as { circuit: { state: string } };
      expect(cacheDuring.circuit.state).not.toBe("closed");
      redisProxy.restore();
      await waitFor(transitions, "redis", "closed");
      const redisPath = transitions.filter((t) => t.circuit === "redis").map((t) => t.to);
      expect(redisPath[0]).toBe("open");
      expect(redisPath).toContain("half-open");
      expect(redisPath.at(-1)).toBe("closed");
      expect(warnings).toHaveLength(1);

      // 2. PostgreSQL goes away: three failures open the circuit.
      pgProxy.cut();
      const failures: unknown[] = [];
      while (!transitions.some((t) => t.circuit === pgName && t.to === "open")) {
        failures.push(await store.getState(ctx.id).catch((e: unknown) => e));
        expect(failures.length).toBeLessThanOrEqual(3);
      }
      for (const f of failures) expect(isContextError(f, "DRIVER_UNAVAILABLE")).toBe(true);
      // Open: calls fail at once and no longer reach the proxy.
      const attempts = pgProxy.attempts;
      for (const call of [() => store.getState(ctx.id), () => store.append(ctx.id, { type: "lost?" }), () => store.listContexts()]) {
        const err = await call().then(
          () => null,
          (e: unknown) => e,
        );
        if ((err as ContextError | null)?.details["state"] === "half-open") continue; // the probe is out
        expect(isContextError(err, "DRIVER_UNAVAILABLE")).toBe(true);
        expect((err as ContextError).details).toMatchObject({ circuit: pgName });
        expect((err as Error).cause).toBeDefined();
      }
      const health = await store.health();
      expect(health.ok).toBe(false);
      expect(health.details).toMatchObject({ code: "DRIVER_UNAVAILABLE", circuit: { circuit: pgName } });
      // Only probes (at most one per open period, which just began) may have reached it.
      expect(pgProxy.attempts - attempts).toBeLessThanOrEqual(2);

      // 3. PostgreSQL comes back: after the open time a probe goes through and closes the circuit.
      pgProxy.restore();
      const deadline = Date.now() + 20_000;
      for (;;) {
        try {
          expect((await store.getState(ctx.id)).state).toEqual({ n: 2 });
          break;
        } catch (e) {
          if (!isContextError(e, "DRIVER_UNAVAILABLE") || Date.now() > deadline) throw e;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      const pgPath = transitions.filter((t) => t.circuit === pgName).map((t) => t.to);
      expect(pgPath[0]).toBe("open");
      expect(pgPath).toContain("half-open");
      expect(pgPath.at(-1)).toBe("closed");
      expect((await store.health()).details).toMatchObject({ circuit: { state: "closed" } });
      const events = (await store.readEvents(ctx.id, { limit: 100 })).items;
      expect(events.filter((e) => e.type === "lost?")).toHaveLength(0);
    } finally {
      await store.close();
      await pgProxy.close();
      await redisProxy.close();
      await dropSchema(schema);
      await dropRedisPrefix(schema);
    }
  });
});
