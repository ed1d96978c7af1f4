/**
 * One Redis connection of the cache tier and its health. Any failed command marks Redis
 * *down*: callers then bypass it (falling back to the inner driver), one warning is
 * logged per outage, and a probe retries in the background. When Redis answers again the
 * cache epoch is bumped first, so every node sees an empty cache (anything written while
 * this node could not keep it up to date is gone) before it is used again.
 *
 * A Redis that stops answering (a network partition, a stopped process) is noticed by one
 * watchdog timer rather than a timer per command (node-redis's per-command timeout costs an
 * AbortSignal, a timer and, later, a DOMException on every call of the hot read path): when
 * commands are in flight and none has completed for `commandTimeoutMs`, every waiting call
 * fails at once and Redis is marked down. The commands themselves stay queued on the one
 * connection, in order, ahead of the probe's epoch bump, so a late write can only land in
 * the epoch that the bump discards.
 *
 * `close()` is bounded: a graceful close waits for the replies of the commands in flight,
 * which a Redis that does not answer never sends, so after `commandTimeoutMs` (or at once
 * when Redis is already down) the socket is dropped instead. Nothing is lost that matters:
 * a cache write that did not land is discarded by the next epoch bump anyway.
 */
import { createHash } from "node:crypto";
import { createCircuit } from "../../core/circuit.js";
import type { Circuit, CircuitTransition } from "../../core/circuit.js";
import type { RedisClient, RedisModule } from "./redis-module.js";

/** Where warnings go; pino's and console's `warn` both fit. */
export interface CacheLogger {
  warn(message: string, details?: Record<string, unknown>): void;
  info?(message: string, details?: Record<string, unknown>): void;
}

/** Options of {@link createRedisConnection}. */
export interface RedisConnectionOptions {
  url: string;
  epochKey: string;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  probeIntervalMs: number;
  logger: CacheLogger;
  /** Called when Redis comes back (after the epoch bump). */
  onRecovered?: () => void;
  /** The name of this connection's circuit (health, logs, metrics). @default "redis" */
  circuitName?: string;
  /** Called on every transition of the circuit. */
  onTransition?: (t: CircuitTransition) => void;
}

/** The health-aware connection. */
export interface RedisConnection {
  /** True while Redis may be used. */
  readonly up: boolean;
  readonly client: RedisClient;
  /** Runs a script by SHA (loading it on NOSCRIPT). Throws on failure after marking Redis down. */
  script(source: string, keys: string[], args: string[]): Promise<unknown>;
  /** Runs a raw command. Throws on failure after marking Redis down. */
  command(args: string[]): Promise<unknown>;
  /** Marks Redis down because of `e` (warns once per outage). */
  fail(e: unknown): void;
  /** Waits for the first connection attempt (never rejects). */
  readonly ready: Promise<void>;
  /**
   * The circuit breaker of this connection: it opens at the first failure (a missed cache
   * write makes the cache untrustworthy until the epoch bump), the probe is its half-open
   * step, and the probe's epoch bump closes it.
   */
  readonly circuit: Circuit;
  close(): Promise<void>;
}

const sha1 = (s: string) => createHash("sha1").update(s).digest("hex");

