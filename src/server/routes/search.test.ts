import { beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { createStore, inMemoryDriver, openStore } from "../../index.js";
import { testEmbedder } from "../../testing/index.js";
import type { ContextStore } from "../../index.js";
import { createApp } from "../app.js";
import { createKeyRing, generateApiKey } from "../keys.js";

const reader = generateApiKey({ tenant: "team-a", scopes: ["read"] });
const writer = generateApiKey({ tenant: "team-a", scopes: ["write"] });
const other = generateApiKey({ tenant: "team-b", scopes: ["read"] });
const admin = generateApiKey({ tenant: "*", scopes: ["admin"] });
const headers = (key: string, extra: Record<string, string> = {}) => ({ headers: { authorization: `Bearer ${key}`, ...extra } });

interface Hit {
  contextId: string;
  score: number;
  event: { seq: number; type: string; data: unknown };
}

let store: ContextStore;
let app: ReturnType<typeof createApp>;

async function get(path: string, key = reader.key): Promise<{ status: number; body: unknown }> {
  const res = await app.request(path, headers(key));
  return { status: res.status, body: await res.json() };
}
async function hits(path: string, key = reader.key): Promise<Hit[]> {
  const { status, body } = await get(path, key);
  expect(status, JSON.stringify(body)).toBe(200);
  return (body as { items: Hit[] }).items;
}
const refs = (list: Hit[]) => list.map((h) => `${h.contextId}#${h.event.seq}`);

beforeAll(async () => {
  store = await openStore("in-memory:");
  const a = store.withTenant("team-a");
  await a.createContext({ id: "chat-1" });
  await a.createContext({ id: "chat-2" });
  await a.append("chat-1", [
    { type: "message", data: { role: "user", content: "I want a Refund for my invoice" }, timestamp: 1_000 },
    { type: "message", data: { role: "assistant", content: "The refund, the refund: done" }, timestamp: 2_000 },
    { type: "tool_call", data: { name: "refund", args: { invoice: "INV-7" } }, timestamp: 3_000 },
    // Keys and numbers are not searched.
    { type: "note", data: { refund: 1 }, timestamp: 4_000 },
  ]);
  await a.append("chat-2", [{ type: "message", data: "refund invoice" }]);
  const b = store.withTenant("team-b");
  await b.createContext({ id: "chat-1" });
  await b.createContext({ id: "b-only" });
  await b.append("chat-1", { type: "message", data: "refund invoice (team b)" });
  await b.append("b-only", { type: "message", data: "refund secret" });
  app = createApp({ store, keys: createKeyRing([reader.record, writer.record, other.record, admin.record]), logger: pino({ level: "silent" }) });
});

describe("GET /v1/search", () => {
  it("finds events whose data holds every word, case-insensitively, best score first, then newest", async () => {
    const all = await hits("/v1/search?text=REFUND");
    // chat-1#2 holds "refund" twice; the rest once, newest first (chat-2's event is the newest).
    expect(refs(all)).toEqual(["chat-1#2", "chat-2#1", "chat-1#3", "chat-1#1"]);
    expect(all[0]).toMatchObject({ contextId: "chat-1", event: { seq: 2, type: "message", data: { content: "The refund, the refund: done" } } });
    expect(all[0]!.score).toBeGreaterThan(all[1]!.score);
    // Every word must occur (in a value: chat-1#3 has "invoice" only as a key).
    expect(refs(await hits("/v1/search?text=refund%20invoice"))).toEqual(["chat-2#1", "chat-1#1"]);
    expect(refs(await hits("/v1/search?text=inv%207"))).toEqual(["chat-1#3"]);
    expect(await hits("/v1/search?text=refund%20nowhere")).toEqual([]);
  });

  it("filters by context, type (repeatable) and limit", async () => {
    expect(refs(await hits("/v1/search?text=refund&contextId=chat-2"))).toEqual(["chat-2#1"]);
    expect(refs(await hits("/v1/search?text=refund&type=tool_call"))).toEqual(["chat-1#3"]);
    expect(refs(await hits("/v1/search?text=refund&type=tool_call&type=note&type=message&contextId=chat-1"))).toEqual(["chat-1#2", "chat-1#3", "chat-1#1"]);
    expect(refs(await hits("/v1/search?text=refund&limit=2"))).toEqual(["chat-1#2", "chat-2#1"]);
    // A context that does not exist finds nothing.
    expect(await hits("/v1/search?text=refund&contextId=nope")).toEqual([]);
  });

  it("client mistakes are 400 INVALID_INPUT naming the field, never 5xx", async () => {
    const cases: [string, string | null][] = [
      ["/v1/search", "text"],
      ["/v1/search?text=", "text"],
      ["/v1/search?text=%21%21%21", "text"], // no word
      [`/v1/search?text=${"a".repeat(1001)}`, "text"],
      ["/v1/search?text=a&text=b", "text"],
      ["/v1/search?text=a&limit=abc", "limit"],
      ["/v1/search?text=a&limit=0", "limit"],
      ["/v1/search?text=a&limit=1001", "limit"],
      ["/v1/search?text=a&limit=-1", "limit"],
      ["/v1/search?text=a&contextId=bad%20id", "contextId"],
      ["/v1/search?text=a&contextId=", "contextId"],
      ["/v1/search?text=a&type=", "type"],
      [`/v1/search?text=a&${Array.from({ length: 101 }, (_, i) => `type=t${i}`).join("&")}`, "type"],
      ["/v1/search?text=a&types=message", null],
      ["/v1/search?text=a&colour=red", null],
    ];
    for (const [path, field] of cases) {
      const { status, body } = await get(path);
      expect(status, `${path}: ${JSON.stringify(body)}`).toBe(400);
      expect(body, path).toMatchObject({ code: "INVALID_INPUT" });
      if (field !== null) expect(JSON.stringify((body as { details: unknown }).details), path).toContain(field);
    }
  });

  it("needs the read scope; a tenant sees only its own events; another tenant's context looks missing", async () => {
    expect(await get("/v1/search?text=refund", writer.key)).toMatchObject({ status: 403, body: { code: "FORBIDDEN", details: { scope: "read" } } });
    expect((await app.request("/v1/search?text=refund")).status).toBe(401);
    // team-a sees none of team-b's events, and b-only looks exactly like a missing context.
    expect(refs(await hits("/v1/search?text=refund&type=message"))).not.toContain("b-only#1");
    expect(await hits("/v1/search?text=secret")).toEqual([]);
    expect(await get("/v1/search?text=refund&contextId=b-only")).toEqual(await get("/v1/search?text=refund&contextId=nope"));
    // Both tenants have a chat-1: each sees its own.
    expect((await hits("/v1/search?text=team&contextId=chat-1")).length).toBe(0);
    expect(refs(await hits("/v1/search?text=team&contextId=chat-1", other.key))).toEqual(["chat-1#1"]);
    expect(refs(await hits("/v1/search?text=refund", other.key)).sort()).toEqual(["b-only#1", "chat-1#1"]);
    // A '*' admin key searches the tenant it names.
    const picked = await app.request("/v1/search?text=secret", headers(admin.key, { "x-contextd-tenant": "team-b" }));
    expect(((await picked.json()) as { items: Hit[] }).items.map((h) => h.contextId)).toEqual(["b-only"]);
  });
});

describe("GET /v1/contexts/{id}/search", () => {
  it("searches one context; a missing or another tenant's context is 404; bad input is 400 either way", async () => {
    expect(refs(await hits("/v1/contexts/chat-1/search?text=refund&type=message"))).toEqual(["chat-1#2", "chat-1#1"]);
    expect(refs(await hits("/v1/contexts/chat-1/search?text=refund&limit=1"))).toEqual(["chat-1#2"]);
    const missing = await get("/v1/contexts/nope/search?text=refund");
    expect(missing).toMatchObject({ status: 404, body: { code: "NOT_FOUND" } });
    const foreign = await get("/v1/contexts/b-only/search?text=refund");
    expect(foreign.status).toBe(404);
    expect((foreign.body as { message: string }).message).toBe((missing.body as { message: string }).message.replace("nope", "b-only"));
    expect((await get("/v1/contexts/nope/search?text=%21")).status).toBe(400);
    expect((await get("/v1/contexts/chat-1/search?text=a&contextId=chat-2")).status).toBe(400);
    expect((await get("/v1/contexts/chat-1/search?text=refund", writer.key)).status).toBe(403);
  });
});

describe("OpenAPI", () => {
  it("documents both routes with their query parameters and the SearchHit schema", async () => {
    const doc = (await (await app.request("/openapi.json")).json()) as {
      paths: Record<string, { get?: { parameters?: { name: string; in: string; required?: boolean }[] } }>;
      components: { schemas: Record<string, unknown> };
    };
    const params = doc.paths["/v1/search"]?.get?.parameters ?? [];
    expect(params.map((p) => p.name).sort()).toEqual(["contextId", "limit", "minScore", "mode", "text", "type"]);
    const contextParams = doc.paths["/v1/contexts/{id}/search"]?.get?.parameters ?? [];
    expect(contextParams.map((p) => p.name).sort()).toEqual(["id", "limit", "minScore", "mode", "text", "type"]);
    expect(params.find((p) => p.name === "text")).toMatchObject({ in: "query", required: true });
    expect(doc.paths["/v1/contexts/{id}/search"]?.get).toBeDefined();
    expect(JSON.stringify(doc.components.schemas.SearchHit)).toContain("#/components/schemas/Event");
  });
});

describe("search by meaning (mode)", () => {
  it("mode=vector and mode=hybrid rank the history by meaning; minScore filters; a bad mode is 400", async () => {
    const meaning = await createStore(inMemoryDriver(), { embedder: testEmbedder() });
    try {
      const t = meaning.withTenant("team-a");
      await t.createContext({ id: "chat-1" });
      await t.append("chat-1", [
        { type: "message", data: { role: "user", content: "The cats were running through the gardens" } },
        { type: "message", data: { role: "assistant", content: "Quarterly revenue grew" } },
      ]);
      const meaningApp = createApp({ store: meaning, keys: createKeyRing([reader.record]), logger: pino({ level: "silent" }) });
      const call = async (path: string) => {
        const res = await meaningApp.request(path, headers(reader.key));
        return { status: res.status, body: (await res.json()) as { items: Hit[]; details?: unknown } };
      };
      expect((await call("/v1/search?text=cat%20runs%20garden")).body.items).toEqual([]);
      for (const mode of ["vector", "hybrid"]) {
        const { status, body } = await call(`/v1/search?text=cat%20runs%20garden&mode=${mode}`);
        expect(status).toBe(200);
        expect(refs(body.items)[0]).toBe("chat-1#1");
        expect(body.items).toEqual(await t.searchEvents({ text: "cat runs garden", mode: mode as "vector" }));
        const one = await call(`/v1/contexts/chat-1/search?text=cat%20runs%20garden&mode=${mode}&minScore=${body.items[0]?.score ?? 0}`);
        expect(refs(one.body.items)).toEqual(["chat-1#1"]);
      }
      const bad = await call("/v1/search?text=x&mode=semantic");
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ code: "INVALID_INPUT" });
      expect((await call("/v1/search?text=x&mode=vector&minScore=high")).status).toBe(400);
    } finally {
      await meaning.close();
    }
  });
});
