/**
 * The health history: reports kept (bounded, in a JSON-lines file that survives a restart),
 * the trend against the baseline and the previous report, the routes that page through it
 * and mark the baseline, and the HTML page's trend.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { pino } from "pino";
import { circuitEmbedder, ContextError, createStore, inMemoryDriver, isContextError, openStore, wrapDriver } from "../index.js";
import type { ContextStore, Embedder } from "../index.js";
import { createApp, createHealthHistory, createKeyRing, defaultHealthHistoryFile, generateApiKey, healthReport, healthReportHtml } from "./index.js";
import type { HealthHistory, HealthHistoryPage, HealthReport, TrendedHealthReport } from "./index.js";

const silent = pino({ level: "silent" });

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "contextd-health-history-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A report with given category scores (the history does not care how it was made). */
function report(scores: Record<string, number>, at = new Date().toISOString()): HealthReport {
  const categories = Object.entries(scores).map(([category, score]) => ({ category, score, status: score === 100 ? "pass" : score === 0 ? "fail" : "warn" }));
  const score = Math.round(categories.reduce((n, c) => n + c.score, 0) / categories.length);
  return { at, score, status: "pass", categories, checks: [] } as unknown as HealthReport;
}

/** A store whose database can be cut off (ping fails) and brought back. */
async function switchableStore(): Promise<{ store: ContextStore; down: (d: boolean) => void }> {
  const inner = inMemoryDriver();
  let isDown = false;
  const store = await createStore(
    wrapDriver(inner, { ping: (call) => (isDown ? Promise.reject(new ContextError("DRIVER_UNAVAILABLE", "connection refused")) : inner.ping(call)) }),
    { embedder: null },
  );
  return { store, down: (d) => (isDown = d) };
}

