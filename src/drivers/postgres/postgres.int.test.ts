import { afterAll, describe, expect, it } from "vitest";
import { createStore } from "../../open.js";
import type { ContextStore, StoreOptions } from "../../index.js";
import { isContextError } from "../../errors.js";
import { describeConformance, testEmbedder } from "../../testing/index.js";
import { allMemories } from "../../testing/memory.js";
import {
  adminQuery,
  describeWithServices,
  dropSchema,
  withCleanup,
  PG_URL,
  pgModule,
  probePostgres,
  randomSchema,
} from "../../../test/services.js";
import type { Driver } from "../driver.js";
import { postgresDriver } from "./driver.js";
import { MIGRATIONS } from "./migrations.js";

const pgDown = await probePostgres();
const schemaOf = new WeakMap<ContextStore, string>();
const leftovers = new Set<string>();

/** A store in a fresh schema; closing it drops the schema. */
async function freshStore(options: StoreOptions = {}): Promise<ContextStore> {
  const schema = randomSchema();
  leftovers.add(schema);
  const store = await createStore(postgresDriver({ connectionString: PG_URL, schema, poolSize: 4 }), options);
  const wrapped = withCleanup(store, async () => {
    await dropSchema(schema);
    leftovers.delete(schema);
  });
  schemaOf.set(wrapped, schema);
  return wrapped;
}

async function peerOf(store: ContextStore, options: StoreOptions = {}): Promise<ContextStore> {
  const schema = schemaOf.get(store);
  if (schema === undefined) throw new Error("not a store made by freshStore");
  return createStore(postgresDriver({ connectionString: PG_URL, schema, poolSize: 4 }), options);
}

afterAll(async () => {
  for (const s of leftovers) await dropSchema(s).catch(() => undefined);
});

describeWithServices("postgres", [pgDown], () => {
  // With the test embedder, so that the memory tests check vectors and rankings too.
  const embedder = testEmbedder();
  describeConformance("postgres", () => freshStore({ embedder }), {
    openPeer: (store) => peerOf(store, { embedder }),
    openWithClock: (now) => freshStore({ now, embedder }),
  });
});

/** `n` stores (each its own driver and pool) on one fresh schema; closed and the schema dropped afterwards. */
async function withStores<T>(
  n: number,
  fn: (stores: ContextStore[], a: ContextStore, b: ContextStore) => Promise<T>,
): Promise<T> {
  const schema = randomSchema();
  leftovers.add(schema);
  const stores = await Promise.all(
    Array.from({ length: n }, () => createStore(postgresDriver({ connectionString: PG_URL, schema, poolSize: 4 }))),
  );
  try {
    return await fn(stores, stores[0] as ContextStore, stores[1] as ContextStore);
  } finally {
    for (const s of stores) await s.close();
    await dropSchema(schema);
    leftovers.delete(schema);
  }
}

