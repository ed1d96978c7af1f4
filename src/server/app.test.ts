import { describe, expect, it } from "vitest";
import { pino } from "pino";
import { CONTEXT_ERROR_CODES, ContextError, createCircuit, openStore } from "../index.js";
import type { ContextStore } from "../index.js";
import { createApp } from "./app.js";
import type { AppOptions } from "./app.js";
import { ERROR_STATUS } from "./error-status.js";
import { createKeyRing, generateApiKey } from "./keys.js";

const silent = pino({ level: "silent" });
const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

async function setup(options: Partial<AppOptions> = {}) {
  const store = await openStore("in-memory:");
  const app = createApp({ store, logger: silent, ...options });
  return { store, app };
}

describe("error status table", () => {
  it("maps every error code to a status; client mistakes are 4xx", () => {
    for (const code of CONTEXT_ERROR_CODES) expect(ERROR_STATUS[code], code).toBeGreaterThanOrEqual(400);
    for (const code of ["INVALID_INPUT", "NOT_FOUND", "VERSION_CONFLICT", "ALREADY_EXISTS", "SCHEMA_VIOLATION", "LEASE_LOST", "LOCK_TIMEOUT", "UNAUTHORIZED", "FORBIDDEN", "RATE_LIMITED", "COMPACTED"] as const) {
      expect(ERROR_STATUS[code], code).toBeLessThan(500);
    }
    expect(ERROR_STATUS.DRIVER_UNAVAILABLE).toBe(503);
  });
});

describe("system routes", () => {
  it("healthz, readyz, openapi.json and the local docs page answer", async () => {
    const { app } = await setup();
    expect(await (await app.request("/healthz")).json()).toEqual({ ok: true });
    const ready = await app.request("/readyz");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ok: true, driver: "in-memory", circuits: expect.any(Array) });
    const doc = (await (await app.request("/openapi.json")).json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown> };
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/v1/contexts", "/v1/contexts/{id}/state", "/v1/contexts/{id}/events/stream"]));
    // Request schemas come from the same zod schemas that validate.
    expect(JSON.stringify(doc.paths["/v1/contexts/{id}/events"])).toContain("#/components/schemas/Append");
    expect(JSON.stringify(doc.components.schemas.Append)).toContain("#/components/schemas/EventInput");
    const page = await app.request("/docs");
    expect(await page.text()).toContain("swagger-ui-bundle.js");
    const css = await app.request("/docs/assets/swagger-ui.css");
    expect(css.status).toBe(200);
    expect(css.headers.get("content-type")).toContain("text/css");
    expect((await app.request("/docs/assets/..%2Fpackage.json")).status).toBe(404);
  });

  it("readyz is 503 when the store cannot be reached", async () => {
    const { store } = await setup();
    const broken: ContextStore = { ...store, tenant: store.tenant, health: () => Promise.reject(new ContextError("DRIVER_UNAVAILABLE", "down")) } as ContextStore;
    const app = createApp({ store: broken, logger: silent });
    expect((await app.request("/readyz")).status).toBe(503);
  });

  it("readyz lists the circuit breakers of the process with their state", async () => {
    const { app } = await setup();
    const circuit = createCircuit("readyz-test", "postgres", { failureThreshold: 1 });
    try {
      circuit.fail(new Error("refused at 10.0.0.7"));
      const body = (await (await app.request("/readyz")).json()) as { circuits: { name: string; state: string }[] };
      expect(body.circuits).toContainEqual({ name: "readyz-test", backend: "postgres", state: "open" });
      expect(JSON.stringify(body)).not.toContain("10.0.0.7");
    } finally {
      circuit.dispose();
    }
  });

  it("echoes a given X-Request-Id and makes one otherwise", async () => {
    const { app } = await setup();
    expect((await app.request("/healthz", { headers: { "x-request-id": "abc-123" } })).headers.get("x-request-id")).toBe("abc-123");
    const made = (await app.request("/healthz", { headers: { "x-request-id": "bad id with spaces" } })).headers.get("x-request-id");
    expect(made).toMatch(/^[a-z0-9]+-[a-z0-9]+$/);
  });
});

