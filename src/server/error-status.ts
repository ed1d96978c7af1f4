/**
 * The one place where contextd error codes become HTTP statuses, and where any thrown
 * value becomes the JSON body `{ code, message, details }`.
 */
import { HTTPException } from "hono/http-exception";
import { ContextError, isContextError } from "../index.js";
import type { ContextErrorCode } from "../index.js";

/** HTTP status per error code. Client mistakes are 4xx; only server-side faults are 5xx. */
export const ERROR_STATUS: Readonly<Record<ContextErrorCode, number>> = {
  INVALID_INPUT: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  VERSION_CONFLICT: 409,
  ALREADY_EXISTS: 409,
  HAS_FORKS: 409,
  COMPACTED: 410,
  SCHEMA_VIOLATION: 422,
  LEASE_LOST: 423,
  LOCK_TIMEOUT: 423,
  RATE_LIMITED: 429,
  // The request's own deadline (or shutdown) cut the work short.
  ABORTED: 503,
  CLOSED: 503,
  DRIVER_UNAVAILABLE: 503,
  STORE_INCOMPATIBLE: 500,
  CORRUPT: 500,
  INTERNAL: 500,
  // The server's store cannot do this (a driver without the optional area).
  NOT_SUPPORTED: 501,
  // The embedding model (often a service of its own) failed: the request may be retried.
  EMBEDDING_FAILED: 502,
  MODEL_MISMATCH: 409,
  // A write over a working-memory block's hard limit: a rule of the stored block, like a schema.
  LIMIT_EXCEEDED: 422,
};

/** The JSON body of every error response. */
export interface ErrorBody {
  code: ContextErrorCode;
  message: string;
  details: Record<string, unknown>;
}

/** What an error response is made of. */
export interface ErrorResponse {
  status: number;
  body: ErrorBody;
  /** Set for 5xx that are not a typed backend condition: worth logging with a stack. */
  unexpected: boolean;
}

/**
 * Turns anything thrown by a handler into a status and body.
 * Hono's own `HTTPException`s (malformed JSON, 413 from the body limit, 415) stay 4xx
 * and carry code `INVALID_INPUT`.
 */
export function toErrorResponse(err: unknown): ErrorResponse {
  if (isContextError(err)) {
    const status = ERROR_STATUS[err.code] ?? 500;
    return { status, body: { code: err.code, message: err.message, details: err.details }, unexpected: status === 500 };
  }
  if (err instanceof HTTPException) {
    const status = err.status;
    if (status >= 400 && status < 500) {
      const code: ContextErrorCode = status === 401 ? "UNAUTHORIZED" : status === 403 ? "FORBIDDEN" : status === 404 ? "NOT_FOUND" : status === 429 ? "RATE_LIMITED" : "INVALID_INPUT";
      const message = status === 413 || status === 415 ? defaultMessage(status) : err.message || defaultMessage(status);
      return { status, body: { code, message, details: { status } }, unexpected: false };
    }
  }
  // Only input nested absurdly deep can exhaust the stack while handling a request.
  if (err instanceof RangeError && /call stack/i.test(err.message)) {
    return { status: 400, body: { code: "INVALID_INPUT", message: "input nested too deeply", details: {} }, unexpected: false };
  }
  // A body that could not be read or parsed is the client's fault, whatever threw it.
  if (err instanceof SyntaxError) {
    return { status: 400, body: { code: "INVALID_INPUT", message: `malformed JSON: ${err.message}`, details: {} }, unexpected: false };
  }
  return {
    status: 500,
    body: { code: "INTERNAL", message: "internal error; see the server log", details: {} },
    unexpected: true,
  };
}

/** The `INVALID_INPUT` error of a request part (`json`, `param`, `query`…) that failed its schema. */
export function validationError(
  issues: readonly { path: readonly PropertyKey[]; message: string; code: string }[],
  target: string,
): ContextError {
  const list = issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join("."), message: i.message, code: i.code }));
  const first = list[0];
  const where = first && first.path !== "" ? `${target} ${first.path}` : target;
  return new ContextError("INVALID_INPUT", `${where}: ${first?.message ?? "invalid"}`, {
    details: { target, field: first?.path ?? null, issues: list },
  });
}

function defaultMessage(status: number): string {
  switch (status) {
    case 413:
      return "request body too large";
    case 415:
      return "unsupported media type: send application/json";
    default:
      return "bad request";
  }
}
