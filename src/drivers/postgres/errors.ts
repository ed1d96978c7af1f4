/**
 * Translation of native `pg` errors into {@link ContextError}s.
 */
import { ContextError, isContextError } from "../../errors.js";

// SQLSTATE classes and codes that mean "the database cannot serve us right now".
const UNAVAILABLE_SQLSTATES = new Set([
  "57P01", // admin_shutdown (pg_terminate_backend)
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "57014", // query_canceled (statement_timeout)
  "53300", // too_many_connections
  "55P03", // lock_not_available (lock_timeout)
  "40P01", // deadlock_detected
  "40001", // serialization_failure
]);

const UNAVAILABLE_NODE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);

/** The SQLSTATE or Node error code of a native error, if any. */
export function nativeCode(e: unknown): string | undefined {
  if (typeof e !== "object" || e === null) return undefined;
  const code = (e as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

/** True when `e` says the connection or the server is gone (not a bug in a statement). */
export function isConnectionError(e: unknown): boolean {
  const code = nativeCode(e);
  if (code !== undefined && (UNAVAILABLE_SQLSTATES.has(code) || code.startsWith("08") || UNAVAILABLE_NODE_CODES.has(code))) {
    return true;
  }
  const message = e instanceof Error ? e.message : "";
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Query read timeout|Client was closed|Client has encountered a connection error|not queryable|Connection ended/i.test(
    message,
  );
}

// Refusals that no retry cures: the server answers, but not to this role, password or database.
const REFUSALS: Record<string, { reason: string; hint: string }> = {
  "28000": {
    reason: "role refused",
    hint: "the role does not exist or pg_hba.conf does not let it connect: create it (CREATE ROLE … LOGIN) or put another user in the URL",
  },
  "28P01": { reason: "wrong password", hint: "check the password in the URL (postgres://USER:PASSWORD@HOST/DB)" },
  "3D000": { reason: "no such database", hint: "create it (createdb NAME, or CREATE DATABASE) or name an existing one in the URL" },
};

/** What a connection-level failure means for a person setting contextd up, if `e` is one. */
function connectionHint(code: string | null): { reason: string; hint: string; retryable: boolean } | null {
  if (code === null) return null;
  const refusal = REFUSALS[code];
  if (refusal !== undefined) return { ...refusal, retryable: false };
  if (code === "ECONNREFUSED") {
    return { reason: "connection refused", hint: "is PostgreSQL running, and on the host and port of the URL?", retryable: true };
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
    return { reason: "unknown host", hint: "check the host name in the URL", retryable: code === "EAI_AGAIN" };
  }
  return null;
}

/**
 * Wraps a native error thrown during `operation`. A {@link ContextError} passes through
 * unchanged (it may come from the core's `update` callback inside a transaction).
 */
export function wrapNative(e: unknown, operation: string): ContextError {
  if (isContextError(e)) return e;
  const code = nativeCode(e) ?? null;
  const message = e instanceof Error ? e.message : String(e);
  const details = { driver: "postgres", operation, nativeCode: code };
  const refused = connectionHint(code);
  if (refused !== null) {
    // DRIVER_UNAVAILABLE (the backend cannot serve us), with why and what to do; `retryable`
    // tells a caller that waiting will not help with a refused role, password or database.
    return new ContextError("DRIVER_UNAVAILABLE", `PostgreSQL refused the connection (${refused.reason}): ${message}; ${refused.hint}`, {
      cause: e,
      details: { ...details, reason: refused.reason, hint: refused.hint, retryable: refused.retryable },
    });
  }
  if (isConnectionError(e)) {
    return new ContextError("DRIVER_UNAVAILABLE", `PostgreSQL is unavailable during ${operation}: ${message}`, {
      cause: e,
      details,
    });
  }
  return new ContextError("INTERNAL", `postgres ${operation} failed${code ? ` (${code})` : ""}: ${message}`, {
    cause: e,
    details,
  });
}
