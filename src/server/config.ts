/**
 * The configuration of `contextd serve`: the settings schema (`SETTINGS`, one zod schema per
 * setting) read from the configuration file, the `CONTEXTD_*` variables and the command's
 * flags (flags win, then variables, then the file, then the defaults), checked at one of three
 * levels. Every finding has a code, the setting, a message and the fix; `serve` refuses to
 * start (and a SIGHUP reload is refused) when a finding at the chosen level is an error.
 *
 * - `basic`: the file is JSON and every value is valid (type, range, form); the window reserve
 *   is below the budget; a named keys file is a keys file; no listening beyond loopback
 *   without keys. Unknown keys and variables and a missing keys file are warnings.
 * - `strict`: also unknown keys of the file, unknown `CONTEXTD_*` variables and a missing keys
 *   file are errors, and so are implausible limits (see {@link checkConfiguration}).
 * - `paranoid`: also API keys are required, the keys file is readable by its owner only and
 *   holds only generated (256-bit) keys, secrets in the environment are high-entropy, SQLite
 *   runs with `synchronous=FULL` (PostgreSQL not with `synchronous_commit=off`), the request
 *   deadline and the body limit are set explicitly and bounded, and the store URL in the
 *   file holds no password.
 */
import { readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { ContextError, configSections, parseSetting, SETTINGS, unknownVariables } from "../index.js";
import type { Setting } from "../index.js";
import { DEFAULT_SERVER_LIMITS } from "./limits.js";
import type { ServerLimits } from "./limits.js";
import { isLoopbackHost } from "./serve.js";

/** How much a configuration is checked (see the module docs). */
export type ConfigLevel = "basic" | "strict" | "paranoid";

/** The levels, in order. */
export const CONFIG_LEVELS: readonly ConfigLevel[] = ["basic", "strict", "paranoid"];

/** One problem of a configuration. */
export interface ConfigFinding {
  /** Stable code, e.g. `CONFIG_UNKNOWN_KEY`, `LIMIT_IMPLAUSIBLE`, `KEYS_FILE_MODE`. */
  code: string;
  severity: "error" | "warning";
  /** The setting (file key, variable or file) it is about. */
  setting: string;
  message: string;
  /** What to do about it. */
  fix: string;
}

/** Where a value came from. */
export type SettingSource = "flag" | "env" | "file" | "default";

/** The resolved configuration of `serve`. */
export interface ServeConfig {
  /** The configuration file, or `null`. */
  file: string | null;
  /** Values by setting key (only those set somewhere). */
  values: Record<string, unknown>;
  sources: Record<string, SettingSource>;
  /** Registered sections of the file (e.g. `alerts`), validated by their schemas. */
  sections: Record<string, unknown>;
  /** The server limits these values give. */
  limits: ServerLimits;
  /** The keys file to use, absolute, or `undefined` (the command then looks for the default one). */
  keys: string | undefined;
}

/** What {@link loadServeConfig} reads. */
export interface LoadServeConfigOptions {
  /** The configuration file (else `CONTEXTD_CONFIG`, else none). */
  file?: string | undefined;
  env: Record<string, string | undefined>;
  /** Values given as flags, by setting key, as text. */
  flags?: Record<string, string | undefined>;
  /** The working directory relative paths start from. @default process.cwd() */
  cwd?: string;
}

const byKey = new Map(SETTINGS.map((s) => [s.key, s]));
const top = new Set(SETTINGS.map((s) => s.key.split(".")[0] ?? s.key));
const META_KEYS = new Set(["$schema", "$comment"]);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Reads the configuration (file, variables, flags) and returns it with the findings that do
 * not depend on the level's extra checks; {@link checkConfiguration} adds those. Never throws
 * for a bad configuration: everything wrong is a finding.
 */
export function loadServeConfig(options: LoadServeConfigOptions): { config: ServeConfig; findings: ConfigFinding[] } {
  const cwd = options.cwd ?? process.cwd();
  const findings: ConfigFinding[] = [];
  const values: Record<string, unknown> = {};
  const sources: Record<string, SettingSource> = {};
  const sections: Record<string, unknown> = {};
  const fileArg = options.file ?? options.env.CONTEXTD_CONFIG;
  const file = fileArg === undefined || fileArg === "" ? null : resolve(cwd, fileArg);

  if (file !== null) {
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(file, "utf8"));
    } catch (e) {
      const missing = (e as NodeJS.ErrnoException).code !== undefined;
      findings.push({
        code: missing ? "CONFIG_FILE_UNREADABLE" : "CONFIG_FILE_NOT_JSON",
        severity: "error",
        setting: file,
        message: missing ? `cannot read the configuration file ${file}: ${(e as Error).message}` : `${file} is not valid JSON: ${(e as Error).message}`,
        fix: missing ? "pass an existing file with --config or CONTEXTD_CONFIG" : "fix the JSON (a single object; no comments, no trailing commas)",
      });
    }
    if (data !== undefined && !isObject(data)) {
      findings.push({ code: "CONFIG_NOT_OBJECT", severity: "error", setting: file, message: `${file} must hold one JSON object`, fix: 'write { "server": { … }, … }' });
    } else if (isObject(data)) {
      readFile(data, file, values, sources, sections, findings);
    }
  }

  for (const s of SETTINGS) {
    if (s.env === null) continue;
    const raw = options.env[s.env];
    if (raw === undefined || raw === "") continue;
    const r = parseSetting(s, raw, true);
    if (r.ok) set(s, r.value, "env", values, sources);
    else findings.push(invalid(s, s.env, raw, r.issue));
  }
  for (const v of unknownVariables(options.env)) {
    findings.push({
      code: "CONFIG_UNKNOWN_VARIABLE",
      severity: "warning",
      setting: v,
      message: `${v} is not a contextd variable (a typo?)`,
      fix: "remove it, or spell it as in docs/configuration.md",
    });
  }
  for (const [key, raw] of Object.entries(options.flags ?? {})) {
    const s = byKey.get(key);
    if (s === undefined || raw === undefined) continue;
    const r = parseSetting(s, raw, true);
    if (r.ok) set(s, r.value, "flag", values, sources);
    else findings.push(invalid(s, `--${key.split(".").at(-1) ?? key}`, raw, r.issue));
  }

  const max = (values["window.maxContextTokens"] as number | undefined) ?? 8192;
  const reserve = values["window.reserveTokens"] as number | undefined;
  if (reserve !== undefined && reserve >= max) {
    findings.push({
      code: "CONFIG_INVALID_VALUE",
      severity: "error",
      setting: "window.reserveTokens",
      message: `window.reserveTokens (${reserve}) leaves no budget of window.maxContextTokens (${max})`,
      fix: "set it below window.maxContextTokens",
    });
  }

  const rate = values["server.rateLimit"] as number | undefined;
  const limits: ServerLimits = {
    maxBodyBytes: (values["server.maxBodyBytes"] as number | undefined) ?? DEFAULT_SERVER_LIMITS.maxBodyBytes,
    maxEventBytes: (values["server.maxEventBytes"] as number | undefined) ?? DEFAULT_SERVER_LIMITS.maxEventBytes,
    maxBatch: (values["server.maxBatch"] as number | undefined) ?? DEFAULT_SERVER_LIMITS.maxBatch,
    rateLimit: rate === undefined || rate === 0 ? null : { perSecond: rate, burst: rate * 2 },
    requestTimeoutMs: (values["server.requestTimeoutMs"] as number | undefined) ?? DEFAULT_SERVER_LIMITS.requestTimeoutMs,
    heartbeatMs: (values["server.heartbeatMs"] as number | undefined) ?? DEFAULT_SERVER_LIMITS.heartbeatMs,
  };
  // A keys file named in the configuration file is relative to that file; elsewhere to the cwd.
  const keysValue = values["server.keys"] as string | undefined;
  const keysBase = sources["server.keys"] === "file" && file !== null ? dirname(file) : cwd;
  const keys = keysValue === undefined ? undefined : isAbsolute(keysValue) ? keysValue : resolve(keysBase, keysValue);
  // So is the health history's file.
  const historyFile = values["health.historyFile"];
  if (typeof historyFile === "string" && !isAbsolute(historyFile)) {
    values["health.historyFile"] = resolve(sources["health.historyFile"] === "file" && file !== null ? dirname(file) : cwd, historyFile);
  }
  return { config: { file, values, sources, sections, limits, keys }, findings };
}