describe("health history", () => {
  it("the trend says worse when the database stops answering and improved when it is back; the first report is the baseline", async () => {
    const { store, down } = await switchableStore();
    try {
      const app = createApp({ store, logger: silent });
      const take = async () => (await (await app.request("/v1/health/report")).json()) as TrendedHealthReport;
      const first = await take();
      expect(first).toMatchObject({ seq: 1, baseline: true, trend: { baseline: { seq: 1 }, previous: null, overall: { vsPrevious: null } } });
      down(true);
      const broken = await take();
      expect(broken.seq).toBe(2);
      expect(broken.trend.previous?.seq).toBe(1);
      const backends = broken.trend.categories.find((c) => c.category === "backends");
      expect(backends).toMatchObject({ score: 0, vsPrevious: { from: 100, delta: -100, direction: "worse" }, vsBaseline: { direction: "worse" } });
      expect(broken.trend.overall.vsPrevious?.direction).toBe("worse");
      expect(broken.trend.overall.vsBaseline?.delta).toBeLessThan(0);
      down(false);
      const back = await take();
      expect(back.trend.previous?.seq).toBe(2);
      expect(back.trend.categories.find((c) => c.category === "backends")).toMatchObject({
        score: 100,
        vsPrevious: { delta: 100, direction: "improved" },
        vsBaseline: { delta: 0, direction: "unchanged" },
      });
      expect(back.trend.overall.vsPrevious?.direction).toBe("improved");
    } finally {
      await store.close();
    }
  });

  it("keeps maxReports (and the baseline besides); its file stays bounded and reads back the same after a restart", () => {
    const file = join(dir, "h.jsonl");
    const history = createHealthHistory({ file, maxReports: 5 });
    for (let i = 1; i <= 40; i++) history.record(report({ system: i % 2 === 0 ? 100 : 60 }));
    const listed = (h: HealthHistory) => h.list({ limit: 1000 }).items.map((r) => r.seq);
    // The newest five and the baseline (the first report), newest first.
    expect(listed(history)).toEqual([40, 39, 38, 37, 36, 1]);
    expect(history.baseline()?.seq).toBe(1);
    const lines = readFileSync(file, "utf8").trim().split("\n");
    const reportLines = lines.filter((l) => l.includes('"report"'));
    // Rewritten once it holds a quarter (at least 4) too many: never more than 5 + 4 (+ the baseline).
    expect(reportLines.length).toBeLessThanOrEqual(10);
    const again = createHealthHistory({ file, maxReports: 5 });
    expect(listed(again)).toEqual(listed(history));
    expect(again.record(report({ system: 100 })).trend).toMatchObject({ previous: { seq: 40 }, baseline: { seq: 1 } });
  });

  it("pages newest first: `next` is the `before` of the following page, null at the end", () => {
    const history = createHealthHistory({ maxReports: 100 });
    for (let i = 0; i < 7; i++) history.record(report({ system: 100 }));
    const pages: number[][] = [];
    let before: number | undefined;
    for (;;) {
      const page = history.list({ limit: 3, ...(before !== undefined && { before }) });
      pages.push(page.items.map((r) => r.seq));
      if (page.next === null) break;
      before = page.next;
    }
    expect(pages).toEqual([[7, 6, 5], [4, 3, 2], [1]]);
    for (const bad of [{ limit: 0 }, { limit: 1001 }, { limit: 1.5 }, { before: 0 }, { before: -3 }]) {
      expect(() => history.list(bad)).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
    }
  });

  it("a line torn by a crash is skipped, and the next record starts on a line of its own", () => {
    const file = join(dir, "h.jsonl");
    const history = createHealthHistory({ file });
    history.record(report({ system: 100 }));
    history.record(report({ system: 60 }));
    // A crash in the middle of the third append.
    const text = readFileSync(file, "utf8");
    const torn = text + '{"seq":3,"report":{"at":"2026-';
    writeFileSync(file, torn);
    const again = createHealthHistory({ file });
    expect(again.list().items.map((r) => r.seq)).toEqual([2, 1]);
    expect(again.record(report({ system: 100 })).seq).toBe(3);
    expect(createHealthHistory({ file }).list().items.map((r) => r.seq)).toEqual([3, 2, 1]);
  });

  it("a schedule takes a report every interval, one at a time, until closed", async () => {
    vi.useFakeTimers();
    try {
      const history = createHealthHistory();
      let taken = 0;
      history.schedule(60_000, () => Promise.resolve(report({ system: taken++ % 2 === 0 ? 100 : 60 })));
      await vi.advanceTimersByTimeAsync(3 * 60_000);
      expect(history.list().items.map((r) => r.seq)).toEqual([3, 2, 1]);
      history.close();
      await vi.advanceTimersByTimeAsync(3 * 60_000);
      expect(history.list().items).toHaveLength(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it("the default file of a SQLite store is beside it; other stores keep their history in memory", () => {
    expect(defaultHealthHistoryFile({ driver: "sqlite", details: { path: "/data/contextd.db" } })).toBe("/data/contextd.db.health.jsonl");
    expect(defaultHealthHistoryFile({ driver: "sqlite", details: { path: ":memory:" } })).toBeNull();
    expect(defaultHealthHistoryFile({ driver: "postgres", details: {} })).toBeNull();
    expect(defaultHealthHistoryFile({ driver: "in-memory", details: {} })).toBeNull();
  });
});

describe("health history routes", () => {
  async function appWithKeys() {
    const store = await openStore("in-memory:", { embedder: null });
    const admin = generateApiKey({ tenant: "*", scopes: ["admin"] });
    const tenantAdmin = generateApiKey({ tenant: "t", scopes: ["read", "write", "admin"] });
    const app = createApp({ store, keys: createKeyRing([admin.record, tenantAdmin.record]), logger: silent });
    const call = async (path: string, init: RequestInit = {}, key = admin.key) => {
      const res = await app.request(path, {
        ...init,
        headers: { authorization: `Bearer ${key}`, ...(init.body !== undefined && { "content-type": "application/json" }) },
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    return { store, call, tenantAdmin: tenantAdmin.key };
  }

  it("GET /v1/health/history pages the reports; POST /v1/health/baseline marks one, or a new report", async () => {
    const { store, call } = await appWithKeys();
    try {
      for (let i = 0; i < 5; i++) expect((await call("/v1/health/report")).status).toBe(200);
      const first = await call("/v1/health/history?limit=2");
      expect(first.status).toBe(200);
      const page = first.body as unknown as HealthHistoryPage & { baseline: number; maxReports: number };
      expect(page.items.map((r) => r.seq)).toEqual([5, 4]);
      expect(page).toMatchObject({ next: 4, baseline: 1, maxReports: 288 });
      expect(page.items[0]?.checks.length).toBeGreaterThan(0);
      const second = (await call(`/v1/health/history?limit=2&before=${page.next}`)).body as unknown as HealthHistoryPage;
      expect(second.items.map((r) => r.seq)).toEqual([3, 2]);

      const marked = await call("/v1/health/baseline", { method: "POST", body: JSON.stringify({ seq: 3 }) });
      expect(marked).toMatchObject({ status: 200, body: { seq: 3, baseline: true } });
      expect(((await call("/v1/health/report")).body as unknown as TrendedHealthReport).trend.baseline?.seq).toBe(3);
      // Without a body: a new report, recorded, becomes the baseline.
      const fresh = await call("/v1/health/baseline", { method: "POST" });
      expect(fresh).toMatchObject({ status: 200, body: { seq: 7, baseline: true } });
      expect(((await call("/v1/health/history?limit=1")).body as { baseline: number }).baseline).toBe(7);
    } finally {
      await store.close();
    }
  });

  it("bad input is INVALID_INPUT, an unknown report NOT_FOUND, and a tenant's admin key is refused", async () => {
    const { store, call, tenantAdmin } = await appWithKeys();
    try {
      await call("/v1/health/report");
      for (const q of ["limit=0", "limit=1001", "limit=abc", "limit=0x10", "before=0", "before=-1", "before=1.5", "page=2"]) {
        const r = await call(`/v1/health/history?${q}`);
        expect([q, r.status, r.body.code]).toEqual([q, 400, "INVALID_INPUT"]);
      }
      for (const body of ['{"seq":"1"}', '{"seq":0}', '{"seq":1.5}', '{"other":1}', "[1]", "{"]) {
        const r = await call("/v1/health/baseline", { method: "POST", body });
        expect([body, r.status, r.body.code]).toEqual([body, 400, "INVALID_INPUT"]);
      }
      expect(await call("/v1/health/baseline", { method: "POST", body: '{"seq":999}' })).toMatchObject({ status: 404, body: { code: "NOT_FOUND" } });
      for (const [path, init] of [
        ["/v1/health/report", {}],
        ["/v1/health/history", {}],
        ["/v1/health/baseline", { method: "POST", body: '{"seq":1}' }],
      ] as const) {
        expect(await call(path, init, tenantAdmin)).toMatchObject({ status: 403, body: { code: "FORBIDDEN" } });
      }
      // The refused baseline changed nothing.
      expect(((await call("/v1/health/history")).body as { baseline: number }).baseline).toBe(1);
    } finally {
      await store.close();
    }
  });

  it("the new routes are in the OpenAPI document, admin-only", async () => {
    await using store = await openStore("in-memory:", { embedder: null });
    const doc = (await (await createApp({ store, logger: silent }).request("/openapi.json")).json()) as {
      paths: Record<string, Record<string, { security?: { bearer: string[] }[]; operationId: string }>>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    expect(doc.paths["/v1/health/history"]?.get).toMatchObject({ operationId: "healthHistory", security: [{ bearer: ["admin"] }] });
    expect(doc.paths["/v1/health/baseline"]?.post).toMatchObject({ operationId: "setHealthBaseline", security: [{ bearer: ["admin"] }] });
    expect(doc.components.schemas["HealthReport"]?.properties).toMatchObject({ trend: { $ref: "#/components/schemas/HealthTrend" }, seq: {}, baseline: {} });
  });
});

describe("the embedder's circuit", () => {
  it("GET /v1/health and the report's backends show it: open after failures, closed again after a probe succeeds", async () => {
    let failing = true;
    let now = 1_000_000;
    const model: Embedder = {
      model: "flaky-8",
      dimensions: 8,
      embed: (texts) =>
        failing ? Promise.reject(new ContextError("EMBEDDING_FAILED", "the embedding service answered 503")) : Promise.resolve(texts.map(() => new Float32Array(8).fill(0.5))),
    };
    const embedder = circuitEmbedder(model, { failureThreshold: 2, openMs: 1000, now: () => now });
    const store = await createStore(inMemoryDriver(), { embedder });
    try {
      const app = createApp({ store, logger: silent });
      const health = async () => (await (await app.request("/v1/health")).json()) as { embedder: { model: string; circuit?: { state: string; failures: number } } };
      expect((await health()).embedder).toMatchObject({ model: "flaky-8", circuit: { state: "closed", failures: 0 } });
      for (let i = 0; i < 2; i++) {
        const e = await store.addMemories([{ scope: { userId: "u" }, text: "a fact" }]).catch((x: unknown) => x);
        expect(isContextError(e, "EMBEDDING_FAILED")).toBe(true);
      }
      expect((await health()).embedder.circuit).toMatchObject({ state: "open", failures: 2 });
      const broken = await healthReport({ store });
      expect(broken.checks.find((c) => c.category === "backends" && c.name === "embedder")).toMatchObject({ status: "fail", details: expect.stringMatching(/flaky-8: circuit open after 2 failures.*503/) });
      expect(broken.checks.find((c) => c.name === "embedder")?.fix).toMatch(/EMBEDDING_FAILED/);
      // The probe after openMs succeeds: closed again, and the check passes.
      failing = false;
      now += 1000;
      await store.addMemories([{ scope: { userId: "u" }, text: "a fact" }]);
      expect((await health()).embedder.circuit?.state).toBe("closed");
      expect((await healthReport({ store })).checks.find((c) => c.name === "embedder")?.status).toBe("pass");
    } finally {
      await store.close();
    }
  });

  it("a store whose embedder has no circuit shows none", async () => {
    await using store = await openStore("in-memory:", { embedder: null });
    expect((await store.health()).embedder).toBeNull();
    expect((await healthReport({ store })).checks.some((c) => c.name === "embedder")).toBe(false);
  });
});

describe("the HTML report's trend", () => {
  it("a table per category against the previous report and the baseline, with an inline SVG sparkline; nothing to fetch", () => {
    const history = createHealthHistory();
    history.record(report({ system: 100, backends: 100 }));
    history.record(report({ system: 100, backends: 60 }));
    const now = history.record(report({ system: 100, backends: 0 }));
    const html = healthReportHtml(now, { history: history.reports() });
    expect(html).toContain("<h2>Trend</h2>");
    expect(html).toMatch(/<td>backends<\/td><td>0<\/td><td class="down">worse −60 \(from 60\)<\/td><td class="down">worse −100 \(from 100\)<\/td><td><svg /);
    expect(html).toMatch(/<td>system<\/td><td>100<\/td><td class="same">unchanged ±0/);
    expect(html).toContain('aria-label="scores 100, 60, 0"');
    // Self-contained: no script, no stylesheet or image to load, no URL at all.
    expect(html).not.toMatch(/<script|<link|<img|src=|href=|url\(|https?:\/\//i);
  });
});
