import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { createStore } from "../../open.js";
import { describeConformance, testEmbedder } from "../../testing/index.js";
import type { Driver } from "../driver.js";
import { sqliteDriver } from "./driver.js";

// Every test opens its own store on one shared file, each in a fresh tenant, as separate
// processes would.
const dir = mkdtempSync(join(tmpdir(), "contextd-sqlite-file-"));
const file = join(dir, "conformance.db");
const embedder = testEmbedder();
const open = () => createStore(sqliteDriver({ path: file, pollIntervalMs: 10 }), { embedder });

// A connection held open for the whole file, like a long-running process: without it every
// test's close would be the last one and checkpoint the WAL into the file (an fsync each).
let keeper: Driver;
beforeAll(async () => {
  keeper = sqliteDriver({ path: file });
  await keeper.open();
});
afterAll(async () => {
  await keeper.close();
  rmSync(dir, { recursive: true, force: true });
});

describeConformance("sqlite file", open, {
  openPeer: open,
  openWithClock: (now) => createStore(sqliteDriver({ path: file, pollIntervalMs: 10 }), { now, embedder }),
});
