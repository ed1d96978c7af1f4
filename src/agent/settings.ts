/**
 * The one schema of contextd's configuration: every setting, its key in the configuration
 * file (JSON, `--config` / `CONTEXTD_CONFIG`), its `CONTEXTD_*` variable, its zod schema,
 * default and meaning. The file's shape, the variables' parsing, `loadConfig`, `contextd
 * config check` and the table of docs/configuration.md all come from {@link SETTINGS}
 * (a test holds that table to {@link settingsTable}).
 *
 * Sections: the file's top-level keys are the settings' first segments (`server`,
 * `window`, `circuit`, …) plus sections registered with {@link registerConfigSection}
 * (e.g. `alerts`): a key that is neither is refused at the `strict` and `paranoid` levels.
 */
import { z } from "zod";
import { TOKEN_ENCODINGS, type TokenEncoding } from "./tokens.js";

/** How a variable's text becomes a value (the file holds JSON values directly). */
export type SettingKind = "string" | "int" | "enum";

/** One setting. */
export interface Setting {
  /** Dotted key in the configuration file, e.g. `server.port`. */
  key: string;
  /** The environment variable, or `null` when only the file sets it. */
  env: string | null;
  kind: SettingKind;
  /** Validates the value (a number for `int`, a string otherwise). */
  schema: z.ZodType;
  /** Case folding of an `enum` given as text. */
  fold?: "upper" | "lower";
  /** The default, as shown in the docs. */
  defaultText: string;
  /** What is allowed, in words (error messages and docs). */
  allowed: string;
  /** What it does. */
  doc: string;
  /** `reload`: a running `serve` applies a change on SIGHUP; `restart`: only at start. */
  apply: "reload" | "restart";
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._:@+=-]{0,199}$/;
const int = (min: number, max: number) => z.number().int().min(min).max(max);
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** Every setting (see the module docs). */
export const SETTINGS: readonly Setting[] = [
  {
    key: "store",
    env: "CONTEXTD_STORE",
    kind: "string",
    schema: z.string().trim().regex(/^(in-memory:|memory:|sqlite:.+|postgres(ql)?:\/\/.+)/, "must be a store URL"),
    defaultText: "`sqlite:<dataDir>/contextd.db`",
    allowed: "in-memory:, sqlite:PATH or postgres://USER@HOST/DB",
    doc: "the store URL (`?cache=redis://…` adds the Redis tier; `--store` overrides)",
    apply: "restart",
  },
  {
    key: "dataDir",
    env: "CONTEXTD_DATA_DIR",
    kind: "string",
    schema: z.string().trim().min(1, "must not be empty"),
    defaultText: "`./.contextd`",
    allowed: "a directory path",
    doc: "directory of the default SQLite file and keys file",
    apply: "restart",
  },
  {
    key: "synchronous",
    env: "CONTEXTD_SYNCHRONOUS",
    kind: "enum",
    fold: "upper",
    schema: z.enum(["NORMAL", "FULL"]),
    defaultText: "`NORMAL`",
    allowed: "NORMAL or FULL",
    doc: "SQLite durability: NORMAL survives a process crash, FULL also a power loss",
    apply: "restart",
  },
  {
    key: "logLevel",
    env: "CONTEXTD_LOG_LEVEL",
    kind: "enum",
    fold: "lower",
    schema: z.enum(LOG_LEVELS),
    defaultText: "`info`",
    allowed: LOG_LEVELS.join(", "),
    doc: "log level (`--log-level` overrides)",
    apply: "reload",
  },
  {
    key: "tenant",
    env: "CONTEXTD_TENANT",
    kind: "string",
    schema: z.string().trim().regex(ID, "must be an id"),
    defaultText: "`default`",
    allowed: "1–200 characters of A–Z a–z 0–9 . _ : @ + = -, starting with a letter or digit",
    doc: "tenant the process acts in (CLI and embedded use; the server takes it from each key)",
    apply: "restart",
  },
  {
    key: "embedder",
    env: "CONTEXTD_EMBEDDER",
    kind: "string",
    schema: z.string().trim().regex(/^(use|none|hashing(:\d+)?|openai:.+)$/, "must be an embedder spec"),
    defaultText: "`use`",
    allowed: "use, hashing[:dims], openai:<model> or none",
    doc: "embedding model of long-term memory (`--embedder` overrides)",
    apply: "restart",
  },
  {
    key: "taskTimeoutMs",
    env: "CONTEXTD_TASK_TIMEOUT_MS",
    kind: "int",
    schema: int(1, 2_147_483_647),
    defaultText: "none",
    allowed: "a whole number of milliseconds ≥ 1",
    doc: "default `withTask` timeout",
    apply: "restart",
  },
  {
    key: "aiecsDir",
    env: "CONTEXTD_AIECS_DIR",
    kind: "string",
    schema: z.string().trim().min(1, "must not be empty"),
    defaultText: "none",
    allowed: "a directory path",
    doc: "directory of AIECS history files to import",
    apply: "restart",
  },
  {
    key: "window.maxContextTokens",
    env: "CONTEXTD_MAX_CONTEXT_TOKENS",
    kind: "int",
    schema: int(1, 100_000_000),
    defaultText: "`8192`",
    allowed: "a whole number from 1 to 100000000",
    doc: "default window budget, tokens",
    apply: "restart",
  },
  {
    key: "window.reserveTokens",
    env: "CONTEXTD_RESERVE_TOKENS",
    kind: "int",
    schema: int(0, 100_000_000),
    defaultText: "`0`",
    allowed: "a whole number ≥ 0, below window.maxContextTokens",
    doc: "default tokens left free in a window",
    apply: "restart",
  },
  {
    key: "window.tokenEncoding",
    env: "CONTEXTD_TOKEN_ENCODING",
    kind: "enum",
    schema: z.enum(TOKEN_ENCODINGS as [TokenEncoding, ...TokenEncoding[]]),
    defaultText: "`o200k_base`",
    allowed: TOKEN_ENCODINGS.join(", "),
    doc: "tokenizer of windows",
    apply: "restart",
  },
  {
    key: "server.host",
    env: "CONTEXTD_HOST",
    kind: "string",
    schema: z.string().trim().min(1, "must not be empty"),
    defaultText: "`127.0.0.1`",
    allowed: "an address of this machine",
    doc: "address `serve` listens on; beyond loopback API keys are required (`--host` overrides)",
    apply: "restart",
  },
  {
    key: "server.port",
    env: "CONTEXTD_PORT",
    kind: "int",
    schema: int(0, 65_535),
    defaultText: "`7070`",
    allowed: "a whole number from 0 to 65535 (0 picks a free one)",
    doc: "port (`--port` overrides)",
    apply: "restart",
  },
  {
    key: "server.keys",
    env: "CONTEXTD_KEYS",
    kind: "string",
    schema: z.string().trim().min(1, "must not be empty"),
    defaultText: "`<dataDir>/keys.json` when present",
    allowed: "a keys file made by `contextd keys create`",
    doc: "API keys file (`--keys` overrides); relative to the configuration file's directory when set there",
    apply: "reload",
  },
  {
    key: "server.maxBodyBytes",
    env: "CONTEXTD_MAX_BODY_BYTES",
    kind: "int",
    schema: int(1, 2 ** 31 - 1),
    defaultText: "`20971520` (20 MiB)",
    allowed: "a whole number of bytes ≥ 1",
    doc: "largest request body (`--max-body` overrides)",
    apply: "reload",
  },
  {
    key: "server.maxEventBytes",
    env: "CONTEXTD_MAX_EVENT_BYTES",
    kind: "int",
    schema: int(1, 2 ** 31 - 1),
    defaultText: "`2097152` (2 MiB)",
    allowed: "a whole number of bytes ≥ 1",
    doc: "largest single event of an append",
    apply: "reload",
  },
  {
    key: "server.maxBatch",
    env: "CONTEXTD_MAX_BATCH",
    kind: "int",
    schema: int(1, 1_000_000),
    defaultText: "`1000`",
    allowed: "a whole number from 1 to 1000000",
    doc: "most events in one append",
    apply: "reload",
  },
  {
    key: "server.requestTimeoutMs",
    env: "CONTEXTD_REQUEST_TIMEOUT_MS",
    kind: "int",
    schema: int(1, 2_147_483_647),
    defaultText: "`30000`",
    allowed: "a whole number of milliseconds ≥ 1",
    doc: "deadline of a request (not of an event stream) (`--timeout` overrides)",
    apply: "reload",
  },
  {
    key: "server.heartbeatMs",
    env: "CONTEXTD_HEARTBEAT_MS",
    kind: "int",
    schema: int(1, 2_147_483_647),
    defaultText: "`15000`",
    allowed: "a whole number of milliseconds ≥ 1",
    doc: "interval of SSE heartbeat comments",
    apply: "reload",
  },
  {
    key: "server.rateLimit",
    env: "CONTEXTD_RATE_LIMIT",
    kind: "int",
    schema: int(0, 1_000_000),
    defaultText: "`0` (none)",
    allowed: "a whole number of requests per second per key (burst 2×); 0 for none",
    doc: "per-key rate limit (`--rate-limit` overrides)",
    apply: "reload",
  },
  {
    key: "server.shutdownGraceMs",
    env: "CONTEXTD_SHUTDOWN_GRACE_MS",
    kind: "int",
    schema: int(0, 600_000),
    defaultText: "`10000`",
    allowed: "a whole number of milliseconds from 0 to 600000",
    doc: "how long shutdown waits for requests in flight",
    apply: "restart",
  },
  {
    key: "circuit.failureThreshold",
    env: "CONTEXTD_CIRCUIT_FAILURES",
    kind: "int",
    schema: int(1, 1000),
    defaultText: "`5`",
    allowed: "a whole number from 1 to 1000",
    doc: "failures in a row that open the circuit of PostgreSQL or the embedder",
    apply: "restart",
  },
  {
    key: "circuit.openMs",
    env: "CONTEXTD_CIRCUIT_OPEN_MS",
    kind: "int",
    schema: int(1, 3_600_000),
    defaultText: "`5000`",
    allowed: "a whole number of milliseconds from 1 to 3600000",
    doc: "how long an open circuit fails fast before its probe",
    apply: "restart",
  },
  {
    key: "circuit.maxOpenMs",
    env: "CONTEXTD_CIRCUIT_MAX_OPEN_MS",
    kind: "int",
    schema: int(1, 3_600_000),
    defaultText: "`60000`",
    allowed: "a whole number of milliseconds from 1 to 3600000",
    doc: "the open time doubles after each failed probe, up to this",
    apply: "restart",
  },
  {
    key: "metrics.driverCalls",
    env: "CONTEXTD_METRICS_DRIVER_CALLS",
    kind: "enum",
    fold: "lower",
    schema: z.enum(["off", "on"]),
    defaultText: "`off`",
    allowed: "off or on",
    doc: "also time every call of the storage driver (`contextd_driver_call_duration_seconds`, the monitor's `driver` layer); store operations are timed either way",
    apply: "restart",
  },
  {
    key: "health.intervalMs",
    env: "CONTEXTD_HEALTH_INTERVAL_MS",
    kind: "int",
    schema: int(0, 86_400_000),
    defaultText: "`300000` (5 min)",
    allowed: "a whole number of milliseconds from 0 to 86400000; 0 for none",
    doc: "how often `serve` takes a health report into the health history (besides one per GET /v1/health/report)",
    apply: "restart",
  },
  {
    key: "health.historySize",
    env: "CONTEXTD_HEALTH_HISTORY_SIZE",
    kind: "int",
    schema: int(1, 100_000),
    defaultText: "`288`",
    allowed: "a whole number from 1 to 100000",
    doc: "health reports kept in the history (the baseline is kept besides)",
    apply: "restart",
  },
  {
    key: "health.historyFile",
    env: "CONTEXTD_HEALTH_HISTORY_FILE",
    kind: "string",
    schema: z.string().trim().min(1, "must not be empty"),
    defaultText: "`<sqlite file>.health.jsonl`; none (memory) for other stores",
    allowed: "a file path (JSON lines)",
    doc: "where the health history survives a restart",
    apply: "restart",
  },
];