function set(s: Setting, value: unknown, source: SettingSource, values: Record<string, unknown>, sources: Record<string, SettingSource>): void {
  values[s.key] = value;
  sources[s.key] = source;
}

function invalid(s: Setting, where: string, raw: unknown, issue: string): ConfigFinding {
  return {
    code: "CONFIG_INVALID_VALUE",
    severity: "error",
    setting: s.key,
    message: `${where}=${JSON.stringify(raw)} is invalid (${issue})`,
    fix: `allowed: ${s.allowed}`,
  };
}

function readFile(
  data: Record<string, unknown>,
  file: string,
  values: Record<string, unknown>,
  sources: Record<string, SettingSource>,
  sections: Record<string, unknown>,
  findings: ConfigFinding[],
): void {
  const unknown = (key: string): void => {
    findings.push({
      code: "CONFIG_UNKNOWN_KEY",
      severity: "warning",
      setting: key,
      message: `${key} in ${file} is not a contextd setting (a typo?)`,
      fix: "remove it, or spell it as in docs/configuration.md",
    });
  };
  const walk = (obj: Record<string, unknown>, prefix: string): void => {
    for (const [k, v] of Object.entries(obj)) {
      const key = prefix === "" ? k : `${prefix}.${k}`;
      if (prefix === "" && META_KEYS.has(k)) continue;
      const section = prefix === "" ? configSections().get(k) : undefined;
      if (section !== undefined) {
        const r = section.schema.safeParse(v);
        if (r.success) sections[k] = r.data;
        else {
          const issue = r.error.issues[0];
          findings.push({
            code: "CONFIG_INVALID_VALUE",
            severity: "error",
            setting: [k, ...(issue?.path ?? []).map(String)].join("."),
            message: `${k} in ${file} is invalid: ${issue?.message ?? "invalid"}`,
            fix: `see the ${k} section in docs/configuration.md (${section.doc})`,
          });
        }
        continue;
      }
      const s = byKey.get(key);
      if (s !== undefined) {
        const r = parseSetting(s, v, false);
        if (r.ok) set(s, r.value, "file", values, sources);
        else findings.push(invalid(s, key, v, r.issue));
      } else if (isObject(v) && (prefix !== "" || top.has(k))) walk(v, key);
      else unknown(key);
    }
  };
  walk(data, "");
}

