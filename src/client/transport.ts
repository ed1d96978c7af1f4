/**
 * One HTTP exchange with a contextd server: auth and tenant headers, the caller's signal
 * combined with the client's, and error bodies turned back into the same typed errors the
 * embedded store throws.
 */
import { CONTEXT_ERROR_CODES, ContextError, VersionConflictError } from "../errors.js";
import type { ContextErrorCode } from "../errors.js";

/** How the client reaches the server. */
export interface Transport {
  readonly baseUrl: string;
  readonly apiKey: string | undefined;
  readonly fetch: typeof globalThis.fetch;
  /** Fires when the client closes or its lifetime signal fires. */
  readonly lifetime: AbortSignal;
  /** Set from the `X-Contextd-Tenant` the server answers with. */
  observedTenant: string | null;
}

/** One request. */
export interface RequestSpec {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  /** Query parameters; an array repeats the parameter. */
  query?: Record<string, string | string[] | undefined>;
  body?: unknown;
  tenant: string | null;
  signal?: AbortSignal | undefined;
  headers?: Record<string, string>;
}

/** The error a response body (or status, when there is no body) stands for. */
export function errorFromResponse(status: number, body: unknown): ContextError {
  const b = body as { code?: unknown; message?: unknown; details?: unknown } | null;
  if (b !== null && typeof b === "object" && typeof b.code === "string" && CONTEXT_ERROR_CODES.includes(b.code as ContextErrorCode)) {
    const details = typeof b.details === "object" && b.details !== null ? (b.details as Record<string, unknown>) : {};
    const message = typeof b.message === "string" ? b.message : `HTTP ${status}`;
    if (b.code === "VERSION_CONFLICT" && typeof details.expected === "number" && typeof details.actual === "number") {
      return new VersionConflictError(String(details.contextId ?? ""), details.expected, details.actual, { message, details });
    }
    return new ContextError(b.code as ContextErrorCode, message, { details });
  }
  const code: ContextErrorCode =
    status === 401
      ? "UNAUTHORIZED"
      : status === 403
        ? "FORBIDDEN"
        : status === 404
          ? "NOT_FOUND"
          : status === 429
            ? "RATE_LIMITED"
            : status >= 400 && status < 500
              ? "INVALID_INPUT"
              : "DRIVER_UNAVAILABLE";
  return new ContextError(code, `HTTP ${status} from the contextd server`, { details: { status } });
}


/** Why a fetch failed: the caller's abort, the client's close, or the network. */
export function fetchFailure(transport: Transport, signal: AbortSignal | undefined, cause: unknown): ContextError {
  if (signal?.aborted) return new ContextError("ABORTED", "the operation was aborted", { cause: signal.reason });
  if (transport.lifetime.aborted) return new ContextError("CLOSED", "the client is closed", { cause });
  return new ContextError("DRIVER_UNAVAILABLE", `cannot reach the contextd server at ${transport.baseUrl}`, { cause });
}

/** Builds the URL of a request. */
export function requestUrl(transport: Transport, path: string, query?: Record<string, string | string[] | undefined>): string {
  let url = transport.baseUrl + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (typeof v === "string") params.append(k, v);
      else if (v !== undefined) for (const item of v) params.append(k, item);
    }
    const s = params.toString();
    if (s.length > 0) url += `?${s}`;
  }
  return url;
}

/** The headers every request carries. */
export function baseHeaders(transport: Transport, tenant: string | null): Record<string, string> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (transport.apiKey !== undefined) headers.authorization = `Bearer ${transport.apiKey}`;
  if (tenant !== null) headers["x-contextd-tenant"] = tenant;
  return headers;
}

/** Sends one request and returns the parsed JSON body (`undefined` for 204). */
export async function send(transport: Transport, spec: RequestSpec): Promise<unknown> {
  // Only the caller's signal goes to fetch: one long-lived signal shared by every request
  // would collect a listener per request. Closing the client refuses new calls; calls in
  // flight finish.
  const signal = spec.signal;
  const headers = { ...baseHeaders(transport, spec.tenant), ...spec.headers };
  let body: string | undefined;
  if (spec.body !== undefined) {
    body = JSON.stringify(spec.body);
    headers["content-type"] = "application/json";
  }
  let res: Response;
  let text: string;
  try {
    res = await transport.fetch(requestUrl(transport, spec.path, spec.query), { method: spec.method, headers, body, signal });
    text = await res.text();
  } catch (cause) {
    throw fetchFailure(transport, spec.signal, cause);
  }
  const tenant = res.headers.get("x-contextd-tenant");
  if (tenant !== null) transport.observedTenant = tenant;
  let parsed: unknown = undefined;
  if (text.length > 0) {
    try {
      parsed = JSON.parse(text);
    } catch {
      if (res.ok) throw new ContextError("INTERNAL", "the server sent a body that is not JSON", { details: { status: res.status } });
    }
  }
  if (!res.ok) throw errorFromResponse(res.status, parsed);
  return parsed;
}
