/**
 * The conformance suite against `createClient()` talking to a real `contextd serve` on a
 * real port (in this process, port 0), once over the memory driver and once over SQLite.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { pino } from "pino";
import { openStore } from "../src/index.js";
import type { ContextStore } from "../src/index.js";
import { createClient } from "../src/client/index.js";
import { serve } from "../src/server/index.js";
import type { RunningServer } from "../src/server/index.js";
import { describeConformance } from "../src/testing/index.js";

function serverFor(url: () => string): { start(): Promise<void>; stop(): Promise<void>; client(): Promise<ContextStore> } {
  let server: RunningServer | undefined;
  return {
    async start() {
      server = await serve({ store: await openStore(url()), port: 0, logger: pino({ level: "silent" }) });
    },
    async stop() {
      await server?.close();
    },
    async client() {
      if (!server) throw new Error("server not started");
      return createClient({ url: server.url });
    },
  };
}

const memory = serverFor(() => "in-memory:");
let dir = "";
const sqlite = serverFor(() => `sqlite:${join(dir, "conformance.db")}`);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "contextd-client-"));
  await memory.start();
  await sqlite.start();
});
afterAll(async () => {
  await memory.stop();
  await sqlite.stop();
  rmSync(dir, { recursive: true, force: true });
});

describeConformance("http client → server (in-memory)", () => memory.client(), {
  openPeer: () => memory.client(),
  skip: { memory: "the /v1/memories routes are not in the HTTP API yet" },
});

describeConformance("http client → server (sqlite file)", () => sqlite.client(), {
  openPeer: () => sqlite.client(),
  skip: { memory: "the /v1/memories routes are not in the HTTP API yet" },
});
