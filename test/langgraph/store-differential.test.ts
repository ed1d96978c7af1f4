/**
 * `ContextdStore` against LangGraph's `InMemoryStore` on random operation sequences
 * (store-differential.ts), on the in-memory store, a SQLite file and over HTTP.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, describe } from "vitest";
import { createStore, inMemoryDriver, sqliteDriver } from "../../src/index.js";
import { createClient } from "../../src/client/index.js";
import { serve } from "../../src/server/index.js";
import { withCleanup } from "../services.js";
import { testEmbedder } from "../../src/testing/index.js";
import { differentialRuns } from "./store-differential.js";

describe("ContextdStore against InMemoryStore (in-memory)", () => {
  differentialRuns("in-memory", () => createStore(inMemoryDriver(), { embedder: testEmbedder() }), 12, 150);
});

describe("ContextdStore against InMemoryStore (SQLite file)", () => {
  const dir = mkdtempSync(join(tmpdir(), "cdlgstore-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  differentialRuns("sqlite", () => createStore(sqliteDriver({ path: join(dir, `s${n++}.db`) }), { embedder: testEmbedder() }), 4, 150);
});

describe("ContextdStore against InMemoryStore (over HTTP)", () => {
  differentialRuns(
    "http",
    async () => {
      const server = await serve({ store: await createStore(inMemoryDriver(), { embedder: testEmbedder() }), port: 0, logger: pino({ level: "silent" }) });
      return withCleanup(createClient({ url: server.url }), () => server.close());
    },
    3,
    150,
  );
});
