/**
 * The contextd HTTP app: a hono app over a {@link ContextStore}, independent of any port
 * (tests call it with `app.request()`; {@link serve} binds it).
 */
import { performance } from "node:perf_hooks";
import { setMaxListeners } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { pino } from "pino";
import type { Logger } from "pino";
import { ContextError, createMonitor, storeMetrics } from "../index.js";
import type { ContextStore, Monitor } from "../index.js";
import { mountApiDocs } from "./api-docs.js";
import { nodeBody, responseHeader, tooLarge } from "./node-body.js";
import { DEFAULT_SERVER_LIMITS } from "./limits.js";
import type { AppEnv } from "./app-env.js";
import type { ServerLimits } from "./limits.js";
import { toErrorResponse, validationError } from "./error-status.js";
import { healthReport } from "./health-report.js";
import { createFastAppend } from "./fast-append.js";
import { createGate } from "./gate.js";
import { createServerMetrics } from "./metrics.js";
import type { ServerMetrics } from "./metrics.js";
import { registerMetricsRoutes } from "./routes/metrics.js";
import { registerMonitorRoutes } from "./routes/monitor.js";
import { registerHealthRoutes } from "./routes/health.js";
import { createHealthHistory } from "./health-history.js";
import type { HealthHistory } from "./health-history.js";
import type { Gate } from "./gate.js";
import type { KeyRing } from "./keys.js";
import { registerContextRoutes } from "./routes/contexts.js";
import { registerEventRoutes } from "./routes/events.js";
import { registerActiveContextRoutes } from "./routes/active-context.js";
import { registerLeaseRoutes } from "./routes/leases.js";
import { registerMemoryRoutes } from "./routes/memories.js";
import { registerBlockRoutes } from "./routes/blocks.js";
import { registerSearchRoutes } from "./routes/search.js";
import { registerSnapshotRoutes } from "./routes/snapshots.js";
import { registerStateRoutes } from "./routes/state.js";
import { registerStateSchemaRoutes } from "./routes/state-schemas.js";
import { registerSystemRoutes } from "./routes/system.js";
import { registerUsageRoutes } from "./routes/usage.js";
import { registerWindowRoutes } from "./routes/window.js";

/** Options of {@link createApp}. */
export interface AppOptions {
  /** The store every request acts on (seen per request through `withTenant`). */
  store: ContextStore;
  /**
   * The API keys to accept. Without (`undefined`/`null`) the app requires no auth and every
   * request acts in tenant `default` (or the `X-Contextd-Tenant` it names): only for loopback.
   */
  keys?: KeyRing | null;
  /** Request and error log. @default pino at level info on stdout */
  logger?: Logger;
  limits?: Partial<ServerLimits>;
  /** When it fires, open event streams end (graceful shutdown). */
  shutdownSignal?: AbortSignal;
  /** The OpenAPI document's `servers`. */
  serverUrl?: string;
  /**
   * The metrics `/metrics` exposes (HTTP, SSE, process, and the store's own); `false`: no
   * HTTP metrics and no `/metrics` route.
   * @default made for this app with `createServerMetrics(store)`
   */
  metrics?: ServerMetrics | false;
  /**
   * The performance monitor behind `/v1/monitor` and `/v1/alerts`.
   * @default one with 10 s windows kept 1 h and no alert rules, when the store has metrics
   *   (stopped when `shutdownSignal` fires); `false` for none
   */
  monitor?: Monitor | false;
  /**
   * The history `/v1/health/report` records into and `/v1/health/history` lists.
   * @default one in memory, made for this app (`serve` passes one with a file)
   */
  healthHistory?: HealthHistory;
  /**
   * Takes a health report this often (ms) into the history, besides one per request of
   * `/v1/health/report`; 0 for none. The schedule is the history's (one per history: an app
   * made later with the same history replaces it) and stops when `shutdownSignal` fires.
   * @default 0
   */
  healthIntervalMs?: number;
}

/** The gate of each app, for the Node fast path (see {@link fastAppendListener}). */
const gates = new WeakMap<object, Gate>();

/**
 * Creates the contextd HTTP app.
 *
 * @example
 * ```ts
 * const app = createApp({ store: await openStore("in-memory:") });
 * const res = await app.request("/v1/contexts", { method: "POST" });
 * ```
 */
