/**
 * Tenant isolation over HTTP: every route of the OpenAPI document is called with tenant A's
 * key (all scopes) against tenant B's data. Routes on one of B's contexts answer 404 (not
 * 403: existence does not leak); tenant-wide routes show none of B's data; B's data is
 * unchanged afterwards. A route added later without a case here fails the test. Tenant B also
 * holds a memory whose id is the context's, so every `{id}` route of memories is walked too.
 */
import { describe, expect, it } from "vitest";
import { pino } from "pino";
import { createStore, inMemoryDriver } from "../src/index.js";
import type { ContextStore } from "../src/index.js";
import { createApp, createKeyRing, generateApiKey } from "../src/server/index.js";
import { testEmbedder } from "../src/testing/index.js";

const B_ID = "b-ctx";

/** A valid body for each route that takes one, so the request reaches the store. */
const bodies: Record<string, unknown> = {
  "post /v1/contexts": { id: "a-own" },
  "patch /v1/contexts/{id}": { title: "stolen" },
  "put /v1/contexts/{id}/state": { state: { stolen: true } },
  "patch /v1/contexts/{id}/state": { patch: { stolen: true } },
  "post /v1/contexts/{id}/state/set": { path: "/stolen", value: true },
  "post /v1/contexts/{id}/state/remove": { path: "/n" },
  "post /v1/contexts/{id}/events": { events: [{ type: "message", data: "stolen" }] },
  "post /v1/contexts/{id}/snapshots": { name: "stolen" },
  "post /v1/contexts/{id}/restore": { snapshot: "snap" },
  "post /v1/contexts/{id}/fork": {},
  "post /v1/contexts/{id}/compact": { beforeSeq: 1 },
  "post /v1/contexts/{id}/lease": { holder: "thief" },
  "post /v1/contexts/{id}/lease/renew": { holder: "owner", token: 1 },
  "post /v1/contexts/{id}/lease/release": { holder: "owner", token: 1 },
  "post /v1/contexts/{id}/window": { maxTokens: 1000 },
  "put /v1/holders/{holder}/active": { contextId: B_ID },
  "post /v1/holders/{holder}/switch": { contextId: B_ID },
  "put /v1/holders/{holder}/default": { contextId: B_ID },
  "put /v1/schemas/{kind}": { schema: { type: "object" } },
  "post /v1/usage": {},
  "post /v1/purge-expired": undefined,
  "post /v1/contexts/{id}/archive": undefined,
  "post /v1/memories": { memories: { scope: { userId: "b-user" }, text: "the secret plan is in the blue folder" } },
  "patch /v1/memories/{id}": { text: "stolen", expectedVersion: 1 },
  "post /v1/memories/search": { text: "secret plan blue folder", scope: { userId: "b-user" } },
  "post /v1/memories/purge": { scope: { userId: "b-user" } },
  "post /v1/memories/reindex": {},
  "put /v1/blocks/{label}": { value: "stolen", limit: { chars: 100 } },
  "post /v1/health/baseline": { seq: 1 },
  "post /v1/blocks/{label}/edit": { edit: { op: "append", text: " stolen" } },
};

/** Required query parameters. */
const queries: Record<string, string> = {
  "get /v1/contexts/{id}/diff": "?from=1&to=2",
  "get /v1/contexts/{id}/events/last": "?n=1",
  "get /v1/contexts/{id}/search": "?text=secret",
  "get /v1/search": "?text=secret",
  "get /v1/memories": "?userId=b-user",
  // B's block scope and label, asked by A.
  "get /v1/blocks": "?userId=b-user",
  "get /v1/blocks/{label}": "?userId=b-user",
  "put /v1/blocks/{label}": "?userId=b-user",
  "post /v1/blocks/{label}/edit": "?userId=b-user",
  "delete /v1/blocks/{label}": "?userId=b-user",
  "get /v1/blocks/{label}/history": "?userId=b-user",
};

