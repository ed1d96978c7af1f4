import { beforeEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import { createStore, inMemoryDriver } from "../../index.js";
import type { Block, ContextStore } from "../../index.js";
import { createApp } from "../app.js";
import { createKeyRing, generateApiKey } from "../keys.js";

const reader = generateApiKey({ tenant: "team-a", scopes: ["read"] });
const writer = generateApiKey({ tenant: "team-a", scopes: ["read", "write"] });
const otherTenant = generateApiKey({ tenant: "team-b", scopes: ["read", "write"] });

interface Body {
  items: Body[];
  details: Record<string, unknown>;
  code: string;
  message: string;
  value: unknown;
  version: number;
  label: string;
}

let store: ContextStore;
let app: ReturnType<typeof createApp>;

async function send(method: string, path: string, body?: unknown, key = writer.key, extra: Record<string, string> = {}) {
  const headers: Record<string, string> = { authorization: `Bearer ${key}`, ...extra };
  const init: RequestInit = { method, headers };
  if (body !== undefined) {
    headers["content-type"] = "application/json";
    init.body = typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body);
  }
  const res = await app.request(path, init);
  const text = await res.text();
  return { status: res.status, body: (text.length > 0 ? JSON.parse(text) : undefined) as Body, headers: res.headers };
}

beforeEach(async () => {
  store = await createStore(inMemoryDriver(), { embedder: null });
  app = createApp({ store, keys: createKeyRing([reader.record, writer.record, otherTenant.record]), logger: pino({ level: "silent" }) });
  return () => store.close();
});

