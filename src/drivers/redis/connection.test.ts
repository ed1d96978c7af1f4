/**
 * The Redis connection's close is bounded: a graceful close that Redis never lets finish (the
 * replies of commands in flight never come) gives way to dropping the socket. With a fake
 * client, so the moment of the close is exact; test/outage.int.test.ts cuts a real Redis off.
 */
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { createRedisConnection } from "./connection.js";
import type { RedisClient, RedisModule } from "./redis-module.js";

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

function fakeRedis(closeSettles: boolean): { module: RedisModule; destroyed: () => number; closes: () => number } {
  let destroyed = 0;
  let closes = 0;
  const client = {
    isReady: true,
    connect: () => Promise.resolve(),
    sendCommand: () => new Promise(() => undefined),
    publish: () => Promise.resolve(),
    subscribe: () => Promise.resolve(),
    duplicate: () => client,
    destroy: () => void destroyed++,
    close: () => (closes++, closeSettles ? Promise.resolve() : new Promise(() => undefined)),
    on: () => client,
  } as unknown as RedisClient;
  return { module: { createClient: () => client }, destroyed: () => destroyed, closes: () => closes };
}

const options = { url: "redis://127.0.0.1:1", epochKey: "e", commandTimeoutMs: 500, connectTimeoutMs: 1000, probeIntervalMs: 100, logger: { warn: () => undefined } };

it("a graceful close that Redis never lets finish drops the socket after commandTimeoutMs", async () => {
  const redis = fakeRedis(false);
  const conn = createRedisConnection(redis.module, options);
  await conn.ready;
  expect(conn.up).toBe(true);
  let closed = false;
  const closing = conn.close().then(() => (closed = true));
  await vi.advanceTimersByTimeAsync(499);
  expect([closed, redis.closes(), redis.destroyed()]).toEqual([false, 1, 0]);
  await vi.advanceTimersByTimeAsync(1);
  await closing;
  expect([closed, redis.destroyed()]).toEqual([true, 1]);
  await conn.close(); // twice is safe
  expect(redis.closes()).toBe(1);
});

it("a graceful close that finishes does not drop the socket; a Redis already down is dropped at once", async () => {
  const fine = fakeRedis(true);
  const a = createRedisConnection(fine.module, options);
  await a.ready;
  await a.close();
  expect([fine.closes(), fine.destroyed()]).toEqual([1, 0]);

  const down = fakeRedis(false);
  const b = createRedisConnection(down.module, options);
  await b.ready;
  b.fail(new Error("ECONNRESET"));
  await b.close();
  expect([down.closes(), down.destroyed()]).toEqual([0, 1]);
});
