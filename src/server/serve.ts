/**
 * `serve()`: binds the contextd app to a port, refuses to listen beyond loopback without
 * API keys, and shuts down gracefully (stop accepting, finish requests in flight, end
 * event streams, close the store).
 */
import type { AddressInfo } from "node:net";
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import { getRequestListener } from "@hono/node-server";
import { pino } from "pino";
import type { Logger } from "pino";
import { ContextError } from "../index.js";
import type { ContextStore, Monitor } from "../index.js";
import { createApp, fastAppendListener } from "./app.js";
import type { ServerLimits } from "./limits.js";
import type { KeyRing } from "./keys.js";
import type { ServerMetrics } from "./metrics.js";
import { createHealthHistory } from "./health-history.js";
import type { HealthHistory } from "./health-history.js";

/** Options of {@link serve}. */
export interface ServeOptions {
  store: ContextStore;
  /** API keys; without any, only a loopback host is allowed. */
  keys?: KeyRing | null;
  /** @default "127.0.0.1" */
  host?: string;
  /** 0 picks a free port. @default 7070 */
  port?: number;
  logger?: Logger;
  limits?: Partial<ServerLimits>;
  /** Close the store on shutdown. @default true */
  closeStore?: boolean;
  /** How long shutdown waits for requests in flight before cutting connections, ms. @default 10000 */
  shutdownGraceMs?: number;
  /** Shut down on SIGTERM and SIGINT. @default false */
  handleSignals?: boolean;
  /** The metrics of the app (`createApp`'s `metrics`): `false` for none, no `/metrics`. */
  metrics?: ServerMetrics | false;
  /** The performance monitor of `/v1/monitor` (`createApp`'s `monitor`). */
  monitor?: Monitor | false;
  /** The health history (`createApp`'s `healthHistory`); closed on shutdown. */
  healthHistory?: HealthHistory;
  /** Takes a health report into the history this often, ms (`createApp`'s `healthIntervalMs`). @default 0 */
  healthIntervalMs?: number;
}

/** What {@link RunningServer.reconfigure} changes. */
export interface ServerReconfiguration {
  /** New API keys (`null`: none, allowed on loopback only); leave out to keep them. */
  keys?: KeyRing | null;
  /** New limits (in full: fields left out take their defaults); leave out to keep them. */
  limits?: Partial<ServerLimits>;
}

/** A listening server. */
export interface RunningServer extends AsyncDisposable {
  /** `http://host:port`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Requests being handled right now (open event streams included). */
  readonly inFlight: number;
  /**
   * Serves new requests with new keys and limits (a configuration reload). Requests in flight
   * and open event streams finish with the old ones.
   * @throws `FORBIDDEN` when the keys would leave a non-loopback server without any
   */
  reconfigure(change: ServerReconfiguration): void;
  /** Graceful shutdown; safe to call twice. */
  close(): Promise<void>;
  /** Settles when the server has shut down. */
  readonly closed: Promise<void>;
}

/** True for hosts that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127(?:\.\d{1,3}){3}$/.test(h) || h === "::ffff:127.0.0.1";
}

/** Why the server cannot listen, in contextd's terms (the native error is the cause). */
function listenError(e: Error, host: string, port: number): ContextError {
  const code = (e as NodeJS.ErrnoException).code;
  const details = { host, port, nativeCode: code ?? null };
  const where = `${host}:${port}`;
  if (code === "EADDRINUSE") {
    return new ContextError("ALREADY_EXISTS", `${where} is already in use: stop what listens there, or pick another port (--port, 0 picks a free one)`, {
      cause: e,
      details,
    });
  }
  if (code === "EACCES") {
    return new ContextError("FORBIDDEN", `not allowed to listen on ${where} (ports below 1024 need privileges): pick a port from 1024 up`, { cause: e, details });
  }
  if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND" || code === "EAI_AGAIN") {
    return new ContextError("INVALID_INPUT", `cannot listen on ${where}: ${host} is not an address of this machine`, { cause: e, details });
  }
  return new ContextError("INTERNAL", `cannot listen on ${where}: ${e.message}`, { cause: e, details });
}

