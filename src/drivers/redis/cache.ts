/**
 * The Redis tier: a shared cache of hot context heads (record + state) in front of another
 * driver, used only through the {@link Driver} contract.
 *
 * Consistency rule (see docs/deploy.md): a read never returns a head older than one whose
 * write was acknowledged. Why it holds:
 * - entries carry a rank (createdAt, version, lastSeq, firstSeq) and every write to Redis is
 *   a Lua compare-and-set that refuses a lower rank, so a slow writer or a slow read-fill
 *   can never put an older head over a newer one;
 * - every write updates (or invalidates) the entry *before* it is acknowledged;
 * - when that Redis write fails, this node stops using Redis, and before using it again it
 *   bumps the cache epoch: every node then starts from an empty cache;
 * - each node keeps the newest sequence number it heard of per context (its own commits and
 *   other nodes' change notices) and treats an older cached entry as a miss.
 * Redis unavailable → every call goes to the inner driver; nothing is lost.
 */
import { createHash, randomUUID } from "node:crypto";
import type { JsonObject } from "../../core/json-types.js";
import type { ChangeNotice, ContextRecord, Driver, Mutation } from "../driver.js";
import { wrapDriver } from "../wrap.js";
import { createRedisConnection, redactUrl } from "./connection.js";
import type { CacheLogger, RedisConnection } from "./connection.js";
import type { CircuitTransition } from "../../core/circuit.js";
import { loadRedis } from "./redis-module.js";
import { READ_SCRIPT, WRITE_SCRIPT } from "./scripts.js";

/** Options of {@link redisCache}. */
export interface RedisCacheOptions {
  /** @default "redis://127.0.0.1:6379" */
  url?: string;
  /**
   * Prefix of every key and channel. Stores on different databases must not share one.
   * @default "contextd:" + a hash of the inner store's `ping().identity` (PostgreSQL: cluster id,
   * database and schema), else "contextd"
   */
  prefix?: string;
  /** A cached head is dropped after this long without writes. @default 3600000 (1 h) */
  ttlMs?: number;
  /** A Redis command gives up after this long and the call falls back. @default 500 */
  commandTimeoutMs?: number;
  /** @default 1000 */
  connectTimeoutMs?: number;
  /** How often an unavailable Redis is retried. @default 500 */
  probeIntervalMs?: number;
  /**
   * Carry change notices between nodes over Redis pub/sub too (for an inner driver
   * without cross-process notices, or to spare PostgreSQL NOTIFY). @default false
   */
  pubsub?: boolean;
  /** Where the once-per-outage warning goes. @default console */
  logger?: CacheLogger;
  /** Called on every transition of the cache's circuit breaker (see {@link RedisConnection.circuit}). */
  onTransition?: (t: CircuitTransition) => void;
}

const TOMBSTONE_MS = 10 * 60 * 1000;
const FLOOR_LIMIT = 50_000;

type WriteMode = "put" | "bump" | "mark" | "clear";

/**
 * Wraps `inner` with a shared Redis cache of context heads (needs the `redis` package).
 *
 * @example
 * ```ts
 * const store = await createStore(redisCache(postgresDriver({ connectionString }), { url: "redis://cache:6379" }));
 * ```
 */
