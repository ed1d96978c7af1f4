/**
 * `contextd serve`: the HTTP API on the embedded default store (or `--store`), until
 * SIGTERM/SIGINT, then a graceful shutdown. Its configuration (file, `CONTEXTD_*` variables,
 * flags) is checked at a level before it starts and again on each SIGHUP reload.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { pino } from "pino";
import type { Level, Logger } from "pino";
import { circuitEmbedder, ContextError, createEmbedder, createMonitor, invalidInput, logSink, onCircuitTransition, openStore, registerConfigSection, SETTINGS, storeMetrics, webhookSink } from "../index.js";
import type { Embedder, MonitorOptions } from "../index.js";
import {
  assertConfiguration,
  checkConfiguration,
  CONFIG_LEVELS,
  createHealthHistory,
  defaultHealthHistoryFile,
  fileKeyRing,
  formatFindings,
  loadServeConfig,
  serve,
} from "../server/index.js";
import type { ConfigFinding, ConfigLevel, KeyRing, RunningServer } from "../server/index.js";
import { defaultKeysFile } from "./keys-command.js";
import { MonitorSection, monitorSettings } from "./config-file.js";
import type { CliIo } from "./output.js";
import { println } from "./output.js";
import { integerFlag } from "./flags.js";

interface ServeFlags {
  config?: string;
  configLevel?: string;
  host?: string;
  port?: string;
  keys?: string;
  logLevel?: string;
  rateLimit?: string;
  maxBody?: string;
  timeout?: string;
  embedder?: string;
}

// The monitor's section of the configuration file: its alert rules and webhooks (docs/observability.md).
registerConfigSection("monitor", { schema: MonitorSection, doc: "the performance monitor: window, retention, alert rules and webhooks (docs/observability.md)" });

/** The monitor's options from the file's `monitor` section: its rules, the log and its webhooks as sinks. */
function monitorOptions(section: unknown, logger: Logger): MonitorOptions {
  const m = monitorSettings(section);
  return {
    ...(m.windowMs !== undefined && { windowMs: m.windowMs }),
    ...(m.retentionMs !== undefined && { retentionMs: m.retentionMs }),
    rules: m.alerts,
    sinks: [logSink(logger), ...m.webhooks.map((w) => webhookSink(w))],
  };
}

/**
 * The embedder `--embedder` names: `use`, `hashing[:dims]`, `openai:<model>` (service from
 * CONTEXTD_EMBEDDER_URL, key from CONTEXTD_EMBEDDER_API_KEY or OPENAI_API_KEY, length from
 * CONTEXTD_EMBEDDER_DIMENSIONS) or `none`.
 */
export function embedderOption(spec: string, env: Record<string, string | undefined>): Embedder | null {
  if (spec === "none") return null;
  const dimensions = env.CONTEXTD_EMBEDDER_DIMENSIONS;
  const apiKey = env.CONTEXTD_EMBEDDER_API_KEY ?? env.OPENAI_API_KEY;
  try {
    return createEmbedder(spec, {
      ...(env.CONTEXTD_EMBEDDER_URL !== undefined && { baseURL: env.CONTEXTD_EMBEDDER_URL }),
      ...(apiKey !== undefined && { apiKey }),
      ...(dimensions !== undefined && { dimensions: integerFlag(dimensions, "CONTEXTD_EMBEDDER_DIMENSIONS") }),
    });
  } catch (e) {
    throw invalidInput("--embedder", `${(e as Error).message}; or "none" for no embedding model`);
  }
}

function parseLevel(text: string): ConfigLevel {
  if (!(CONFIG_LEVELS as readonly string[]).includes(text)) throw invalidInput("--config-level", `use one of ${CONFIG_LEVELS.join(", ")}, got ${JSON.stringify(text)}`);
  return text as ConfigLevel;
}

/** The configuration `serve` runs with: loaded, checked at `level`, and the keys file it uses. */
export function readServeConfiguration(
  io: Pick<CliIo, "env">,
  file: string | undefined,
  flags: Record<string, string | undefined>,
  level: ConfigLevel,
): { loaded: ReturnType<typeof loadServeConfig>; keysPath: string | undefined; findings: ConfigFinding[] } {
  const loaded = loadServeConfig({ file, env: io.env, flags });
  // The default keys file is used when present.
  const keysPath = loaded.config.keys ?? (existsSync(defaultKeysFile(io.env)) ? defaultKeysFile(io.env) : undefined);
  return { loaded, keysPath, findings: checkConfiguration(loaded, level, io.env, keysPath) };
}

/**
 * Throws when `findings` hold an error: a single error as its own line, several as one
 * finding per line on stderr followed by the summary.
 */