/**
 * Starts the contextd HTTP server.
 *
 * @throws `FORBIDDEN` when asked to listen beyond loopback without API keys, or on a port that needs privileges
 * @throws `INVALID_INPUT` for a port outside 0–65535 or a host that is not an address of this machine
 * @throws `ALREADY_EXISTS` when the port is in use
 * @example
 * ```ts
 * const server = await serve({ store: await openStore(), port: 0 });
 * console.log(server.url);
 * await server.close();
 * ```
 */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  const host = options.host ?? "127.0.0.1";
  // A key ring without any key at start means no auth, like no ring at all.
  const keys = options.keys && options.keys.size > 0 ? options.keys : null;
  if (keys === null && !isLoopbackHost(host)) {
    throw new ContextError(
      "FORBIDDEN",
      `refusing to listen on ${host} without API keys: anyone who can reach it could read and write every context. ` +
        "Create a key with `contextd keys create --tenant <t> --scope read,write` and pass --keys <file>, or listen on 127.0.0.1.",
      { details: { host } },
    );
  }
  const logger = options.logger ?? pino({ name: "contextd" });
  const shutdown = new AbortController();
  const healthHistory = options.healthHistory ?? createHealthHistory();
  let currentKeys = keys;
  let currentLimits = options.limits;
  const listenerOf = (k: KeyRing | null, limits: Partial<ServerLimits> | undefined) => {
    const app = createApp({
      store: options.store,
      keys: k,
      logger,
      shutdownSignal: shutdown.signal,
      ...(limits && { limits }),
      ...(options.metrics !== undefined && { metrics: options.metrics }),
      ...(options.monitor !== undefined && { monitor: options.monitor }),
      // One history across reloads (a new app replaces the schedule, not the history).
      healthHistory,
      ...(options.healthIntervalMs !== undefined && { healthIntervalMs: options.healthIntervalMs }),
    });
    // Plain appends are served straight from Node (fast-append.ts); everything else by hono.
    const fastAppend = fastAppendListener(app);
    const honoListener = getRequestListener(app.fetch, { hostname: host });
    return (req: IncomingMessage, res: ServerResponse) => {
      if (!fastAppend(req, res)) void honoListener(req, res);
    };
  };
  let listener = listenerOf(keys, currentLimits);
  const server = createServer((req, res) => listener(req, res));

  let inFlight = 0;
  let closing = false;
  server.on("request", (_req, res) => {
    inFlight++;
    if (closing) res.setHeader("Connection", "close");
    res.once("close", () => {
      inFlight--;
      if (closing) server.closeIdleConnections();
    });
  });

  const port = options.port ?? 7070;
  if (!Number.isSafeInteger(port) || port < 0 || port > 65_535) {
    throw new ContextError("INVALID_INPUT", `port: must be a whole number from 0 to 65535 (0 picks a free one), got ${String(port)}`, {
      details: { field: "port", value: String(port) },
    });
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e) => reject(listenError(e, host, port)));
    server.listen(port, host, () => {
      server.removeAllListeners("error");
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${urlHost}:${address.port}`;

  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let closePromise: Promise<void> | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, "shutting down");
    void close();
  };

  const close = (): Promise<void> => {
    closePromise ??= (async () => {
      closing = true;
      if (options.handleSignals) {
        process.off("SIGTERM", onSignal);
        process.off("SIGINT", onSignal);
      }
      const stopped = new Promise<void>((r) => server.close(() => r()));
      // Event streams never finish on their own: end them.
      shutdown.abort();
      server.closeIdleConnections();
      const grace = setTimeout(() => server.closeAllConnections(), options.shutdownGraceMs ?? 10_000);
      grace.unref();
      await stopped;
      clearTimeout(grace);
      healthHistory.close();
      if (options.closeStore ?? true) await options.store.close();
      logger.info("stopped");
      resolveClosed();
    })();
    return closePromise;
  };

  if (options.handleSignals) {
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  }
  logger.info({ url, auth: keys !== null }, "listening");
  return {
    url,
    host,
    port: address.port,
    get inFlight() {
      return inFlight;
    },
    reconfigure(change) {
      const k = change.keys === undefined ? currentKeys : change.keys && change.keys.size > 0 ? change.keys : null;
      if (k === null && !isLoopbackHost(host)) {
        throw new ContextError("FORBIDDEN", `refusing to serve ${host} without API keys`, { details: { host } });
      }
      const limits = change.limits === undefined ? currentLimits : change.limits;
      listener = listenerOf(k, limits);
      currentKeys = k;
      currentLimits = limits;
    },
    close,
    closed,
    [Symbol.asyncDispose]: close,
  };
}
