/**
 * `contextd monitor` against a running server, and `serve --config` with the monitor's alert rules.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { openStore } from "../index.js";
import { serve } from "../server/index.js";
import { readConfigFile } from "./config-file.js";
import { runCliCaptured, type CliRun } from "../../test/helpers/run-cli.js";

const dir = mkdtempSync(join(tmpdir(), "contextd-monitor-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (args: string[]): Promise<CliRun> => runCliCaptured(args);

describe("contextd monitor", () => {
  it("prints the server's monitor once as a table, JSON or CSV, and needs --url", async () => {
    const store = await openStore("in-memory:", { embedder: null });
    const server = await serve({ store, port: 0, logger: pino({ level: "silent" }) });
    try {
      const ctx = await store.createContext({ kind: "chat" });
      await store.append(ctx.id, { type: "message", data: "x" });
      // The server's monitor has no closed window yet: the report is empty but well-formed.
      const table = await cli(["--url", server.url, "monitor", "--once"]);
      expect(table.code).toBe(0);
      expect(table.out).toMatch(/^contextd monitor /);
      expect(table.out).toContain("alerts: none firing (0 rules)");
      const json = await cli(["--url", server.url, "--json", "monitor"]);
      expect(JSON.parse(json.out)).toMatchObject({ windowMs: 10_000, retentionMs: 3_600_000, operations: [], alerts: [] });
      const csv = await cli(["--url", server.url, "monitor", "--csv", "--last", "60000"]);
      expect(csv.out.split("\n")[0]).toBe("window_start,window_end,layer,operation,count,errors,error_rate,throughput_per_s,p50_s,p95_s,p99_s");
      expect((await cli(["monitor", "--once"])).err).toMatch(/INVALID_INPUT: --url: contextd monitor reads a running server/);
    } finally {
      await server.close();
    }
  });
});

describe("serve --config", () => {
  it("reads the monitor's settings and alert rules, and lists every problem of a bad file at once", () => {
    const good = join(dir, "good.json");
    writeFileSync(
      good,
      JSON.stringify({
        monitor: {
          windowMs: 5000,
          alerts: [{ name: "slow", metric: "p99_seconds", labels: { layer: "store", operation: "append" }, op: ">", threshold: 0.05, forMs: 60000, severity: "warning" }],
          webhooks: [{ url: "http://127.0.0.1:9/hook", retries: 2 }],
        },
      }),
    );
    expect(readConfigFile(good)).toMatchObject({ monitor: { windowMs: 5000, alerts: [{ name: "slow" }], webhooks: [{ retries: 2 }] } });
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ monitor: { windowMs: -1, alerts: [{ name: "x", metric: "latency", op: ">=", threshold: 1, severity: "loud" }] }, extra: 1 }));
    let message = "";
    try {
      readConfigFile(bad);
    } catch (e) {
      expect(e).toMatchObject({ code: "INVALID_INPUT" });
      message = (e as Error).message;
    }
    for (const part of ["monitor.windowMs", "monitor.alerts.0.metric", "monitor.alerts.0.op", "monitor.alerts.0.severity", "(file)"]) expect(message).toContain(part);
    expect(() => readConfigFile(join(dir, "missing.json"))).toThrow(/cannot be read/);
  });

  it("serve refuses to start with a bad configuration file", async () => {
    const bad = join(dir, "bad2.json");
    writeFileSync(bad, "{ not json");
    const r = await cli(["--store", "in-memory:", "serve", "--port", "0", "--embedder", "none", "--config", bad]);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/INVALID_INPUT: .*bad2\.json is not valid JSON.*CONFIG_FILE_NOT_JSON/);
    // The monitor's section is checked with the rest of the file: a rule on no known metric stops the start.
    const badRule = join(dir, "bad-rule.json");
    writeFileSync(badRule, JSON.stringify({ monitor: { alerts: [{ name: "x", metric: "no_such_metric", op: ">", threshold: 1, severity: "info" }] } }));
    const r2 = await cli(["--store", "in-memory:", "serve", "--port", "0", "--embedder", "none", "--config", badRule]);
    expect(r2.code).not.toBe(0);
    expect(r2.err).toMatch(/monitor/);
  });
});