/** Variables that pick the file and the level: the environment only. */
export const META_SETTINGS: readonly { env: string; doc: string; defaultText: string }[] = [
  { env: "CONTEXTD_CONFIG", doc: "the configuration file (`--config` overrides)", defaultText: "none" },
  { env: "CONTEXTD_CONFIG_LEVEL", doc: "`basic`, `strict` or `paranoid` (`--config-level` overrides)", defaultText: "`basic`" },
];

/** A top-level section registered by another part of contextd (e.g. `alerts`). */
export interface ConfigSection {
  /** Validates the section's value. */
  schema: z.ZodType;
  /** One line for the docs. */
  doc: string;
}

const sections = new Map<string, ConfigSection>();

/**
 * Registers a top-level section of the configuration file (validated by `schema`; not
 * refused as unknown). Call it at start, before configurations are read.
 * @example
 * ```ts
 * registerConfigSection("alerts", { schema: z.array(alertRule), doc: "alert rules (docs/monitoring.md)" });
 * ```
 */
export function registerConfigSection(name: string, section: ConfigSection): void {
  sections.set(name, section);
}

/** The registered sections. */
export function configSections(): ReadonlyMap<string, ConfigSection> {
  return sections;
}

/** The setting of a variable, or `undefined`. */
export function settingOfEnv(env: string): Setting | undefined {
  return SETTINGS.find((s) => s.env === env);
}