export function createApp(options: AppOptions): OpenAPIHono<AppEnv> {
  const limits: ServerLimits = { ...DEFAULT_SERVER_LIMITS, ...options.limits };
  const logger = options.logger ?? pino({ name: "contextd" });
  const keys = options.keys ?? null;
  const shutdownSignal = options.shutdownSignal ?? new AbortController().signal;
  // Every open event stream listens for shutdown.
  setMaxListeners(0, shutdownSignal);
  const metrics = options.metrics === false ? undefined : (options.metrics ?? createServerMetrics(options.store));
  const gate = createGate({ store: options.store, keys, logger, limits, metrics });
  // Bodies over the limit are 413, bodies that are not UTF-8 400; on Node the body is read
  // without building a fetch Request. Called by each route's scope check (routes/common.ts),
  // after authentication, so that no body is read for a request that is refused anyway.
  const readBody = nodeBody(limits.maxBodyBytes, bodyLimit({ maxSize: limits.maxBodyBytes, onError: (c) => tooLarge(c, limits.maxBodyBytes) }));

  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error.issues, result.target);
      return undefined;
    },
  });

  app.onError((err, c) => {
    const { status, body, unexpected } = toErrorResponse(err);
    c.set("errorCode", body.code);
    if (unexpected) logger.error({ err, reqId: c.get("requestId") }, "request failed");
    return c.json(body, status as 400);
  });
  app.notFound((c) => (c.set("errorCode", "NOT_FOUND"), c).json({ code: "NOT_FOUND", message: `no route ${c.req.method} ${c.req.path}`, details: {} }, 404));

  // Request id and the request log.
  app.use("*", async (c, next) => {
    const startedAt = performance.now();
    const reqId = gate.requestId(c.req.header("x-request-id"));
    c.set("requestId", reqId);
    responseHeader(c, "X-Request-Id", reqId);
    if (logger.isLevelEnabled("debug")) logger.debug({ reqId, method: c.req.method, path: c.req.path }, "request");
    await next();
    gate.log({
      reqId,
      tenant: c.get("tenant") ?? null,
      method: c.req.method,
      route: c.req.routePath,
      status: c.res.status,
      startedAt,
      errorCode: c.get("errorCode"),
    });
  });

  // Authentication, tenant, rate limit and the request deadline, from the headers alone.
  app.use("/v1/*", async (c, next) => {
    const admission = gate.admit(
      (name) => c.req.header(name),
      (seconds) => c.header("Retry-After", String(seconds)),
    );
    c.set("key", admission.key);
    c.set("tenant", admission.tenant);
    c.set("store", admission.store);
    responseHeader(c, "X-Contextd-Tenant", admission.tenant);
    c.set("signal", admission.signal);
    c.set("readBody", readBody);
    await next();
  });


  registerSystemRoutes(app, options.store);
  if (metrics !== undefined) registerMetricsRoutes(app, { gate, metrics });
  const own = storeMetrics(options.store);
  let monitor = options.monitor === false ? undefined : options.monitor;
  if (options.monitor === undefined && own !== undefined) {
    const made = createMonitor(own);
    shutdownSignal.addEventListener("abort", () => made.close(), { once: true });
    monitor = made;
  }
  if (monitor !== undefined) registerMonitorRoutes(app, monitor);
  const health = { store: options.store, monitor, limits, auth: keys !== null };
  const healthHistory = options.healthHistory ?? createHealthHistory();
  registerHealthRoutes(app, { ...health, history: healthHistory });
  if ((options.healthIntervalMs ?? 0) > 0) {
    healthHistory.schedule(options.healthIntervalMs ?? 0, () => healthReport(health));
    shutdownSignal.addEventListener("abort", () => healthHistory.close(), { once: true });
  }
  registerContextRoutes(app);
  registerStateRoutes(app);
  registerEventRoutes(app, { limits, shutdownSignal, ...(metrics !== undefined && { metrics }) });
  registerSnapshotRoutes(app);
  registerLeaseRoutes(app, limits);
  registerActiveContextRoutes(app);
  registerStateSchemaRoutes(app);
  registerUsageRoutes(app);
  registerWindowRoutes(app);
  registerSearchRoutes(app);
  registerMemoryRoutes(app);
  registerBlockRoutes(app);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "An API key made with `contextd keys create`. Not needed when the server runs without keys (loopback only).",
  });
  let document: unknown = null;
  app.get("/openapi.json", (c) => {
    document ??= app.getOpenAPI31Document({
      openapi: "3.1.0",
      info: {
        title: "contextd",
        version: "1",
        license: { name: "MIT", url: "https://opensource.org/license/mit" },
        description:
          "Context management for AI applications and agents. Errors are `{ code, message, details }`. " +
          "Send `X-Contextd-Tenant` to pick a tenant with a `*` admin key (or without keys, on loopback).",
      },
      // Without a configured URL, the server the document was read from.
      servers: [{ url: options.serverUrl ?? "/", description: options.serverUrl ? "This server" : "The server that serves this document" }],
    });
    return c.json(document as Record<string, unknown>);
  });
  mountApiDocs(app);
  app.get("/", (c) => c.json({ name: "contextd", docs: "/docs", openapi: "/openapi.json", health: "/healthz" }));
  gates.set(app, gate);
  return app;
}

/**
 * The Node request listener that serves plain appends of `app` directly (see
 * `fast-append.ts`) and returns false for every other request, which then goes to hono.
 */
export function fastAppendListener(app: OpenAPIHono<AppEnv>): (req: IncomingMessage, res: ServerResponse) => boolean {
  const gate = gates.get(app);
  if (gate === undefined) throw new ContextError("INTERNAL", "not an app made by createApp");
  return createFastAppend(gate);
}
