/**
 * `contextd serve`: the HTTP API on the embedded default store (or `--store`), until
 * SIGTERM/SIGINT, then a graceful shutdown.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { pino } from "pino";
import type { Level } from "pino";
import { ContextError, createEmbedder, createMonitor, invalidInput, logSink, openStore, storeMetrics, webhookSink } from "../index.js";
import type { Embedder } from "../index.js";
import { fileKeyRing, serve } from "../server/index.js";
import type { KeyRing, ServerLimits } from "../server/index.js";
import { defaultKeysFile } from "./keys-command.js";
import { readConfigFile } from "./config-file.js";
import type { CliIo } from "./output.js";
import { println } from "./output.js";

interface ServeFlags {
  host: string;
  port: string;
  keys?: string;
  logLevel: string;
  rateLimit?: string;
  maxBody?: string;
  timeout?: string;
  embedder: string;
  config?: string;
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
      ...(dimensions !== undefined && { dimensions: positiveInt(dimensions, "CONTEXTD_EMBEDDER_DIMENSIONS") }),
    });
  } catch (e) {
    throw invalidInput("--embedder", `${(e as Error).message}; or "none" for no embedding model`);
  }
}

function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw invalidInput(flag, `must be a non-negative integer, got ${JSON.stringify(text)}`);
  return n;
}

/** Registers `serve`; `started` receives the URL (tests use it). */
export function registerServeCommand(program: Command, io: CliIo, started?: (url: string) => void): void {
  program
    .command("serve")
    .description("serve the HTTP API (OpenAPI at /openapi.json, docs at /docs)")
    .option("--host <host>", "address to listen on; beyond loopback API keys are required", io.env.CONTEXTD_HOST ?? "127.0.0.1")
    .option("--port <port>", "port (0 picks a free one)", io.env.CONTEXTD_PORT ?? "7070")
    .option("--keys <file>", "API keys file (made by `contextd keys create`)")
    .option("--log-level <level>", "fatal, error, warn, info, debug, trace or silent", io.env.CONTEXTD_LOG_LEVEL ?? "info")
    .option("--rate-limit <n>", "requests per second per key (burst 2×); default none")
    .option("--max-body <bytes>", "largest request body")
    .option("--timeout <ms>", "request deadline")
    .option(
      "--embedder <spec>",
      "embedding model of long-term memory: use (Universal Sentence Encoder, offline), hashing[:dims], openai:<model> or none",
      io.env.CONTEXTD_EMBEDDER ?? "use",
    )
    .option("--config <file>", "configuration file (JSON): the performance monitor and its alert rules (docs/observability.md)", io.env.CONTEXTD_CONFIG)
    .action(async (flags: ServeFlags, command: Command) => {
      const global = command.optsWithGlobals<{ store?: string }>();
      const levels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
      if (!levels.includes(flags.logLevel)) throw invalidInput("--log-level", `use one of ${levels.join(", ")}`);
      const port = positiveInt(flags.port, "--port");
      if (port > 65_535) throw invalidInput("--port", `must be from 0 to 65535 (0 picks a free one), got ${flags.port}`);
      const limits: Partial<ServerLimits> = {};
      if (flags.rateLimit !== undefined) {
        const n = positiveInt(flags.rateLimit, "--rate-limit");
        limits.rateLimit = { perSecond: n, burst: n * 2 };
      }
      if (flags.maxBody !== undefined) limits.maxBodyBytes = positiveInt(flags.maxBody, "--max-body");
      if (flags.timeout !== undefined) limits.requestTimeoutMs = positiveInt(flags.timeout, "--timeout");

      // An explicit keys file must exist; the default one is used when present.
      const keysPath = flags.keys ?? io.env.CONTEXTD_KEYS ?? (existsSync(defaultKeysFile(io.env)) ? defaultKeysFile(io.env) : undefined);
      if (flags.keys !== undefined && !existsSync(flags.keys)) {
        throw new ContextError("INVALID_INPUT", `keys file ${flags.keys} does not exist: create a key with \`contextd keys create --tenant <t> --keys ${flags.keys}\``);
      }
      const keys: KeyRing | null = keysPath === undefined ? null : fileKeyRing(keysPath);
      // Checked before anything opens: a bad file stops the start with all its problems.
      const config = flags.config === undefined ? {} : readConfigFile(flags.config);

      // Written asynchronously: lines queue while a write is in flight (no delay when idle) instead
      // of one blocking write per request; pino flushes what is queued when the process exits.
      const logger = pino({ name: "contextd", level: flags.logLevel as Level }, pino.destination({ dest: 1, sync: false }));
      const embedder = embedderOption(flags.embedder, io.env);
      const storeUrl = global.store ?? io.env.CONTEXTD_STORE;
      // The model loads on the first request that embeds, not at start.
      const store = storeUrl ? await openStore(storeUrl, { embedder }) : await openStore({ embedder });
      const metrics = storeMetrics(store);
      const m = config.monitor;
      const monitor =
        metrics === undefined
          ? undefined
          : createMonitor(metrics, {
              ...(m?.windowMs !== undefined && { windowMs: m.windowMs }),
              ...(m?.retentionMs !== undefined && { retentionMs: m.retentionMs }),
              rules: m?.alerts ?? [],
              sinks: [logSink(logger), ...(m?.webhooks ?? []).map((w) => webhookSink(w))],
            });
      let running;
      try {
        running = await serve({ store, keys, host: flags.host, port, logger, limits, handleSignals: true, ...(monitor && { monitor }) });
      } catch (e) {
        monitor?.close();
        await store.close();
        throw e;
      }
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
