/**
 * The contextd HTTP app: a hono app over a {@link ContextStore}, independent of any port
 * (tests call it with `app.request()`; {@link serve} binds it).
 */
import { setMaxListeners } from "node:events";
import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { pino } from "pino";
import type { Logger } from "pino";
import { ContextError } from "../index.js";
import type { ContextStore } from "../index.js";
import { mountApiDocs } from "./api-docs.js";
import { nodeBody, responseHeader, tooLarge } from "./node-body.js";
import { DEFAULT_SERVER_LIMITS } from "./env.js";
import type { AppEnv, ServerLimits } from "./env.js";
import { toErrorResponse } from "./error-status.js";
import type { ApiKeyRecord, KeyRing } from "./keys.js";
import { createRateLimiter } from "./rate-limit.js";
import { registerContextRoutes } from "./routes/contexts.js";
import { registerEventRoutes } from "./routes/events.js";
import { registerHolderRoutes } from "./routes/holders.js";
import { registerLeaseRoutes } from "./routes/leases.js";
import { registerSearchRoutes } from "./routes/search.js";
import { registerSnapshotRoutes } from "./routes/snapshots.js";
import { registerStateRoutes } from "./routes/state.js";
import { registerStateSchemaRoutes } from "./routes/state-schemas.js";
import { registerSystemRoutes } from "./routes/system.js";
import { registerUsageRoutes } from "./routes/usage.js";

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
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const TENANT_HEADER = "x-contextd-tenant";

/**
 * Creates the contextd HTTP app.
 *
 * @example
 * ```ts
 * const app = createApp({ store: await openStore("memory:") });
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
  const limiter = limits.rateLimit ? createRateLimiter(limits.rateLimit) : null;
  const bootId = Date.now().toString(36);
  let counter = 0;

  // Requests share one deadline signal per 100 ms slot: an AbortController and a timer per
  // request cost more than the rest of a small request. A deadline fires 0–100 ms late.
  let slot = -1;
  let slotSignal: AbortSignal = new AbortController().signal;
  const deadlineSignal = (): AbortSignal => {
    const now = Math.floor(Date.now() / 100);
    if (now !== slot) {
      slot = now;
      const controller = new AbortController();
      // Many requests listen on one slot's signal at once.
      setMaxListeners(0, controller.signal);
      const reason = new ContextError("ABORTED", `request timed out after ${limits.requestTimeoutMs} ms`);
      setTimeout(() => controller.abort(reason), limits.requestTimeoutMs + 100).unref();
      slotSignal = controller.signal;
    }
    return slotSignal;
  };

  // One tenant view per tenant, made once.
  const views = new Map<string, ContextStore>();
  const viewOf = (tenant: string): ContextStore => {
    let view = views.get(tenant);
    if (view === undefined) {
      view = tenant === options.store.tenant ? options.store : options.store.withTenant(tenant);
      if (views.size >= 10_000) views.clear();
      views.set(tenant, view);
    }
    return view;
  };

  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const issues = result.error.issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join("."), message: i.message, code: i.code }));
        const first = issues[0];
        const where = first && first.path !== "" ? `${result.target} ${first.path}` : result.target;
        throw new ContextError("INVALID_INPUT", `${where}: ${first?.message ?? "invalid"}`, {
          details: { target: result.target, field: first?.path ?? null, issues },
        });
      }
      return undefined;
    },
  });

  app.onError((err, c) => {
    const { status, body, unexpected } = toErrorResponse(err);
    if (unexpected) logger.error({ err, reqId: c.get("requestId") }, "request failed");
    return c.json(body, status as 400);
  });
  app.notFound((c) => c.json({ code: "NOT_FOUND", message: `no route ${c.req.method} ${c.req.path}`, details: {} }, 404));

  // Request id and the request log.
  app.use("*", async (c, next) => {
    const start = performance.now();
    const given = c.req.header("x-request-id");
    const requestId = given !== undefined && REQUEST_ID.test(given) ? given : `${bootId}-${(++counter).toString(36)}`;
    c.set("requestId", requestId);
    responseHeader(c, "X-Request-Id", requestId);
    if (logger.isLevelEnabled("debug")) logger.debug({ reqId: requestId, method: c.req.method, path: c.req.path }, "request");
    await next();
    if (logger.isLevelEnabled("info")) {
      logger.info({
        reqId: requestId,
        tenant: c.get("tenant") ?? null,
        method: c.req.method,
        route: c.req.routePath,
        status: c.res.status,
        ms: Math.round((performance.now() - start) * 10) / 10,
      });
    }
  });

  // Bodies over the limit are 413; on Node the body is read without building a fetch Request.
  app.use("/v1/*", nodeBody(limits.maxBodyBytes, bodyLimit({ maxSize: limits.maxBodyBytes, onError: (c) => tooLarge(c, limits.maxBodyBytes) })));

  // Authentication, tenant, rate limit and the request deadline.
  app.use("/v1/*", async (c, next) => {
    let key: ApiKeyRecord | null = null;
    let tenant = options.store.tenant;
    if (keys !== null) {
      const header = c.req.header("authorization");
      if (header === undefined) {
        throw new ContextError("UNAUTHORIZED", "missing Authorization: Bearer <api key>");
      }
      const token = /^Bearer +(\S+) *$/i.exec(header)?.[1];
      key = token === undefined ? null : keys.verify(token);
      if (key === null) throw new ContextError("UNAUTHORIZED", "invalid or revoked API key");
      if (key.tenant !== "*") tenant = key.tenant;
    }
    const asked = c.req.header(TENANT_HEADER);
    if (asked !== undefined && asked !== tenant) {
      if (key !== null && key.tenant !== "*") {
        throw new ContextError("FORBIDDEN", `this API key is bound to tenant ${key.tenant}`, { details: { tenant: key.tenant } });
      }
      tenant = asked;
    }
    if (limiter !== null) {
      const wait = limiter.take(key?.id ?? "anonymous");
      if (wait > 0) {
        c.header("Retry-After", String(wait));
        throw new ContextError("RATE_LIMITED", `rate limit exceeded; retry in ${wait} s`, { details: { retryAfterSeconds: wait } });
      }
    }
    c.set("key", key);
    c.set("tenant", tenant);
    c.set("store", viewOf(tenant));
    responseHeader(c, "X-Contextd-Tenant", tenant);
    c.set("signal", deadlineSignal());
    await next();
  });

  registerSystemRoutes(app, options.store);
  registerContextRoutes(app);
  registerStateRoutes(app);
  registerEventRoutes(app, { limits, shutdownSignal });
  registerSnapshotRoutes(app);
  registerLeaseRoutes(app, limits);
  registerHolderRoutes(app);
  registerStateSchemaRoutes(app);
  registerUsageRoutes(app);
  registerSearchRoutes(app);

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
        description:
          "Context management for AI applications and agents. Errors are `{ code, message, details }`. " +
          "Send `X-Contextd-Tenant` to pick a tenant with a `*` admin key (or without keys, on loopback).",
      },
      ...(options.serverUrl ? { servers: [{ url: options.serverUrl }] } : {}),
    });
    return c.json(document as Record<string, unknown>);
  });
  mountApiDocs(app);
  app.get("/", (c) => c.json({ name: "contextd", docs: "/docs", openapi: "/openapi.json", health: "/healthz" }));
  return app;
}
