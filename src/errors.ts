/**
 * Every error contextd raises is a {@link ContextError} with a `code` from
 * {@link ContextErrorCode}. Callers branch on the code, never on the message.
 */

/**
 * The documented error codes.
 *
 * - `NOT_FOUND`: the context (snapshot, lease, schema…) does not exist for this tenant.
 * - `ALREADY_EXISTS`: an id or a snapshot name is taken.
 * - `VERSION_CONFLICT`: `expectedVersion` was stale; see {@link VersionConflictError}.
 * - `SCHEMA_VIOLATION`: the state does not match the JSON Schema registered for its kind.
 * - `INVALID_INPUT`: an argument has the wrong type, is missing, too large or not JSON.
 * - `LEASE_LOST`: a write carried a fencing token older than the current lease.
 * - `LOCK_TIMEOUT`: a lease could not be acquired within `waitMs`.
 * - `DRIVER_UNAVAILABLE`: the backend cannot be reached; the original error is the `cause`.
 * - `STORE_INCOMPATIBLE`: the database is not a contextd store, or was made by a newer version.
 * - `CORRUPT`: the database file is damaged.
 * - `CLOSED`: the store was closed.
 * - `ABORTED`: the caller's AbortSignal fired.
 * - `COMPACTED`: the requested history or version was removed by `compact()`.
 * - `HAS_FORKS`: deleting or compacting a context would remove history that live forks read
 *   (`details.forks` lists them, at most 100); delete or compact the forks first.
 * - `NOT_SUPPORTED`: the store's driver lacks the optional area the call needs (e.g. search).
 * - `EMBEDDING_FAILED`: the embedding model could not embed (a service that keeps failing, a
 *   malformed answer, vectors of the wrong length); nothing was written.
 * - `MODEL_MISMATCH`: the vectors stored were made by another embedding model than the store's;
 *   re-embed them (`contextd memory reindex`) or open the store with that model.
 * - `LIMIT_EXCEEDED`: a write would take a working-memory block over its hard limit; nothing was
 *   written. `details`: `{ label, limit, unit: "chars" | "tokens", size, over }`.
 * - `UNAUTHORIZED` / `FORBIDDEN` / `RATE_LIMITED`: used by the HTTP server and client.
 * - `INTERNAL`: a bug in contextd; please report it.
 */
export type ContextErrorCode =
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "VERSION_CONFLICT"
  | "SCHEMA_VIOLATION"
  | "INVALID_INPUT"
  | "LEASE_LOST"
  | "LOCK_TIMEOUT"
  | "DRIVER_UNAVAILABLE"
  | "STORE_INCOMPATIBLE"
  | "CORRUPT"
  | "CLOSED"
  | "ABORTED"
  | "COMPACTED"
  | "HAS_FORKS"
  | "NOT_SUPPORTED"
  | "EMBEDDING_FAILED"
  | "MODEL_MISMATCH"
  | "LIMIT_EXCEEDED"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "RATE_LIMITED"
  | "INTERNAL";

/** All codes, in the order documented above. */
export const CONTEXT_ERROR_CODES: readonly ContextErrorCode[] = [
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "VERSION_CONFLICT",
  "SCHEMA_VIOLATION",
  "INVALID_INPUT",
  "LEASE_LOST",
  "LOCK_TIMEOUT",
  "DRIVER_UNAVAILABLE",
  "STORE_INCOMPATIBLE",
  "CORRUPT",
  "CLOSED",
  "ABORTED",
  "COMPACTED",
  "HAS_FORKS",
  "NOT_SUPPORTED",
  "EMBEDDING_FAILED",
  "MODEL_MISMATCH",
  "LIMIT_EXCEEDED",
  "UNAUTHORIZED",
  "FORBIDDEN",
  "RATE_LIMITED",
  "INTERNAL",
];

// A global symbol, so two copies of the package recognise each other's errors.
const brand = Symbol.for("contextd.ContextError");

/** Options of {@link ContextError}. */
export interface ContextErrorOptions {
  /** The underlying error, e.g. the native driver error. */
  cause?: unknown;
  /** Machine-readable facts about the failure (field names, versions, paths). */
  details?: Record<string, unknown>;
}

/**
 * The one error type of contextd.
 *
 * @example
 * ```ts
 * try { await store.getContext("nope"); }
 * catch (e) { if (isContextError(e, "NOT_FOUND")) console.log(e.details); }
 * ```
 */
export class ContextError extends Error {
  readonly code: ContextErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ContextErrorCode, message: string, options: ContextErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ContextError";
    this.code = code;
    this.details = options.details ?? {};
    Object.defineProperty(this, brand, { value: true });
  }

  /** The JSON body the HTTP server sends: `{ code, message, details }`. */
  toJSON(): { code: ContextErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/**
 * A stale `expectedVersion`: nothing was written.
 * `actual` is the current version, so the caller can re-read and retry.
 */
export class VersionConflictError extends ContextError {
  readonly expected: number;
  readonly actual: number;

  /**
   * `options` names what is versioned when it is not a context (a working-memory block), and
   * lets the HTTP client rebuild the server's error as it was.
   */
  constructor(contextId: string, expected: number, actual: number, options: { message?: string; details?: Record<string, unknown> } = {}) {
    super(
      "VERSION_CONFLICT",
      options.message ?? `context ${contextId} is at version ${actual}, not the expected ${expected}`,
      { details: { ...(options.details ?? { contextId }), expected, actual } },
    );
    this.name = "VersionConflictError";
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * True when `e` is a {@link ContextError} (from any copy of contextd), optionally with `code`.
 *
 * @example
 * ```ts
 * if (isContextError(err, "VERSION_CONFLICT")) retry();
 * ```
 */
export function isContextError(e: unknown, code?: ContextErrorCode): e is ContextError {
  if (typeof e !== "object" || e === null) return false;
  if ((e as Record<symbol, unknown>)[brand] !== true) return false;
  return code === undefined || (e as ContextError).code === code;
}

/** Builds an `INVALID_INPUT` error naming the offending field. */
export function invalidInput(field: string, message: string, details: Record<string, unknown> = {}): ContextError {
  return new ContextError("INVALID_INPUT", `${field}: ${message}`, { details: { field, ...details } });
}

/** Builds a `NOT_FOUND` error for a context. */
export function contextNotFound(contextId: string): ContextError {
  return new ContextError("NOT_FOUND", `context ${contextId} not found`, { details: { contextId } });
}

/** `ABORTED` for a call whose signal fired; the signal's reason is the `cause`. */
export function abortedError(signal: AbortSignal): ContextError {
  return new ContextError("ABORTED", "the operation was aborted", { cause: signal.reason });
}

/**
 * `HAS_FORKS`: `operation` (delete, compact) would remove history that live forks of
 * `contextId` read; `forks` are their ids (at most 100 are listed).
 */
export function hasForks(contextId: string, operation: "delete" | "compact", forks: string[]): ContextError {
  const listed = [...forks].sort().slice(0, 100);
  return new ContextError(
    "HAS_FORKS",
    `cannot ${operation} context ${contextId}: ${forks.length} live fork(s) read its history (${listed.slice(0, 5).join(", ")}${forks.length > 5 ? ", …" : ""}); ${operation} the forks first`,
    { details: { contextId, operation, forks: listed } },
  );
}
