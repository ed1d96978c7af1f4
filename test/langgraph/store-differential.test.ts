/**
 * `ContextdStore` against LangGraph's `InMemoryStore` on random operation sequences
 * (store-differential.ts), on the in-memory store and a SQLite file.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe } from "vitest";
import { createStore, inMemoryDriver, sqliteDriver } from "../../src/index.js";
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
