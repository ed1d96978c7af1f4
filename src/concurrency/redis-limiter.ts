/**
 * Rate limits shared by every process (and node) that names the same Redis and prefix: each
 * key's token buckets live in Redis and are reserved and adjusted by one Lua script (atomic,
 * on Redis's clock), with the arithmetic of `token-bucket.ts`. While Redis cannot be reached
 * the limiter falls back to local buckets (one warning per outage), probes in the background
 * and returns to the shared buckets when Redis answers again.
 */
import { createHash } from "node:crypto";
import pTimeout from "p-timeout";
import { invalidInput } from "../errors.js";
import { loadRedis, type RedisClient } from "../drivers/redis/redis-module.js";
import { localRateLimiter, type RateCost, type RateLimiter, type RateLimits, type Reservation } from "./limits.js";
import type { BucketShape } from "./token-bucket.js";

/** Where warnings go; pino's and console's `warn` both fit. */
export interface LimiterLogger {
  warn(message: string, details?: Record<string, unknown>): void;
  info?(message: string, details?: Record<string, unknown>): void;
}

/** Options of {@link redisRateLimiter}. */
export interface RedisRateLimiterOptions {
  /** `redis://…` */
  url: string;
  /** Prefix of the bucket keys; processes sharing a budget use the same. @default "contextd:limits" */
  prefix?: string;
  /** A command not answered within this counts as an outage. @default 1000 */
  commandTimeoutMs?: number;
  /** How often an outage is probed. @default 1000 */
  probeIntervalMs?: number;
  /** Each limit's share this process uses on its own while Redis is away (1/N for N processes keeps the total). @default 1 */
  fallbackShare?: number;
  /** @default console */
  logger?: LimiterLogger;
}

/** A shared limiter; see {@link redisRateLimiter}. */
export interface RedisRateLimiter extends RateLimiter, AsyncDisposable {
  /** True while reservations go to Redis (false before the first connection and during an outage). */
  readonly shared: boolean;
  close(): Promise<void>;
}

// KEYS: the requests bucket, the tokens bucket. ARGV: mode, then per bucket limit, window, capacity, cost
// (limit 0: no such bucket). A bucket is a hash { l: level, t: time in ms }; a missing one is full.
// Returns { wait ms, now ms } as strings (Redis truncates Lua numbers to integers).
const SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local reserve = ARGV[1] == 'reserve'
local wait = 0
local out = {}
for i = 1, 2 do
  local b = 1 + (i - 1) * 4
  local limit = tonumber(ARGV[b + 1])
  if limit > 0 then
    local window = tonumber(ARGV[b + 2])
    local cap = tonumber(ARGV[b + 3])
    local cost = tonumber(ARGV[b + 4])
    local s = redis.call('HMGET', KEYS[i], 'l', 't')
    local level = cap
    if s[1] then level = math.min(cap, tonumber(s[1]) + math.max(0, now - tonumber(s[2])) * limit / window) end
    if reserve then
      local need = math.min(cost, cap)
      if level < need then wait = math.max(wait, (need - level) * window / limit) end
      level = level - cost
    else
      level = math.min(cap, level + cost)
    end
    out[i] = { level, math.ceil((cap - level) * window / limit) + 1000 }
  end
end
for i = 1, 2 do
  if out[i] then
    redis.call('HSET', KEYS[i], 'l', string.format('%.17g', out[i][1]), 't', string.format('%.3f', now))
    redis.call('PEXPIRE', KEYS[i], out[i][2])
  end
