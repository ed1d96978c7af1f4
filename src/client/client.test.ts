import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { VersionConflictError, createStore, inMemoryDriver, isContextError, openStore } from "../index.js";
import type { ContextStore } from "../index.js";
import { createKeyRing, generateApiKey, serve } from "../server/index.js";
import type { RunningServer } from "../server/index.js";
import { testEmbedder, testEmbedding } from "../testing/index.js";
import { createClient } from "./client.js";

let server: RunningServer;
const keyA = generateApiKey({ tenant: "team-a", scopes: ["read", "write"] });
const admin = generateApiKey({ tenant: "*", scopes: ["admin"] });

beforeAll(async () => {
  server = await serve({
    store: await openStore("in-memory:"),
    port: 0,
    keys: createKeyRing([keyA.record, admin.record]),
    logger: pino({ level: "silent" }),
  });
});
afterAll(() => server.close());

describe("createClient", () => {
  it("learns its tenant from the key; a 409 is a VersionConflictError with expected and actual", async () => {
    const client = createClient({ url: server.url, apiKey: keyA.key });
    expect(client.tenant).toBe("default");
    const c = await client.createContext({ state: { n: 1 } });
    expect(client.tenant).toBe("team-a");
    expect(c.tenant).toBe("team-a");
    const e = await client.patchState(c.id, { n: 2 }, { expectedVersion: 3 }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(VersionConflictError);
    expect(e).toMatchObject({ code: "VERSION_CONFLICT", expected: 3, actual: 1, details: { contextId: c.id } });
    await client.close();
  });

  it("withTenant: another tenant is FORBIDDEN for a tenant key, allowed for a '*' admin key", async () => {
    const a = createClient({ url: server.url, apiKey: keyA.key });
    await expect(a.withTenant("team-b").listContexts()).rejects.toMatchObject({ code: "FORBIDDEN" });
    expect(() => a.withTenant("")).toThrow(/tenant/);
    const root = createClient({ url: server.url, apiKey: admin.key });
    const b = root.withTenant("team-b");
    expect(b.tenant).toBe("team-b");
    const c = await b.createContext();
    expect(c.tenant).toBe("team-b");
    await expect(a.getContext(c.id)).rejects.toMatchObject({ code: "NOT_FOUND" });
    await a.close();
    await root.close();
  });

  it("a wrong key is UNAUTHORIZED; an unreachable server is DRIVER_UNAVAILABLE; a closed client is CLOSED", async () => {
    await expect(createClient({ url: server.url, apiKey: "nope" }).listContexts()).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    const down = createClient({ url: "http://127.0.0.1:9" });
    const e = await down.listContexts().catch((err: unknown) => err);
    expect(isContextError(e, "DRIVER_UNAVAILABLE")).toBe(true);
    const client = createClient({ url: server.url, apiKey: keyA.key });
    await client.close();
    await expect(client.getContext("x")).rejects.toMatchObject({ code: "CLOSED" });
  });

  it("uses the fetch it is given, and its lifetime signal closes it", async () => {
    const seen: string[] = [];
    const life = new AbortController();
    const client: ContextStore = createClient({
      url: server.url,
      apiKey: keyA.key,
      signal: life.signal,
      fetch: (input, init) => {
        seen.push(`${init?.method ?? "GET"} ${String(input)}`);
        return fetch(input, init);
      },
    });
    await client.listContexts({ limit: 1 });
    expect(seen).toEqual([`GET ${server.url}/v1/contexts?limit=1`]);
    life.abort();
    await expect(client.listContexts()).rejects.toMatchObject({ code: "CLOSED" });
  });

  it("searchEvents and handle.search go through GET /v1/search, types as repeated type parameters", async () => {
    const seen: string[] = [];
    const client = createClient({
      url: server.url,
      apiKey: keyA.key,
      fetch: (input, init) => {
        seen.push(String(input));
        return fetch(input, init);
      },
    });
    const c = await client.createContext();
    await client.append(c.id, [
      { type: "message", data: { content: "Zebra crossing" } },
      { type: "a,b", data: "zebra with a comma type" },
      { type: "note", data: "zebra zebra note" },
    ]);
    seen.length = 0;
    const hits = await client.searchEvents({ text: "ZEBRA", contextId: c.id, types: ["message", "a,b"], limit: 5 });
    expect(hits.map((h) => [h.contextId, h.event.seq])).toEqual([[c.id, 2], [c.id, 1]]);
    expect(seen).toEqual([`${server.url}/v1/search?text=ZEBRA&contextId=${c.id}&type=message&type=a%2Cb&limit=5`]);
    expect((await client.context(c.id).search("zebra note")).map((h) => h.event.type)).toEqual(["note"]);
    // Refused before sending what the URL cannot carry or would change; the rest the server refuses.
    seen.length = 0;
    for (const query of [{ text: 5 }, { text: "a", types: [] }, { text: "a", types: "note" }, { text: "a", limit: -1 }, { text: "a", lmit: 1 }, { text: "x".repeat(1001) }]) {
      await expect(client.searchEvents(query as never), JSON.stringify(query)).rejects.toMatchObject({ code: "INVALID_INPUT" });
    }
    expect(seen).toEqual([]);
    await expect(client.searchEvents({ text: "!!" })).rejects.toMatchObject({ code: "INVALID_INPUT", details: { field: "text" } });
    await expect(client.searchEvents({ text: "a", limit: 1001 })).rejects.toMatchObject({ code: "INVALID_INPUT", details: { field: "limit" } });
    await client.close();
  });

  it("usage and window go through the server", async () => {
    const client = createClient({ url: server.url, apiKey: keyA.key });
    const c = await client.createContext();
    await client.append(c.id, [
      { type: "message", data: { role: "user", content: "hello" } },
      { type: "model_usage", data: { modelId: "gpt-4o", provider: "openai", inputTokens: 1000, outputTokens: 100 } },
    ]);
    const report = await client.usage({ contextId: c.id, groupBy: ["model"] });
    expect(report.totals).toMatchObject({ calls: 1, inputTokens: 1000, outputTokens: 100 });
    const window = await client.context(c.id).window({ maxTokens: 1000 });
    expect(window.events.length).toBeGreaterThan(0);
    await client.close();
  });

  it("memory: what JSON would change is refused before sending, naming the field as the store does", async () => {
    let requests = 0;
    const client = createClient({ url: "http://127.0.0.1:9", fetch: () => (requests++, Promise.reject(new Error("no network in this test"))) });
    const field = async (p: Promise<unknown>) => {
      const e = await p.catch((err: unknown) => err);
      expect(isContextError(e, "INVALID_INPUT"), String(e)).toBe(true);
      return (e as { details: { field: string } }).details.field;
    };
    expect(await field(client.addMemories({ scope: { userId: "u" }, text: "t", vector: new Float32Array([1, Number.NaN]) }))).toBe("memory.vector[1]");
    expect(await field(client.addMemories([{ scope: { userId: "u" }, text: "t", value: Number.POSITIVE_INFINITY }]))).toBe("memories[0].value");
    expect(await field(client.searchMemories({ text: "x", vector: [Number.NaN] }))).toBe("vector[0]");
    expect(await field(client.listMemories({ bogus: 1 } as object))).toBe("query.bogus");
    expect(await field(client.updateMemory("m", { text: "x", expectedVersion: 1 } as object))).toBe("update.expectedVersion");
    expect(await field(client.deleteMemory("m", { expectedVersion: 1.5 }))).toBe("options.expectedVersion");
    expect(await field(client.reindexMemories({ batchSize: 0 }))).toBe("options.batchSize");
    expect(await field(client.getMemory(""))).toBe("id");
    expect(requests).toBe(0);
    await client.close();
  });

  it("memory: Float32Array vectors go over as arrays; reindexMemories sends one batch per request and reports progress", async () => {
    const driver = inMemoryDriver();
    const first = await createStore(driver, { embedder: testEmbedder() });
    await first.addMemories([1, 2, 3, 4, 5].map((i) => ({ scope: { userId: "u" }, text: `kite fact ${i}` })));
    const store = await createStore(driver, { embedder: { ...testEmbedder(), model: "another-model" } });
    const own = await serve({ store, port: 0, logger: pino({ level: "silent" }) });
    let reindexRequests = 0;
    const client = createClient({
      url: own.url,
      fetch: (input, init) => {
        if (String(input).endsWith("/v1/memories/reindex")) reindexRequests++;
        return fetch(input, init);
      },
    });
    try {
      const progress: [number, number][] = [];
      expect(await client.reindexMemories({ batchSize: 2, onProgress: (p) => progress.push([p.done, p.total]) })).toEqual({ reindexed: 5, remaining: 0 });
      expect(progress).toEqual([
        [2, 5],
        [4, 5],
        [5, 5],
      ]);
      expect(reindexRequests).toBe(3);
      expect(await client.reindexMemories({ limit: 10 })).toEqual({ reindexed: 0, remaining: 0 });
      const [added] = await client.addMemories({ scope: { userId: "u" }, text: "unrelated words", vector: testEmbedding("sailing trip") });
      expect(added?.memory.embedding).toEqual({ model: "another-model", dimensions: 64 });
      const [hit] = await client.searchMemories({ text: "x", mode: "vector", vector: testEmbedding("sailing trip") });
      expect([hit?.memory.id, hit?.vectorScore]).toEqual([added?.memory.id, expect.closeTo(1, 5)]);
    } finally {
      await client.close();
      await own.close();
      await first.close();
    }
  });
});
