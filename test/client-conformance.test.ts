/**
 * The conformance suite against `createClient()` talking to a real `contextd serve` on a
 * real port (in this process, port 0), once over the in-memory driver and once over SQLite,
 * both with the test embedding model (so long-term memory runs with its exact ranking checks).
 * The clock tests get a server of their own over a store with the test's clock.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { pino } from "pino";
import { createStore, inMemoryDriver, openStore } from "../src/index.js";
import type { ContextStore } from "../src/index.js";
import { createClient } from "../src/client/index.js";
import { serve } from "../src/server/index.js";
import type { RunningServer } from "../src/server/index.js";
import { describeConformance, testEmbedder } from "../src/testing/index.js";

const embedder = testEmbedder();

function serverFor(open: () => Promise<ContextStore>): { start(): Promise<void>; stop(): Promise<void>; client(): Promise<ContextStore> } {
  let server: RunningServer | undefined;
  return {
    async start() {
      server = await serve({ store: await open(), port: 0, logger: pino({ level: "silent" }) });
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

/** A client of a server of its own over an in-memory store whose clock is `now`; closing the client stops the server. */
async function clockedClient(now: () => number): Promise<ContextStore> {
  const server = await serve({ store: await createStore(inMemoryDriver(), { now, embedder }), port: 0, logger: pino({ level: "silent" }) });
  const client = createClient({ url: server.url });
  const closeClient = client.close.bind(client);
  client.close = async () => {
    await closeClient();
    await server.close();
  };
  return client;
}

const memory = serverFor(() => createStore(inMemoryDriver(), { embedder }));
let dir = "";
const sqlite = serverFor(() => openStore(`sqlite:${join(dir, "conformance.db")}`, { embedder }));

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
  openWithClock: clockedClient,
});

describeConformance("http client → server (sqlite file)", () => sqlite.client(), {
  openPeer: () => sqlite.client(),
});
