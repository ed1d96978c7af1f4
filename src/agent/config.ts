/**
 * Configuration from environment variables, validated with zod at start: a bad value fails
 * with a message naming the variable, the value and what is allowed.
 *
 * | variable | meaning | default |
 * | --- | --- | --- |
 * | `CONTEXTD_STORE` | store URL: `in-memory:`, `sqlite:PATH`, `postgres://…` | `sqlite:<data dir>/contextd.db` |
 * | `CONTEXTD_DATA_DIR` | directory of the default SQLite file | `./.contextd` |
 * | `CONTEXTD_TENANT` | tenant the process acts in | `default` |
 * | `CONTEXTD_MAX_CONTEXT_TOKENS` | default window budget | `8192` |
 * | `CONTEXTD_RESERVE_TOKENS` | default tokens left free in a window | `0` |
 * | `CONTEXTD_TOKEN_ENCODING` | `o200k_base`, `cl100k_base`, `p50k_base`, `r50k_base` | `o200k_base` |
 * | `CONTEXTD_LOG_LEVEL` | `fatal`, `error`, `warn`, `info`, `debug`, `trace`, `silent` | `info` |
 * | `CONTEXTD_SYNCHRONOUS` | SQLite durability `NORMAL` or `FULL` | `NORMAL` |
 * | `CONTEXTD_TASK_TIMEOUT_MS` | default `withTask` timeout | none |
 * | `CONTEXTD_AIECS_DIR` | directory of AIECS history files to import | none |
 */
import { join } from "node:path";
import { z } from "zod";
import { ContextError } from "../errors.js";
import { TOKEN_ENCODINGS, type TokenEncoding } from "./tokens.js";

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

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const SPEC = {
  CONTEXTD_STORE: {
    schema: z.string().trim().regex(/^(in-memory:|memory:|sqlite:.+|postgres(ql)?:\/\/.+)/, "must be a store URL"),
    allowed: "in-memory:, sqlite:PATH or postgres://USER@HOST/DB",
  },
  CONTEXTD_DATA_DIR: { schema: z.string().trim().min(1, "must not be empty"), allowed: "a directory path" },
  CONTEXTD_TENANT: {
    schema: z.string().trim().regex(/^[A-Za-z0-9][A-Za-z0-9._:@+=-]{0,199}$/, "must be an id"),
    allowed: "1–200 characters of A–Z a–z 0–9 . _ : @ + = -, starting with a letter or digit",
  },
  CONTEXTD_MAX_CONTEXT_TOKENS: { schema: int(1, 100_000_000), allowed: "a whole number from 1 to 100000000" },
  CONTEXTD_RESERVE_TOKENS: { schema: int(0, 100_000_000), allowed: "a whole number ≥ 0, below CONTEXTD_MAX_CONTEXT_TOKENS" },
  CONTEXTD_TOKEN_ENCODING: { schema: z.enum(TOKEN_ENCODINGS as [TokenEncoding, ...TokenEncoding[]]), allowed: TOKEN_ENCODINGS.join(", ") },
  CONTEXTD_LOG_LEVEL: {
    schema: z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])),
    allowed: "fatal, error, warn, info, debug, trace, silent",
  },
  CONTEXTD_SYNCHRONOUS: { schema: z.string().trim().toUpperCase().pipe(z.enum(["NORMAL", "FULL"])), allowed: "NORMAL or FULL" },
  CONTEXTD_TASK_TIMEOUT_MS: { schema: int(1, 2_147_483_647), allowed: "a whole number of milliseconds ≥ 1" },
  CONTEXTD_AIECS_DIR: { schema: z.string().trim().min(1, "must not be empty"), allowed: "a directory path" },
} as const;

type Name = keyof typeof SPEC;

/** The variables {@link loadConfig} reads. */
export const CONFIG_VARIABLES: readonly Name[] = Object.keys(SPEC) as Name[];

/**
 * Variables read by other parts of contextd (server, CLI) or by its tests and benchmarks
 * (README, Development), not flagged as unknown here.
 */
const KNOWN_ELSEWHERE = /^CONTEXTD_(HOST|PORT|KEYS|API_KEYS?|URL|CORS|.*_URL|CACHE|METRICS|AUTH.*|EMBEDDER.*|TEST_.*|FUZZ_.*|BENCH_.*|DIST)$/;

function read<N extends Name>(env: Record<string, string | undefined>, name: N): z.output<(typeof SPEC)[N]["schema"]> | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const spec = SPEC[name];
  const r = spec.schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]?.message ?? "invalid";
    throw new ContextError("INVALID_INPUT", `${name}=${JSON.stringify(raw)} is invalid (${issue}); allowed: ${spec.allowed}`, {
      details: { variable: name, value: raw, allowed: spec.allowed },
    });
  }
  return r.data as z.output<(typeof SPEC)[N]["schema"]>;
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
  const dataDir = read(env, "CONTEXTD_DATA_DIR") ?? "./.contextd";
  const maxContextTokens = read(env, "CONTEXTD_MAX_CONTEXT_TOKENS") ?? 8192;
  const reserveTokens = read(env, "CONTEXTD_RESERVE_TOKENS") ?? 0;
  if (reserveTokens >= maxContextTokens) {
    throw new ContextError(
      "INVALID_INPUT",
      `CONTEXTD_RESERVE_TOKENS=${reserveTokens} is invalid (leaves no budget); allowed: ${SPEC.CONTEXTD_RESERVE_TOKENS.allowed} (${maxContextTokens})`,
      { details: { variable: "CONTEXTD_RESERVE_TOKENS", value: String(reserveTokens) } },
    );
  }
  const known = new Set<string>(CONFIG_VARIABLES);
  return {
    store: read(env, "CONTEXTD_STORE") ?? `sqlite:${join(dataDir, "contextd.db")}`,
    dataDir,
    tenant: read(env, "CONTEXTD_TENANT") ?? "default",
    maxContextTokens,
    reserveTokens,
    tokenEncoding: read(env, "CONTEXTD_TOKEN_ENCODING") ?? "o200k_base",
    logLevel: read(env, "CONTEXTD_LOG_LEVEL") ?? "info",
    synchronous: read(env, "CONTEXTD_SYNCHRONOUS") ?? "NORMAL",
    taskTimeoutMs: read(env, "CONTEXTD_TASK_TIMEOUT_MS"),
    aiecsDir: read(env, "CONTEXTD_AIECS_DIR"),
    unknown: Object.keys(env)
      .filter((k) => k.startsWith("CONTEXTD_") && !known.has(k) && !KNOWN_ELSEWHERE.test(k))
      .sort(),
  };
}
