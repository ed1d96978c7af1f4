/**
 * Translation of native SQLite errors into {@link ContextError}s.
 */
import { ContextError, isContextError } from "../../errors.js";

/** The SQLite result codes (primary or extended) of a native error, if it has one. */
function sqliteCode(e: unknown): string | undefined {
  if (typeof e !== "object" || e === null) return undefined;
  const code = (e as { code?: unknown }).code;
  return typeof code === "string" && code.startsWith("SQLITE_") ? code : undefined;
}

/**
 * Wraps a native error thrown during `operation`. A {@link ContextError} passes through
 * unchanged (it may come from the core's `update` callback inside a transaction).
 */
export function wrapNative(e: unknown, operation: string, path: string): ContextError {
  if (isContextError(e)) return e;
  const code = sqliteCode(e);
  const message = e instanceof Error ? e.message : String(e);
  const details = { driver: "sqlite", operation, path, sqliteCode: code ?? null };
  if (code === undefined) {
    // A file-system error (EACCES, ENOTDIR, EROFS…) while creating the directory or file.
    const sysCode = typeof e === "object" && e !== null ? (e as { code?: unknown }).code : undefined;
    if (typeof sysCode === "string" && /^E[A-Z]+$/.test(sysCode)) {
      return new ContextError("DRIVER_UNAVAILABLE", `cannot use ${path}: ${message}`, {
        cause: e,
        details: { ...details, systemCode: sysCode },
      });
    }
    return new ContextError("INTERNAL", `sqlite ${operation} failed: ${message}`, { cause: e, details });
  }
  if (code.startsWith("SQLITE_CORRUPT") || code === "SQLITE_NOTADB") {
    return new ContextError("CORRUPT", `the SQLite database ${path} is damaged (${code}): ${message}`, {
      cause: e,
      details,
    });
  }
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) {
    return new ContextError(
      "DRIVER_UNAVAILABLE",
      `the SQLite database ${path} stayed locked by another connection (${code}) during ${operation}`,
      { cause: e, details },
    );
  }
  if (
    code.startsWith("SQLITE_IOERR") ||
    code.startsWith("SQLITE_CANTOPEN") ||
    code.startsWith("SQLITE_READONLY") ||
    code === "SQLITE_FULL" ||
    code === "SQLITE_PERM" ||
    code === "SQLITE_NOMEM" ||
    code === "SQLITE_PROTOCOL"
  ) {
    return new ContextError("DRIVER_UNAVAILABLE", `SQLite cannot use ${path} (${code}): ${message}`, {
      cause: e,
      details,
    });
  }
  return new ContextError("INTERNAL", `sqlite ${operation} failed (${code}): ${message}`, { cause: e, details });
}
