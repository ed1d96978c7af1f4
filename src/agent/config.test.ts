import { describe, expect, it } from "vitest";
import { isContextError } from "../errors.js";
import { loadConfig } from "./config.js";

function failure(env: Record<string, string>): Error & { details: Record<string, unknown> } {
  try {
    loadConfig(env);
  } catch (e) {
    expect(isContextError(e, "INVALID_INPUT")).toBe(true);
    return e as Error & { details: Record<string, unknown> };
  }
  throw new Error("expected loadConfig to fail");
}

describe("config", () => {
  it("has defaults for an empty environment", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      store: "sqlite:.contextd/contextd.db",
      tenant: "default",
      maxContextTokens: 8192,
      reserveTokens: 0,
      tokenEncoding: "o200k_base",
      logLevel: "info",
      synchronous: "NORMAL",
      taskTimeoutMs: undefined,
    });
  });

  it("reads and normalises every variable", () => {
    const c = loadConfig({
      CONTEXTD_STORE: "in-memory:",
      CONTEXTD_DATA_DIR: "/var/lib/contextd",
      CONTEXTD_TENANT: "acme",
      CONTEXTD_MAX_CONTEXT_TOKENS: " 16000 ",
      CONTEXTD_RESERVE_TOKENS: "1000",
      CONTEXTD_TOKEN_ENCODING: "cl100k_base",
      CONTEXTD_LOG_LEVEL: "DEBUG",
      CONTEXTD_SYNCHRONOUS: "full",
      CONTEXTD_TASK_TIMEOUT_MS: "30000",
      CONTEXTD_AIECS_DIR: "./tasks",
      CONTEXTD_PORT: "8080",
      CONTEXTD_LOGLEVEL: "debug",
    });
    expect(c).toMatchObject({
      store: "in-memory:",
      dataDir: "/var/lib/contextd",
      tenant: "acme",
      maxContextTokens: 16000,
      reserveTokens: 1000,
      tokenEncoding: "cl100k_base",
      logLevel: "debug",
      synchronous: "FULL",
      taskTimeoutMs: 30000,
      aiecsDir: "./tasks",
      unknown: ["CONTEXTD_LOGLEVEL"],
    });
    expect(loadConfig({ CONTEXTD_DATA_DIR: "/d" }).store).toBe("sqlite:/d/contextd.db");
    // Read by the CLI, the server or the test harness: not typos.
    const elsewhere = { CONTEXTD_KEYS: "k.json", CONTEXTD_URL: "http://x", CONTEXTD_TEST_CHILD: "run", CONTEXTD_TEST_POSTGRES_URL: "postgres://x/y" };
    expect(loadConfig(elsewhere).unknown).toEqual([]);
  });

  it("names the variable, the value and what is allowed", () => {
    const e = failure({ CONTEXTD_LOG_LEVEL: "loud" });
    expect(e.message).toContain("CONTEXTD_LOG_LEVEL");
    expect(e.message).toContain('"loud"');
    expect(e.message).toContain("fatal, error, warn, info, debug, trace, silent");
    expect(e.details["variable"]).toBe("CONTEXTD_LOG_LEVEL");
    expect(failure({ CONTEXTD_MAX_CONTEXT_TOKENS: "12k" }).message).toMatch(/CONTEXTD_MAX_CONTEXT_TOKENS="12k".*whole number/);
    expect(failure({ CONTEXTD_MAX_CONTEXT_TOKENS: "0" }).message).toContain("CONTEXTD_MAX_CONTEXT_TOKENS");
    expect(failure({ CONTEXTD_STORE: "mysql://x" }).message).toContain("in-memory:, sqlite:PATH");
    expect(failure({ CONTEXTD_TOKEN_ENCODING: "o300k" }).message).toContain("cl100k_base");
    expect(failure({ CONTEXTD_MAX_CONTEXT_TOKENS: "100", CONTEXTD_RESERVE_TOKENS: "100" }).message).toContain("CONTEXTD_RESERVE_TOKENS");
    expect(failure({ CONTEXTD_TENANT: "no spaces" }).message).toContain("CONTEXTD_TENANT");
  });
});
