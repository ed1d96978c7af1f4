import { afterAll, expect, it } from "vitest";
import { createStore } from "../../open.js";
import type { ContextEvent, ContextStore, StoreOptions } from "../../index.js";
import { describeConformance, testEmbedder } from "../../testing/index.js";
import {
  describeWithServices,
  dropRedisPrefix,
  dropSchema,
  withCleanup,
  PG_URL,
  probePostgres,
  probeRedis,
  randomSchema,
  REDIS_URL,
} from "../../../test/services.js";
import { startTcpProxy } from "../../../test/tcp-proxy.js";
import type { TcpProxy } from "../../../test/tcp-proxy.js";
import { postgresDriver } from "../postgres/driver.js";
import type { PostgresDriverOptions } from "../postgres/driver.js";
import { redisCache } from "./cache.js";
import type { RedisCacheOptions } from "./cache.js";
import { loadRedis } from "./redis-module.js";

const reasons = [await probePostgres(), await probeRedis()];
const schemaOf = new WeakMap<ContextStore, string>();
const leftovers = new Set<string>();
const quiet = { warn: () => undefined, info: () => undefined };

function tiered(
  schema: string,
  pg: PostgresDriverOptions = {},
  cache: RedisCacheOptions = {},
  store: StoreOptions = {},
): Promise<ContextStore> {
  const inner = postgresDriver({ connectionString: PG_URL, schema, poolSize: 4, ...pg });
  return createStore(redisCache(inner, { url: REDIS_URL, prefix: schema, ttlMs: 60_000, logger: quiet, ...cache }), store);
}

async function freshStore(options: StoreOptions = {}): Promise<ContextStore> {
  const schema = randomSchema("cdr");
  leftovers.add(schema);
  const store = await tiered(schema, {}, {}, options);
  const wrapped = withCleanup(store, async () => {
    await dropSchema(schema);
    await dropRedisPrefix(schema);
    leftovers.delete(schema);
  });
  schemaOf.set(wrapped, schema);
  return wrapped;
}

async function peerOf(store: ContextStore, options: StoreOptions = {}): Promise<ContextStore> {
  const schema = schemaOf.get(store);
  if (schema === undefined) throw new Error("not a store made by freshStore");
  return tiered(schema, {}, {}, options);
}

/** Reads a cached head straight from Redis (current epoch), or null. */
async function cachedVersion(prefix: string, tenant: string, id: string): Promise<number | null> {
  const redis = await loadRedis();
  const c = redis.createClient({
    url: REDIS_URL,
    disableOfflineQueue: false,
    commandOptions: { timeout: 2000 },
    socket: { connectTimeout: 2000, reconnectStrategy: () => 100 },
  });
  c.on("error", () => undefined);
  await c.connect();
  try {
    const epoch = ((await c.sendCommand(["GET", `${prefix}:epoch`])) as string | null) ?? "0";
    const v = (await c.sendCommand(["HGET", `${prefix}:h:${epoch}:${tenant}:${id}`, "d"])) as string | null;
    if (v === null) return null;
    const r = (await c.sendCommand(["HGET", `${prefix}:h:${epoch}:${tenant}:${id}`, "v"])) as string;
    return Number(r);
  } finally {
    c.destroy();
  }
}

afterAll(async () => {
  for (const s of leftovers) {
    await dropSchema(s).catch(() => undefined);
    await dropRedisPrefix(s).catch(() => undefined);
  }
});

describeWithServices("postgres + redis", reasons, () => {
  // With the test embedder, so that the memory tests check vectors and rankings too.
  const embedder = testEmbedder();
  describeConformance("postgres + redis cache", () => freshStore({ embedder }), {
    openPeer: (store) => peerOf(store, { embedder }),
    openWithClock: (now) => freshStore({ now, embedder }),
  });
});