/** Result of parsing one value. */
export type SettingParse = { ok: true; value: unknown } | { ok: false; issue: string };

/** Parses a value from the file (a JSON value) or a variable (text, `fromText`). */
export function parseSetting(setting: Setting, raw: unknown, fromText: boolean): SettingParse {
  let value = raw;
  if (fromText && typeof raw === "string") {
    const text = raw.trim();
    if (setting.kind === "int") {
      if (!/^\d+$/.test(text)) return { ok: false, issue: "must be a whole number" };
      value = Number(text);
    } else if (setting.fold === "upper") value = text.toUpperCase();
    else if (setting.fold === "lower") value = text.toLowerCase();
    else value = text;
  }
  const r = setting.schema.safeParse(value);
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, issue: r.error.issues[0]?.message ?? "invalid" };
}

/** The table of docs/configuration.md (Markdown), made from {@link SETTINGS}. */
export function settingsTable(): string {
  const rows = [
    "| file key | variable | default | allowed | meaning | on SIGHUP |",
    "| --- | --- | --- | --- | --- | --- |",
    ...SETTINGS.map(
      (s) =>
        `| \`${s.key}\` | ${s.env === null ? "–" : `\`${s.env}\``} | ${s.defaultText} | ${s.allowed.replaceAll("|", "\\|")} | ${s.doc} | ${s.apply === "reload" ? "applied" : "restart"} |`,
    ),
    ...META_SETTINGS.map((m) => `| – | \`${m.env}\` | ${m.defaultText} | | ${m.doc} | – |`),
  ];
  return rows.join("\n");
}
