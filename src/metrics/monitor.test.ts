/**
 * The performance monitor and its alerts, with a fake clock and explicit ticks: each
 * condition is induced for real (a slow driver, an error burst), fires once, and resolves once.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { callbackSink, createMonitor, createStore, inMemoryDriver, storeMetrics, webhookSink, wrapDriver } from "../index.js";
import type { AlertEvent, AlertRule, ContextStore } from "../index.js";

const WINDOW = 10_000;

/** A store whose commits take `delay.ms` longer (0: as fast as the driver). */
async function slowStore(delay: { ms: number }): Promise<ContextStore> {
  const inner = inMemoryDriver();
  const driver = wrapDriver(inner, {
    commit: async (...args) => {
      if (delay.ms > 0) await new Promise((r) => setTimeout(r, delay.ms));
      return inner.commit(...args);
    },
  });
  // Driver calls timed too: the monitor's driver layer is covered below.
  return createStore(driver, { embedder: null, metrics: { driverCalls: true } });
}

function setup(store: ContextStore, rules: AlertRule[]) {
  const clock = { t: Date.parse("2026-01-01T00:00:00Z") };
  const events: AlertEvent[] = [];
  const monitor = createMonitor(storeMetrics(store)!, {
    manual: true,
    now: () => clock.t,
    windowMs: WINDOW,
    rules,
    sinks: [callbackSink((e) => void events.push(e))],
  });
  const tick = async () => {
    clock.t += WINDOW;
    return monitor.tick();
  };
  return { monitor, events, tick, clock };
}

