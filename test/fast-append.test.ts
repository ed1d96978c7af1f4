/**
 * The Node fast path for appends (src/server/fast-append.ts) must answer exactly as the hono
 * route does. Two twin servers over identical stores — one wired like `serve()` (fast path
 * first, hono for the rest), one hono only — get the same raw HTTP requests, byte for byte,
 * and must give the same status, body (timestamps aside) and headers, and leave the same data.
 */
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { openStore } from "../src/index.js";
import type { ContextStore } from "../src/index.js";
import { createKeyRing, generateApiKey } from "../src/server/index.js";
import { createApp, fastAppendListener } from "../src/server/app.js";

const writerA = generateApiKey({ tenant: "a", scopes: ["read", "write"] });
const readerA = generateApiKey({ tenant: "a", scopes: ["read"] });
const admin = generateApiKey({ tenant: "*", scopes: ["admin"] });
const keys = createKeyRing([writerA.record, readerA.record, admin.record]);
const limits = { maxBatch: 5, maxEventBytes: 400, maxBodyBytes: 64 * 1024 };

interface Twin {
  store: ContextStore;
  server: Server;
  port: number;
  /** Requests the fast path took. */
  fast: number;
}

async function twin(withFastPath: boolean, extra: { rateLimit?: { perSecond: number; burst: number } } = {}): Promise<Twin> {
  const store = await openStore("in-memory:");
  for (const [tenant, id] of [["a", "ctx-a"], ["b", "ctx-b"]] as const) {
    await store.withTenant(tenant).createContext({ id, state: { n: 0 } });
  }
  const app = createApp({ store, keys, logger: pino({ level: "silent" }), limits: { ...limits, ...extra } });
  const hono = getRequestListener(app.fetch);
  const fast = fastAppendListener(app);
  const t: Twin = { store, server: undefined as unknown as Server, port: 0, fast: 0 };
  t.server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (withFastPath && fast(req, res)) t.fast++;
    else void hono(req, res);
  });
  await new Promise<void>((resolve) => t.server.listen(0, "127.0.0.1", resolve));
  t.port = (t.server.address() as AddressInfo).port;
  return t;
}

interface Raw {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends `head` (request line and headers, CRLF-separated, no final blank line) and `body` as is. */
function rawRequest(port: number, head: string, body: string | Buffer): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("error", reject);
    socket.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const split = text.indexOf("\r\n\r\n");
      const lines = text.slice(0, split).split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const i = line.indexOf(":");
        headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      let payload = text.slice(split + 4);
      if (headers["transfer-encoding"] === "chunked") {
        let out = "";
        for (;;) {
          const nl = payload.indexOf("\r\n");
          const size = parseInt(payload.slice(0, nl), 16);
          if (!size) break;
          out += payload.slice(nl + 2, nl + 2 + size);
          payload = payload.slice(nl + 2 + size + 2);
        }
        payload = out;
      }
      resolve({ status: Number(lines[0]?.split(" ")[1]), headers, body: payload });
    });
    socket.end(Buffer.concat([Buffer.from(`${head}\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`), Buffer.from(body)]));
  });
}

const ISO = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g;
const JSON_CT = "Content-Type: application/json";
const event = (data: unknown = "hi") => JSON.stringify({ events: [{ type: "message", data }] });

/** Request head lines and body; every case is sent to both twins. */
/** `{"events":[{"type":"t","data":"x\xff\xfey"}]}`: not UTF-8. */
const notUtf8 = Buffer.concat([Buffer.from('{"events":[{"type":"t","data":"x'), Buffer.from([0xff, 0xfe]), Buffer.from('y"}]}')]);

