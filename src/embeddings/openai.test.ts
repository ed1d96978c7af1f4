import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { isContextError, type ContextError } from "../errors.js";
import { createStore } from "../open.js";
import { inMemoryDriver } from "../drivers/in-memory/driver.js";
import { hashingVector } from "./hashing.js";
import { openAIEmbedder, retryAfterMs } from "./openai.js";
import { createEmbedder } from "./index.js";

const DIMS = 16;

/** What the fake service does with the next requests (a queue of behaviours; then it answers normally). */
type Behaviour = { status: number; headers?: Record<string, string>; body?: string } | "hang" | "wrong-length" | "not-json";

interface Fake {
  url: string;
  requests: { auth: string | undefined; body: { model: string; input: string[]; dimensions?: number } }[];
  script: Behaviour[];
  server: Server;
}

let fake: Fake;

/** A small OpenAI-compatible /v1/embeddings service: deterministic vectors (hashing of terms), scripted failures. */
function startFake(): Promise<Fake> {
  const f: Omit<Fake, "url"> = { requests: [], script: [], server: undefined as unknown as Server };
  const hanging: ServerResponse[] = [];
  f.server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = "";
    req.on("data", (c: Buffer) => (raw += c.toString()));
    req.on("end", () => {
      if (req.url !== "/v1/embeddings" || req.method !== "POST") {
        res.writeHead(404).end();
        return;
      }
      const body = JSON.parse(raw) as Fake["requests"][number]["body"];
      f.requests.push({ auth: req.headers.authorization, body });
      const b = f.script.shift();
      if (b === "hang") {
        hanging.push(res);
        return;
      }
      if (typeof b === "object") {
        res.writeHead(b.status, { "content-type": "application/json", ...b.headers }).end(b.body ?? JSON.stringify({ error: { message: `scripted ${b.status}` } }));
        return;
      }
      if (b === "not-json") {
        res.writeHead(200, { "content-type": "text/plain" }).end("<html>gateway</html>");
        return;
      }
      const dims = b === "wrong-length" ? DIMS + 1 : DIMS;
      // Answered in reverse order with indexes: the client must place vectors by index.
      const data = body.input.map((t, index) => ({ object: "embedding", index, embedding: [...hashingVector(t, dims)] })).reverse();
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ object: "list", data, model: body.model }));
    });
  });
  f.server.on("close", () => hanging.forEach((r) => r.destroy()));
  return new Promise((resolve) => {
    f.server.listen(0, "127.0.0.1", () => {
      const { port } = f.server.address() as AddressInfo;
      resolve({ ...f, url: `http://127.0.0.1:${port}/v1` } as Fake);
    });
  });
}

beforeAll(async () => {
  fake = await startFake();
});
afterAll(async () => {
  fake.server.closeAllConnections();
  await new Promise((r) => fake.server.close(r));
});
beforeEach(() => {
  fake.requests.length = 0;
  fake.script.length = 0;
});

const delays: number[] = [];
const noWait = async (ms: number) => {
  delays.push(ms);
};
const embedder = (extra: Partial<Parameters<typeof openAIEmbedder>[0]> = {}) =>
  openAIEmbedder({ model: "fake-embed", baseURL: fake.url, dimensions: DIMS, apiKey: "sk-test", sleep: noWait, ...extra });