describe("/v1/blocks", () => {
  it("put, get (ETag), edit with If-Match, list, history and delete, in the key's tenant", async () => {
    const put = await send("PUT", "/v1/blocks/human?userId=u1", { description: "the user", value: "Name: Ada", limit: { chars: 50 }, actor: "setup" });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.headers.get("etag")).toBe('"1"');
    expect(put.body).toMatchObject({ scope: { userId: "u1" }, label: "human", value: "Name: Ada", version: 1, updatedBy: "setup" });
    expect((await store.withTenant("team-a").getBlock({ userId: "u1" }, "human")).value).toBe("Name: Ada");

    const edited = await send("POST", "/v1/blocks/human/edit?userId=u1", { edit: { op: "append", text: "; likes tea" } }, writer.key, { "if-match": '"1"' });
    expect([edited.status, edited.body.value, edited.headers.get("etag")]).toEqual([200, "Name: Ada; likes tea", '"2"']);
    const stale = await send("POST", "/v1/blocks/human/edit?userId=u1", { edit: { op: "append", text: "!" } }, writer.key, { "if-match": '"1"' });
    expect([stale.status, stale.body.code, stale.body.details]).toEqual([409, "VERSION_CONFLICT", expect.objectContaining({ expected: 1, actual: 2, label: "human" })]);

    const got = await send("GET", "/v1/blocks/human?userId=u1", undefined, reader.key);
    expect([got.status, got.body.version]).toEqual([200, 2]);
    const list = await send("GET", "/v1/blocks?userId=u1", undefined, reader.key);
    expect(list.body.items.map((b) => b.label)).toEqual(["human"]);
    const history = await send("GET", "/v1/blocks/human/history?userId=u1", undefined, reader.key);
    expect(history.body.items.map((v) => (v as unknown as { op: string }).op)).toEqual(["put", "append"]);

    expect((await send("PUT", "/v1/blocks/x?userId=u1", { value: "v", limit: { chars: 5 } }, reader.key)).status).toBe(403);
    const del = await send("DELETE", "/v1/blocks/human?userId=u1&ifVersion=1");
    expect([del.status, del.body.code]).toEqual([409, "VERSION_CONFLICT"]);
    expect((await send("DELETE", "/v1/blocks/human?userId=u1&ifVersion=2&actor=me")).status).toBe(204);
    expect((await send("GET", "/v1/blocks/human?userId=u1")).status).toBe(404);
  });

  it("a write over the limit is 422 LIMIT_EXCEEDED saying by how much, on put and edit; nothing is written", async () => {
    const over = await send("PUT", "/v1/blocks/b?agentId=bot", { value: "x".repeat(12), limit: { chars: 10 } });
    expect([over.status, over.body.code, over.body.details]).toEqual([422, "LIMIT_EXCEEDED", { label: "b", limit: 10, unit: "chars", size: 12, over: 2 }]);
    await send("PUT", "/v1/blocks/b?agentId=bot", { value: "hello world", limit: { tokens: 2 } });
    const tok = await send("POST", "/v1/blocks/b/edit?agentId=bot", { edit: { op: "append", text: " again" } });
    expect([tok.status, tok.body.details]).toEqual([422, { label: "b", limit: 2, unit: "tokens", size: 3, over: 1 }]);
    expect((await store.withTenant("team-a").getBlock({ agentId: "bot" }, "b")).version).toBe(1);
  });

  it("no request reaches another tenant's blocks", async () => {
    await send("PUT", "/v1/blocks/secret?userId=u1", { value: "team a only", limit: { chars: 50 } });
    for (const [method, path, body] of [
      ["GET", "/v1/blocks/secret?userId=u1", undefined],
      ["GET", "/v1/blocks/secret/history?userId=u1", undefined],
      ["POST", "/v1/blocks/secret/edit?userId=u1", { edit: { op: "append", text: "!" } }],
      ["DELETE", "/v1/blocks/secret?userId=u1", undefined],
    ] as const) {
      const r = await send(method, path, body, otherTenant.key);
      expect([r.status, r.body.code], `${method} ${path}`).toEqual([404, "NOT_FOUND"]);
    }
    expect((await send("GET", "/v1/blocks?userId=u1", undefined, otherTenant.key)).body.items).toEqual([]);
    // The X-Contextd-Tenant header cannot reach another tenant either.
    expect((await send("GET", "/v1/blocks?userId=u1", undefined, otherTenant.key, { "x-contextd-tenant": "team-a" })).status).toBe(403);
    const mine = await store.withTenant("team-a").getBlock({ userId: "u1" }, "secret");
    expect([mine.value, mine.version]).toEqual(["team a only", 1]);
  });

  it("bad input is 400 INVALID_INPUT naming the field as the store does: scope, label, value, schema (with the JSON pointer), UTF-8", async () => {
    const cases: [string, string, unknown, string][] = [
      ["PUT", "/v1/blocks/b", { value: "v", limit: { chars: 5 } }, "scope"],
      ["PUT", "/v1/blocks/b?userId=u&agentId=a", { value: "v", limit: { chars: 5 } }, "scope"],
      ["PUT", "/v1/blocks/1bad?userId=u", { value: "v", limit: { chars: 5 } }, "block.label"],
      ["PUT", "/v1/blocks/constructor?userId=u", { value: "v", limit: { chars: 5 } }, "block.label"],
      ["PUT", "/v1/blocks/__proto__?userId=u", { value: "v", limit: { chars: 5 } }, "block.label"],
      ["PUT", "/v1/blocks/b?userId=u", { value: "v", limit: { lines: 5 } }, "block.limit.lines"],
      ["PUT", "/v1/blocks/b?userId=u", { value: { a: 1 }, limit: { chars: 50 } }, "block.value"],
      ["PUT", "/v1/blocks/b?userId=u", { label: "other", value: "v", limit: { chars: 5 } }, "block.label"],
      ["POST", "/v1/blocks/b/edit?userId=u", { edit: { op: "nope" } }, "edit.op"],
      ["POST", "/v1/blocks/b/edit?userId=u", { edit: { op: "append", text: "x" }, extra: 1 }, "extra"],
    ];
    for (const [method, path, body, field] of cases) {
      const r = await send(method, path, body);
      expect([r.status, r.body.code, r.body.details?.field], `${method} ${path} ${JSON.stringify(body)}`).toEqual([400, "INVALID_INPUT", field]);
    }
    const schema = { type: "object", properties: { age: { type: "integer" } } };
    const s = await send("PUT", "/v1/blocks/p?userId=u", { value: { age: "old" }, schema, limit: { chars: 100 } });
    expect([s.status, s.body.details]).toEqual([400, expect.objectContaining({ field: "block.value", path: "/age" })]);
    const proto = await send("PUT", "/v1/blocks/p?userId=u", '{"value":{"__proto__":{"x":1}},"schema":{"type":"object"},"limit":{"chars":100}}');
    expect(proto.status).toBe(200);
    expect(JSON.stringify((await store.withTenant("team-a").getBlock({ userId: "u" }, "p")).value)).toBe('{"__proto__":{"x":1}}');
    const notUtf8 = new Uint8Array(Buffer.concat([Buffer.from('{"value":"x'), Buffer.from([0xff, 0xfe]), Buffer.from('y","limit":{"chars":9}}')]));
    const bad = await send("PUT", "/v1/blocks/u8?userId=u", notUtf8);
    expect([bad.status, bad.body.code, bad.body.message]).toEqual([400, "INVALID_INPUT", "request body is not valid UTF-8"]);
    const huge = await send("PUT", "/v1/blocks/huge?userId=u", { value: "a".repeat((1 << 20) + 10), limit: { tokens: 10 } });
    expect([huge.status, huge.body.code, huge.body.details?.field]).toEqual([400, "INVALID_INPUT", "block.value"]);
    expect(await store.withTenant("team-a").listBlocks({ userId: "u" })).toEqual([expect.objectContaining({ label: "p" }) as Block]);
  });
});