const cases: [name: string, head: string[], body: string | Buffer][] = [
  ["one event", ["POST /v1/contexts/ctx-a/events HTTP/1.1", JSON_CT, `Authorization: Bearer ${writerA.key}`, "X-Request-Id: case-1"], event()],
  ["a batch, charset", ["POST /v1/contexts/ctx-a/events HTTP/1.1", "Content-Type: application/json; charset=utf-8", `Authorization: Bearer ${writerA.key}`],
    JSON.stringify({ events: [{ type: "message", data: 1 }, { type: "tool_call", data: { id: "t" }, metadata: { m: 1 } }] })],
  ["malformed JSON", ["POST /v1/contexts/ctx-a/events HTTP/1.1", JSON_CT, `Authorization: Bearer ${writerA.key}`], "{\"events\": ["],
  ["invalid UTF-8", ["POST /v1/contexts/ctx-a/events HTTP/1.1", JSON_CT, `Authorization: Bearer ${writerA.key}`], notUtf8],
  ["not an object", ["POST /v1/contexts/ctx-a/events HTTP/1.1", JSON_CT, `Authorization: Bearer ${writerA.key}`], "[1,2]"],
  ["unknown field", ["POST /v1/contexts/ctx-a/events HTTP/1.1", JSON_CT, `Authorization: Bearer ${writerA.key}`], JSON.stringify({ events: [{ type: "m" }], extra: 1 })],
  ["no events", ["POST /v1/contexts/ctx-a/events HTTP/1.1", JSON_CT, `Authorization: Bearer ${writerA.key}`], JSON.stringify({ events: [] })],
  ["bad type", ["POST /v1/contexts/ctx-a/events HTTP/1.1", JSON_CT, `Authorization: Bearer ${writerA.key}`], JSON.stringify({ events: [{ type: 7 }] })],
  ["batch over the limit", ["POST /v1/contexts/ctx-a/events HTTP/1.1", JSON_CT, `Authorization: Bearer ${writerA.key}`],
    JSON.stringify({ events: Array.from({ length: 6 }, () => ({ type: "m" })) })],
  ["event over the limit", ["POST /v1/contexts/ctx-a/events HTTP/1.1", JSON_CT, `Authorization: Bearer ${writerA.key}`], event("x".repeat(500))],
  ["stale expectedVersion", ["POST /v1/contexts/ctx-a/events HTTP/1.1", JSON_CT, `Authorization: Bearer ${writerA.key}`],
    JSON.stringify({ events: [{ type: "m" }], expectedVersion: 9 })],
  ["If-Match conflicting with the body", ["POST /v1/contexts/ctx-a/events HTTP/1.1", JSON_CT, "If-Match: \"2\"", `Authorization: Bearer ${writerA.key}`],
    JSON.stringify({ events: [{ type: "m" }], expectedVersion: 1 })],
  ["weak If-Match", ["POST /v1/contexts/ctx-a/events HTTP/1.1", JSON_CT, "If-Match: W/\"1\"", `Authorization: Bearer ${writerA.key}`], event()],
  ["bad If-Match", ["POST /v1/contexts/ctx-a/events HTTP/1.1", JSON_CT, "If-Match: nope", `Authorization: Bearer ${writerA.key}`], event()],
  ["If-Match as the guard", ["POST /v1/contexts/ctx-a/events HTTP/1.1", JSON_CT, "If-Match: \"1\"", `Authorization: Bearer ${writerA.key}`], event()],
  ["another tenant's context", ["POST /v1/contexts/ctx-b/events HTTP/1.1", JSON_CT, `Authorization: Bearer ${writerA.key}`], event("stolen")],
  ["missing context", ["POST /v1/contexts/nope/events HTTP/1.1", JSON_CT, `Authorization: Bearer ${writerA.key}`], event()],
  ["read-only key", ["POST /v1/contexts/ctx-a/events HTTP/1.1", JSON_CT, `Authorization: Bearer ${readerA.key}`], event()],
  ["no key", ["POST /v1/contexts/ctx-a/events HTTP/1.1", JSON_CT], event()],
  ["unknown key", ["POST /v1/contexts/ctx-a/events HTTP/1.1", JSON_CT, "Authorization: Bearer cd_nope"], event()],
  ["two Authorization headers", ["POST /v1/contexts/ctx-b/events HTTP/1.1", JSON_CT, `Authorization: Bearer ${admin.key}`, `Authorization: Bearer ${writerA.key}`], event()],
  ["key of tenant a asking for tenant b", ["POST /v1/contexts/ctx-b/events HTTP/1.1", JSON_CT, `Authorization: Bearer ${writerA.key}`, "X-Contextd-Tenant: b"], event()],
  ["admin key for tenant b", ["POST /v1/contexts/ctx-b/events HTTP/1.1", JSON_CT, `Authorization: Bearer ${admin.key}`, "X-Contextd-Tenant: b"], event("admin")],
  ["two tenant headers", ["POST /v1/contexts/ctx-b/events HTTP/1.1", JSON_CT, `Authorization: Bearer ${admin.key}`, "X-Contextd-Tenant: b", "X-Contextd-Tenant: a"], event()],
  ["id too long", [`POST /v1/contexts/${"i".repeat(300)}/events HTTP/1.1`, JSON_CT, `Authorization: Bearer ${writerA.key}`], event()],
  ["other JSON type (hono's)", ["POST /v1/contexts/ctx-a/events HTTP/1.1", "Content-Type: application/x+json", `Authorization: Bearer ${writerA.key}`], event()],
  ["escaped id (hono's)", ["POST /v1/contexts/ctx%2Da/events HTTP/1.1", JSON_CT, `Authorization: Bearer ${writerA.key}`], event()],
];