describe("client mistakes are 4xx with { code, message, details }", () => {
  it("malformed JSON, wrong content type, unknown fields, wrong types, unknown routes", async () => {
    const { app } = await setup();
    const cases: [RequestInit & { path?: string }, number][] = [
      [{ method: "POST", headers: { "content-type": "application/json" }, body: "{bad" }, 400],
      [{ method: "POST", headers: { "content-type": "text/plain" }, body: "{}" }, 415],
      [{ method: "POST", body: "{}" }, 415],
      [json({ id: "x", nope: 1 }), 400],
      [json({ id: 5 }), 400],
      [json({ state: [] }), 400],
      [json({ id: "../etc/passwd" }), 400],
      [json({ metadata: "x" }), 400],
    ];
    for (const [init, status] of cases) {
      const res = await app.request("/v1/contexts", init);
      expect(res.status, JSON.stringify(init.body)).toBe(status);
      const body = (await res.json()) as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(["code", "details", "message"]);
      expect(body.code).toBe("INVALID_INPUT");
    }
    const deep = await app.request("/v1/contexts", json({ id: "d" }));
    expect(deep.status).toBe(201);
    const nested = `{"events":[{"type":"m","data":${"[".repeat(20_000)}${"]".repeat(20_000)}}]}`;
    const tooDeep = await app.request("/v1/contexts/d/events", { method: "POST", headers: { "content-type": "application/json" }, body: nested });
    expect(tooDeep.status).toBe(400);
    const unknown = await app.request("/v1/nothing-here");
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: "NOT_FOUND" });
    expect((await app.request("/v1/contexts?limit=abc")).status).toBe(400);
    expect((await app.request("/v1/contexts?sneaky=1")).status).toBe(400);
  });

  it("names the field of a validation error", async () => {
    const { app } = await setup();
    await app.request("/v1/contexts", json({ id: "c" }));
    const res = await app.request("/v1/contexts/c/events", json({ events: [{ type: "m" }, { type: 5 }] }));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { details: { field: string } }).details.field).toBe("events.1.type");
  });

  it("enforces the body size, batch size and event size limits", async () => {
    const { app } = await setup({ limits: { maxBodyBytes: 2000, maxBatch: 3, maxEventBytes: 500 } });
    await app.request("/v1/contexts", json({ id: "c" }));
    const big = await app.request("/v1/contexts/c/events", json({ events: [{ type: "m", data: "x".repeat(5000) }] }));
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ code: "INVALID_INPUT", details: { limit: 2000 } });
    const many = await app.request("/v1/contexts/c/events", json({ events: [{ type: "m" }, { type: "m" }, { type: "m" }, { type: "m" }] }));
    expect(many.status).toBe(400);
    expect(await many.json()).toMatchObject({ details: { field: "events", limit: 3 } });
    const fat = await app.request("/v1/contexts/c/events", json({ events: [{ type: "m", data: "y".repeat(800) }] }));
    expect(fat.status).toBe(400);
    expect(await fat.json()).toMatchObject({ details: { field: "events[0]" } });
    expect((await app.request("/v1/contexts/c/events", json({ events: [{ type: "m" }, { type: "m" }] }))).status).toBe(201);
  });
});

describe("state over HTTP", () => {
  it("GET state has an ETag; If-None-Match gives 304; If-Match guards writes with 409 carrying the current version", async () => {
    const { app } = await setup();
    await app.request("/v1/contexts", json({ id: "c", state: { a: 1 } }));
    const res = await app.request("/v1/contexts/c/state");
    expect(res.headers.get("etag")).toBe('"1"');
    expect((await app.request("/v1/contexts/c/state", { headers: { "if-none-match": '"1"' } })).status).toBe(304);
    const ok = await app.request("/v1/contexts/c/state", { ...json({ state: { a: 2 } }, { "if-match": '"1"' }), method: "PUT" });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("etag")).toBe('"2"');
    const stale = await app.request("/v1/contexts/c/state", { ...json({ patch: { b: 1 } }, { "if-match": '"1"' }), method: "PATCH" });
    expect(stale.status).toBe(409);
    expect(await stale.json()).toEqual({
      code: "VERSION_CONFLICT",
      message: expect.any(String) as string,
      details: { contextId: "c", expected: 1, actual: 2 },
    });
    expect((await app.request("/v1/contexts/c/state", { ...json({ state: {} }, { "if-match": "nonsense" }), method: "PUT" })).status).toBe(400);
    const past = await app.request("/v1/contexts/c/state?version=1");
    expect(await past.json()).toEqual({ state: { a: 1 }, version: 1 });
  });
});

