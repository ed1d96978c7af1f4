/**
 * `ContextdStore` against LangGraph's `InMemoryStore` on random operation sequences
 * (store-differential.ts) on the real PostgreSQL, each run in a fresh schema dropped after.
 * Under CI an unreachable PostgreSQL fails the suite instead of skipping it (test/services.ts).
 */
import { createStore, postgresDriver } from "../../src/index.js";
import { testEmbedder } from "../../src/testing/index.js";
import { PG_URL, describeWithServices, dropSchema, probePostgres, randomSchema, withCleanup } from "../services.js";
import { differentialRuns } from "./store-differential.js";

const pgDown = await probePostgres();

describeWithServices("ContextdStore against InMemoryStore (PostgreSQL)", [pgDown], () => {
  differentialRuns(
    "postgres",
    async () => {
      const schema = randomSchema("cdlgs");
      return withCleanup(await createStore(postgresDriver({ connectionString: PG_URL, schema }), { embedder: testEmbedder() }), () => dropSchema(schema));
    },
    3,
    120,
  );
});