describe("alerts", () => {
  it("a slow driver makes append p99 fire after its for-duration, once, and resolve once when appends are fast again", async () => {
    const delay = { ms: 30 };
    await using store = await slowStore(delay);
    const ctx = await store.createContext({ kind: "chat" });
    const rule: AlertRule = { name: "slow appends", metric: "p99_seconds", labels: { layer: "store", operation: "append" }, op: ">", threshold: 0.02, forMs: WINDOW, windowMs: WINDOW, severity: "warning" };
    const { monitor, events, tick } = setup(store, [rule]);
    try {
      const appends = async (n: number) => {
        for (let i = 0; i < n; i++) await store.append(ctx.id, { type: "message", data: `m${i}` });
      };
      await appends(3);
      expect(await tick()).toEqual([]);
      expect(monitor.alerts()[0]?.state).toBe("pending");
      await appends(3);
      const fired = await tick();
      expect(fired.map((e) => e.state)).toEqual(["firing"]);
      expect(fired[0]?.value).toBeGreaterThan(0.02);
      await appends(2);
      expect(await tick()).toEqual([]);
      expect(monitor.alerts()[0]?.state).toBe("firing");
      delay.ms = 0;
      await appends(20);
      expect((await tick()).map((e) => e.state)).toEqual(["resolved"]);
      await appends(5);
      expect(await tick()).toEqual([]);
      expect(events.map((e) => `${e.state} ${e.rule.name}`)).toEqual(["firing slow appends", "resolved slow appends"]);
    } finally {
      monitor.close();
    }
  });

  it("an error burst fires the error-rate rule; a rate between clear and threshold keeps it firing (hysteresis); none resolves it", async () => {
    await using store = await slowStore({ ms: 0 });
    const ctx = await store.createContext({ kind: "chat" });
    const rule: AlertRule = { name: "errors", metric: "error_rate", labels: { layer: "store", operation: "getContext" }, op: ">", threshold: 0.5, clear: 0.1, windowMs: WINDOW, severity: "critical" };
    const { events, tick } = setup(store, [rule]);
    const calls = async (ok: number, missing: number) => {
      for (let i = 0; i < ok; i++) await store.getContext(ctx.id);
      for (let i = 0; i < missing; i++) await store.getContext(`missing-${i}`).catch(() => undefined);
    };
    await calls(0, 20);
    expect((await tick()).map((e) => e.state)).toEqual(["firing"]);
    await calls(7, 3); // 30 %: below the threshold, above clear
    expect(await tick()).toEqual([]);
    await calls(10, 0);
    expect((await tick()).map((e) => e.state)).toEqual(["resolved"]);
    expect(events).toHaveLength(2);
    expect(events[0]?.rule.severity).toBe("critical");
  });

  it("refuses a rule with an unknown metric or a clear level on the wrong side", async () => {
    await using store = await slowStore({ ms: 0 });
    const m = storeMetrics(store)!;
    const base = { name: "r", op: ">" as const, threshold: 1, severity: "info" as const };
    expect(() => createMonitor(m, { manual: true, rules: [{ ...base, metric: "latency" as never }] })).toThrow(/metric: must be one of/);
    expect(() => createMonitor(m, { manual: true, rules: [{ ...base, metric: "cpu", clear: 2 }] })).toThrow(/clear/);
  });

  it("the webhook sink POSTs the event as JSON and retries a failing endpoint", async () => {
    const bodies: unknown[] = [];
    let answers = [503, 500, 200];
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        bodies.push(JSON.parse(body));
        res.writeHead(answers.shift() ?? 200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      const rule: AlertRule = { name: "r", metric: "cpu", op: ">", threshold: 1, severity: "warning" };
      const event: AlertEvent = { rule, state: "firing", value: 2, at: "2026-01-01T00:00:00.000Z", since: "2026-01-01T00:00:00.000Z" };
      await webhookSink({ url, retries: 3, backoffMs: 1 }).send(event);
      expect(bodies).toHaveLength(3);
      expect(bodies[2]).toMatchObject({ alert: "r", state: "firing", severity: "warning", metric: "cpu", value: 2, threshold: 1 });
      answers = [500, 500];
      await expect(webhookSink({ url, retries: 1, backoffMs: 1 }).send(event)).rejects.toMatchObject({ code: "DRIVER_UNAVAILABLE" });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe("monitor report", () => {
  it("reports per-operation counts, error rates, throughput and percentiles, resources and retention, as JSON and CSV", async () => {
    await using store = await slowStore({ ms: 0 });
    const ctx = await store.createContext({ kind: "chat" });
    const clock = { t: 0 };
    const monitor = createMonitor(storeMetrics(store)!, { manual: true, now: () => clock.t, windowMs: WINDOW, retentionMs: 3 * WINDOW });
    try {
      for (let i = 0; i < 10; i++) await store.append(ctx.id, { type: "message", data: "x" });
      await store.getContext("missing").catch(() => undefined);
      clock.t += WINDOW;
      await monitor.tick();
      const report = monitor.report();
      const append = report.operations.find((o) => o.layer === "store" && o.operation === "append");
      expect(append).toMatchObject({ count: 10, errors: 0, errorRate: 0, throughput: 1 });
      expect(append!.p50).toBeGreaterThan(0);
      expect(append!.p99).toBeGreaterThanOrEqual(append!.p50);
      expect(report.operations.find((o) => o.layer === "store" && o.operation === "getContext")).toMatchObject({ count: 1, errors: 1, errorRate: 1 });
      expect(report.resources).toHaveLength(1);
      expect(report.resources[0]?.rssBytes).toBeGreaterThan(0);
      expect(report.cache).toBeNull();
      const csv = monitor.csv().trim().split("\n");
      expect(csv[0]).toBe("window_start,window_end,layer,operation,count,errors,error_rate,throughput_per_s,p50_s,p95_s,p99_s");
      expect(csv.some((l) => /,store,append,10,0,0,1,/.test(l))).toBe(true);
      // Retention: after four more windows the first is gone.
      for (let i = 0; i < 4; i++) {
        clock.t += WINDOW;
        await monitor.tick();
      }
      expect(monitor.report().operations.find((o) => o.operation === "append")).toBeUndefined();
      expect(monitor.report().resources).toHaveLength(3);
    } finally {
      monitor.close();
    }
  });

  it("counts what was timed after it started, window by window, while onSample listeners hear every operation", async () => {
    await using store = await slowStore({ ms: 0 });
    const ctx = await store.createContext({ kind: "chat" });
    await store.append(ctx.id, { type: "message", data: "before" });
    const m = storeMetrics(store)!;
    const heard: string[] = [];
    const unsubscribe = m.onSample((s) => void heard.push(`${s.layer} ${s.operation} ${s.outcome}`));
    const clock = { t: 0 };
    const monitor = createMonitor(m, { manual: true, now: () => clock.t, windowMs: WINDOW });
    try {
      for (let i = 0; i < 3; i++) await store.append(ctx.id, { type: "message", data: i });
      m.emit({ layer: "http", operation: "POST /v1/contexts/:id/events", outcome: "NOT_FOUND", seconds: 0.001 });
      clock.t += WINDOW;
      await monitor.tick();
      await store.append(ctx.id, { type: "message", data: "later" });
      clock.t += WINDOW;
      await monitor.tick();
      const rows = monitor.csv().trim().split("\n").slice(1).map((l) => l.split(",").slice(2, 6).join(" "));
      expect(rows).toEqual([
        "driver commit 3 0",
        "store append 3 0",
        "http POST /v1/contexts/:id/events 1 1",
        "driver commit 1 0",
        "store append 1 0",
      ]);
      expect(heard.filter((h) => h === "store append ok")).toHaveLength(4);
      expect(heard).toContain("http POST /v1/contexts/:id/events NOT_FOUND");
    } finally {
      unsubscribe();
      monitor.close();
    }
  });
});
