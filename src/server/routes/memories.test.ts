import { beforeEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import { createStore, inMemoryDriver } from "../../index.js";
import type { ContextStore, Memory } from "../../index.js";
import { testEmbedder, testEmbedding } from "../../testing/index.js";
import { createApp } from "../app.js";
import { createKeyRing, generateApiKey } from "../keys.js";

const reader = generateApiKey({ tenant: "team-a", scopes: ["read"] });
const writer = generateApiKey({ tenant: "team-a", scopes: ["read", "write"] });
const admin = generateApiKey({ tenant: "team-a", scopes: ["admin"] });

/** A JSON body read by path in assertions (`body.items[0].memory.id`). */
interface Body {
  items: Body[];
  memory: Body;
  details: Body;
  code: string;
  field: string;
  expected: number;
  actual: number;
  text: string;
  version: number;
  nextCursor: string | null;
}
/** A JSON array of a body, typed. */
const items = <T>(b: Body[]): T[] => b as unknown as T[];

let store: ContextStore;
let app: ReturnType<typeof createApp>;

async function send(
  method: string,
  path: string,
  body?: unknown,
  key = writer.key,
  extra: Record<string, string> = {},
): Promise<{ status: number; body: Body; headers: Headers }> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}`, ...extra };
  const init: RequestInit = { method, headers };
  if (body !== undefined) {
    headers["content-type"] = "application/json";
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  const res = await app.request(path, init);
  const text = await res.text();
  return { status: res.status, body: (text.length > 0 ? JSON.parse(text) : undefined) as Body, headers: res.headers };
}

async function add(memories: unknown): Promise<Memory[]> {
  const r = await send("POST", "/v1/memories", { memories });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return items<{ memory: Memory }>(r.body.items).map((i) => i.memory);
}

beforeEach(async () => {
  store = await createStore(inMemoryDriver(), { embedder: testEmbedder() });
  app = createApp({ store, keys: createKeyRing([reader.record, writer.record, admin.record]), logger: pino({ level: "silent" }) });
  return () => store.close();
});

describe("/v1/memories", () => {
  it("adds one or many atomically, in the key's tenant; the same text again is the existing memory", async () => {
    const [one] = await add({ scope: { userId: "u1" }, text: "likes green tea" });
    expect(one).toMatchObject({ tenant: "team-a", version: 1, embedding: { model: "contextd-test-hashing-64", dimensions: 64 } });
    const r = await send("POST", "/v1/memories", { memories: [{ scope: { userId: "u1" }, text: "likes green tea" }, { scope: { userId: "u1" }, text: "has a cat" }], actor: "extractor" });
    expect(items<{ outcome: string }>(r.body.items).map((i) => i.outcome)).toEqual(["existing", "created"]);
    expect((await store.withTenant("team-a").memoryHistory(items<{ memory: Memory }>(r.body.items)[1]?.memory.id as string))[0]?.actor).toBe("extractor");
    // One bad memory in a batch writes none of them.
    const bad = await send("POST", "/v1/memories", { memories: [{ scope: { userId: "u1" }, text: "fine" }, { scope: { userId: "u1" }, text: "" }] });
    expect([bad.status, bad.body.code, bad.body.details.field]).toEqual([400, "INVALID_INPUT", "memories[1].text"]);
    expect((await store.withTenant("team-a").listMemories()).items).toHaveLength(2);
    expect(store.tenant).not.toBe("team-a");
    expect((await store.listMemories()).items).toEqual([]);
  });

  it("vectors are JSON arrays of numbers; a wrong dimension or a non-number is INVALID_INPUT naming the element", async () => {
    const v = [...testEmbedding("ocean sailing")];
    const [m] = await add({ scope: { userId: "u" }, text: "words unrelated entirely", vector: v });
    const hits = await send("POST", "/v1/memories/search", { text: "x", mode: "vector", vector: v }, reader.key);
    expect(hits.body.items[0]).toMatchObject({ memory: { id: m?.id } });
    expect(items<{ vectorScore: number }>(hits.body.items)[0]?.vectorScore).toBeCloseTo(1, 5);
    const short = await send("POST", "/v1/memories", { memories: { scope: { userId: "u" }, text: "t", vector: [1, 2, 3] } });
    expect([short.status, short.body.details.field]).toEqual([400, "memory.vector"]);
    const notNumber = await send("POST", "/v1/memories", { memories: { scope: { userId: "u" }, text: "t", vector: [...v.slice(0, 63), null] } });
    expect([notNumber.status, notNumber.body.details.field]).toEqual([400, "memory.vector[63]"]);
    // NaN is not JSON: a body holding it is malformed.
    const nan = await send("POST", "/v1/memories", `{"memories":{"scope":{"userId":"u"},"text":"t","vector":[NaN]}}`);
    expect([nan.status, nan.body.code]).toEqual([400, "INVALID_INPUT"]);
    const query = await send("POST", "/v1/memories/search", { text: "x", vector: [1] }, reader.key);
    expect([query.status, query.body.details.field]).toEqual([400, "vector"]);
    expect((await store.withTenant("team-a").listMemories()).items).toHaveLength(1);
  });

  it("GET and PATCH carry the version as ETag; a stale expectedVersion or If-Match is 409 VERSION_CONFLICT", async () => {
    const [m] = await add({ scope: { userId: "u" }, text: "works at the bakery" });
    const path = `/v1/memories/${m?.id}`;
    const got = await send("GET", path, undefined, reader.key);
    expect([got.status, got.headers.get("etag"), got.body.text]).toEqual([200, '"1"', "works at the bakery"]);
    const updated = await send("PATCH", path, { text: "works at the library", actor: "user" }, writer.key, { "if-match": '"1"' });
    expect([updated.status, updated.headers.get("etag"), updated.body.version]).toEqual([200, '"2"', 2]);
    const stale = await send("PATCH", path, { importance: 1 }, writer.key, { "if-match": '"1"' });
    expect([stale.status, stale.body.code, stale.body.details.expected, stale.body.details.actual]).toEqual([409, "VERSION_CONFLICT", 1, 2]);
    const staleBody = await send("PATCH", path, { importance: 1, expectedVersion: 1 });
    expect(staleBody.status).toBe(409);
    const disagree = await send("PATCH", path, { importance: 1, expectedVersion: 2 }, writer.key, { "if-match": '"1"' });
    expect([disagree.status, disagree.body.details.field]).toEqual([400, "expectedVersion"]);
    const empty = await send("PATCH", path, {});
    expect([empty.status, empty.body.details.field]).toEqual([400, "update"]);
    expect((await send("DELETE", `${path}?expectedVersion=1`)).status).toBe(409);
    expect((await send("DELETE", path, undefined, writer.key, { "if-match": '"1"' })).status).toBe(409);
    expect((await send("DELETE", `${path}?expectedVersion=2&actor=cleanup`)).status).toBe(204);
    expect((await send("GET", path, undefined, reader.key)).status).toBe(404);
    const history = await send("GET", `${path}/history`, undefined, reader.key);
    expect(items<{ op: string; actor: string | null }>(history.body.items).map((v) => [v.op, v.actor])).toEqual([
      ["add", null],
      ["update", "user"],
      ["delete", "cleanup"],
    ]);
    expect((await send("GET", "/v1/memories/nope/history", undefined, reader.key)).status).toBe(404);
  });

  it("GET /v1/memories selects by scope fields or scope JSON, namespace, tags, a JSON filter and pages with a cursor", async () => {
    await add([
      { scope: { userId: "u1", namespace: ["prefs", "food"] }, text: "likes ramen", tags: ["food"], metadata: { turn: 1 } },
      { scope: { userId: "u1", namespace: ["prefs"] }, text: "likes jazz", tags: ["music"], metadata: { turn: 2 } },
      { scope: { userId: "u2" }, text: "likes ramen too", tags: ["food"], metadata: { turn: 3 } },
    ]);
    const texts = async (query: string) => {
      const r = await send("GET", `/v1/memories${query}`, undefined, reader.key);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return items<Memory>(r.body.items).map((m) => m.text).sort();
    };
    expect(await texts("?userId=u1")).toEqual(["likes jazz", "likes ramen"]);
    expect(await texts(`?scope=${encodeURIComponent('{"userId":"u2"}')}`)).toEqual(["likes ramen too"]);
    expect(await texts("?namespace=prefs&namespace=food")).toEqual(["likes ramen"]);
    expect(await texts("?tag=food")).toEqual(["likes ramen", "likes ramen too"]);
    expect(await texts(`?filter=${encodeURIComponent('{"turn":{"$gte":2}}')}`)).toEqual(["likes jazz", "likes ramen too"]);
    const first = await send("GET", "/v1/memories?limit=2&order=asc", undefined, reader.key);
    expect(items<Memory>(first.body.items).map((m) => m.text)).toEqual(["likes ramen", "likes jazz"]);
    const next = await send("GET", `/v1/memories?limit=2&order=asc&cursor=${first.body.nextCursor}`, undefined, reader.key);
    expect([items<Memory>(next.body.items).map((m) => m.text), next.body.nextCursor]).toEqual([["likes ramen too"], null]);
    const both = await send("GET", `/v1/memories?userId=u1&scope=${encodeURIComponent('{"userId":"u1"}')}`, undefined, reader.key);
    expect([both.status, both.body.details.field]).toEqual([400, "scope"]);
    const badJson = await send("GET", "/v1/memories?filter={nope", undefined, reader.key);
    expect([badJson.status, badJson.body.details.field]).toEqual([400, "filter"]);
    const badOp = await send("GET", `/v1/memories?filter=${encodeURIComponent('{"turn":{"$regex":"x"}}')}`, undefined, reader.key);
    expect([badOp.status, badOp.body.code]).toEqual([400, "INVALID_INPUT"]);
    expect((await send("GET", "/v1/memories?limit=5000", undefined, reader.key)).body.details.field).toBe("limit");
  });

  it("scopes: a read key reads and searches; writes need write; purge needs admin", async () => {
    await add({ scope: { userId: "u" }, text: "likes green tea" });
    expect((await send("POST", "/v1/memories", { memories: { scope: { userId: "u" }, text: "x" } }, reader.key)).status).toBe(403);
    expect(items((await send("POST", "/v1/memories/search", { text: "tea" }, reader.key)).body.items)).toHaveLength(1);
    expect((await send("POST", "/v1/memories/reindex", {}, reader.key)).status).toBe(403);
    expect((await send("POST", "/v1/memories/purge", { scope: { userId: "u" } }, writer.key)).status).toBe(403);
    expect((await send("POST", "/v1/memories/purge", { scope: { userId: "u" } }, admin.key)).body).toEqual({ removed: 1 });
    expect((await send("POST", "/v1/memories/purge", undefined, admin.key)).body).toEqual({ removed: 0 });
  });

  it("reindex embeds memories of another model in bounded steps: limit, then remaining", async () => {
    const driver = inMemoryDriver();
    const first = await createStore(driver, { embedder: testEmbedder() });
    await first.addMemories([1, 2, 3].map((i) => ({ scope: { userId: "u" }, text: `kite fact ${i}` })));
    const second = await createStore(driver, { embedder: { ...testEmbedder(), model: "another-model" } });
    const other = createApp({ store: second, logger: pino({ level: "silent" }) });
    const reindex = async (body: unknown) => {
      const res = await other.request("/v1/memories/reindex", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      return [res.status, await res.json()];
    };
    const search = await other.request("/v1/memories/search", { method: "POST", headers: { "content-type": "application/json" }, body: '{"text":"kite"}' });
    expect([search.status, ((await search.json()) as { code: string }).code]).toEqual([409, "MODEL_MISMATCH"]);
    expect(await reindex({ limit: 2 })).toEqual([200, { reindexed: 2, remaining: 1 }]);
    expect(await reindex({ batchSize: 5 })).toEqual([200, { reindexed: 1, remaining: 0 }]);
    expect((await reindex({ batchSize: 0 }))[0]).toBe(400);
    await second.close();
  });

  it("the OpenAPI document describes every memory route with the shared error responses", async () => {
    const doc = (await (await app.request("/openapi.json")).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown }>>;
      components: { schemas: Record<string, unknown> };
    };
    const routes = Object.entries(doc.paths)
      .filter(([p]) => p.startsWith("/v1/memories"))
      .flatMap(([p, methods]) => Object.keys(methods).map((m) => `${m} ${p}`));
    expect(routes.sort()).toEqual(
      [
        "post /v1/memories",
        "get /v1/memories",
        "post /v1/memories/search",
        "post /v1/memories/purge",
        "post /v1/memories/reindex",
        "get /v1/memories/{id}",
        "patch /v1/memories/{id}",
        "delete /v1/memories/{id}",
        "get /v1/memories/{id}/history",
      ].sort(),
    );
    for (const [p, methods] of Object.entries(doc.paths).filter(([path]) => path.startsWith("/v1/memories"))) {
      for (const [m, op] of Object.entries(methods)) {
        expect(Object.keys(op.responses), `${m} ${p}`).toEqual(expect.arrayContaining(["400", "401", "403", "404", "409", "429", "503"]));
        expect(op.security, `${m} ${p}`).toBeDefined();
      }
    }
    for (const name of ["Memory", "MemoryInput", "MemoryScope", "MemorySearch", "MemoryUpdate", "MemoryHit", "MemoryVersion"]) {
      expect(doc.components.schemas[name], name).toBeDefined();
    }
  });
});