function refuseOnErrors(findings: ConfigFinding[], level: ConfigLevel, io: CliIo): void {
  const errors = findings.filter((f) => f.severity === "error");
  if (errors.length === 0) return;
  const [only] = errors;
  if (errors.length === 1 && only !== undefined) {
    throw new ContextError("INVALID_INPUT", `${only.message}. Fix: ${only.fix} (${only.code}, ${only.setting})`, { details: { level, findings } });
  }
  println(io.stderr, formatFindings(findings));
  assertConfiguration(findings, level);
}

/** Registers `serve`; `started` receives the URL (tests use it). */
export function registerServeCommand(program: Command, io: CliIo, started?: (url: string) => void): void {
  program
    .command("serve")
    .description("serve the HTTP API (OpenAPI at /openapi.json, docs at /docs)")
    .option("--config <file>", "configuration file, JSON (docs/configuration.md) [env CONTEXTD_CONFIG]; reloaded on SIGHUP")
    .option("--config-level <level>", "check the configuration at level basic, strict or paranoid [env CONTEXTD_CONFIG_LEVEL]")
    .option("--host <host>", "address to listen on; beyond loopback API keys are required (default 127.0.0.1) [env CONTEXTD_HOST]")
    .option("--port <port>", "port, 0 picks a free one (default 7070) [env CONTEXTD_PORT]")
    .option("--keys <file>", "API keys file (made by `contextd keys create`) [env CONTEXTD_KEYS]")
    .option("--log-level <level>", "fatal, error, warn, info, debug, trace or silent (default info) [env CONTEXTD_LOG_LEVEL]")
    .option("--rate-limit <n>", "requests per second per key (burst 2×); default none")
    .option("--max-body <bytes>", "largest request body")
    .option("--timeout <ms>", "request deadline")
    .option(
      "--embedder <spec>",
      "embedding model of long-term memory: use (Universal Sentence Encoder, offline), hashing[:dims], openai:<model> or none [env CONTEXTD_EMBEDDER]",
    )
    .action(async (flags: ServeFlags, command: Command) => {
      const global = command.optsWithGlobals<{ store?: string }>();
      const levels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
      // Flags first, with their own messages; then the whole configuration.
      if (flags.logLevel !== undefined && !levels.includes(flags.logLevel)) throw invalidInput("--log-level", `use one of ${levels.join(", ")}`);
      if (flags.port !== undefined) {
        const port = integerFlag(flags.port, "--port");
        if (port > 65_535) throw invalidInput("--port", `must be from 0 to 65535 (0 picks a free one), got ${flags.port}`);
      }
      if (flags.rateLimit !== undefined) integerFlag(flags.rateLimit, "--rate-limit");
      if (flags.maxBody !== undefined) integerFlag(flags.maxBody, "--max-body");
      if (flags.timeout !== undefined) integerFlag(flags.timeout, "--timeout");
      if (flags.keys !== undefined && !existsSync(flags.keys)) {
        throw new ContextError("INVALID_INPUT", `keys file ${flags.keys} does not exist: create a key with \`contextd keys create --tenant <t> --keys ${flags.keys}\``);
      }
      if (flags.embedder !== undefined) embedderOption(flags.embedder, io.env);
      const level = parseLevel(flags.configLevel ?? io.env.CONTEXTD_CONFIG_LEVEL ?? "basic");
      const file = flags.config;
      const flagValues: Record<string, string | undefined> = {
        store: global.store,
        logLevel: flags.logLevel,
        embedder: flags.embedder,
        "server.host": flags.host,
        "server.port": flags.port,
        "server.keys": flags.keys,
        "server.rateLimit": flags.rateLimit,
        "server.maxBodyBytes": flags.maxBody,
        "server.requestTimeoutMs": flags.timeout,
      };
      let current = readServeConfiguration(io, file, flagValues, level);
      refuseOnErrors(current.findings, level, io);
      const values = current.loaded.config.values;
      const keysPath = current.keysPath;
      const keys: KeyRing | null = keysPath === undefined ? null : fileKeyRing(keysPath);

      // Written asynchronously: lines queue while a write is in flight (no delay when idle) instead
      // of one blocking write per request; pino flushes what is queued when the process exits.
      const logger = pino({ name: "contextd", level: (values["logLevel"] as Level | undefined) ?? "info" }, pino.destination({ dest: 1, sync: false }));
      for (const f of current.findings) logger.warn({ finding: f, level }, `configuration: ${f.code} ${f.setting}: ${f.message}`);
      const circuit = {
        ...(values["circuit.failureThreshold"] !== undefined && { failureThreshold: values["circuit.failureThreshold"] as number }),
        ...(values["circuit.openMs"] !== undefined && { openMs: values["circuit.openMs"] as number }),
        ...(values["circuit.maxOpenMs"] !== undefined && { maxOpenMs: values["circuit.maxOpenMs"] as number }),
      };
      // Every transition of every circuit breaker (PostgreSQL, Redis, the embedder) is logged.
      const offCircuits = onCircuitTransition((t) => {
        const line = { circuit: t.circuit, backend: t.backend, from: t.from, to: t.to, failures: t.failures, reason: t.reason };
        if (t.to === "open") logger.warn(line, `circuit ${t.circuit} open: calls fail fast until a probe succeeds`);
        else logger.info(line, `circuit ${t.circuit} ${t.to}`);
      });
      const model = embedderOption((values["embedder"] as string | undefined) ?? "use", io.env);
      const embedder = model === null ? null : circuitEmbedder(model, circuit);
      const storeUrl = values["store"] as string | undefined;
      const synchronous = values["synchronous"] as "NORMAL" | "FULL" | undefined;
      const dataDir = values["dataDir"] as string | undefined;
      // The model loads on the first request that embeds, not at start.
      const store = await openStore({
        ...(storeUrl !== undefined && { url: storeUrl }),
        ...(dataDir !== undefined && { dataDir }),
        ...(synchronous !== undefined && { synchronous }),
        circuit,
        embedder,
        metrics: { driverCalls: values["metrics.driverCalls"] === "on" },
      }).catch((e: unknown) => {
        offCircuits();
        throw e;
      });
      // The health history: beside a SQLite file (or health.historyFile), else in memory.
      const historyFile = (values["health.historyFile"] as string | undefined) ?? defaultHealthHistoryFile(await store.health({ signal: AbortSignal.timeout(10_000) }).catch(() => ({ driver: "", details: {} })));
      const healthHistory = createHealthHistory({
        file: historyFile,
        ...(values["health.historySize"] !== undefined && { maxReports: values["health.historySize"] as number }),
        onError: (err) => logger.warn({ err, file: historyFile }, "health history: cannot read or write its file; it goes on in memory"),
      });
      const metrics = storeMetrics(store);
      const monitor = metrics === undefined ? undefined : createMonitor(metrics, monitorOptions(current.loaded.config.sections["monitor"], logger));
      let running: RunningServer;
      try {
        running = await serve({
          store,
          keys,
          host: (values["server.host"] as string | undefined) ?? "127.0.0.1",
          port: (values["server.port"] as number | undefined) ?? 7070,
          logger,
          limits: current.loaded.config.limits,
          ...(values["server.shutdownGraceMs"] !== undefined && { shutdownGraceMs: values["server.shutdownGraceMs"] as number }),
          handleSignals: true,
          ...(monitor && { monitor }),
          healthHistory,
          healthIntervalMs: (values["health.intervalMs"] as number | undefined) ?? 300_000,
        });
      } catch (e) {
        offCircuits();
        monitor?.close();
        await store.close();
        throw e;
      }

      // SIGHUP: read the configuration again, check it at the same level; apply it only if it
      // has no error (else the running one stays in force and the findings are logged).
      const onHangup = (): void => {
        const next = readServeConfiguration(io, file, flagValues, level);
        const errors = next.findings.filter((f) => f.severity === "error");
        if (errors.length > 0) {
          logger.error({ level, file: next.loaded.config.file, findings: next.findings }, "configuration reload refused; the running configuration stays in force");
          return;
        }
        const before = current.loaded.config.values;
        const after = next.loaded.config.values;
        for (const s of SETTINGS) {
          if (s.apply === "restart" && JSON.stringify(before[s.key]) !== JSON.stringify(after[s.key])) {
            logger.warn({ setting: s.key }, `configuration: ${s.key} changed; it takes effect at the next restart`);
          }
        }
        try {
          running.reconfigure({ keys: next.keysPath === undefined ? null : fileKeyRing(next.keysPath), limits: next.loaded.config.limits });
        } catch (e) {
          logger.error({ err: e }, "configuration reload refused; the running configuration stays in force");
          return;
        }
        logger.level = (after["logLevel"] as Level | undefined) ?? "info";
        for (const f of next.findings) logger.warn({ finding: f, level }, `configuration: ${f.code} ${f.setting}: ${f.message}`);
        current = next;
        logger.info({ level, file: next.loaded.config.file, limits: next.loaded.config.limits, keys: next.keysPath ?? null }, "configuration reloaded");
      };
      process.on("SIGHUP", onHangup);
      void running.closed.then(() => {
        process.off("SIGHUP", onHangup);
        offCircuits();
      });

      const auth =
        keysPath === undefined
          ? "no API keys (loopback only)"
          : keys !== null && keys.size > 0
            ? `requires an API key: ${keys.size} key${keys.size === 1 ? "" : "s"} loaded from ${resolve(keysPath)}`
            : `no API keys in ${resolve(keysPath)} (loopback only)`;
      println(io.stdout, `contextd listening on ${running.url} (${storeUrl ?? "sqlite:./.contextd/contextd.db"}; ${auth})`);
      println(io.stdout, `API docs: ${running.url}/docs`);
      started?.(running.url);
      await running.closed;
      monitor?.close();
    });
}
