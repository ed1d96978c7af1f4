/**
 * `/metrics` and `store.metrics()`: what an operator scrapes and what an embedding
 * application reads, over a real port (so both the hono path and the fast append path serve).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pino } from "pino";
import { Registry } from "prom-client";
import { createMonitor, openStore, storeMetrics } from "../index.js";
import type { ContextStore, MetricFamily } from "../index.js";
import { createClient } from "../client/index.js";
import { createApp, createKeyRing, generateApiKey, serve } from "./index.js";

const silent = pino({ level: "silent" });
const promtool = spawnSync("promtool", ["--version"], { encoding: "utf8" }).status === 0;

/** What `promtool check metrics` says about `text` (empty when it finds nothing). */
function promtoolCheck(text: string): string {
  const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8", timeout: 20_000 });
  return `${r.stdout}${r.stderr}`.trim() + (r.status === 0 ? "" : ` (exit ${String(r.status)})`);
}

/** The value of one series in Prometheus text, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function family(all: MetricFamily[], name: string): MetricFamily | undefined {
  return all.find((f) => f.name === name);
}

async function withServer<T>(store: ContextStore, keys: Parameters<typeof serve>[0]["keys"], fn: (url: string) => Promise<T>): Promise<T> {
  const server = await serve({ store, keys: keys ?? null, port: 0, logger: silent, closeStore: false });
  try {
    return await fn(server.url);
  } finally {
    await server.close();
  }
}

describe("/metrics", () => {
  it("counts requests served by the fast append path and by hono, by route template, method and status class", async () => {
    await using store = await openStore("in-memory:", { embedder: null });
    await withServer(store, null, async (url) => {
      const created = (await (await fetch(`${url}/v1/contexts`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).json()) as { id: string };
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${url}/v1/contexts/${created.id}/events`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ events: [{ type: "message", data: `m${i}` }] }),
        });
        expect(res.status).toBe(201);
      }
      const missing = await fetch(`${url}/v1/contexts/nope/events`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ events: [{ type: "message", data: "x" }] }) });
      expect(missing.status).toBe(404);
      const res = await fetch(`${url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      const append = 'contextd_http_request_duration_seconds_count{route="/v1/contexts/:id/events",method="POST",status=';
      expect(sample(text, `${append}"2xx"}`)).toBe(3);
      expect(sample(text, `${append}"4xx"}`)).toBe(1);
      expect(sample(text, 'contextd_http_request_duration_seconds_count{route="/v1/contexts",method="POST",status="2xx"}')).toBe(1);
      expect(sample(text, 'contextd_http_errors_total{code="NOT_FOUND"}')).toBe(1);
      // The store's own metrics are in the same exposition.
      expect(sample(text, "contextd_appended_events_total")).toBe(3);
      expect(sample(text, 'contextd_store_errors_total{code="NOT_FOUND"}')).toBe(1);
      expect(text).toContain("process_resident_memory_bytes");
      // No context id is ever a label value.
      expect(text).not.toContain(created.id);
    });
  });

  const promtoolTest = "passes `promtool check metrics` with nothing to report";
  // Under CI promtool must be there (.ci/run installs it): the test runs and fails without it.
  it.skipIf(!promtool && !process.env.CI)(promtool ? promtoolTest : `${promtoolTest} — SKIPPED: promtool not installed (apt-get install prometheus)`, async () => {
    await using store = await openStore("sqlite::memory:", { embedder: null, metrics: { driverCalls: true } });
    await withServer(store, null, async (url) => {
      const c = await store.createContext({ kind: "chat" });
      await store.append(c.id, { type: "model_usage", data: { modelId: "gpt-4o-mini", provider: "openai", inputTokens: 10, outputTokens: 5 } });
      await store.patchState(c.id, { a: 1 }, { expectedVersion: 99 }).catch(() => undefined);
      await store.searchEvents({ text: "hello" });
      await fetch(`${url}/v1/contexts/${c.id}`);
      const text = await (await fetch(`${url}/metrics`)).text();
      expect(text).toContain("contextd_driver_call_duration_seconds_count");
      expect(promtoolCheck(text)).toBe("");
    });
  });

  it("needs the metrics (or admin) scope when the server has keys; a tenant's read key is refused", async () => {
    await using store = await openStore("in-memory:", { embedder: null });
    const reader = generateApiKey({ tenant: "t1", scopes: ["read"] });
    const scraper = generateApiKey({ tenant: "t1", scopes: ["metrics"] });
    const admin = generateApiKey({ tenant: "*", scopes: ["admin"] });
    await withServer(store, createKeyRing([reader.record, scraper.record, admin.record]), async (url) => {
      const as = (key?: string) => fetch(`${url}/metrics`, key === undefined ? {} : { headers: { authorization: `Bearer ${key}` } });
      expect((await as()).status).toBe(401);
      const refused = await as(reader.key);
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { code: string }).code).toBe("FORBIDDEN");
      expect((await as(scraper.key)).status).toBe(200);
      expect((await as(admin.key)).status).toBe(200);
      // The scraper's key reads nothing else.
      const data = await fetch(`${url}/v1/contexts`, { headers: { authorization: `Bearer ${scraper.key}` } });
      expect(data.status).toBe(403);
    });
  });
});

describe("backend and stream figures", () => {
  it("shows the SQLite database and WAL sizes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "contextd-metrics-"));
    try {
      await using store = await openStore(`sqlite:${join(dir, "m.db")}`, { embedder: null });
      const c = await store.createContext({ kind: "chat" });
      await store.append(c.id, { type: "message", data: "x".repeat(10_000) });
      const text = await (storeMetrics(store)?.registry.metrics() ?? "");
      expect(sample(text, 'contextd_sqlite_file_size_bytes{file="database"}')).toBeGreaterThan(0);
      expect(sample(text, 'contextd_sqlite_file_size_bytes{file="wal"}')).toBeGreaterThan(10_000);
      // No PostgreSQL or Redis figures for a store without them.
      expect(text).not.toContain("contextd_postgres_pool");
      expect(text).not.toContain("contextd_cache_reads_total");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("counts open event streams", async () => {
    await using store = await openStore("in-memory:", { embedder: null });
    const c = await store.createContext({ kind: "chat" });
    await withServer(store, null, async (url) => {
      const streams = async () => sample(await (await fetch(`${url}/metrics`)).text(), "contextd_sse_connections");
      const controller = new AbortController();
      const res = await fetch(`${url}/v1/contexts/${c.id}/events/stream`, { signal: controller.signal });
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      expect(first).toContain("event: ready");
      expect(await streams()).toBe(1);
      expect(sample(await (await fetch(`${url}/metrics`)).text(), "contextd_watchers")).toBe(1);
      controller.abort();
      await reader.cancel().catch(() => undefined);
      // The server notices the closed connection on its own time: wait for it (bounded).
      const deadline = Date.now() + 5000;
      while ((await streams()) !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(await streams()).toBe(0);
    });
  });
});

describe("store.metrics()", () => {
  it("reports operations by outcome, appends, state writes, conflicts, leases and model usage of the embedded store", async () => {
    await using store = await openStore("in-memory:", { embedder: null });
    const c = await store.createContext({ kind: "chat" });
    await store.context(c.id).append([
      { type: "message", data: "hi" },
      { type: "model_usage", data: { modelId: "gpt-4o-mini", provider: "openai", inputTokens: 1000, outputTokens: 200, costUsd: 0.5 } },
    ]);
    await store.patchState(c.id, { turns: 1 });
    await expect(store.patchState(c.id, { turns: 2 }, { expectedVersion: 1 })).rejects.toMatchObject({ code: "VERSION_CONFLICT" });
    const lease = await store.acquireLease(c.id, { holder: "a", ttlMs: 60_000 });
    await expect(store.acquireLease(c.id, { holder: "b", ttlMs: 60_000, waitMs: 0 })).rejects.toMatchObject({ code: "LOCK_TIMEOUT" });
    await store.releaseLease(c.id, lease);

    const all = await store.metrics();
    const value = (name: string, labels: Record<string, string> = {}) =>
      family(all, name)?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l) && (v.metricName === undefined || v.metricName.endsWith("_count")))?.value;
    expect(value("contextd_appended_events_total")).toBe(2);
    expect(value("contextd_state_writes_total")).toBe(1);
    expect(value("contextd_version_conflicts_total")).toBe(1);
    expect(value("contextd_store_errors_total", { code: "VERSION_CONFLICT" })).toBe(1);
    expect(value("contextd_leases_total", { result: "acquired" })).toBe(1);
    expect(value("contextd_leases_total", { result: "timed_out" })).toBe(1);
    expect(value("contextd_leases_total", { result: "released" })).toBe(1);
    expect(value("contextd_model_tokens_total", { provider: "openai", model: "gpt-4o-mini", direction: "input" })).toBe(1000);
    expect(value("contextd_model_cost_usd_total", { provider: "openai", model: "gpt-4o-mini" })).toBe(0.5);
    expect(value("contextd_store_operation_duration_seconds", { operation: "patchState", outcome: "VERSION_CONFLICT", driver: "in-memory" })).toBe(1);
    // Only what ran has a series: an operation never called adds nothing to a scrape.
    const operations = new Set(family(all, "contextd_store_operation_duration_seconds")?.values.map((v) => v.labels["operation"]));
    expect(operations.has("patchState")).toBe(true);
    expect(operations.has("searchMemories")).toBe(false);
    // Driver calls are not timed by default: no family, no monitor layer.
    expect(family(all, "contextd_driver_call_duration_seconds")).toBeUndefined();
    expect([...storeMetrics(store)!.allTimings()].some((t) => t.layer === "driver")).toBe(false);
  });

  it("times every driver call with driverCalls: true, by call and outcome, in the registry and the monitor's driver layer", async () => {
    await using store = await openStore("in-memory:", { embedder: null, metrics: { driverCalls: true } });
    const c = await store.createContext({ kind: "chat" });
    await store.append(c.id, { type: "message", data: "hi" });
    await store.patchState(c.id, { turns: 1 });
    await expect(store.patchState(c.id, { turns: 2 }, { expectedVersion: 9 })).rejects.toMatchObject({ code: "VERSION_CONFLICT" });
    const all = await store.metrics();
    const calls = family(all, "contextd_driver_call_duration_seconds")?.values.filter((v) => v.metricName?.endsWith("_count")) ?? [];
    const count = (call: string) => calls.find((v) => v.labels["call"] === call && v.labels["outcome"] === "ok" && v.labels["driver"] === "in-memory")?.value;
    // One insert for the context, one commit each for the append and the patch (the stale patch is refused before its commit).
    expect(count("insertContext")).toBe(1);
    expect(count("commit")).toBe(2);
    // Only calls that ran have a series.
    expect(calls.some((v) => v.labels["call"] === "compact")).toBe(false);
    const driverLayer = [...storeMetrics(store)!.allTimings()].filter((t) => t.layer === "driver").map((t) => t.operation);
    expect(driverLayer).toContain("commit");
  });

  it("counts open watchers until they end", async () => {
    await using store = await openStore("in-memory:", { embedder: null });
    const c = await store.createContext({ kind: "chat" });
    const watchers = async () => family(await store.metrics(), "contextd_watchers")?.values[0]?.value;
    const it = store.watch(c.id);
    expect(await watchers()).toBe(1);
    await it.return?.();
    await it.return?.();
    expect(await watchers()).toBe(0);
  });

  it("is [] with metrics: false, and the same figures over the HTTP client", async () => {
    await using off = await openStore("in-memory:", { embedder: null, metrics: false });
    expect(await off.metrics()).toEqual([]);
    expect(storeMetrics(off)).toBeUndefined();
    await using store = await openStore("in-memory:", { embedder: null });
    await withServer(store, null, async (url) => {
      await using client = createClient({ url });
      const c = await client.createContext({ kind: "chat" });
      await client.append(c.id, { type: "message", data: "x" });
      const all = await client.metrics();
      expect(family(all, "contextd_appended_events_total")?.values[0]?.value).toBe(1);
      expect(family(all, "contextd_http_request_duration_seconds")).toBeDefined();
    });
  });

  it("registers into the application's own registry; a second store on it is INVALID_INPUT", async () => {
    const registry = new Registry();
    await using store = await openStore("in-memory:", { embedder: null, metrics: { registry } });
    await store.createContext({ kind: "chat" });
    expect(await registry.metrics()).toContain('contextd_store_operation_duration_seconds_count{operation="createContext",driver="in-memory",outcome="ok"} 1');
    await expect(openStore("in-memory:", { embedder: null, metrics: { registry } })).rejects.toMatchObject({ code: "INVALID_INPUT" });
  });
});

describe("tracing", () => {
  it("records each store operation as a span of the application's tracer, with the error code of a failure", async () => {
    const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = await import("@opentelemetry/sdk-trace-base");
    const { trace } = await import("@opentelemetry/api");
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    trace.setGlobalTracerProvider(provider);
    try {
      await using store = await openStore("in-memory:", { embedder: null });
      const c = await store.createContext({ kind: "chat" });
      await store.append(c.id, { type: "message", data: "x" });
      await store.getContext("missing").catch(() => undefined);
      const spans = exporter.getFinishedSpans();
      expect(spans.map((s) => s.name)).toEqual(["contextd.createContext", "contextd.append", "contextd.getContext"]);
      const failed = spans[2];
      expect(failed?.status.code).toBe(2); // SpanStatusCode.ERROR
      expect(failed?.attributes["contextd.error_code"]).toBe("NOT_FOUND");
    } finally {
      trace.disable();
      await provider.shutdown();
    }
  });

  it("sees an SDK registered after the store opened, and stops making spans once it is unregistered", async () => {
    const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = await import("@opentelemetry/sdk-trace-base");
    const { trace } = await import("@opentelemetry/api");
    await using store = await openStore("in-memory:", { embedder: null });
    const c = await store.createContext({ kind: "chat" });
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    trace.setGlobalTracerProvider(provider);
    try {
      await store.append(c.id, { type: "message", data: "x" });
    } finally {
      trace.disable();
    }
    await store.append(c.id, { type: "message", data: "y" });
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(["contextd.append"]);
    await provider.shutdown();
  });
});

describe("/v1/monitor and /v1/alerts", () => {
  it("answer the monitor's report as JSON and CSV and the rules' states, with the metrics scope", async () => {
    await using store = await openStore("in-memory:", { embedder: null });
    const clock = { t: 0 };
    const monitor = createMonitor(storeMetrics(store)!, {
      manual: true,
      now: () => clock.t,
      rules: [{ name: "errors", metric: "error_rate", labels: { layer: "store" }, op: ">", threshold: 0.5, severity: "warning" }],
    });
    const scraper = generateApiKey({ tenant: "t1", scopes: ["metrics"] });
    const reader = generateApiKey({ tenant: "t1", scopes: ["read"] });
    const app = createApp({ store, keys: createKeyRing([scraper.record, reader.record]), logger: silent, monitor });
    const get = (path: string, key: string) => app.request(path, { headers: { authorization: `Bearer ${key}` } });
    try {
      await store.getContext("missing").catch(() => undefined);
      clock.t += 10_000;
      await monitor.tick();
      expect((await get("/v1/monitor", reader.key)).status).toBe(403);
      const report = (await (await get("/v1/monitor", scraper.key)).json()) as { operations: { layer: string; operation: string; errors: number }[] };
      expect(report.operations).toContainEqual(expect.objectContaining({ layer: "store", operation: "getContext", errors: 1 }));
      const csv = await get("/v1/monitor?format=csv&lastMs=60000", scraper.key);
      expect(csv.headers.get("content-type")).toMatch(/^text\/csv/);
      expect(await csv.text()).toMatch(/,store,getContext,1,1,1,/);
      expect((await get("/v1/monitor?format=xml", scraper.key)).status).toBe(400);
      const alerts = (await (await get("/v1/alerts", scraper.key)).json()) as { alerts: { rule: { name: string }; state: string }[] };
      expect(alerts.alerts).toEqual([expect.objectContaining({ rule: expect.objectContaining({ name: "errors" }), state: "firing" })]);
    } finally {
      monitor.close();
    }
  });
});
