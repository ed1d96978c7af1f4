/**
 * What every request under `/v1` goes through before its route, whichever way it is served
 * (the hono app, or the Node fast path for appends in `fast-append.ts`): the request id,
 * authentication, the tenant, the rate limit, the deadline, and the request log. One
 * implementation, so the two ways cannot drift apart.
 */
import { performance } from "node:perf_hooks";
import { setMaxListeners } from "node:events";
import type { Logger } from "pino";
import { ContextError } from "../index.js";
import type { ContextStore } from "../index.js";
import type { ServerLimits } from "./limits.js";
import type { ApiKeyRecord, ApiKeyScope, KeyRing } from "./keys.js";
import { createRateLimiter } from "./rate-limit.js";
import type { ServerMetrics } from "./metrics.js";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const TENANT_HEADER = "x-contextd-tenant";

/** Who a request acts as, once admitted. */
export interface Admission {
  key: ApiKeyRecord | null;
  tenant: string;
  /** The store seen from the tenant. */
  store: ContextStore;
  /** Fires at the request's deadline. */
  signal: AbortSignal;
}

/** One line of the request log. */
export interface RequestLogLine {
  reqId: string;
  tenant: string | null;
  method: string;
  route: string;
  status: number;
  startedAt: number;
  /** The error code of a refused or failed request. */
  errorCode?: string | undefined;
}

/** See the module docs. */
export interface Gate {
  readonly logger: Logger;
  readonly limits: ServerLimits;
  /** The given `X-Request-Id` if it is acceptable, else a new one. */
  requestId(given: string | undefined): string;
  /**
   * Authenticates the request (`Authorization: Bearer`), picks its tenant (the key's, or
   * `X-Contextd-Tenant` with a `*` key or without keys) and takes one token of its rate limit.
   * `retryAfter` hears the wait in seconds before `RATE_LIMITED` is thrown.
   * @throws `UNAUTHORIZED`, `FORBIDDEN`, `RATE_LIMITED`
   */
  admit(header: (name: string) => string | undefined, retryAfter: (seconds: number) => void): Admission;
  /** Writes the request's log line (at level info) and records the request in the metrics. */
  log(line: RequestLogLine): void;
}

/** Refuses with 403 unless `key` has `needed` (or `admin`). Without keys, everything is allowed. */
export function requireScope(key: ApiKeyRecord | null, needed: ApiKeyScope): void {
  if (key !== null && !key.scopes.includes(needed) && !key.scopes.includes("admin")) {
    throw new ContextError("FORBIDDEN", `this API key lacks the ${needed} scope`, { details: { scope: needed, keyId: key.id } });
  }
}

/**
 * For the service-wide routes (`/metrics`, `/v1/metrics`, `/v1/monitor`, `/v1/alerts`,
 * `/v1/health/report`), whose figures add up every tenant: a key with `needed` (the
 * `metrics` scope is service-wide by definition), or an admin key of tenant `*`. A
 * tenant-bound admin key is refused: it administers its tenant, not the service.
 */
export function requireServiceScope(key: ApiKeyRecord | null, needed: "metrics" | "admin"): void {
  if (key === null || (key.scopes.includes("admin") && key.tenant === "*")) return;
  if (needed === "metrics" && key.scopes.includes("metrics")) return;
  throw new ContextError("FORBIDDEN", `this route reports on every tenant: it needs ${needed === "metrics" ? "a key with the metrics scope, or " : ""}an admin key of tenant *`, {
    details: { scope: needed, keyId: key.id },
  });
}

/** Creates the gate of one app. */
export function createGate(o: {
  store: ContextStore;
  keys: KeyRing | null;
  logger: Logger;
  limits: ServerLimits;
  metrics?: ServerMetrics | undefined;
}): Gate {
  const { store, keys, logger, limits, metrics } = o;
  // A store's tenant never changes: read once, not through the store's getters per request.
  const storeTenant = store.tenant;
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
      view = tenant === storeTenant ? store : store.withTenant(tenant);
      if (views.size >= 10_000) views.clear();
      views.set(tenant, view);
    }
    return view;
  };

  return {
    logger,
    limits,
    requestId(given) {
      return given !== undefined && REQUEST_ID.test(given) ? given : `${bootId}-${(++counter).toString(36)}`;
    },
    admit(header, retryAfter) {
      let key: ApiKeyRecord | null = null;
      let tenant = storeTenant;
      if (keys !== null) {
        const authorization = header("authorization");
        if (authorization === undefined) throw new ContextError("UNAUTHORIZED", "missing Authorization: Bearer <api key>");
        const token = /^Bearer +(\S+) *$/i.exec(authorization)?.[1];
        key = token === undefined ? null : keys.verify(token);
        if (key === null) throw new ContextError("UNAUTHORIZED", "invalid or revoked API key");
        if (key.tenant !== "*") tenant = key.tenant;
      }
      const asked = header(TENANT_HEADER);
      if (asked !== undefined && asked !== tenant) {
        if (key !== null && key.tenant !== "*") {
          throw new ContextError("FORBIDDEN", `this API key is bound to tenant ${key.tenant}`, { details: { tenant: key.tenant } });
        }
        tenant = asked;
      }
      if (limiter !== null) {
        const wait = limiter.take(key?.id ?? "anonymous");
        if (wait > 0) {
          retryAfter(wait);
          throw new ContextError("RATE_LIMITED", `rate limit exceeded; retry in ${wait} s`, { details: { retryAfterSeconds: wait } });
        }
      }
      return { key, tenant, store: viewOf(tenant), signal: deadlineSignal() };
    },
    log(line) {
      const ms = performance.now() - line.startedAt;
      metrics?.request(line.route, line.method, line.status, ms / 1000, line.errorCode);
      if (!logger.isLevelEnabled("info")) return;
      logger.info({
        reqId: line.reqId,
        tenant: line.tenant,
        method: line.method,
        route: line.route,
        status: line.status,
        ms: Math.round(ms * 10) / 10,
      });
    },
  };
}