/** What a tenant-wide route must answer for A (none of B's data). */
const tenantWide: Record<string, (status: number, body: unknown) => void> = {
  "post /v1/contexts": (status, body) => expect([status, (body as { tenant: string }).tenant]).toEqual([201, "team-a"]),
  "get /v1/contexts": (status, body) => expect((body as { items: { id: string }[] }).items.map((c) => c.id)).not.toContain("b-other"),
  "post /v1/purge-expired": (_s, body) => expect(body).toEqual({ removed: 0 }),
  "get /v1/holders/{holder}/current": (_s, body) => expect(body).toBeNull(),
  "delete /v1/holders/{holder}/active": (_s, body) => expect(body).toEqual({ previous: null }),
  "get /v1/schemas": (_s, body) => expect((body as { kind: string }[]).map((s) => s.kind)).not.toContain("secret-kind"),
  "get /v1/schemas/{kind}": (_s, body) => expect(body).toBeNull(),
  "put /v1/schemas/{kind}": (status) => expect(status).toBe(200),
  "delete /v1/schemas/{kind}": (status) => expect(status).toBe(200),
  "post /v1/usage": (_s, body) => expect((body as { totals: { calls: number } }).totals.calls).toBe(0),
  "get /v1/search": (status, body) => expect([status, body]).toEqual([200, { items: [] }]),
  "get /v1/health": (status) => expect(status).toBe(200),
  "get /v1/whoami": (_s, body) => expect(body).toMatchObject({ tenant: "team-a" }),
  "get /healthz": (status) => expect(status).toBe(200),
  "get /readyz": (status) => expect(status).toBe(200),
  // Figures over every tenant: a tenant-bound admin key is refused (they need a metrics key or a * admin).
  "get /metrics": (status) => expect(status).toBe(403),
  "get /v1/metrics": (status) => expect(status).toBe(403),
  "get /v1/monitor": (status) => expect(status).toBe(403),
  "get /v1/alerts": (status) => expect(status).toBe(403),
  "get /v1/health/report": (status) => expect(status).toBe(403),
  "get /v1/health/history": (status) => expect(status).toBe(403),
  "post /v1/health/baseline": (status) => expect(status).toBe(403),
  // A's own memory with B's text and scope: created for A, not found as B's.
  "post /v1/memories": (status, body) =>
    expect([status, (body as { items: { outcome: string; memory: { tenant: string } }[] }).items.map((i) => [i.outcome, i.memory.tenant])]).toEqual([
      200,
      [["created", "team-a"]],
    ]),
  "get /v1/memories": (_s, body) => expect((body as { items: { tenant: string }[] }).items.every((m) => m.tenant === "team-a")).toBe(true),
  "post /v1/memories/search": (_s, body) =>
    expect((body as { items: { memory: { tenant: string; id: string } }[] }).items.map((h) => [h.memory.tenant, h.memory.id === B_ID])).toEqual([["team-a", false]]),
  // Runs before the reindex and after A's add: only A's own memory is deleted.
  "post /v1/memories/purge": (status, body) => expect([status, body]).toEqual([200, { removed: 1 }]),
  "post /v1/memories/reindex": (status, body) => expect([status, body]).toEqual([200, { reindexed: 0, remaining: 0 }]),
  // Blocks: B's scope and label name A's own (empty) block space; B's block is never seen, and
  // what A writes there is A's (B's fingerprint below is unchanged).
  "get /v1/blocks": (status, body) => expect([status, body]).toEqual([200, { items: [] }]),
  "get /v1/blocks/{label}": (status, body) => expect([status, (body as { code?: string }).code]).toEqual([404, "NOT_FOUND"]),
  "put /v1/blocks/{label}": (status, body) => expect([status < 300, (body as { value?: unknown }).value]).toEqual([true, "stolen"]),
  "post /v1/blocks/{label}/edit": (status, body) => expect(status === 404 || (body as { value?: string }).value === "stolen stolen").toBe(true),
  "delete /v1/blocks/{label}": (status) => expect([200, 204, 404]).toContain(status),
  "get /v1/blocks/{label}/history": (status, body) =>
    expect(status === 404 || JSON.stringify(body).includes("B's secret note") === false).toBe(true),
};