describe("auth, scopes, tenants and rate limits", () => {
  const a = generateApiKey({ tenant: "team-a", scopes: ["read", "write"] });
  const reader = generateApiKey({ tenant: "team-a", scopes: ["read"] });
  const admin = generateApiKey({ tenant: "*", scopes: ["admin"] });
  const revoked = generateApiKey({ tenant: "team-a", scopes: ["read"] });
  revoked.record.revokedAt = new Date().toISOString();
  const keys = createKeyRing([a.record, reader.record, admin.record, revoked.record]);
  const bearer = (key: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${key}`, ...extra });

  it("401 without a key, with a malformed, unknown or revoked key", async () => {
    const { app } = await setup({ keys });
    for (const headers of [{}, { authorization: "Basic abc" }, bearer("ctxd_0000000000000000_" + "A".repeat(43)), bearer(revoked.key), bearer("nonsense")]) {
      const res = await app.request("/v1/contexts", { headers });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ code: "UNAUTHORIZED" });
    }
    expect((await app.request("/healthz")).status).toBe(200);
  });

  it("the key picks the tenant; naming another tenant is 403; a read key cannot write", async () => {
    const { app } = await setup({ keys });
    const created = await app.request("/v1/contexts", json({ id: "c" }, bearer(a.key)));
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ tenant: "team-a" });
    expect(created.headers.get("x-contextd-tenant")).toBe("team-a");
    expect((await app.request("/v1/contexts/c", { headers: bearer(a.key, { "x-contextd-tenant": "team-b" }) })).status).toBe(403);
    expect((await app.request("/v1/contexts/c", { headers: bearer(reader.key) })).status).toBe(200);
    const denied = await app.request("/v1/contexts/c/events", json({ events: [{ type: "m" }] }, bearer(reader.key)));
    expect(denied.status).toBe(403);
    expect(await denied.json()).toMatchObject({ code: "FORBIDDEN", details: { scope: "write" } });
    // A '*' admin key picks any tenant per request.
    expect((await app.request("/v1/contexts/c", { headers: bearer(admin.key, { "x-contextd-tenant": "team-a" }) })).status).toBe(200);
    expect((await app.request("/v1/contexts/c", { headers: bearer(admin.key, { "x-contextd-tenant": "team-b" }) })).status).toBe(404);
  });

  it("429 with Retry-After once a key exceeds its rate", async () => {
    const { app } = await setup({ keys, limits: { rateLimit: { perSecond: 1, burst: 2 } } });
    const statuses: number[] = [];
    let retry: string | null = null;
    for (let i = 0; i < 4; i++) {
      const res = await app.request("/v1/contexts", { headers: bearer(a.key) });
      statuses.push(res.status);
      if (res.status === 429) retry = res.headers.get("retry-after");
    }
    expect(statuses.slice(0, 2)).toEqual([200, 200]);
    expect(statuses).toContain(429);
    expect(Number(retry)).toBeGreaterThanOrEqual(1);
    // Other keys have their own bucket.
    expect((await app.request("/v1/contexts", { headers: bearer(reader.key) })).status).toBe(200);
  });
});

describe("request deadline", () => {
  it("a request past its deadline is 503 ABORTED, and the store saw the abort", async () => {
    const { store } = await setup();
    let aborted = false;
    const slow = {
      ...store,
      tenant: store.tenant,
      withTenant: () => slow,
      getContext: (_id: string, o?: { signal?: AbortSignal }) =>
        new Promise((_, reject) => {
          o?.signal?.addEventListener("abort", () => {
            aborted = true;
            reject(new ContextError("ABORTED", "aborted", { cause: o.signal?.reason }));
          });
        }),
    } as unknown as ContextStore;
    const app = createApp({ store: slow, logger: silent, limits: { requestTimeoutMs: 50 } });
    const res = await app.request("/v1/contexts/x");
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ code: "ABORTED" });
    expect(aborted).toBe(true);
  });
});

describe("event stream (SSE)", () => {
  it("replays after Last-Event-ID, then continues live; ends when the server shuts down", async () => {
    const shutdown = new AbortController();
    const { app, store } = await setup({ shutdownSignal: shutdown.signal });
    await store.createContext({ id: "c" });
    await store.append("c", [{ type: "a" }, { type: "b" }, { type: "c" }]);
    expect((await app.request("/v1/contexts/missing/events/stream")).status).toBe(404);
    expect((await app.request("/v1/contexts/c/events/stream", { headers: { "last-event-id": "x" } })).status).toBe(400);
    const res = await app.request("/v1/contexts/c/events/stream", { headers: { "last-event-id": "1" } });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    const until = async (pattern: RegExp): Promise<void> => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${pattern}: ${text}`);
        text += decoder.decode(value);
      }
    };
    await until(/id: 3\n/);
    expect(text).toContain('event: ready\ndata: {"afterSeq":1}');
    expect(text).not.toContain("id: 1\n");
    await store.append("c", { type: "live" });
    await until(/id: 4\n/);
    expect(text).toMatch(/event: event\ndata: \{"contextId":"c","seq":4,"type":"live"/);
    shutdown.abort();
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
    }
  });
});

