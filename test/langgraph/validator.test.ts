/**
 * LangGraph's own checkpointer validator (`@langchain/langgraph-checkpoint-validation`, whose
 * CLI is broken in 1.1.1) run in full against `ContextdSaver` on the in-memory store, a SQLite
 * file and over HTTP; validator.int.test.ts runs it on PostgreSQL and PostgreSQL + Redis.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { createStore, inMemoryDriver, openStore } from "../../src/index.js";
import type { ContextStore } from "../../src/index.js";
import { createClient } from "../../src/client/index.js";
import { serve } from "../../src/server/index.js";
import type { RunningServer } from "../../src/server/index.js";
import { validateSaver } from "./validator-suite.js";

validateSaver("memory", async () => createStore(inMemoryDriver()));

let dir = "";
validateSaver(
  "sqlite-file",
  async () => {
    dir = mkdtempSync(join(tmpdir(), "contextd-lg-"));
    return openStore(`sqlite:${join(dir, "threads.db")}`);
  },
  async () => rmSync(dir, { recursive: true, force: true }),
);

let server: RunningServer | undefined;
validateSaver(
  "http",
  async (): Promise<ContextStore> => {
    server = await serve({ store: await createStore(inMemoryDriver()), port: 0, logger: pino({ level: "silent" }) });
    return createClient({ url: server.url });
  },
  async () => server?.close(),
);