const KEY_ID = /^[0-9a-f]{16}$/;
const KEY_HASH = /^[0-9a-f]{64}$/;
const MIN_SECRET_BITS = 128;

/** A rough lower bound of a secret's entropy, bits: its length times the log of its alphabet, capped by Shannon's estimate. */
export function secretBits(secret: string): number {
  if (secret.length === 0) return 0;
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((r) => r.test(secret)).length;
  const alphabet = [0, 26, 52, 62, 94][classes] ?? 94;
  const counts = new Map<string, number>();
  for (const ch of secret) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let shannon = 0;
  for (const n of counts.values()) {
    const p = n / secret.length;
    shannon -= p * Math.log2(p);
  }
  return Math.min(secret.length * Math.log2(alphabet), secret.length * shannon * 1.5);
}

/**
 * The findings of `config` at `level` (the loading findings included, with the severity the
 * level gives them). `keysFile` is the keys file `serve` would use (the default one included).
 */
export function checkConfiguration(
  loaded: { config: ServeConfig; findings: ConfigFinding[] },
  level: ConfigLevel,
  env: Record<string, string | undefined>,
  keysFile: string | undefined = loaded.config.keys,
): ConfigFinding[] {
  const strict = level !== "basic";
  const paranoid = level === "paranoid";
  const { values, sources, limits } = loaded.config;
  const out: ConfigFinding[] = loaded.findings.map((f) =>
    strict && (f.code === "CONFIG_UNKNOWN_KEY" || f.code === "CONFIG_UNKNOWN_VARIABLE") ? { ...f, severity: "error" } : f,
  );
  const add = (severity: "error" | "warning", code: string, setting: string, message: string, fix: string): void => {
    out.push({ code, severity, setting, message, fix });
  };

  // Keys: a named file must exist and be a keys file (every level).
  let keyCount = 0;
  let records: { id?: unknown; hash?: unknown; revokedAt?: unknown }[] = [];
  if (keysFile !== undefined) {
    try {
      const data = JSON.parse(readFileSync(keysFile, "utf8")) as { version?: unknown; keys?: unknown };
      if (data.version !== 1 || !Array.isArray(data.keys)) throw new Error("not a keys file");
      records = data.keys as typeof records;
      keyCount = records.filter((k) => k.revokedAt === null || k.revokedAt === undefined).length;
    } catch (e) {
      const missing = (e as NodeJS.ErrnoException).code === "ENOENT";
      // basic: a missing keys file means no keys (loopback only), as it always did.
      add(
        missing && !strict ? "warning" : "error",
        missing ? "KEYS_FILE_MISSING" : "KEYS_FILE_INVALID",
        "server.keys",
        missing ? `the keys file ${keysFile} does not exist` : `${keysFile} is not a contextd keys file (${(e as Error).message})`,
        `create a key with \`contextd keys create --tenant <t> --scope read,write --keys ${keysFile}\``,
      );
    }
  }
  const host = (values["server.host"] as string | undefined) ?? "127.0.0.1";
  if (keyCount === 0 && !isLoopbackHost(host)) {
    add("error", "KEYS_REQUIRED_BEYOND_LOOPBACK", "server.host", `refusing to listen on ${host} without API keys: anyone who can reach it could read and write every context`, "create a key with `contextd keys create --tenant <t> --scope read,write` and set server.keys (--keys), or listen on 127.0.0.1");
  }

  // An alert rule on the driver layer never fires while driver calls are not timed.
  const rules = (loaded.config.sections["monitor"] as { alerts?: { name?: unknown; labels?: { layer?: unknown } }[] } | undefined)?.alerts ?? [];
  if (values["metrics.driverCalls"] !== "on") {
    for (const rule of rules) {
      if (rule.labels?.layer !== "driver") continue;
      add(
        strict ? "error" : "warning",
        "ALERT_RULE_NEVER_FIRES",
        "metrics.driverCalls",
        `alert rule ${JSON.stringify(rule.name)} watches the driver layer, which is timed only with metrics.driverCalls on`,
        'set metrics.driverCalls to "on" (CONTEXTD_METRICS_DRIVER_CALLS=on), or watch the store layer',
      );
    }
  }

  if (strict) {
    const implausible = (setting: string, message: string, fix: string) => add("error", "LIMIT_IMPLAUSIBLE", setting, message, fix);
    // Only when set: the default event limit under a small body limit is harmless (the body limit bounds it).
    if (sources["server.maxEventBytes"] !== undefined && limits.maxEventBytes > limits.maxBodyBytes) {
      implausible("server.maxEventBytes", `server.maxEventBytes (${limits.maxEventBytes}) is above server.maxBodyBytes (${limits.maxBodyBytes}): no event that large can arrive`, "set it at or below server.maxBodyBytes");
    }
    if (limits.maxBodyBytes < 1024 || limits.maxBodyBytes > 1024 ** 3) {
      implausible("server.maxBodyBytes", `server.maxBodyBytes = ${limits.maxBodyBytes} is outside 1 KiB – 1 GiB`, "use a value from 1024 to 1073741824 (the default is 20 MiB)");
    }
    if (limits.maxEventBytes < 256) implausible("server.maxEventBytes", `server.maxEventBytes = ${limits.maxEventBytes} is below 256 bytes: most events would be refused`, "use at least 256 (the default is 2 MiB)");
    if (limits.requestTimeoutMs < 100 || limits.requestTimeoutMs > 600_000) {
      implausible("server.requestTimeoutMs", `server.requestTimeoutMs = ${limits.requestTimeoutMs} is outside 100 ms – 10 min`, "use a value from 100 to 600000 (the default is 30000)");
    }
    if (limits.heartbeatMs < 1000 || limits.heartbeatMs > 300_000) {
      implausible("server.heartbeatMs", `server.heartbeatMs = ${limits.heartbeatMs} is outside 1 s – 5 min (proxies cut streams idle for about a minute)`, "use a value from 1000 to 300000 (the default is 15000)");
    }
    if (limits.maxBatch > 100_000) implausible("server.maxBatch", `server.maxBatch = ${limits.maxBatch}: one append that large holds its context's lock for long`, "use at most 100000 (the default is 1000)");
    const openMs = (values["circuit.openMs"] as number | undefined) ?? 5000;
    const maxOpenMs = (values["circuit.maxOpenMs"] as number | undefined) ?? 60_000;
    if (maxOpenMs < openMs) implausible("circuit.maxOpenMs", `circuit.maxOpenMs (${maxOpenMs}) is below circuit.openMs (${openMs})`, "set it at or above circuit.openMs");
    const store = values["store"] as string | undefined;
    if (store === "in-memory:" || store === "memory:") {
      add("warning", "STORE_NOT_DURABLE", "store", "the in-memory store loses everything when the process ends", "use sqlite:PATH or postgres://…");
    }
  }

  if (paranoid) {
    if (keyCount === 0) add("error", "KEYS_REQUIRED", "server.keys", "no API keys: every local process can read and write every context", "create a key (`contextd keys create`) and set server.keys");
    if (keysFile !== undefined) {
      try {
        const mode = statSync(keysFile).mode & 0o777;
        if ((mode & 0o077) !== 0) {
          add("error", "KEYS_FILE_MODE", "server.keys", `the keys file ${keysFile} is readable by others (mode ${mode.toString(8)})`, `chmod 600 ${keysFile}`);
        }
      } catch {
        // Missing: reported above.
      }
      for (const k of records) {
        if (typeof k.id !== "string" || !KEY_ID.test(k.id) || typeof k.hash !== "string" || !KEY_HASH.test(k.hash)) {
          add("error", "KEY_NOT_GENERATED", "server.keys", `key ${String(k.id)} in ${keysFile} was not made by \`contextd keys create\` (256 random bits)`, "revoke it and create a new one with `contextd keys create`");
        }
      }
    }
    for (const name of ["CONTEXTD_API_KEY", "CONTEXTD_EMBEDDER_API_KEY"]) {
      const secret = env[name];
      if (secret !== undefined && secret !== "" && secretBits(secret) < MIN_SECRET_BITS) {
        add("error", "SECRET_LOW_ENTROPY", name, `${name} looks guessable (about ${Math.round(secretBits(secret))} bits; at least ${MIN_SECRET_BITS} wanted)`, "use a key made by `contextd keys create` or the service's generated key");
      }
    }
    const store = (values["store"] as string | undefined) ?? "sqlite:";
    if (store.startsWith("sqlite:")) {
      const inUrl = /[?&]synchronous=([^&]*)/i.exec(store)?.[1]?.toUpperCase();
      const sync = inUrl ?? (values["synchronous"] as string | undefined) ?? "NORMAL";
      if (sync !== "FULL") add("error", "SYNCHRONOUS_NOT_FULL", "synchronous", `SQLite runs with synchronous=${sync}: a power loss can lose the last acknowledged writes`, "set synchronous to FULL (CONTEXTD_SYNCHRONOUS=FULL)");
    } else if (/synchronous_commit%3Doff|synchronous_commit=off/i.test(store)) {
      add("error", "SYNCHRONOUS_NOT_FULL", "store", "the store URL turns synchronous_commit off: a crash of PostgreSQL can lose acknowledged writes", "remove synchronous_commit=off from the URL");
    }
    if (sources["server.requestTimeoutMs"] === undefined || limits.requestTimeoutMs > 120_000) {
      add("error", "REQUEST_DEADLINE", "server.requestTimeoutMs", sources["server.requestTimeoutMs"] === undefined ? "no request deadline is set (the default applies)" : `the request deadline ${limits.requestTimeoutMs} ms is above 2 min`, "set server.requestTimeoutMs explicitly, at most 120000");
    }
    if (sources["server.maxBodyBytes"] === undefined || limits.maxBodyBytes > 64 * 1024 ** 2) {
      add("error", "BODY_LIMIT", "server.maxBodyBytes", sources["server.maxBodyBytes"] === undefined ? "no body limit is set (the default applies)" : `the body limit ${limits.maxBodyBytes} is above 64 MiB`, "set server.maxBodyBytes explicitly, at most 67108864");
    }
    const fileStore = sources["store"] === "file" ? (values["store"] as string) : undefined;
    if (fileStore !== undefined && /^[a-z]+:\/\/[^/@]*:[^/@]+@/i.test(fileStore)) {
      add("error", "SECRET_IN_FILE", "store", "the store URL in the configuration file holds a password", "pass the password by PGPASSWORD or ~/.pgpass, or the URL by CONTEXTD_STORE");
    }
    if (limits.rateLimit === null) add("warning", "NO_RATE_LIMIT", "server.rateLimit", "no rate limit: one key can take the whole server", "set server.rateLimit (requests per second per key)");
  }
  return out;
}

/** Formats findings for a terminal or a log, one per line. */
export function formatFindings(findings: readonly ConfigFinding[]): string {
  return findings.map((f) => `${f.severity} ${f.code} ${f.setting}: ${f.message} — fix: ${f.fix}`).join("\n");
}

/** Throws `INVALID_INPUT` listing every error finding at once (details.findings holds them all). */
export function assertConfiguration(findings: readonly ConfigFinding[], level: ConfigLevel): void {
  const errors = findings.filter((f) => f.severity === "error");
  if (errors.length === 0) return;
  throw new ContextError("INVALID_INPUT", `the configuration has ${errors.length} error${errors.length === 1 ? "" : "s"} at level ${level}:\n${formatFindings(findings)}`, {
    details: { level, findings },
  });
}