/** Connects to Redis in the background; see the module docs. */
export function createRedisConnection(redis: RedisModule, o: RedisConnectionOptions): RedisConnection {
  const client = redis.createClient({
    url: o.url,
    // Fail commands at once while disconnected instead of queueing them: callers fall back.
    disableOfflineQueue: true,
    socket: { connectTimeout: o.connectTimeoutMs, reconnectStrategy: (n) => Math.min(50 * 2 ** Math.min(n, 5), 1000) },
  });
  let up = false;
  let warned = false;
  let closed = false;
  let probe: NodeJS.Timeout | undefined;
  const shas = new Map<string, string>();
  // The probe interval is the open time: Redis is probed on a timer, not by callers.
  const circuit = createCircuit(o.circuitName ?? "redis", "redis", {
    failureThreshold: 1,
    openMs: o.probeIntervalMs,
    maxOpenMs: o.probeIntervalMs,
    ...(o.onTransition !== undefined && { onTransition: o.onTransition }),
  });
  client.on("error", (e) => fail(e));

  function fail(e: unknown): void {
    if (closed) return;
    up = false;
    if (circuit.state !== "open") circuit.trip(e);
    if (!warned) {
      warned = true;
      o.logger.warn("Redis cache unavailable; reading and writing through to the store until it returns", {
        url: redactUrl(o.url),
        error: e instanceof Error ? e.message : String(e),
      });
    }
    startProbe();
  }

  function startProbe(): void {
    if (probe !== undefined || closed) return;
    probe = setInterval(() => {
      void recover();
    }, o.probeIntervalMs);
    probe.unref();
  }

  let recovering = false;
  async function recover(): Promise<void> {
    if (recovering || closed || !client.isReady) return;
    recovering = true;
    circuit.beginProbe();
    try {
      await client.sendCommand(["INCR", o.epochKey]);
      if (closed) return;
      circuit.succeed(true);
      if (probe !== undefined) clearInterval(probe);
      probe = undefined;
      up = true;
      if (warned) o.logger.info?.("Redis cache is back; starting from an empty cache", { url: redactUrl(o.url) });
      warned = false;
      o.onRecovered?.();
    } catch (e) {
      // Still down; the probe tries again.
      if (!closed) circuit.trip(e);
    } finally {
      recovering = false;
    }
  }

  const ready = client.connect().then(
    () => {
      // After a failed first attempt the probe owns the way back (it bumps the epoch).
      if (probe === undefined) up = true;
    },
    (e: unknown) => fail(e),
  );

  // The watchdog (see the module docs): callers waiting, and when a reply last came.
  const waiting = new Set<(e: Error) => void>();
  let lastReply = 0;
  const watchdog = setInterval(() => {
    if (waiting.size === 0 || performance.now() - lastReply < o.commandTimeoutMs) return;
    const e = new Error(`Redis did not answer within ${o.commandTimeoutMs} ms`);
    const rejects = [...waiting];
    waiting.clear();
    for (const reject of rejects) reject(e);
    fail(e);
  }, Math.max(10, Math.floor(o.commandTimeoutMs / 4)));
  watchdog.unref();

  function send(args: string[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (waiting.size === 0) lastReply = performance.now();
      waiting.add(reject);
      client.sendCommand(args).then(
        (v) => {
          lastReply = performance.now();
          if (waiting.delete(reject)) resolve(v);
        },
        (e: unknown) => {
          lastReply = performance.now();
          if (waiting.delete(reject)) reject(e instanceof Error ? e : new Error(String(e)));
        },
      );
    });
  }

  async function command(args: string[]): Promise<unknown> {
    try {
      return await send(args);
    } catch (e) {
      fail(e);
      throw e;
    }
  }

  async function script(source: string, keys: string[], args: string[]): Promise<unknown> {
    let sha = shas.get(source);
    if (sha === undefined) shas.set(source, (sha = sha1(source)));
    const call = ["EVALSHA", sha, String(keys.length), ...keys, ...args];
    try {
      return await send(call);
    } catch (e) {
      if (e instanceof Error && e.message.startsWith("NOSCRIPT")) {
        return command(["EVAL", source, String(keys.length), ...keys, ...args]);
      }
      fail(e);
      throw e;
    }
  }

  return {
    get up() {
      return up && !closed;
    },
    client,
    script,
    command,
    fail,
    ready,
    circuit,
    async close() {
      if (closed) return;
      closed = true;
      circuit.dispose();
      clearInterval(watchdog);
      if (probe !== undefined) clearInterval(probe);
      probe = undefined;
      const drop = (): void => {
        try {
          client.destroy();
        } catch {
          // Already closed.
        }
      };
      if (client.close === undefined || !up) {
        drop();
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      const graceful = client.close().then(
        () => true,
        () => false,
      );
      const inTime = await Promise.race([graceful, new Promise<false>((r) => (timer = setTimeout(() => r(false), o.commandTimeoutMs)))]);
      clearTimeout(timer);
      if (!inTime) drop();
    },
  };
}

/** The URL without its password, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "redis://…";
  }
}