describe("the OpenAI-compatible embedder", () => {
  it("embeds in batches, places vectors by their index and sends the model and the key", async () => {
    const e = embedder({ batchSize: 3 });
    const texts = ["one kite", "two kites", "red lake", "blue sky", "green field"];
    const vectors = await e.embed(texts);
    expect(vectors.map((v) => [...v])).toEqual(texts.map((t) => [...hashingVector(t, DIMS)]));
    expect(fake.requests.map((r) => r.body.input.length)).toEqual([3, 2]);
    expect(fake.requests[0]?.body.model).toBe("fake-embed");
    expect(fake.requests[0]?.body.dimensions).toBeUndefined();
    expect(fake.requests[0]?.auth).toBe("Bearer sk-test");
    expect(e.model).toBe("openai:fake-embed:16");
    expect(e.dimensions).toBe(DIMS);
  });

  it("retries 429 and 5xx, waiting as Retry-After says, then succeeds", async () => {
    delays.length = 0;
    fake.script.push({ status: 429, headers: { "retry-after": "2" } }, { status: 503 }, { status: 500, headers: { "retry-after": "0" } });
    const [v] = await embedder({ retryDelayMs: 100 }).embed(["kite"]);
    expect([...(v as Float32Array)]).toEqual([...hashingVector("kite", DIMS)]);
    expect(fake.requests).toHaveLength(4);
    expect(delays[0]).toBe(2000);
    expect(delays[1]).toBeGreaterThanOrEqual(0);
    expect(delays[1]).toBeLessThanOrEqual(200); // backoff of the second try: up to 100 · 2
    expect(delays[2]).toBe(0);
  });

  it("a service that keeps failing is EMBEDDING_FAILED with its status, message and the attempts", async () => {
    fake.script.push(...Array.from({ length: 5 }, () => ({ status: 502 })));
    const e = (await embedder({ maxRetries: 2 }).embed(["kite"]).catch((x: unknown) => x)) as ContextError;
    expect(isContextError(e, "EMBEDDING_FAILED")).toBe(true);
    expect(e.message).toContain("HTTP 502: scripted 502");
    expect(e.details).toMatchObject({ status: 502, attempts: 3 });
    expect(fake.requests).toHaveLength(3);
  });

  it("a client error (401) is not retried", async () => {
    fake.script.push({ status: 401, body: JSON.stringify({ error: { message: "Incorrect API key provided" } }) });
    const e = (await embedder().embed(["kite"]).catch((x: unknown) => x)) as ContextError;
    expect(isContextError(e, "EMBEDDING_FAILED")).toBe(true);
    expect(e.message).toContain("Incorrect API key provided");
    expect(e.details).toMatchObject({ status: 401, attempts: 1 });
    expect(fake.requests).toHaveLength(1);
  });

  it("vectors of the wrong length and answers that are not JSON are EMBEDDING_FAILED without retries", async () => {
    fake.script.push("wrong-length");
    const e = (await embedder().embed(["kite"]).catch((x: unknown) => x)) as ContextError;
    expect(isContextError(e, "EMBEDDING_FAILED")).toBe(true);
    expect(e.message).toContain("17 dimensions, expected 16");
    fake.script.push("not-json");
    expect(isContextError(await embedder().embed(["kite"]).catch((x: unknown) => x), "EMBEDDING_FAILED")).toBe(true);
    expect(fake.requests).toHaveLength(2);
  });

  it("a request with no answer times out and is retried; an unreachable service is EMBEDDING_FAILED with the cause", async () => {
    fake.script.push("hang");
    const [v] = await embedder({ timeoutMs: 200 }).embed(["kite"]);
    expect(v?.length).toBe(DIMS);
    expect(fake.requests).toHaveLength(2);
    const down = openAIEmbedder({ model: "m", dimensions: 4, baseURL: "http://127.0.0.1:1/v1", maxRetries: 1, sleep: noWait });
    const e = (await down.embed(["kite"]).catch((x: unknown) => x)) as ContextError;
    expect(isContextError(e, "EMBEDDING_FAILED")).toBe(true);
    expect(e.cause).toBeDefined();
  });

  it("the caller's signal aborts a request in flight with ABORTED, without retrying", async () => {
    fake.script.push("hang");
    const controller = new AbortController();
    const pending = embedder().embed(["kite"], { signal: controller.signal }).catch((x: unknown) => x);
    await expect.poll(() => fake.requests.length).toBe(1);
    controller.abort();
    expect(isContextError(await pending, "ABORTED")).toBe(true);
    expect(fake.requests).toHaveLength(1);
  });

  it("needs dimensions for a model it does not know; knows OpenAI's own", () => {
    expect(isContextError((() => { try { openAIEmbedder({ model: "nomic-embed-text" }); } catch (e) { return e; } })(), "INVALID_INPUT")).toBe(true);
    expect(openAIEmbedder({ model: "text-embedding-3-small" }).dimensions).toBe(1536);
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    expect(retryAfterMs("3")).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs("soon")).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });
});

describe("a store on the OpenAI-compatible embedder", () => {
  it("adds and finds memories by meaning through the service; a failing service is EMBEDDING_FAILED and writes nothing", async () => {
    const store = await createStore(inMemoryDriver(), {
      embedder: createEmbedder("openai:fake-embed", { baseURL: fake.url, dimensions: DIMS, maxRetries: 1, sleep: noWait }),
    });
    await store.addMemories([
      { scope: { userId: "u" }, text: "Caroline researches adoption agencies" },
      { scope: { userId: "u" }, text: "Melanie paints the lake at sunrise" },
    ]);
    const [hit] = await store.searchMemories({ text: "adoption agencies", mode: "vector", scope: { userId: "u" } });
    expect(hit?.memory.text).toBe("Caroline researches adoption agencies");
    expect(hit?.memory.embedding).toEqual({ model: "openai:fake-embed:16", dimensions: DIMS });

    fake.script.push({ status: 500 }, { status: 500 });
    const e = await store.addMemories({ scope: { userId: "u" }, text: "a fact the service cannot embed" }).catch((x: unknown) => x);
    expect(isContextError(e, "EMBEDDING_FAILED")).toBe(true);
    const m = (await store.listMemories({ scope: { userId: "u" } })).items;
    expect(m.map((x) => x.text).sort()).toEqual(["Caroline researches adoption agencies", "Melanie paints the lake at sunrise"]);

    // An update whose new text cannot be embedded leaves the memory as it was.
    const target = m.find((x) => x.text.startsWith("Melanie")) as (typeof m)[number];
    fake.script.push({ status: 503 }, { status: 503 });
    const u = await store.updateMemory(target.id, { text: "Melanie paints the sea" }).catch((x: unknown) => x);
    expect(isContextError(u, "EMBEDDING_FAILED")).toBe(true);
    expect(await store.getMemory(target.id)).toEqual(target);
    expect(await store.memoryHistory(target.id)).toHaveLength(1);
    await store.close();
  });
});