describeWithServices("postgres driver", [pgDown], () => {
  async function withDriver<T>(fn: (d: Driver, schema: string) => Promise<T>, schema = randomSchema()): Promise<T> {
    leftovers.add(schema);
    const d = postgresDriver({ connectionString: PG_URL, schema, poolSize: 4 });
    try {
      await d.open();
      return await fn(d, schema);
    } finally {
      await d.close();
    }
  }

  it("records every migration in the schema's migrations table", async () => {
    await withDriver(async (_d, schema) => {
      const r = (await adminQuery(`SELECT version, name FROM "${schema}".migrations ORDER BY version`)) as {
        rows: { version: number; name: string }[];
      };
      expect(r.rows.map((x) => x.name)).toEqual(MIGRATIONS.map((m) => m.name));
    });
  });

  it("refuses a schema written by a newer contextd with STORE_INCOMPATIBLE and leaves it untouched", async () => {
    const schema = randomSchema();
    await withDriver(async () => undefined, schema);
    await adminQuery(`INSERT INTO "${schema}".migrations (version, name) VALUES (${MIGRATIONS.length + 1}, 'from-the-future')`);
    const d = postgresDriver({ connectionString: PG_URL, schema });
    const err = await d.open().then(
      () => null,
      (e: unknown) => e,
    );
    await d.close();
    expect(isContextError(err, "STORE_INCOMPATIBLE")).toBe(true);
    const r = (await adminQuery(`SELECT count(*)::int AS n FROM "${schema}".migrations`)) as { rows: { n: number }[] };
    expect(r.rows[0]?.n).toBe(MIGRATIONS.length + 1);
  });

  it("upgrades a schema at version 2 (before the search index) on open, and search finds its old events", async () => {
    const schema = randomSchema();
    const now = Date.now();
    await withDriver(async (d) => {
      const r = await d.insertContext(
        {
          id: "c1", tenant: "t", kind: "chat", userId: null, chatId: null, agentId: null, title: null, metadata: {},
          version: 1, lastSeq: 0, status: "active", createdAt: now, updatedAt: now, expiresAt: null, parentId: null,
          parentVersion: null, parentSeq: null, firstSeq: 1,
        },
        "{}",
        [{ type: "message", data: JSON.stringify("Legacy Needle"), metadata: "{}", tokens: null, timestamp: now }],
        { now },
      );
      expect(r.events).toHaveLength(1);
    }, schema);
    await adminQuery(
      `DROP TABLE "${schema}".memories, "${schema}".memory_vectors, "${schema}".memory_versions, "${schema}".memory_revs;
       DROP TABLE "${schema}".event_search; DROP TABLE "${schema}".search_progress;
       DROP TABLE "${schema}".lineage; ALTER TABLE "${schema}".contexts DROP COLUMN parent_seq;
       DROP TABLE "${schema}".blocks, "${schema}".block_versions;
       ALTER TABLE "${schema}".active_contexts RENAME TO bindings; DELETE FROM "${schema}".migrations WHERE version >= 3`,
    );
    await withDriver(async (d) => {
      const hits = (await d.search?.searchEvents("t", { words: ["needle", "legacy"], limit: 10 }, { now: Date.now() })) ?? [];
      expect(hits.map((h) => [h.contextId, h.event.seq, h.event.data])).toEqual([["c1", 1, "Legacy Needle"]]);
    }, schema);
    const r = (await adminQuery(`SELECT name FROM "${schema}".migrations ORDER BY version`)) as { rows: { name: string }[] };
    expect(r.rows.map((x) => x.name)).toEqual(MIGRATIONS.map((m) => m.name));
  });

  it("refuses a schema holding foreign tables with STORE_INCOMPATIBLE", async () => {
    const schema = randomSchema();
    leftovers.add(schema);
    await adminQuery(`CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".users (id int)`);
    const d = postgresDriver({ connectionString: PG_URL, schema });
    const err = await d.open().then(
      () => null,
      (e: unknown) => e,
    );
    await d.close();
    expect(isContextError(err, "STORE_INCOMPATIBLE")).toBe(true);
  });

  it("rejects a schema name that is not a plain identifier with INVALID_INPUT", () => {
    let err: unknown;
    try {
      postgresDriver({ schema: 'x"; DROP TABLE y; --' });
    } catch (e) {
      err = e;
    }
    expect(isContextError(err, "INVALID_INPUT")).toBe(true);
  });

  it("numbers events without gaps under concurrent appends from several stores", async () => {
    await withStores(3, async (stores, a) => {
      const ctx = await a.createContext({ state: { n: 0 } });
      await Promise.all(
        stores.flatMap((s, i) =>
          Array.from({ length: 20 }, (_, j) => s.append(ctx.id, [{ type: "message", data: { i, j } }, { type: "tick" }])),
        ),
      );
      const page = await a.readEvents(ctx.id, { limit: 1000 });
      expect(page.items.map((e) => e.seq)).toEqual(Array.from({ length: 120 }, (_, k) => k + 1));
    });
  });

  it("loses no compare-and-set increment across stores on one context", async () => {
    await withStores(3, async (stores, a) => {
      const ctx = await a.createContext({ state: { n: 0 } });
      const perWorker = 15;
      await Promise.all(
        stores.map(async (s) => {
          for (let k = 0; k < perWorker; ) {
            const cur = await s.getState(ctx.id);
            try {
              await s.replaceState(ctx.id, { n: (cur.state.n as number) + 1 }, { expectedVersion: cur.version });
              k++;
            } catch (e) {
              if (!isContextError(e, "VERSION_CONFLICT")) throw e;
            }
          }
        }),
      );
      const final = await a.getState(ctx.id);
      expect(final.state.n).toBe(3 * perWorker);
      expect(final.version).toBe(1 + 3 * perWorker);
    });
  });

  it("ends a statement that waits past statementTimeoutMs with DRIVER_UNAVAILABLE and works again after", async () => {
    const schema = randomSchema();
    leftovers.add(schema);
    const store = await createStore(postgresDriver({ connectionString: PG_URL, schema, poolSize: 2, statementTimeoutMs: 300 }));
    const { Client } = await pgModule();
    const blocker = new Client({ connectionString: PG_URL });
    blocker.on("error", () => undefined);
    await blocker.connect();
    try {
      const ctx = await store.createContext({ state: { n: 0 } });
      await blocker.query("BEGIN");
      await blocker.query(`SELECT 1 FROM "${schema}".contexts WHERE id = '${ctx.id}' FOR UPDATE`);
      const err = await store.replaceState(ctx.id, { n: 1 }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isContextError(err, "DRIVER_UNAVAILABLE")).toBe(true);
      expect(((err as Error).cause as { code?: string }).code).toBe("57014");
      await blocker.query("ROLLBACK");
      expect((await store.replaceState(ctx.id, { n: 2 })).version).toBe(2);
    } finally {
      await blocker.end();
      await store.close();
      await dropSchema(schema);
    }
  });

  for (const path of ["state write", "append"] as const) {
    it(`fences ${path === "append" ? "an" : "a"} ${path} whose lease was granted to another holder while it waited for the row lock`, async () => {
      const schema = randomSchema();
      leftovers.add(schema);
      const app = `contextd-fence-${schema}`;
      const store = await createStore(postgresDriver({ connectionString: PG_URL, schema, poolSize: 2, applicationName: app }));
      const { Client } = await pgModule();
      const other = new Client({ connectionString: PG_URL });
      other.on("error", () => undefined);
      await other.connect();
      try {
        const ctx = await store.createContext({ state: { n: 0 } });
        const lease = await store.acquireLease(ctx.id, { holder: "a", ttlMs: 60_000 });
        // Another node takes the row lock and, holding it, hands the lease to "b".
        await other.query("BEGIN");
        await other.query(`SELECT 1 FROM "${schema}".contexts WHERE id = '${ctx.id}' FOR UPDATE`);
        const write =
          path === "state write"
            ? store.replaceState(ctx.id, { n: 1 }, { fencingToken: lease.token })
            : store.append(ctx.id, { type: "fenced" }, { fencingToken: lease.token });
        const outcome = write.then(
          () => null,
          (e: unknown) => e,
        );
        // Wait until the write is queued on the row lock (the condition, bounded).
        const deadline = Date.now() + 10_000;
        for (;;) {
          const r = (await adminQuery(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = '${app}' AND wait_event_type = 'Lock'`,
          )) as { rows: { n: number }[] };
          if ((r.rows[0]?.n ?? 0) > 0) break;
          if (Date.now() > deadline) throw new Error("the write never waited for the row lock");
          await new Promise((res) => setTimeout(res, 20));
        }
        await other.query(
          `UPDATE "${schema}".leases SET holder = 'b', token = token + 1, expires_at = ${Date.now() + 60_000}
            WHERE ctx = (SELECT pk FROM "${schema}".contexts WHERE id = '${ctx.id}')`,
        );
        await other.query("COMMIT");
        expect(isContextError(await outcome, "LEASE_LOST")).toBe(true);
        expect(await store.getState(ctx.id)).toEqual({ state: { n: 0 }, version: 1 });
        expect(await store.countEvents(ctx.id)).toBe(0);
      } finally {
        await other.end();
        await store.close();
        await dropSchema(schema);
      }
    });
  }

  it("fails fast with DRIVER_UNAVAILABLE when the server cannot be reached", async () => {
    const d = postgresDriver({ connectionString: "postgres://postgres@127.0.0.1:1/test", connectionTimeoutMs: 1000 });
    const started = Date.now();
    const err = await d.open().then(
      () => null,
      (e: unknown) => e,
    );
    await d.close();
    expect(isContextError(err, "DRIVER_UNAVAILABLE")).toBe(true);
    expect((err as Error).cause).toBeInstanceOf(Error);
    // A failure guard against hanging, not a speed assertion: the connect timeout is 1 s.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("memory writes of one tenant on several nodes get revs in commit order: a node reading the change feed meanwhile misses none", async () => {
    await withStores(3, async ([a, b, reader]) => {
      const writers = [a, b] as ContextStore[];
      let writing = true;
      // The reader catches its index up again and again while the writers commit concurrently.
      const reading = (async () => {
        while (writing) await (reader as ContextStore).listMemories({ limit: 1 });
      })();
      const adds = Array.from({ length: 60 }, (_, i) =>
        (writers[i % 2] as ContextStore).addMemories({ scope: { userId: "u" }, text: `memory number ${i}` }),
      );
      const ids = (await Promise.all(adds)).map((r) => r[0]?.memory.id as string);
      writing = false;
      await reading;
      const seen = await allMemories(reader as ContextStore);
      expect(seen.map((m) => m.id).sort()).toEqual([...ids].sort());
    });
  });

  it("the same texts added on two nodes at once are stored once each: both nodes get the same memories", async () => {
    await withStores(2, async (_stores, a, b) => {
      const texts = Array.from({ length: 20 }, (_, i) => ({ scope: { userId: "u" }, text: `shared fact ${i}` }));
      const [fromA, fromB] = await Promise.all([
        Promise.all(texts.map((t) => a.addMemories(t))),
        Promise.all(texts.map((t) => b.addMemories(t))),
      ]);
      expect(fromA.map((r) => r[0]?.memory.id)).toEqual(fromB.map((r) => r[0]?.memory.id));
      for (const [i, r] of fromA.entries()) {
        expect([r[0]?.outcome, fromB[i]?.[0]?.outcome].sort()).toEqual(["created", "existing"]);
      }
      expect((await allMemories(a)).length).toBe(20);
    });
  });

  describe("one-round-trip state writes from the head this store committed last", () => {
    /** Two stores on one schema: `a` caches its heads, `b` changes them behind its back. */
    const pair = <T>(fn: (a: ContextStore, b: ContextStore) => Promise<T>): Promise<T> =>
      withStores(2, (_stores, a, b) => fn(a, b));

    it("applies an unguarded patch on top of a write another store made since", async () => {
      await pair(async (a, b) => {
        await a.createContext({ id: "c", state: { n: 0 } });
        await a.patchState("c", { mine: 1 });
        await b.patchState("c", { theirs: 1 });
        const r = await a.patchState("c", { mine: 2 }, { events: [{ type: "message", data: "hi" }] });
        expect(r).toMatchObject({ version: 4, state: { n: 0, mine: 2, theirs: 1 } });
        expect((await b.getState("c")).state).toEqual({ n: 0, mine: 2, theirs: 1 });
        const events = (await b.readEvents("c")).items.map((e) => [e.seq, e.type, e.version]);
        expect(events).toEqual([[1, "state", 2], [2, "state", 3], [3, "state", 4], [4, "message", null]]);
      });
    });

    it("reports the real version in a conflict when the cached head is stale", async () => {
      await pair(async (a, b) => {
        await a.createContext({ id: "c", state: {} });
        await a.patchState("c", { x: 1 }, { expectedVersion: 1 });
        await b.patchState("c", { y: 1 });
        const err = await a.patchState("c", { x: 2 }, { expectedVersion: 2 }).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: "VERSION_CONFLICT", expected: 2, actual: 3 });
        expect((await a.patchState("c", { x: 2 }, { expectedVersion: 3 })).state).toEqual({ x: 2, y: 1 });
      });
    });

    it("checks a schema another store registered after this store cached the head", async () => {
      await pair(async (a, b) => {
        await a.createContext({ id: "c", kind: "plan", state: { steps: 1 } });
        await a.patchState("c", { steps: 2 });
        await b.setSchema("plan", { type: "object", properties: { steps: { type: "integer", maximum: 5 } } });
        const err = await a.patchState("c", { steps: 9 }).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: "SCHEMA_VIOLATION" });
        expect(await a.getState("c")).toMatchObject({ version: 2, state: { steps: 2 } });
      });
    });

    it("writes to a context deleted and made again under the same id from its own state", async () => {
      await pair(async (a, b) => {
        await a.createContext({ id: "c", state: { old: true } });
        await a.patchState("c", { n: 1 });
        await b.deleteContext("c");
        await b.createContext({ id: "c", state: { fresh: true } });
        await b.patchState("c", { n: 5 });
        const r = await a.patchState("c", { m: 1 });
        expect(r).toMatchObject({ version: 3, state: { fresh: true, n: 5, m: 1 } });
      });
    });

    it("refuses a write whose lease another store took over, and writes nothing", async () => {
      await pair(async (a, b) => {
        await a.createContext({ id: "c", state: {} });
        const lease = await a.acquireLease("c", { holder: "w1", ttlMs: 60_000 });
        await a.patchState("c", { step: 1 }, { fencingToken: lease.token });
        await b.releaseLease("c", lease);
        await b.acquireLease("c", { holder: "w2", ttlMs: 60_000 });
        const err = await a.patchState("c", { step: 2 }, { fencingToken: lease.token }).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: "LEASE_LOST" });
        expect(await b.getState("c")).toMatchObject({ version: 2, state: { step: 1 } });
      });
    });
  });
});