export function redisCache(inner: Driver, options: RedisCacheOptions = {}): Driver {
  const url = options.url ?? "redis://127.0.0.1:6379";
  // Fixed at open(): the default depends on the inner store's identity.
  let prefix = options.prefix ?? "contextd";
  let epochKey = `${prefix}:epoch`;
  let keyPrefix = `${prefix}:h:`;
  let channel = `${prefix}:changes`;
  const ttl = String(options.ttlMs ?? 3_600_000);
  const pubsub = options.pubsub ?? false;
  const logger: CacheLogger = options.logger ?? {
    warn: (m, d) => console.warn(`[contextd] ${m}`, d ?? ""),
    info: (m, d) => console.info(`[contextd] ${m}`, d ?? ""),
  };
  const origin = randomUUID();
  const listeners = new Set<(n: ChangeNotice) => void>();
  const floors = new Map<string, number>();
  let conn: RedisConnection | undefined;
  let subscriber: RedisConnection | undefined;
  let unsubscribeInner: (() => void) | undefined;
  // Reads of heads since open, for metrics (`stats()`).
  const reads = { hits: 0, misses: 0, fallbacks: 0 };

  const suffix = (tenant: string, id: string) => `${encodeURIComponent(tenant)}:${encodeURIComponent(id)}`;
  const floorKey = (tenant: string, id: string) => `${tenant}\u0000${id}`;
  const raiseFloor = (tenant: string, id: string, lastSeq: number) => {
    const k = floorKey(tenant, id);
    const cur = floors.get(k);
    if (cur !== undefined && cur >= lastSeq) return;
    floors.delete(k);
    floors.set(k, lastSeq);
    if (floors.size > FLOOR_LIMIT) {
      const oldest = floors.keys().next().value;
      if (oldest !== undefined) floors.delete(oldest);
    }
  };
  const emit = (n: ChangeNotice) => {
    for (const l of [...listeners]) {
      try {
        l(n);
      } catch {
        // A listener's failure is its own.
      }
    }
  };
  const onNotice = (n: ChangeNotice) => {
    if (n.tenant !== undefined && n.contextId !== undefined && n.lastSeq !== undefined) raiseFloor(n.tenant, n.contextId, n.lastSeq);
  };

  /** Writes (or invalidates) the cached head; never throws (a failure marks Redis down). */
  async function write(mode: WriteMode, record: ContextRecord, stateJson: string | null): Promise<void> {
    const c = conn;
    if (c === undefined || !c.up) return;
    const args = [
      keyPrefix,
      suffix(record.tenant, record.id),
      mode,
      String(record.createdAt),
      String(record.version),
      String(record.lastSeq),
      String(record.firstSeq),
      mode === "mark" ? "" : JSON.stringify(record),
      stateJson ?? "",
      ttl,
    ];
    await c.script(WRITE_SCRIPT, [epochKey], args).catch(() => undefined);
  }

  async function tombstone(tenant: string, id: string): Promise<void> {
    const c = conn;
    if (c === undefined || !c.up) return;
    await c
      .script(WRITE_SCRIPT, [epochKey], [keyPrefix, suffix(tenant, id), "tomb", "0", "0", "0", "0", "", "", String(TOMBSTONE_MS)])
      .catch(() => undefined);
  }

  async function publish(n: ChangeNotice): Promise<void> {
    const c = conn;
    if (!pubsub || c === undefined || !c.up) return;
    const payload = JSON.stringify({ t: n.tenant, c: n.contextId, s: n.lastSeq, o: origin });
    await c.command(["PUBLISH", channel, payload]).catch(() => undefined);
  }

  async function startSubscriber(redis: Awaited<ReturnType<typeof loadRedis>>): Promise<void> {
    const sub = createRedisConnection(redis, {
      url,
      epochKey: `${prefix}:sub-epoch`,
      commandTimeoutMs: options.commandTimeoutMs ?? 500,
      connectTimeoutMs: options.connectTimeoutMs ?? 1000,
      probeIntervalMs: options.probeIntervalMs ?? 500,
      logger: { warn: () => undefined },
      circuitName: "redis-pubsub",
      // Notices may have been lost while disconnected: every watcher re-reads.
      onRecovered: () => emit({}),
    });
    subscriber = sub;
    sub.client.on("ready", () => emit({}));
    await sub.ready;
    await sub.client
      .subscribe(channel, (message) => {
        try {
          const p = JSON.parse(message) as { t?: string; c?: string; s?: number; o?: string };
          if (p.o === origin) return;
          const n: ChangeNotice = {};
          if (typeof p.t === "string") n.tenant = p.t;
          if (typeof p.c === "string") n.contextId = p.c;
          if (typeof p.s === "number") n.lastSeq = p.s;
          onNotice(n);
          emit(n);
        } catch {
          emit({});
        }
      })
      .catch(() => undefined);
  }

  const driver = wrapDriver(inner, {
    name: `${inner.name}+redis`,
    capabilities: { ...inner.capabilities, crossProcessWatch: inner.capabilities.crossProcessWatch || pubsub },

    async open() {
      await inner.open();
      if (options.prefix === undefined) {
        // Stores on different databases or schemas must never share cache keys.
        const identity = (await inner.ping({ now: Date.now() }))["identity"];
        if (typeof identity === "string" && identity !== "") {
          prefix = `contextd:${createHash("sha1").update(identity).digest("hex").slice(0, 12)}`;
          epochKey = `${prefix}:epoch`;
          keyPrefix = `${prefix}:h:`;
          channel = `${prefix}:changes`;
        }
      }
      const redis = await loadRedis();
      conn = createRedisConnection(redis, {
        url,
        epochKey,
        commandTimeoutMs: options.commandTimeoutMs ?? 500,
        connectTimeoutMs: options.connectTimeoutMs ?? 1000,
        probeIntervalMs: options.probeIntervalMs ?? 500,
        logger,
        ...(options.onTransition !== undefined && { onTransition: options.onTransition }),
      });
      // Hear other nodes' commits (through the inner driver) to keep the floors current.
      unsubscribeInner = inner.subscribe((n) => {
        onNotice(n);
        emit(n);
      });
      const guard = new Promise<void>((resolve) => setTimeout(resolve, options.connectTimeoutMs ?? 1000).unref());
      await Promise.race([conn.ready, guard]);
      if (pubsub) await Promise.race([startSubscriber(redis), guard]);
    },

    async close() {
      unsubscribeInner?.();
      unsubscribeInner = undefined;
      listeners.clear();
      await subscriber?.close();
      await conn?.close();
      await inner.close();
    },

    async ping(call) {
      const details = await inner.ping(call);
      const c = conn;
      let redis: Record<string, unknown> = { url: redactUrl(url), up: false };
      if (c !== undefined && c.up) {
        const start = performance.now();
        try {
          await c.command(["PING"]);
          redis = { url: redactUrl(url), up: true, latencyMs: performance.now() - start };
        } catch (e) {
          redis = { url: redactUrl(url), up: false, error: e instanceof Error ? e.message : String(e) };
        }
      }
      return { ...details, cache: { ...redis, prefix, ...(c !== undefined && { circuit: c.circuit.snapshot() }) } };
    },

    // getState reads the cached head, not the inner driver's state read.
    readState: undefined,

    async readHead(tenant, id, call) {
      const c = conn;
      if (c !== undefined && c.up) {
        try {
          const reply = await c.script(READ_SCRIPT, [epochKey], [keyPrefix, suffix(tenant, id)]);
          const [r, d] = Array.isArray(reply) ? (reply as unknown[]) : [];
          if (typeof r === "string" && typeof d === "string" && r !== "" && d !== "") {
            const record = JSON.parse(r) as ContextRecord;
            const floor = floors.get(floorKey(tenant, id));
            const fresh = floor === undefined || record.lastSeq >= floor;
            const visible = record.expiresAt === null || record.expiresAt > call.now;
            if (fresh && visible) {
              reads.hits++;
              return { record, state: JSON.parse(d) as JsonObject };
            }
          }
          reads.misses++;
        } catch {
          // Marked down by the connection; read from the inner driver.
          reads.fallbacks++;
        }
      } else {
        reads.fallbacks++;
      }
      const head = await inner.readHead(tenant, id, call);
      if (head !== null && conn?.up) void write("put", head.record, JSON.stringify(head.state));
      return head;
    },

    async commit(tenant, id, mutation: Mutation, call) {
      let stateJson: string | undefined;
      const update = mutation.update;
      const m: Mutation =
        update === undefined
          ? mutation
          : {
              ...mutation,
              update: (head) => {
                const u = update(head);
                stateJson = u.stateJson;
                return u;
              },
            };
      const result = await inner.commit(tenant, id, m, call);
      raiseFloor(tenant, id, result.record.lastSeq);
      if (stateJson !== undefined) await write("put", result.record, stateJson);
      else await write("bump", result.record, null);
      // A notice is a hint (watchers read by seq): it need not delay the acknowledgement.
      if (result.events.length > 0) void publish({ tenant, contextId: id, lastSeq: result.record.lastSeq });
      return result;
    },

    async insertContext(record, stateJson, events, call) {
      const result = await inner.insertContext(record, stateJson, events, call);
      raiseFloor(record.tenant, record.id, result.record.lastSeq);
      await write("clear", result.record, stateJson);
      if (events.length > 0) void publish({ tenant: record.tenant, contextId: record.id, lastSeq: result.record.lastSeq });
      return result;
    },

    async updateContext(tenant, id, patch, call) {
      const record = await inner.updateContext(tenant, id, patch, call);
      if (record !== null) await write("mark", record, null);
      return record;
    },

    async deleteContext(tenant, id, call) {
      const deleted = await inner.deleteContext(tenant, id, call);
      if (deleted) {
        await tombstone(tenant, id);
        void publish({ tenant, contextId: id });
      }
      return deleted;
    },

    async compact(tenant, id, beforeSeq, checkpoint, call) {
      const removed = await inner.compact(tenant, id, beforeSeq, checkpoint, call);
      const record = await inner.getContext(tenant, id, call);
      if (record !== null) await write("mark", record, null);
      return removed;
    },

    async releaseLease(tenant, id, holder, token, call) {
      const released = await inner.releaseLease(tenant, id, holder, token, call);
      if (released) void publish({ tenant, contextId: id });
      return released;
    },

    stats() {
      return { ...inner.stats?.(), cache: { ...reads, up: conn?.up === true } };
    },

    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  });
  return driver;
}