end
return { string.format('%.6f', wait), string.format('%.3f', now) }
`;
const SHA = createHash("sha1").update(SCRIPT).digest("hex");

const shapeArgs = (s: BucketShape | null, cost: number): string[] => (s === null ? ["0", "0", "0", "0"] : [String(s.limit), String(s.windowMs), String(s.capacity), String(cost)]);

/**
 * A rate limiter whose buckets are shared through Redis. Give it to `createController({ limiter })`
 * in every process that shares the budget. Needs the `redis` package (loaded on first use).
 *
 * @example
 * ```ts compile-only (needs a Redis)
 * const limiter = redisRateLimiter({ url: "redis://127.0.0.1:6379", prefix: "myapp:limits" });
 * const controller = createController({ limiter, limits: { "openai:gpt-4o": { requestsPerMinute: 500 } } });
 * ```
 * @throws `INVALID_INPUT` for bad options; `DRIVER_UNAVAILABLE` (from a call) when `redis` is not installed
 */
export function redisRateLimiter(options: RedisRateLimiterOptions): RedisRateLimiter {
  if (typeof options !== "object" || options === null || typeof options.url !== "string") throw invalidInput("url", "must be a redis:// URL");
  const prefix = options.prefix ?? "contextd:limits";
  const commandTimeoutMs = options.commandTimeoutMs ?? 1000;
  const probeIntervalMs = options.probeIntervalMs ?? 1000;
  const logger: LimiterLogger = options.logger ?? console;
  const local = localRateLimiter({ share: options.fallbackShare ?? 1 });
  let client: RedisClient | undefined;
  let connecting: Promise<RedisClient> | undefined;
  let up = false;
  let warned = false;
  let closed = false;
  let probe: NodeJS.Timeout | undefined;

  const connect = (): Promise<RedisClient> =>
    (connecting ??= loadRedis().then((redis) => {
      const c = redis.createClient({
        url: options.url,
        disableOfflineQueue: true,
        socket: { connectTimeout: commandTimeoutMs, reconnectStrategy: (n) => Math.min(50 * 2 ** Math.min(n, 5), 1000) },
      });
      c.on("error", (e) => down(e));
      client = c;
      return c.connect().then(
        () => {
          up = true;
          return c;
        },
        (e: unknown) => {
          down(e);
          return c;
        },
      );
    }));

  function down(e: unknown): void {
    if (closed) return;
    up = false;
    if (!warned) {
      warned = true;
      logger.warn("Redis unavailable for shared rate limits; each process uses local limits until it returns", {
        error: e instanceof Error ? e.message : String(e),
      });
    }
    if (probe === undefined) {
      probe = setInterval(() => void check(), probeIntervalMs);
      probe.unref();
    }
  }

  async function check(): Promise<void> {
    if (closed || client === undefined || !client.isReady) return;
    try {
      await send(["PING"]);
    } catch {
      return;
    }
    if (probe !== undefined) clearInterval(probe);
    probe = undefined;
    up = true;
    if (warned) logger.info?.("Redis is back: shared rate limits again");
    warned = false;
  }

  const send = (args: string[]): Promise<unknown> => pTimeout(client!.sendCommand(args), { milliseconds: commandTimeoutMs, message: new Error(`Redis did not answer within ${commandTimeoutMs} ms`) });

  async function script(key: string, mode: "reserve" | "adjust", cost: RateCost, limits: RateLimits): Promise<Reservation | undefined> {
    await connect();
    if (!up || closed) return undefined;
    const keys = [`${prefix}:{${key}}:r`, `${prefix}:{${key}}:t`];
    const args = [mode, ...shapeArgs(limits.requests, cost.requests), ...shapeArgs(limits.tokens, cost.tokens)];
    try {
      let reply: unknown;
      try {
        reply = await send(["EVALSHA", SHA, "2", ...keys, ...args]);
      } catch (e) {
        if (!(e instanceof Error && e.message.startsWith("NOSCRIPT"))) throw e;
        reply = await send(["EVAL", SCRIPT, "2", ...keys, ...args]);
      }
      const [wait, now] = reply as [string, string];
      return { waitMs: Number(wait), at: Number(now) };
    } catch (e) {
      down(e);
      return undefined;
    }
  }

  return {
    get shared() {
      return up && !closed;
    },
    async reserve(key, cost, limits) {
      return (await script(key, "reserve", cost, limits)) ?? local.reserve(key, cost, limits);
    },
    async adjust(key, delta, limits) {
      if ((await script(key, "adjust", delta, limits)) === undefined) await local.adjust(key, delta, limits);
    },
    async close() {
      if (closed) return;
      closed = true;
      if (probe !== undefined) clearInterval(probe);
      probe = undefined;
      const c = client ?? (connecting === undefined ? undefined : await connecting.catch(() => undefined));
      if (c === undefined) return;
      try {
        if (c.close !== undefined) await c.close();
        else c.destroy();
      } catch {
        c.destroy();
      }
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
}
