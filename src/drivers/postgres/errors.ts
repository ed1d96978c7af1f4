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

/**
 * Wraps a native error thrown during `operation`. A {@link ContextError} passes through
 * unchanged (it may come from the core's `update` callback inside a transaction).
 */
export function wrapNative(e: unknown, operation: string): ContextError {
  if (isContextError(e)) return e;
  const code = nativeCode(e) ?? null;
  const message = e instanceof Error ? e.message : String(e);
  const details = { driver: "postgres", operation, nativeCode: code };
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
