/**
 * Three real `contextd serve` processes on different ports over one PostgreSQL schema and
 * one Redis, used through the HTTP client: no lost compare-and-set update, gapless
 * sequences, cross-node watch, and a node killed with SIGKILL under load.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { createClient } from "../src/client/index.js";
import type { ContextEvent } from "../src/core/types.js";
import { isContextError } from "../src/errors.js";
import { startServerProcess } from "./helpers/cli-process.js";
import type { ServerProcess } from "./helpers/cli-process.js";
import {
  describeWithServices,
  dropRedisPrefix,
  dropSchema,
  PG_URL,
  probePostgres,
  probeRedis,
  randomSchema,
  REDIS_URL,
} from "./services.js";
import type { ContextStore } from "../src/agent/types.js";

const reasons = [await probePostgres(), await probeRedis()];
const schema = randomSchema("cdm");

describeWithServices("three contextd nodes on PostgreSQL + Redis", reasons, () => {
  let nodes: ServerProcess[] = [];
  let clients: ContextStore[] = [];
  let cachePrefix: string | undefined;

  beforeAll(async () => {
    const url = new URL(PG_URL);
    url.searchParams.set("schema", schema);
    url.searchParams.set("cache", REDIS_URL);
    const env = { CONTEXTD_STORE: url.toString(), CONTEXTD_LOG_LEVEL: "warn" };
    // One first, so the schema migration is not raced by three processes at once (it would
    // be safe: migrations take an advisory lock; this only keeps start-up quick).
    nodes = [await startServerProcess([], env, 60_000)];
    nodes.push(...(await Promise.all([startServerProcess([], env, 60_000), startServerProcess([], env, 60_000)])));
    clients = nodes.map((n) => createClient({ url: n.url }));
  }, 120_000);

  afterAll(async () => {
    for (const c of new Set(clients)) await c.close().catch(() => undefined);
    await Promise.all(nodes.map((n) => n.stop()));
    await dropSchema(schema);
    if (cachePrefix !== undefined) await dropRedisPrefix(cachePrefix);
  }, 60_000);

  const node = (i: number): ContextStore => clients[i % clients.length] as ContextStore;

  it("every node runs on PostgreSQL with the Redis cache in use, under one cache prefix", async () => {
    const prefixes = new Set<unknown>();
    for (let i = 0; i < 3; i++) {
      const h = await node(i).health();
      expect(h.ok).toBe(true);
      const cache = h.details.cache as { up?: boolean; prefix?: string } | undefined;
      expect(cache?.up).toBe(true);
      prefixes.add(cache?.prefix);
    }
    expect(prefixes.size).toBe(1);
    const [prefix] = prefixes;
    if (typeof prefix === "string") cachePrefix = prefix;
  });

  it("8 concurrent clients doing compare-and-set increments through nodes in round robin lose no update", async () => {
    const a = node(0);
    const contexts = [await a.createContext({ state: { n: 0 } }), await a.createContext({ state: { n: 0 } })];
    const perClient = 12;
    const done = new Map<string, number>(contexts.map((c) => [c.id, 0]));
    await Promise.all(
      Array.from({ length: 8 }, async (_, k) => {
        let call = k;
        for (let i = 0; i < perClient; i++) {
          const id = (contexts[(k + i) % contexts.length] as { id: string }).id;
          for (;;) {
            const reader = node(call++);
            const writer = node(call++);
            const cur = await reader.getState(id);
            try {
              await writer.replaceState(id, { n: (cur.state.n as number) + 1 }, { expectedVersion: cur.version });
              done.set(id, (done.get(id) ?? 0) + 1);
              break;
            } catch (e) {
              if (!isContextError(e, "VERSION_CONFLICT")) throw e;
            }
          }
        }
      }),
    );
    for (const c of contexts) {
      const count = done.get(c.id) ?? 0;
      for (let i = 0; i < 3; i++) {
        const s = await node(i).getState(c.id);
        expect(s.state.n).toBe(count);
        expect(s.version).toBe(1 + count);
      }
      const events = (await node(1).readEvents(c.id, { limit: 1000 })).items;
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: count }, (_, j) => j + 1));
    }
    expect([...done.values()].reduce((x, y) => x + y, 0)).toBe(8 * perClient);
  }, 120_000);

  it("a watcher on node A receives, in order, every event written through nodes B and C", async () => {
    const [a, b, c] = [node(0), node(1), node(2)];
    const ctx = await a.createContext();
    const controller = new AbortController();
    const iter = a.watch(ctx.id, { afterSeq: 0, signal: controller.signal })[Symbol.asyncIterator]();
    const total = 30;
    const seen: ContextEvent[] = [];
    const guard = setTimeout(() => controller.abort(), 30_000);
    const reading = (async () => {
      while (seen.length < total) {
        const r = await iter.next();
        if (r.done) break;
        seen.push(r.value);
      }
    })();
    for (let i = 0; i < total; i++) await (i % 2 === 0 ? b : c).append(ctx.id, { type: "message", data: { i } });
    await reading;
    clearTimeout(guard);
    controller.abort();
    expect(seen.map((e) => e.seq)).toEqual(Array.from({ length: total }, (_, j) => j + 1));
    expect(seen.map((e) => (e.data as { i: number }).i)).toEqual(Array.from({ length: total }, (_, j) => j));
  }, 60_000);

  it("after one node is killed with SIGKILL under load the others keep serving and every acknowledged write is present", async () => {
    const ctx = await node(0).createContext();
    const acknowledged = new Set<string>();
    let killed = false;
    const victim = nodes[2] as ServerProcess;
    const writers = Array.from({ length: 6 }, async (_, k) => {
      for (let i = 0; i < 25; i++) {
        const target = node(k + i);
        const mark = `w${k}-${i}`;
        try {
          await target.append(ctx.id, { type: "message", data: { mark } });
          acknowledged.add(mark);
        } catch {
          // Only calls to the killed node may fail, and only after it was killed.
          expect(killed && target === clients[2]).toBe(true);
        }
        if (k === 0 && i === 8 && !killed) {
          killed = true;
          victim.child.kill("SIGKILL");
        }
      }
    });
    await Promise.all(writers);
    expect(killed).toBe(true);
    // The survivors serve reads and writes.
    await node(0).append(ctx.id, { type: "message", data: { mark: "after" } });
    acknowledged.add("after");
    const events = (await node(1).readEvents(ctx.id, { limit: 10_000 })).items;
    expect(events.map((e) => e.seq)).toEqual(events.map((_, j) => j + 1));
    const present = new Set(events.map((e) => (e.data as { mark: string }).mark));
    for (const mark of acknowledged) expect(present.has(mark)).toBe(true);
    const dead = clients[2] as ContextStore;
    clients[2] = clients[0] as ContextStore;
    await dead.close();
  }, 120_000);
});
