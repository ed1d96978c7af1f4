/**
 * Configuration from environment variables, validated with zod at start: a bad value fails
 * with a message naming the variable, the value and what is allowed.
 *
 * The variables, their meaning and defaults are the settings schema (`settings.ts`), listed
 * in docs/configuration.md.
 */
import { join } from "node:path";
import { ContextError } from "../errors.js";
import { parseSetting, SETTINGS, settingOfEnv } from "./settings.js";
import type { TokenEncoding } from "./tokens.js";

/** Log levels (pino's). */
export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

/** The validated configuration. */
export interface ContextdConfig {
  /** The store URL to open (given, or the default SQLite file in `dataDir`). */
  store: string;
  dataDir: string;
  tenant: string;
  maxContextTokens: number;
  reserveTokens: number;
  tokenEncoding: TokenEncoding;
  logLevel: LogLevel;
  synchronous: "NORMAL" | "FULL";
  taskTimeoutMs: number | undefined;
  aiecsDir: string | undefined;
  /** `CONTEXTD_*` variables present but not known here (typos show up here). */
  unknown: string[];
}

type Name =
  | "CONTEXTD_STORE"
  | "CONTEXTD_DATA_DIR"
  | "CONTEXTD_TENANT"
  | "CONTEXTD_MAX_CONTEXT_TOKENS"
  | "CONTEXTD_RESERVE_TOKENS"
  | "CONTEXTD_TOKEN_ENCODING"
  | "CONTEXTD_LOG_LEVEL"
  | "CONTEXTD_SYNCHRONOUS"
  | "CONTEXTD_TASK_TIMEOUT_MS"
  | "CONTEXTD_AIECS_DIR";

/** The variables {@link loadConfig} reads. */
export const CONFIG_VARIABLES: readonly Name[] = [
  "CONTEXTD_STORE",
  "CONTEXTD_DATA_DIR",
  "CONTEXTD_TENANT",
  "CONTEXTD_MAX_CONTEXT_TOKENS",
  "CONTEXTD_RESERVE_TOKENS",
  "CONTEXTD_TOKEN_ENCODING",
  "CONTEXTD_LOG_LEVEL",
  "CONTEXTD_SYNCHRONOUS",
  "CONTEXTD_TASK_TIMEOUT_MS",
  "CONTEXTD_AIECS_DIR",
];

/**
 * Variables read by other parts of contextd (server, CLI) or by its tests and benchmarks
 * (README, Development), not flagged as unknown here: every variable of the settings schema,
 * and these.
 */
const KNOWN_ELSEWHERE = /^CONTEXTD_(HOST|PORT|KEYS|API_KEYS?|URL|CORS|.*_URL|CACHE|METRICS|AUTH.*|EMBEDDER.*|CONFIG|CONFIG_LEVEL|TEST_.*|FUZZ_.*|BENCH_.*|DIST)$/;

function read<T>(env: Record<string, string | undefined>, name: Name): T | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const setting = settingOfEnv(name);
  if (setting === undefined) throw new ContextError("INTERNAL", `no setting for ${name}`);
  const r = parseSetting(setting, raw, true);
  if (!r.ok) {
    throw new ContextError("INVALID_INPUT", `${name}=${JSON.stringify(raw)} is invalid (${r.issue}); allowed: ${setting.allowed}`, {
      details: { variable: name, value: raw, allowed: setting.allowed },
    });
  }
  return r.value as T;
}

/** The `CONTEXTD_*` variables of `env` that no part of contextd reads (typos show up here). */
export function unknownVariables(env: Record<string, string | undefined>): string[] {
  const known = new Set<string>([...CONFIG_VARIABLES, ...SETTINGS.flatMap((x) => (x.env === null ? [] : [x.env]))]);
  return Object.keys(env)
    .filter((k) => k.startsWith("CONTEXTD_") && !known.has(k) && !KNOWN_ELSEWHERE.test(k))
    .sort();
}

/**
 * Reads and validates contextd's environment variables; all are optional.
 *
 * @throws `INVALID_INPUT` naming the first bad variable, its value and what is allowed
 * @example
 * ```ts
 * const config = loadConfig(); // process.env
 * const store = await openStore(config.store, { tenant: config.tenant });
 * ```
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): ContextdConfig {
  const dataDir = read<string>(env, "CONTEXTD_DATA_DIR") ?? "./.contextd";
  const maxContextTokens = read<number>(env, "CONTEXTD_MAX_CONTEXT_TOKENS") ?? 8192;
  const reserveTokens = read<number>(env, "CONTEXTD_RESERVE_TOKENS") ?? 0;
  if (reserveTokens >= maxContextTokens) {
    throw new ContextError(
      "INVALID_INPUT",
      `CONTEXTD_RESERVE_TOKENS=${reserveTokens} is invalid (leaves no budget); allowed: a whole number ≥ 0, below CONTEXTD_MAX_CONTEXT_TOKENS (${maxContextTokens})`,
      { details: { variable: "CONTEXTD_RESERVE_TOKENS", value: String(reserveTokens) } },
    );
  }
  return {
    store: read<string>(env, "CONTEXTD_STORE") ?? `sqlite:${join(dataDir, "contextd.db")}`,
    dataDir,
    tenant: read<string>(env, "CONTEXTD_TENANT") ?? "default",
    maxContextTokens,
    reserveTokens,
    tokenEncoding: read<TokenEncoding>(env, "CONTEXTD_TOKEN_ENCODING") ?? "o200k_base",
    logLevel: read<LogLevel>(env, "CONTEXTD_LOG_LEVEL") ?? "info",
    synchronous: read<"NORMAL" | "FULL">(env, "CONTEXTD_SYNCHRONOUS") ?? "NORMAL",
    taskTimeoutMs: read<number>(env, "CONTEXTD_TASK_TIMEOUT_MS"),
    aiecsDir: read<string>(env, "CONTEXTD_AIECS_DIR"),
    unknown: unknownVariables(env),
  };
}
