import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { registerConfigSection } from "../index.js";
import { checkConfiguration, loadServeConfig } from "./config.js";
import type { ConfigLevel } from "./config.js";
import { generateApiKey } from "./keys.js";
import { runCliCaptured } from "../../test/helpers/run-cli.js";
import { MonitorSection } from "../cli/config-file.js";

const dir = mkdtempSync(join(tmpdir(), "contextd-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

function file(content: unknown): string {
  const path = join(dir, `config-${++n}.json`);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

function keysFile(mode: number): string {
  const path = join(dir, `keys-${++n}.json`);
  writeFileSync(path, JSON.stringify({ version: 1, keys: [generateApiKey({ tenant: "t", scopes: ["read"] }).record] }), { mode });
  chmodSync(path, mode);
  return path;
}

function check(level: ConfigLevel, content: unknown, env: Record<string, string> = {}) {
  const loaded = loadServeConfig({ file: content === null ? undefined : file(content), env, cwd: dir });
  return { loaded, findings: checkConfiguration(loaded, level, env) };
}
const codes = (fs: { code: string; severity: string }[]) => fs.map((f) => `${f.severity} ${f.code}`).sort();

describe("configuration levels", () => {
  it("basic: invalid values are errors naming the setting and the fix; unknown keys and variables are warnings", () => {
    const { findings } = check("basic", { server: { port: 70000, maxBodyByte: 10 }, logLevel: "loud", extra: 1 }, { CONTEXTD_PROT: "1" });
    expect(codes(findings)).toEqual([
      "error CONFIG_INVALID_VALUE",
      "error CONFIG_INVALID_VALUE",
      "warning CONFIG_UNKNOWN_KEY",
      "warning CONFIG_UNKNOWN_KEY",
      "warning CONFIG_UNKNOWN_VARIABLE",
    ]);
    const port = findings.find((f) => f.setting === "server.port");
    expect(port?.fix).toContain("0 to 65535");
    expect(findings.find((f) => f.code === "CONFIG_UNKNOWN_KEY" && f.setting === "server.maxBodyByte")).toBeDefined();
    expect(findings.find((f) => f.code === "CONFIG_UNKNOWN_VARIABLE")?.setting).toBe("CONTEXTD_PROT");
  });

  it("a file that is not JSON, or not an object, is one error; variables override the file, the file the defaults", () => {
    expect(codes(check("basic", "{ server: 1 }").findings)).toEqual(["error CONFIG_FILE_NOT_JSON"]);
    expect(codes(check("basic", "[1]").findings)).toEqual(["error CONFIG_NOT_OBJECT"]);
    const { loaded } = check("basic", { server: { maxBodyBytes: 4096, requestTimeoutMs: 5000 } }, { CONTEXTD_REQUEST_TIMEOUT_MS: "7000" });
    expect(loaded.config.limits).toMatchObject({ maxBodyBytes: 4096, requestTimeoutMs: 7000, maxBatch: 1000 });
    expect(loaded.config.sources).toMatchObject({ "server.maxBodyBytes": "file", "server.requestTimeoutMs": "env" });
  });

  it("strict: unknown keys and variables become errors, and so do implausible limits", () => {
    const content = { server: { maxBodyBytes: 512, maxEventBytes: 4096, requestTimeoutMs: 20, maxBodyByte: 1 } };
    expect(check("basic", content).findings.filter((f) => f.severity === "error")).toEqual([]);
    const { findings } = check("strict", content, { CONTEXTD_PROT: "1" });
    expect(codes(findings)).toEqual([
      "error CONFIG_UNKNOWN_KEY",
      "error CONFIG_UNKNOWN_VARIABLE",
      "error LIMIT_IMPLAUSIBLE",
      "error LIMIT_IMPLAUSIBLE",
      "error LIMIT_IMPLAUSIBLE",
    ]);
    expect(findings.map((f) => f.setting)).toContain("server.requestTimeoutMs");
    for (const f of findings) expect(f.fix.length).toBeGreaterThan(0);
  });

  it("paranoid: keys required and readable by the owner only, synchronous=FULL, an explicit deadline and body limit, high-entropy secrets", () => {
    const loose = check("paranoid", { store: "sqlite:./x.db", server: { keys: keysFile(0o644) } }, { CONTEXTD_API_KEY: "password123" });
    expect(codes(loose.findings)).toEqual([
      "error BODY_LIMIT",
      "error KEYS_FILE_MODE",
      "error REQUEST_DEADLINE",
      "error SECRET_LOW_ENTROPY",
      "error SYNCHRONOUS_NOT_FULL",
      "warning NO_RATE_LIMIT",
    ]);
    expect(loose.findings.find((f) => f.code === "KEYS_FILE_MODE")?.fix).toMatch(/^chmod 600 /);
    const none = check("paranoid", { store: "sqlite:./x.db" });
    expect(codes(none.findings)).toContain("error KEYS_REQUIRED");
    const tight = check(
      "paranoid",
      { store: "sqlite:./x.db", synchronous: "FULL", server: { keys: keysFile(0o600), requestTimeoutMs: 10_000, maxBodyBytes: 1_048_576, rateLimit: 50 } },
      { CONTEXTD_API_KEY: generateApiKey({ tenant: "t", scopes: ["read"] }).key },
    );
    expect(tight.findings).toEqual([]);
    // The same configuration passes strict and basic too.
    expect(checkConfiguration(tight.loaded, "strict", {})).toEqual([]);
  });

  it("registered sections (the extension point, e.g. alerts) are validated by their own schema and not refused as unknown", () => {
    registerConfigSection("testAlerts", { schema: z.array(z.object({ metric: z.string(), threshold: z.number() })), doc: "test rules" });
    const good = check("strict", { testAlerts: [{ metric: "p99", threshold: 1 }] });
    expect(good.findings).toEqual([]);
    expect(good.loaded.config.sections).toEqual({ testAlerts: [{ metric: "p99", threshold: 1 }] });
    const bad = check("strict", { testAlerts: [{ metric: "p99", threshold: "high" }] });
    expect(bad.findings).toMatchObject([{ code: "CONFIG_INVALID_VALUE", setting: "testAlerts.0.threshold" }]);
  });

  it("an alert rule on the driver layer while driver calls are not timed: a warning at basic, an error at strict; none with metrics.driverCalls on", () => {
    registerConfigSection("monitor", { schema: MonitorSection, doc: "the performance monitor" });
    const monitor = { alerts: [{ name: "slow commits", metric: "p99_seconds", labels: { layer: "driver", operation: "commit" }, op: ">", threshold: 0.05, severity: "warning" }] };
    const basic = check("basic", { monitor });
    expect(basic.findings).toMatchObject([{ code: "ALERT_RULE_NEVER_FIRES", severity: "warning", setting: "metrics.driverCalls" }]);
    expect(basic.findings[0]?.message).toContain('"slow commits"');
    expect(codes(check("strict", { monitor }).findings)).toEqual(["error ALERT_RULE_NEVER_FIRES"]);
    expect(check("strict", { monitor, metrics: { driverCalls: "on" } }).findings).toEqual([]);
    expect(check("strict", { monitor }, { CONTEXTD_METRICS_DRIVER_CALLS: "ON" }).findings).toEqual([]);
    // A rule on the store layer is fine either way.
    const store = { alerts: [{ ...monitor.alerts[0], labels: { layer: "store" } }] };
    expect(check("strict", { monitor: store }).findings).toEqual([]);
    expect(check("basic", { metrics: { driverCalls: true } }).findings).toMatchObject([{ code: "CONFIG_INVALID_VALUE", setting: "metrics.driverCalls" }]);
  });

  it("listening beyond loopback without keys is an error at every level", () => {
    for (const level of ["basic", "strict", "paranoid"] as const) {
      expect(codes(check(level, { server: { host: "0.0.0.0" } }).findings)).toContain("error KEYS_REQUIRED_BEYOND_LOOPBACK");
    }
  });
});

describe("contextd config check", () => {
  const cli = runCliCaptured;

  it("prints every finding with its code, setting and fix, and exits 1 on an error at the chosen level", async () => {
    const path = file({ server: { maxBodyBytes: 512, maxEventBytes: 256 } });
    const basic = await cli(["config", "check", "--config", path]);
    expect(basic).toMatchObject({ code: 0 });
    expect(basic.out).toContain("ok: no findings at level basic");
    const strict = await cli(["--json", "config", "check", "--config", path, "--level", "strict"]);
    expect(strict.code).toBe(1);
    const report = JSON.parse(strict.out) as { ok: boolean; findings: { code: string; setting: string; fix: string }[] };
    expect(report.ok).toBe(false);
    expect(report.findings).toMatchObject([{ code: "LIMIT_IMPLAUSIBLE", setting: "server.maxBodyBytes" }]);
    const env = await cli(["config", "check", "--level", "strict"], { CONTEXTD_CONFIG: path, CONTEXTD_MAX_BATCH: "lots" });
    expect(env.code).toBe(1);
    expect(env.out).toContain("CONFIG_INVALID_VALUE");
    expect(env.out).toContain("LIMIT_IMPLAUSIBLE");
  });
});
