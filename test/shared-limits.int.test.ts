/**
 * Rate limits shared through the real Redis: three processes against one limit, and a Redis
 * outage (a TCP proxy cut) that falls back to local limits and comes back. Time is the subject
 * here, so these run on real timers.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createController } from "../src/concurrency/controller.js";
import { redisRateLimiter } from "../src/concurrency/redis-limiter.js";
import { buildSources } from "./fixtures/build-sources.js";
import { killFixtures, startFixture } from "./fixtures/processes.js";
import { describeWithServices, dropRedisPrefix, probeRedis, REDIS_URL } from "./services.js";
import { startTcpProxy } from "./tcp-proxy.js";

const reasons = [await probeRedis()];
const prefixes: string[] = [];
const newPrefix = () => {
  const p = `cdlim_${randomBytes(5).toString("hex")}`;
  prefixes.push(p);
  return p;
};
let sources: string;
beforeAll(async () => {
  sources = await buildSources();
}, 120_000);
afterAll(async () => {
  killFixtures();
  for (const p of prefixes) await dropRedisPrefix(p).catch(() => undefined);
});

describeWithServices("rate limits shared through Redis", reasons, () => {
  it("three processes against one limit: no window holds more than the limit, and at least 95 % of it is used", async () => {
    const LIMIT = 20;
    const WINDOW = 1000;
    const PER_PROCESS = 30;
    const prefix = newPrefix();
    const children = Array.from({ length: 3 }, () =>
      startFixture("rate-worker.mjs", [sources, REDIS_URL, prefix, "model", String(PER_PROCESS), String(LIMIT), String(WINDOW)]),
    );
    await Promise.all(children.map((c) => new Promise<void>((resolve) => c.onLine((l) => l === "ready" && resolve()))));
    for (const c of children) c.send("go");
    const exits = await Promise.all(children.map((c) => c.exited(60_000)));
    for (const exit of exits) expect(exit, exit.stderr).toMatchObject({ code: 0, signal: null, stderr: "" });

    const starts = children.flatMap((c) =>
      c.lines.filter((l) => l.startsWith("start ")).map((l) => {
        const [, granted, began] = l.split(" ");
        return { granted: Number(granted), began: Number(began) };
      }),
    );
    expect(starts).toHaveLength(3 * PER_PROCESS);
    // Every process had its share of the budget (no one starved).
    for (const c of children) expect(c.lines.filter((l) => l.startsWith("start ")).length).toBe(PER_PROCESS);
    // A call never begins before the limiter let it (same machine clock; Date.now() is whole ms).
    for (const s of starts) expect(s.began).toBeGreaterThanOrEqual(Math.floor(s.granted) - 1);

    const granted = starts.map((s) => s.granted).sort((a, b) => a - b);
    // The limit holds in every window: any LIMIT + 1 consecutive starts span at least a window,
    // so no half-open window of WINDOW ms holds more than LIMIT starts.
    for (let i = 0; i + LIMIT < granted.length; i++) expect(granted[i + LIMIT]! - granted[i]!).toBeGreaterThanOrEqual(WINDOW - 0.01);
    // Counted in consecutive windows from the first start: each within the limit, and used.
    const first = granted[0]!;
    const full = Math.floor((granted.at(-1)! - first) / WINDOW);
    expect(full).toBeGreaterThanOrEqual(3);
    const perWindow = Array.from({ length: full }, (_, k) => granted.filter((g) => g >= first + k * WINDOW && g < first + (k + 1) * WINDOW).length);
    for (const n of perWindow) expect(n).toBeLessThanOrEqual(LIMIT);
    const used = perWindow.reduce((a, b) => a + b, 0) / (full * LIMIT);
    expect(used, `starts per window: ${perWindow.join(", ")}`).toBeGreaterThanOrEqual(0.95);
  }, 90_000);

  it("falls back to local limits with one warning while Redis is away, and returns to the shared buckets", async () => {
    const target = new URL(REDIS_URL);
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 6379));
    const prefix = newPrefix();
    const warnings: string[] = [];
    const infos: string[] = [];
    const url = `redis://127.0.0.1:${proxy.port}`;
    const limiter = redisRateLimiter({ url, prefix, commandTimeoutMs: 300, probeIntervalMs: 50, logger: { warn: (m) => void warnings.push(m), info: (m) => void infos.push(m) } });
    const controller = createController({ retry: false, limiter, limits: { m: { requestsPerMinute: 100, windowMs: 1000 } } });
    const sharedTime = async () => {
      // When the shared requests bucket of key "m" was last written (read straight from Redis).
      const { createClient } = (await import("redis")) as unknown as { createClient(o: { url: string }): { connect(): Promise<unknown>; sendCommand(a: string[]): Promise<unknown>; destroy(): void } };
      const c = createClient({ url: REDIS_URL });
      await c.connect();
      try {
        return Number(await c.sendCommand(["HGET", `${prefix}:{m}:r`, "t"]));
      } finally {
        c.destroy();
      }
    };
    try {
      const run = (n: number) => Promise.all(Array.from({ length: n }, () => controller.run(() => "ok", { key: "m" })));
      expect(await run(3)).toEqual(["ok", "ok", "ok"]);
      expect(limiter.shared).toBe(true);
      const before = await sharedTime();
      expect(before).toBeGreaterThan(0);

      proxy.cut();
      // Calls go on under local limits; one warning for the whole outage.
      expect(await run(5)).toHaveLength(5);
      expect(await run(5)).toHaveLength(5);
      expect(limiter.shared).toBe(false);
      expect(warnings).toHaveLength(1);
      expect(await sharedTime()).toBe(before);

      proxy.restore();
      await expect.poll(() => limiter.shared, { timeout: 10_000, interval: 20 }).toBe(true);
      expect(await run(2)).toHaveLength(2);
      expect(await sharedTime()).toBeGreaterThan(before);
      expect(warnings).toHaveLength(1);
      expect(infos).toEqual(["Redis is back: shared rate limits again"]);
    } finally {
      await controller.close();
      await limiter.close();
      await proxy.close();
    }
  }, 60_000);
});