describe("the Node fast path for appends", () => {
  let fastTwin: Twin;
  let honoTwin: Twin;
  beforeAll(async () => {
    fastTwin = await twin(true);
    honoTwin = await twin(false);
  });
  afterAll(async () => {
    for (const t of [fastTwin, honoTwin]) {
      await new Promise((r) => t.server.close(r));
      await t.store.close();
    }
  });

  it.each(cases)("answers %s exactly as the hono route does", async (_name, head, body) => {
    const [a, b] = await Promise.all([
      rawRequest(fastTwin.port, head.join("\r\n"), body),
      rawRequest(honoTwin.port, head.join("\r\n"), body),
    ]);
    // Both reached the app (not, say, Node's own 400 for a malformed request).
    expect(b.headers["content-type"]).toBe("application/json");
    expect(a.status).toBe(b.status);
    expect(a.body.replace(ISO, "T")).toBe(b.body.replace(ISO, "T"));
    for (const h of ["content-type", "x-contextd-tenant", "retry-after"]) expect(a.headers[h], h).toBe(b.headers[h]);
    if (head.some((l) => l.startsWith("X-Request-Id"))) expect(a.headers["x-request-id"]).toBe(b.headers["x-request-id"]);
  });

  it("took the plain requests and left the others to hono, and both stores hold the same events", async () => {
    // All but the last two cases (a content type and a path only hono handles) are plain.
    expect(fastTwin.fast).toBe(cases.length - 2);
    expect(honoTwin.fast).toBe(0);
    for (const [tenant, id] of [["a", "ctx-a"], ["b", "ctx-b"]] as const) {
      const strip = (s: ContextStore) =>
        s
          .withTenant(tenant)
          .readEvents(id, { limit: 100 })
          .then((p) => p.items.map(({ timestamp: _t, ...rest }) => rest));
      expect(await strip(fastTwin.store)).toEqual(await strip(honoTwin.store));
    }
    const a = await fastTwin.store.withTenant("a").readEvents("ctx-a", { limit: 100 });
    // one event, the batch, the If-Match guard, and the two that only hono serves.
    expect(a.items.map((e) => e.data)).toEqual(["hi", 1, { id: "t" }, "hi", "hi", "hi"]);
  });

  it("applies the rate limit of the key alike: 429 with Retry-After once the burst is spent", async () => {
    const pair = [await twin(true, { rateLimit: { perSecond: 0.01, burst: 2 } }), await twin(false, { rateLimit: { perSecond: 0.01, burst: 2 } })];
    try {
      const head = ["POST /v1/contexts/ctx-a/events HTTP/1.1", JSON_CT, `Authorization: Bearer ${writerA.key}`].join("\r\n");
      for (const expected of [201, 201, 429]) {
        const [a, b] = await Promise.all(pair.map((t) => rawRequest(t.port, head, event())));
        expect([a?.status, b?.status]).toEqual([expected, expected]);
        expect(a?.headers["retry-after"]).toBe(b?.headers["retry-after"]);
        expect(a?.body.replace(ISO, "T")).toBe(b?.body.replace(ISO, "T"));
      }
      expect(pair[0]?.fast).toBe(3);
    } finally {
      for (const t of pair) {
        await new Promise((r) => t.server.close(r));
        await t.store.close();
      }
    }
  });
  it("refuses a body that is not UTF-8 with 400 INVALID_INPUT instead of storing replacement characters", async () => {
    const head = ["POST /v1/contexts/ctx-a/events HTTP/1.1", JSON_CT, `Authorization: Bearer ${writerA.key}`].join("\r\n");
    for (const t of [fastTwin, honoTwin]) {
      const r = await rawRequest(t.port, head, notUtf8);
      expect(r.status).toBe(400);
      expect(JSON.parse(r.body)).toMatchObject({ code: "INVALID_INPUT", message: "request body is not valid UTF-8" });
    }
  });

  it("authenticates and checks the scope before it reads a body: the answer comes while the body is still unsent", async () => {
    for (const [auth, status] of [[[], 401], [["Authorization: Bearer cd_nope"], 401], [[`Authorization: Bearer ${readerA.key}`], 403]] as const) {
      for (const t of [fastTwin, honoTwin]) {
        const head = ["POST /v1/contexts/ctx-a/events HTTP/1.1", JSON_CT, ...auth, "Host: 127.0.0.1", `Content-Length: ${limits.maxBodyBytes}`].join("\r\n");
        const socket = connect(t.port, "127.0.0.1");
        try {
          const answer = new Promise<string>((resolve, reject) => {
            socket.once("data", (d: Buffer) => resolve(d.toString("utf8")));
            socket.once("error", reject);
          });
          socket.write(`${head}\r\n\r\n{"events":[`);
          expect((await answer).split("\r\n")[0]).toBe(`HTTP/1.1 ${status} ${status === 401 ? "Unauthorized" : "Forbidden"}`);
        } finally {
          socket.destroy();
        }
      }
    }
  });
});