describe("event stream heartbeats", () => {
  it("sends a comment at the heartbeat interval while nothing happens", async () => {
    const shutdown = new AbortController();
    const { app, store } = await setup({ shutdownSignal: shutdown.signal, limits: { heartbeatMs: 20 } });
    await store.createContext({ id: "quiet" });
    const res = await app.request("/v1/contexts/quiet/events/stream");
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes(": keepalive\n\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended: ${text}`);
      text += decoder.decode(value);
    }
    expect(text).not.toContain("event: event");
    shutdown.abort();
    await reader.cancel();
  });
});

describe("request bodies", () => {
  const notUtf8 = (prefix: string, suffix: string) =>
    new Uint8Array(Buffer.concat([Buffer.from(prefix), Buffer.from([0xff, 0xfe]), Buffer.from(suffix)]));

  it("a body that is not UTF-8 is 400 INVALID_INPUT on every route, and nothing is written", async () => {
    const { app, store } = await setup();
    const c = await store.createContext({ id: "c", state: { a: 1 } });
    const requests: [string, string, Uint8Array][] = [
      ["PUT", "/v1/contexts/c/state", notUtf8('{"state":{"b":"x', 'y"}}')],
      ["PATCH", "/v1/contexts/c/state", notUtf8('{"patch":{"b":"x', 'y"}}')],
      ["POST", "/v1/contexts/c/state/set", notUtf8('{"path":"/b","value":"x', 'y"}')],
      ["POST", "/v1/contexts/c/events", notUtf8('{"events":[{"type":"t","data":"x', 'y"}]}')],
      ["PATCH", "/v1/contexts/c", notUtf8('{"metadata":{"b":"x', 'y"}}')],
      ["POST", "/v1/contexts", notUtf8('{"state":{"b":"x', 'y"}}')],
    ];
    for (const [method, path, body] of requests) {
      const res = await app.request(path, { method, headers: { "content-type": "application/json" }, body });
      expect(res.status, `${method} ${path}`).toBe(400);
      expect(await res.json()).toMatchObject({ code: "INVALID_INPUT", message: "request body is not valid UTF-8" });
    }
    expect((await store.getState(c.id)).version).toBe(c.version);
    expect((await store.listContexts()).items).toHaveLength(1);
  });

  it("keys named __proto__ in state, patches, paths and metadata are stored as sent", async () => {
    const { app, store } = await setup();
    await store.createContext({ id: "c" });
    const send = (method: string, path: string, body: string) =>
      app.request(path, { method, headers: { "content-type": "application/json" }, body });
    expect((await send("PUT", "/v1/contexts/c/state", '{"state":{"__proto__":{"a":1},"b":2}}')).status).toBe(200);
    expect(JSON.stringify((await store.getState("c")).state)).toBe('{"__proto__":{"a":1},"b":2}');
    expect((await send("PATCH", "/v1/contexts/c/state", '{"patch":{"__proto__":{"c":3}}}')).status).toBe(200);
    expect((await send("POST", "/v1/contexts/c/state/set", '{"path":"/constructor","value":4}')).status).toBe(200);
    expect(JSON.stringify((await store.getState("c")).state)).toBe('{"__proto__":{"a":1,"c":3},"b":2,"constructor":4}');
    expect((await send("PATCH", "/v1/contexts/c", '{"metadata":{"__proto__":{"m":1}}}')).status).toBe(200);
    expect(JSON.stringify((await store.getContext("c")).metadata)).toBe('{"__proto__":{"m":1}}');
    const read = await app.request("/v1/contexts/c/state");
    expect(await read.text()).toContain('"__proto__":{"a":1,"c":3}');
  });

  it("If-Match compares strongly: a weak tag W/\"1\" never matches, and nothing is written", async () => {
    const { app, store } = await setup();
    await store.createContext({ id: "c" });
    const put = (ifMatch: string) =>
      app.request("/v1/contexts/c/state", { method: "PUT", headers: { "content-type": "application/json", "if-match": ifMatch }, body: '{"state":{"a":1}}' });
    const weak = await put('W/"1"');
    expect(weak.status).toBe(409);
    expect(await weak.json()).toMatchObject({ code: "VERSION_CONFLICT" });
    expect((await store.getState("c")).version).toBe(1);
    expect((await put('"1"')).status).toBe(200);
  });

  it("query numbers are decimal digits only: 0x10, 1e2, an empty value or a sign are 400", async () => {
    const { app, store } = await setup();
    await store.createContext({ id: "c" });
    for (const bad of ["0x10", "1e2", "", "+5", " 5", "5.0", "-1"]) {
      const res = await app.request(`/v1/contexts/c/events?limit=${encodeURIComponent(bad)}`);
      expect(res.status, JSON.stringify(bad)).toBe(400);
    }
    expect((await app.request("/v1/contexts/c/events?limit=16")).status).toBe(200);
  });
});