async function fingerprint(store: ContextStore): Promise<unknown> {
  return {
    info: await store.getContext(B_ID),
    state: await store.getState(B_ID),
    events: (await store.readEvents(B_ID, { limit: 1000 })).items,
    snapshots: await store.listSnapshots(B_ID),
    lease: await store.getLease(B_ID),
    schema: await store.getSchema("secret-kind"),
    current: (await store.currentContext("agent"))?.id ?? null,
    others: (await store.listContexts()).items.map((c) => c.id),
    memory: await store.getMemory(B_ID),
    memories: (await store.listMemories()).items,
    memoryHistory: await store.memoryHistory(B_ID),
    blocks: await store.listBlocks({ userId: "b-user" }),
    blockHistory: await store.blockHistory({ userId: "b-user" }, "secret"),
    memoryHits: await store.searchMemories({ text: "secret plan blue folder" }),
  };
}

describe("tenant isolation over HTTP", () => {
  it("tenant A's key reaches none of tenant B's contexts, events, snapshots, leases, schemas, bindings, streams or memories", async () => {
    const root = await createStore(inMemoryDriver(), { embedder: testEmbedder() });
    const b = root.withTenant("team-b");
    await b.createContext({ id: B_ID, state: { n: 1 } });
    await b.createContext({ id: "b-other" });
    await b.patchState(B_ID, { n: 2 });
    await b.append(B_ID, [{ type: "message", data: "secret" }, { type: "model_usage", data: { modelId: "gpt-4o", inputTokens: 10, outputTokens: 5 } }]);
    await b.createSnapshot(B_ID, { name: "snap" });
    await b.acquireLease(B_ID, { holder: "owner", ttlMs: 600_000 });
    await b.setSchema("secret-kind", { type: "object" });
    await b.activate("agent", B_ID);
    await b.addMemories([
      { id: B_ID, scope: { userId: "b-user" }, text: "the secret plan is in the blue folder", metadata: { secret: true } },
      { scope: { userId: "b-user" }, text: "the blue folder is in the top drawer" },
    ]);
    await b.updateMemory(B_ID, { tags: ["plans"] });
    await b.putBlock({ userId: "b-user" }, { label: "secret", value: "B's secret note", limit: { chars: 100 } });
    const before = await fingerprint(b);

    const keyA = generateApiKey({ tenant: "team-a", scopes: ["read", "write", "admin"] });
    const keyB = generateApiKey({ tenant: "team-b", scopes: ["read"] });
    const app = createApp({ store: root, keys: createKeyRing([keyA.record, keyB.record]), logger: pino({ level: "silent" }) });
    const doc = (await (await app.request("/openapi.json")).json()) as { paths: Record<string, Record<string, unknown>> };

    let contextRoutes = 0;
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const method of Object.keys(methods)) {
        const key = `${method} ${path}`;
        const url =
          path.replace("{id}", B_ID).replace("{name}", "snap").replace("{holder}", "agent").replace("{kind}", "secret-kind").replace("{label}", "secret") +
          (queries[key] ?? "");
        const init: RequestInit = { method: method.toUpperCase(), headers: { authorization: `Bearer ${keyA.key}` } };
        if (["post", "put", "patch"].includes(method)) {
          if (!(key in bodies)) throw new Error(`no request body for ${key}: add one to the isolation test`);
          const body = bodies[key];
          if (body !== undefined) {
            init.body = JSON.stringify(body);
            init.headers = { ...init.headers, "content-type": "application/json" };
          }
        }
        const res = await app.request(url, init);
        const text = await res.text();
        const body: unknown = text.length > 0 && res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text;
        if (path.includes("{id}")) {
          contextRoutes++;
          expect(res.status, `${key}: ${text}`).toBe(404);
          expect(body, key).toMatchObject({ code: "NOT_FOUND" });
        } else if (path.includes("{holder}") && method !== "get" && method !== "delete") {
          // Binding A's holder to B's context: B's context does not exist for A.
          expect(res.status, `${key}: ${text}`).toBe(404);
        } else {
          const check = tenantWide[key];
          if (check === undefined) throw new Error(`no expectation for the tenant-wide route ${key}: add one to the isolation test`);
          expect(res.status, `${key}: ${text}`).toBeLessThan(500);
          check(res.status, body);
        }
      }
    }
    expect(contextRoutes).toBeGreaterThan(30);
    // Search: B's context named as a filter looks exactly like a missing one; B's key finds its event.
    const search = async (query: string, key = keyA.key): Promise<unknown> => {
      const res = await app.request(`/v1/search?${query}`, { headers: { authorization: `Bearer ${key}` } });
      return [res.status, await res.json()];
    };
    expect(await search(`text=secret&contextId=${B_ID}`)).toEqual(await search("text=secret&contextId=a-missing"));
    expect(await search(`text=secret&contextId=${B_ID}`)).toEqual([200, { items: [] }]);
    expect(await search("text=secret", keyB.key)).toMatchObject([200, { items: [{ contextId: B_ID, event: { data: "secret" } }] }]);
    // By meaning too: B's search embeds B's history (as memories of the store's own, which B's
    // memory lists and searches in the fingerprint below must not show); A's never sees it.
    for (const mode of ["vector", "hybrid"]) {
      expect(await search(`text=secret&mode=${mode}`, keyB.key)).toMatchObject([200, { items: [{ contextId: B_ID, event: { data: "secret" } }] }]);
      expect(await search(`text=secret&mode=${mode}`)).toEqual([200, { items: [] }]);
      expect(await search(`text=secret&mode=${mode}&contextId=${B_ID}`)).toEqual([200, { items: [] }]);
    }
    // The sectioned window: on B's context it is a missing one; on A's own context with B's
    // user and agent ids, it shows none of B's blocks or memories (same scope names, another
    // tenant), while B's key gets them (the check can see what it forbids).
    const windowOf = async (id: string, body: unknown, key = keyA.key): Promise<[number, { sections?: { name: string; included: string[] }[]; messages?: { content: string }[]; code?: string }]> => {
      const res = await app.request(`/v1/contexts/${id}/window`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return [res.status, (await res.json()) as never];
    };
    const sectioned = {
      maxTokens: 2000,
      query: "where is the secret plan? the blue folder",
      sections: { workingMemory: { scopes: [{ userId: "b-user" }, { contextId: B_ID }] }, memories: { scope: { userId: "b-user" } }, recall: { mode: "hybrid" } },
    };
    expect(await windowOf(B_ID, sectioned)).toMatchObject([404, { code: "NOT_FOUND" }]);
    const created = await app.request("/v1/contexts", {
      method: "POST",
      headers: { authorization: `Bearer ${keyA.key}`, "content-type": "application/json" },
      body: JSON.stringify({ id: "a-chat", userId: "b-user", agentId: "agent" }),
    });
    expect(created.status).toBe(201);
    for (const body of [sectioned, { maxTokens: 2000, model: "gpt-4o", query: "secret plan blue folder" }]) {
      const [status, w] = await windowOf("a-chat", body);
      expect(status).toBe(200);
      const included = Object.fromEntries((w.sections ?? []).map((s) => [s.name, s.included]));
      expect([included["workingMemory"], included["memories"], included["recall"]]).toEqual([[], [], []]);
      expect(JSON.stringify(w.messages)).not.toMatch(/secret|blue folder/);
    }
    const [ownStatus, own] = await windowOf(B_ID, sectioned, keyB.key);
    expect(ownStatus).toBe(200);
    const ownIncluded = Object.fromEntries((own.sections ?? []).map((s) => [s.name, s.included]));
    expect(ownIncluded["workingMemory"]).toEqual(["block:secret"]);
    expect(ownIncluded["memories"]?.length).toBe(2);
    // B's key still sees exactly what it had.
    const ownState = await app.request(`/v1/contexts/${B_ID}/state`, { headers: { authorization: `Bearer ${keyB.key}` } });
    expect(await ownState.json()).toEqual({ state: { n: 2 }, version: 2 });
    const ownMemory = await app.request(`/v1/memories/${B_ID}`, { headers: { authorization: `Bearer ${keyB.key}` } });
    expect([ownMemory.status, ownMemory.headers.get("etag"), ((await ownMemory.json()) as { text: string }).text]).toEqual([
      200,
      '"2"',
      "the secret plan is in the blue folder",
    ]);
    expect(await fingerprint(b)).toEqual(before);
    await root.close();
  });
});
