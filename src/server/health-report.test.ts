/**
 * The health report: checks by category with status, score, details and fix; JSON for admins
 * at /v1/health/report; a self-contained HTML page from `contextd doctor --html`.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pino } from "pino";
import { createStore, inMemoryDriver, openStore, wrapDriver, ContextError } from "../index.js";
import { HEALTH_CATEGORIES, createApp, createKeyRing, generateApiKey, healthReport, healthReportHtml } from "./index.js";
import type { HealthReport } from "./index.js";
import { runCliCaptured } from "../../test/helpers/run-cli.js";

const silent = pino({ level: "silent" });

describe("health report", () => {
  it("GET /v1/health/report needs admin and covers every category, each check with status, score, details and fix", async () => {
    await using store = await openStore("in-memory:", { embedder: null });
    const admin = generateApiKey({ tenant: "*", scopes: ["admin"] });
    const writer = generateApiKey({ tenant: "t", scopes: ["read", "write"] });
    const app = createApp({ store, keys: createKeyRing([admin.record, writer.record]), logger: silent });
    const get = (key: string) => app.request("/v1/health/report", { headers: { authorization: `Bearer ${key}` } });
    expect((await get(writer.key)).status).toBe(403);
    const res = await get(admin.key);
    expect(res.status).toBe(200);
    const report = (await res.json()) as HealthReport;
    const categories = new Set(report.checks.map((c) => c.category));
    for (const c of ["system", "memory", "backends", "performance", "configuration", "security"]) expect(categories).toContain(c);
    for (const c of report.checks) {
      expect(HEALTH_CATEGORIES).toContain(c.category);
      expect(c.score).toBe({ pass: 100, warn: 60, fail: 0 }[c.status]);
      expect(c.details.length).toBeGreaterThan(0);
      if (c.status !== "pass") expect(c.fix).toBeTruthy();
    }
    expect(report.checks.find((c) => c.name === "api keys")?.status).toBe("pass");
    expect(report.checks.find((c) => c.name === "rate limit")).toMatchObject({ status: "warn", category: "configuration" });
    expect(report.score).toBe(Math.round(report.checks.reduce((n, c) => n + c.score, 0) / report.checks.length));
  });

  it("a store that does not answer fails the backends check and the report", async () => {
    const inner = inMemoryDriver();
    let down = false;
    const store = await createStore(
      wrapDriver(inner, {
        ping: (call) => (down ? Promise.reject(new ContextError("DRIVER_UNAVAILABLE", "connection refused")) : inner.ping(call)),
      }),
      { embedder: null },
    );
    try {
      down = true;
      const report = await healthReport({ store });
      expect(report.status).toBe("fail");
      expect(report.checks.find((c) => c.category === "backends" && c.name === "database")).toMatchObject({ status: "fail", score: 0 });
      expect(report.checks.find((c) => c.category === "backends")?.fix).toMatch(/start the database/);
      // /readyz says which backend does not answer.
      const ready = await createApp({ store, logger: silent }).request("/readyz");
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ ok: false, backends: { database: false, cache: null } });
    } finally {
      await store.close();
    }
  });

  it("the HTML page is self-contained: no script, no external resource", async () => {
    await using store = await openStore("in-memory:", { embedder: null });
    const html = healthReportHtml(await healthReport({ store }));
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\//i);
    expect(html).toContain("backends");
  });

  it("contextd doctor --html writes the report of the embedded store", async () => {
    const dir = mkdtempSync(join(tmpdir(), "contextd-health-"));
    try {
      const file = join(dir, "report.html");
      await (await openStore(`sqlite:${join(dir, "s.db")}`, { embedder: null })).close();
      const { code, out, err } = await runCliCaptured(["--store", `sqlite:${join(dir, "s.db")}`, "doctor", "--html", file]);
      expect(err).toMatch(/wrote .*report\.html \(score \d+\/100/);
      // The exit code follows the report (1 when a check fails on this machine).
      const status = /^health \d+\/100 (pass|warn|fail)/.exec(out)?.[1];
      expect(status).toBeDefined();
      expect(code).toBe(status === "fail" ? 1 : 0);
      const html = readFileSync(file, "utf8");
      expect(html).toContain("<table>");
      expect(html).toMatch(/storage|backends/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
