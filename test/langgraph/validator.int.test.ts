/**
 * LangGraph's checkpointer validator against `ContextdSaver` on the real PostgreSQL, and on
 * PostgreSQL behind the Redis cache tier (each in a fresh schema, dropped after). Under CI an
 * unreachable service fails the suite instead of skipping it (test/services.ts).
 */
import { createStore, postgresDriver, redisCache } from "../../src/index.js";
import { PG_URL, REDIS_URL, describeWithServices, dropRedisPrefix, dropSchema, probePostgres, probeRedis, randomSchema } from "../services.js";
import { validateSaver } from "./validator-suite.js";

const pgDown = await probePostgres();
const redisDown = await probeRedis();

describeWithServices("LangGraph validator on PostgreSQL", [pgDown], () => {
  const schema = randomSchema("cdlg");
  validateSaver(
    "postgres",
    async () => createStore(postgresDriver({ connectionString: PG_URL, schema })),
    () => dropSchema(schema),
  );
});

describeWithServices("LangGraph validator on PostgreSQL + Redis", [pgDown, redisDown], () => {
  const schema = randomSchema("cdlgr");
  validateSaver(
    "postgres+redis",
    async () => createStore(redisCache(postgresDriver({ connectionString: PG_URL, schema }), { url: REDIS_URL, prefix: schema })),
    async () => {
      await dropSchema(schema);
      await dropRedisPrefix(schema);
    },
  );
});