describeWithServices("redis cache tier", reasons, () => {
  async function nodes(n: number, pg: PostgresDriverOptions = {}, cache: RedisCacheOptions = {}) {
    const schema = randomSchema("cdr");
    leftovers.add(schema);
    const stores: ContextStore[] = [];
    for (let i = 0; i < n; i++) stores.push(await tiered(schema, pg, cache));
    return {
      schema,
      stores,
      async close() {
        for (const s of stores) await s.close();
        await dropSchema(schema);
        await dropRedisPrefix(schema);
      },
    };
  }

  it("keeps the head of a written context in Redis, at the written version", async () => {
    const cluster = await nodes(1);
    try {
      const [a] = cluster.stores as [ContextStore];
      const ctx = await a.createContext({ state: { n: 0 } });
      const w = await a.replaceState(ctx.id, { n: 1 });
      expect(await cachedVersion(cluster.schema, "default", ctx.id)).toBe(w.version);
      expect(await a.getState(ctx.id)).toEqual({ state: { n: 1 }, version: w.version });
    } finally {
      await cluster.close();
    }
  });

  it("never returns an older version on another node after an acknowledged write", async () => {
    const cluster = await nodes(3);
    try {
      const [a, b, c] = cluster.stores as [ContextStore, ContextStore, ContextStore];
      const ctx = await a.createContext({ state: { n: 0 } });
      const readers = [a, b, c];
      for (let i = 1; i <= 40; i++) {
        const writer = readers[i % 3] as ContextStore;
        // Every node reads first, so each may hold the previous version in the cache path.
        for (const r of readers) await r.getState(ctx.id);
        const w = await writer.patchState(ctx.id, { n: i });
        for (const r of readers) {
          const s = await r.getState(ctx.id);
          expect(s.version).toBeGreaterThanOrEqual(w.version);
          expect(s.state.n).toBe(i);
        }
      }
    } finally {
      await cluster.close();
    }
  });

  it("does not serve a deleted context from the cache", async () => {
    const cluster = await nodes(2);
    try {
      const [a, b] = cluster.stores as [ContextStore, ContextStore];
      const ctx = await a.createContext({ state: { n: 1 } });
      await b.getState(ctx.id);
      await a.deleteContext(ctx.id);
      await expect(b.getState(ctx.id)).rejects.toMatchObject({ code: "NOT_FOUND" });
    } finally {
      await cluster.close();
    }
  });

  it("serves no memory stale across nodes: an update and a delete on one node are seen by the next search, list and get on another", async () => {
    const cluster = await nodes(2);
    try {
      const [a, b] = cluster.stores as [ContextStore, ContextStore];
      const [added] = await a.addMemories({ scope: { userId: "u" }, text: "Caroline lives in Lisbon" });
      const id = added?.memory.id as string;
      // Node b builds its index (and would cache, if anything did) before the change.
      expect((await b.searchMemories({ text: "Lisbon", mode: "text" })).map((h) => h.memory.text)).toEqual(["Caroline lives in Lisbon"]);
      await a.updateMemory(id, { text: "Caroline moved to Porto" });
      expect((await b.searchMemories({ text: "Porto", mode: "text" })).map((h) => [h.memory.id, h.memory.text, h.memory.version])).toEqual([
        [id, "Caroline moved to Porto", 2],
      ]);
      expect(await b.searchMemories({ text: "Lisbon", mode: "text" })).toEqual([]);
      expect((await b.listMemories()).items.map((m) => m.text)).toEqual(["Caroline moved to Porto"]);
      expect((await b.getMemory(id)).text).toBe("Caroline moved to Porto");
      await a.deleteMemory(id);
      expect(await b.searchMemories({ text: "Porto", mode: "text" })).toEqual([]);
      expect((await b.listMemories()).items).toEqual([]);
      await expect(b.getMemory(id)).rejects.toMatchObject({ code: "NOT_FOUND" });
    } finally {
      await cluster.close();
    }
  });

  it("carries change notices over Redis pub/sub when PostgreSQL NOTIFY is off", async () => {
    const cluster = await nodes(2, { notify: false }, { pubsub: true });
    try {
      const [a, b] = cluster.stores as [ContextStore, ContextStore];
      const ctx = await a.createContext();
      const controller = new AbortController();
      const seen: ContextEvent[] = [];
      const watching = (async () => {
        for await (const e of a.watch(ctx.id, { afterSeq: 0, signal: controller.signal })) {
          seen.push(e);
          if (seen.length === 5) return;
        }
      })();
      for (let i = 0; i < 5; i++) await b.append(ctx.id, { type: "message", data: { i } });
      const guard = setTimeout(() => controller.abort(), 10_000);
      await watching;
      clearTimeout(guard);
      expect(seen.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    } finally {
      await cluster.close();
    }
  });

  /**
   * A store whose Redis connection goes through a TCP proxy the test can cut or freeze, with
   * a context written once and cached at version 2; torn down afterwards.
   */
  async function behindProxy(
    cache: RedisCacheOptions,
    fn: (t: { store: ContextStore; proxy: TcpProxy; warnings: string[]; schema: string; ctx: { id: string } }) => Promise<void>,
  ): Promise<void> {
    const url = new URL(REDIS_URL);
    const proxy = await startTcpProxy(url.hostname, Number(url.port || 6379));
    const warnings: string[] = [];
    const logger = { warn: (m: string) => void warnings.push(m), info: () => undefined };
    const schema = randomSchema("cdr");
    leftovers.add(schema);
    const store = await tiered(schema, {}, { url: `redis://127.0.0.1:${proxy.port}`, logger, probeIntervalMs: 100, ...cache });
    try {
      const ctx = await store.createContext({ state: { n: 0 } });
      await store.replaceState(ctx.id, { n: 1 });
      expect(await cachedVersion(schema, "default", ctx.id)).toBe(2);
      await fn({ store, proxy, warnings, schema, ctx });
    } finally {
      await store.close();
      await proxy.close();
      await dropSchema(schema);
    }
  }

  /**
   * Writes `{ n: 100 }` until Redis holds the written version again (recovery is driven by the
   * background probe: this waits on the observable condition); `afterWrite` checks each write.
   */
  async function untilCachedAgain(
    store: ContextStore,
    schema: string,
    id: string,
    afterWrite: (version: number) => Promise<void> = async () => undefined,
  ): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const w = await store.replaceState(id, { n: 100 });
      await afterWrite(w.version);
      if ((await cachedVersion(schema, "default", id)) === w.version) return;
      if (Date.now() > deadline) throw new Error("the cache did not come back into use within 10 s");
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it("falls back to PostgreSQL while Redis is unreachable, warns once, and uses the cache again when it returns", async () => {
    await behindProxy({}, async ({ store, proxy, warnings, schema, ctx }) => {
      proxy.cut();
      for (let i = 2; i <= 6; i++) {
        const w = await store.replaceState(ctx.id, { n: i });
        expect((await store.getState(ctx.id)).version).toBe(w.version);
      }
      expect(warnings).toHaveLength(1);

      proxy.restore();
      await untilCachedAgain(store, schema, ctx.id);
      expect((await store.getState(ctx.id)).state.n).toBe(100);
      expect(warnings).toHaveLength(1);
    });
  });

  it("falls back to PostgreSQL when Redis stops answering (connection open, no replies), and recovers", async () => {
    await behindProxy({ commandTimeoutMs: 200 }, async ({ store, proxy, warnings, schema, ctx }) => {
      proxy.freeze();
      // The first call waits for the watchdog, then every call goes straight to PostgreSQL.
      expect(await store.getState(ctx.id)).toMatchObject({ version: 2, state: { n: 1 } });
      expect(warnings).toHaveLength(1);
      for (let i = 2; i <= 4; i++) {
        const w = await store.replaceState(ctx.id, { n: i });
        expect(await store.getState(ctx.id)).toMatchObject({ version: w.version, state: { n: i } });
      }

      // The frozen commands are delivered when Redis answers again; none may make a read older.
      proxy.restore();
      await untilCachedAgain(store, schema, ctx.id, async (version) => {
        expect((await store.getState(ctx.id)).version).toBe(version);
      });
      expect(await store.getState(ctx.id)).toMatchObject({ state: { n: 100 } });
      expect(warnings).toHaveLength(1);
    });
  });
});
