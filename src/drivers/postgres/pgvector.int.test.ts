/**
 * The PostgreSQL driver with pgvector: PGlite (PostgreSQL 17 in WebAssembly, with the `vector`
 * extension) in this process, served over the wire protocol on a free port by
 * `@electric-sql/pglite-socket`, and our `pg`-based driver against it. Debian 12 has no
 * pgvector package, so the server of postgres.int.test.ts tests the fallback; this file tests
 * the database-side vector search.
 *
 * Only the memory groups of the conformance suite run here: PGlite is one backend session
 * shared by every connection (the socket server queues their queries), so the driver runs on
 * one pooled connection without LISTEN/NOTIFY, and the features that need several sessions
 * (peers, cross-process watch) are postgres.int.test.ts's.
 */
import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite/vector";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStore } from "../../open.js";
import type { ContextStore, StoreOptions } from "../../index.js";
import { describeConformance, testEmbedder } from "../../testing/index.js";
import type { ConformanceSkipKey } from "../../testing/index.js";
import { TEST_EMBEDDER_MODEL } from "../../testing/test-embedder.js";
import { randomSchema, withCleanup } from "../../../test/services.js";
import { postgresDriver } from "./driver.js";
import { approximateSql, indexName } from "./pgvector.js";

let db: PGlite | undefined;
let server: PGLiteSocketServer | undefined;
let url = "";

beforeAll(async () => {
  db = await PGlite.create({ extensions: { vector } });
  server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 8 });
  await server.start();
  url = `postgres://postgres@${server.getServerConn()}/postgres`;
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await db?.close();
});

const driverOn = (schema: string) => postgresDriver({ connectionString: url, schema, poolSize: 1, notify: false });

/** A store in a fresh schema; closing it drops the schema. */
async function freshStore(options: StoreOptions = {}): Promise<ContextStore> {
  const schema = randomSchema();
  const store = await createStore(driverOn(schema), options);
  return withCleanup(store, async () => {
    await db?.exec(`DROP SCHEMA "${schema}" CASCADE`);
  });
}

const notHere = "memory only on PGlite: the rest runs in postgres.int.test.ts";
const skip: Partial<Record<ConformanceSkipKey, string>> = Object.fromEntries(
  (["contexts", "state", "history", "search", "snapshots", "timeTravel", "activeContext", "schemas", "leases", "watch", "retention", "tenancy", "badInput", "errors"] as const).map(
    (k) => [k, notHere],
  ),
);

describe("postgres + pgvector (PGlite)", () => {
  const embedder = testEmbedder();
  describeConformance("postgres+pgvector", () => freshStore({ embedder }), {
    openWithClock: (now) => freshStore({ now, embedder }),
    skip,
  });

  it("uses the database: vectors are in memory_pgvector and nearest answers", async () => {
    const schema = randomSchema();
    const driver = driverOn(schema);
    const store = await createStore(driver, { embedder });
    try {
      await store.addMemories([
        { scope: { userId: "u" }, text: "the blue notebook is on the shelf" },
        { scope: { userId: "u" }, text: "a red bicycle in the garage" },
      ]);
      const rows = await db!.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".memory_pgvector`);
      expect(rows.rows[0]?.n).toBe(2);
      const [hit] = await store.searchMemories({ text: "blue notebook", mode: "vector", scope: { userId: "u" } });
      expect(hit?.memory.text).toBe("the blue notebook is on the shelf");
      const q = (await embedder.embed(["red bicycle garage"]))[0] as Float32Array;
      const near = await driver.memory?.nearest?.("default", { model: TEST_EMBEDDER_MODEL, vector: q, k: 1 }, { now: Date.now() });
      expect(near?.map((h) => h.id)).toEqual([(await store.listMemories({ scope: { userId: "u" } })).items.find((m) => m.text.includes("bicycle"))?.id]);
    } finally {
      await store.close();
      await db!.exec(`DROP SCHEMA "${schema}" CASCADE`);
    }
  });

  it("copies the vectors written before the extension was there when a store opens, and searches them", async () => {
    const schema = randomSchema();
    const first = await createStore(driverOn(schema), { embedder });
    try {
      await first.addMemories([
        { scope: { userId: "u" }, text: "the blue notebook is on the shelf" },
        { scope: { userId: "u" }, text: "a red bicycle in the garage" },
      ]);
      // As a node without the extension would have left it: the vectors only in memory_vectors.
      await db!.exec(`DELETE FROM "${schema}".memory_pgvector`);
    } finally {
      await first.close();
    }
    const driver = driverOn(schema);
    const second = await createStore(driver, { embedder });
    try {
      const rows = await db!.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".memory_pgvector`);
      expect(rows.rows[0]?.n).toBe(2);
      const [hit] = await second.searchMemories({ text: "red bicycle", mode: "vector" });
      expect(hit?.memory.text).toBe("a red bicycle in the garage");
    } finally {
      await second.close();
      await db!.exec(`DROP SCHEMA "${schema}" CASCADE`);
    }
  });

  it("searches more than 2048 memories with the HNSW index of the model (EXPLAIN, and the index's scans)", async () => {
    const schema = randomSchema();
    const store = await createStore(driverOn(schema), { embedder });
    try {
      const n = 2300;
      for (let i = 0; i < n; i += 500) {
        await store.addMemories(
          Array.from({ length: Math.min(500, n - i) }, (_, j) => ({ scope: { userId: "u" }, text: `fact ${i + j}: item w${(i + j) % 97} near z${(i + j) % 89} kind k${(i + j) % 13}` })),
        );
      }
      const index = indexName(TEST_EMBEDDER_MODEL, 64);
      const q = (await embedder.embed(["item w5 near z7"]))[0] as Float32Array;
      const literal = `[${Array.from(q).join(",")}]`;
      const plan = await db!.query<{ "QUERY PLAN": string }>(
        `EXPLAIN ${approximateSql(`"${schema}"`, '"public"', TEST_EMBEDDER_MODEL, 64).replace("$1", "'default'").replace(/\$2/g, `'${literal}'`).replace("$3", "50")}`,
      );
      expect(plan.rows.map((r) => r["QUERY PLAN"]).join("\n")).toContain(`Index Scan using ${index}`);

      const scans = async () => {
        await db!.query("SELECT pg_stat_force_next_flush()");
        return Number((await db!.query<{ n: string }>(`SELECT idx_scan AS n FROM pg_stat_user_indexes WHERE schemaname = $1 AND indexrelname = $2`, [schema, index])).rows[0]?.n ?? 0);
      };
      const before = await scans();
      const hits = await store.searchMemories({ text: "fact 5: item w5 near z5 kind k5", mode: "vector", limit: 5 });
      expect(await scans()).toBeGreaterThan(before);
      // The memory with the very text of the query is found (cosine 1), first.
      expect(hits[0]?.memory.text).toBe("fact 5: item w5 near z5 kind k5");
      expect(hits[0]?.vectorScore).toBeCloseTo(1, 5);
    } finally {
      await store.close();
      await db!.exec(`DROP SCHEMA "${schema}" CASCADE`);
    }
  }, 120_000);
});
