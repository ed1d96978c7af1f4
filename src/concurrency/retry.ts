/**
 * Retries with exponential backoff and jitter, honouring a server's `Retry-After`: the loop
 * is `p-retry`'s; the wait before each retry is computed here (the longer of the backoff and
 * the time the server asked for), because p-retry's own delay cannot be told a `Retry-After`.
 */
import pRetry from "p-retry";
import { ContextError, invalidInput, isContextError } from "../errors.js";

/** How failed attempts are retried. */
export interface RetryOptions {
  /** Retries after the first attempt (0: none). @default 2 */
  retries?: number;
  /** Backoff before the first retry. @default 500 */
  minDelayMs?: number;
  /** Longest backoff. @default 30000 */
  maxDelayMs?: number;
  /** Backoff growth per retry. @default 2 */
  factor?: number;
  /** Full jitter: each backoff is a random time up to its value (spreads retries of many callers). @default true */
  jitter?: boolean;
  /** Which failures are retried. @default {@link isRetryable} */
  retryable?: (error: unknown) => boolean;
}

/** Retry options with every default applied. */
export type RetryPolicy = Required<RetryOptions>;

const RETRY_FIELDS = new Set(["retries", "minDelayMs", "maxDelayMs", "factor", "jitter", "retryable"]);

/**
 * Applies defaults to retry options (`false` means no retries).
 * @throws `INVALID_INPUT` naming the field
 */
export function retryPolicy(options: RetryOptions | false | undefined, base?: RetryPolicy): RetryPolicy {
  const b: RetryPolicy = base ?? { retries: 2, minDelayMs: 500, maxDelayMs: 30_000, factor: 2, jitter: true, retryable: isRetryable };
  if (options === false) return { ...b, retries: 0 };
  if (options === undefined) return b;
  if (typeof options !== "object" || options === null) throw invalidInput("retry", "must be an object or false");
  for (const k of Object.keys(options)) if (!RETRY_FIELDS.has(k)) throw invalidInput(`retry.${k}`, "is not a known option");
  const num = (k: "retries" | "minDelayMs" | "maxDelayMs" | "factor", integer: boolean): number => {
    const v = options[k];
    if (v === undefined) return b[k];
    if (typeof v !== "number" || v < 0 || Number.isNaN(v) || (integer && v !== Infinity && !Number.isInteger(v))) {
      throw invalidInput(`retry.${k}`, `must be a${integer ? "n integer" : " number"} ≥ 0, got ${String(v)}`);
    }
    return v;
  };
  if (options.retryable !== undefined && typeof options.retryable !== "function") throw invalidInput("retry.retryable", "must be a function");
  if (options.jitter !== undefined && typeof options.jitter !== "boolean") throw invalidInput("retry.jitter", "must be a boolean");
  return {
    retries: num("retries", true),
    minDelayMs: num("minDelayMs", false),
    maxDelayMs: num("maxDelayMs", false),
    factor: num("factor", false),
    jitter: options.jitter ?? b.jitter,
    retryable: options.retryable ?? b.retryable,
  };
}

const header = (headers: unknown, name: string): string | undefined => {
  if (headers === null || typeof headers !== "object") return undefined;
  const h = headers as { get?: (n: string) => unknown } & Record<string, unknown>;
  const v = typeof h.get === "function" ? h.get(name) : (h[name] ?? h[name.toLowerCase()]);
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined;
};

/**
 * The wait a failure asks for, in ms: `retryAfterMs` on the error or in a ContextError's
 * details, or the `retry-after-ms` / `retry-after` (seconds or an HTTP date) header of the
 * error's `headers` or `response.headers` (the OpenAI and Anthropic SDKs' errors have them).
 */
export function retryAfterMs(error: unknown, now: number = Date.now()): number | undefined {
  if (error === null || typeof error !== "object") return undefined;
  const e = error as { retryAfterMs?: unknown; headers?: unknown; response?: { headers?: unknown }; details?: Record<string, unknown> };
  const direct = e.retryAfterMs ?? (isContextError(error) ? e.details?.["retryAfterMs"] : undefined);
  if (typeof direct === "number" && Number.isFinite(direct) && direct >= 0) return direct;
  for (const headers of [e.headers, e.response?.headers]) {
    const ms = Number(header(headers, "retry-after-ms"));
    if (header(headers, "retry-after-ms") !== undefined && Number.isFinite(ms) && ms >= 0) return ms;
    const after = header(headers, "retry-after");
    if (after === undefined) continue;
    const seconds = Number(after);
    if (after.trim() !== "" && Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
    const date = Date.parse(after);
    if (Number.isFinite(date)) return Math.max(0, date - now);
  }
  return undefined;
}

const RETRYABLE_STATUS = new Set([408, 409, 425, 429, 500, 502, 503, 504]);
const NETWORK_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "ENOTFOUND", "UND_ERR_SOCKET", "UND_ERR_CONNECT_TIMEOUT"]);

/**
 * The default retry rule: a timeout of the call itself, `RATE_LIMITED`, `DRIVER_UNAVAILABLE`,
 * an HTTP status 408/409/425/429/5xx (`status` or `statusCode`), a network error, or any error
 * carrying a `Retry-After`. Never a cancellation (`ABORTED` without `timeout`), never bad input.
 */
export function isRetryable(error: unknown): boolean {
  if (isContextError(error)) {
    if (error.code === "ABORTED") return error.details["timeout"] === true;
    return error.code === "RATE_LIMITED" || error.code === "DRIVER_UNAVAILABLE";
  }
  if (error === null || typeof error !== "object") return false;
  const e = error as { status?: unknown; statusCode?: unknown; code?: unknown; name?: unknown; cause?: unknown };
  const status = typeof e.status === "number" ? e.status : e.statusCode;
  if (typeof status === "number") return RETRYABLE_STATUS.has(status);
  if (e.name === "AbortError") return false;
  if (typeof e.code === "string" && NETWORK_CODES.has(e.code)) return true;
  if (e.name === "TimeoutError") return true;
  if (retryAfterMs(error) !== undefined) return true;
  return e.cause !== undefined && e.cause !== error && isRetryable(e.cause);
}

/** The backoff before retry number `retry` (1-based), before any `Retry-After`. */
export function backoffMs(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.minDelayMs * policy.factor ** (retry - 1));
  return policy.jitter ? ceiling * random() : ceiling;
}

/** Waits `ms`; rejects with `ABORTED` when `signal` fires first. Timers are unref'ed. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    timer.unref?.();
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The ContextError a fired signal stands for (its reason when that is one already). */
export function abortReason(signal: AbortSignal): ContextError {
  const r: unknown = signal.reason;
  return isContextError(r) ? r : new ContextError("ABORTED", "the operation was aborted", { cause: r });
}

/** What {@link withRetry} tells about a retry before it waits. */
export interface RetryNotice {
  error: unknown;
  /** The attempt that failed (1-based). */
  attempt: number;
  delayMs: number;
}

/**
 * Runs `attempt(n)` until it succeeds, a failure is not retryable, the retries are spent or
 * `signal` fires. Rejects with the last failure (or `ABORTED`). The first attempt runs
 * directly (a call that succeeds pays nothing for the retry loop); p-retry runs the rest.
 */
export function withRetry<T>(
  attempt: (n: number) => Promise<T>,
  policy: RetryPolicy,
  signal: AbortSignal | undefined,
  onRetry?: (notice: RetryNotice) => void,
): Promise<T> {
  if (policy.retries === 0) return attempt(1);
  return attempt(1).catch((first: unknown) => retryAfterFirst(first, attempt, policy, signal, onRetry));
}

/** The retries after a failed first attempt (see {@link withRetry}). */
export async function retryAfterFirst<T>(
  first: unknown,
  attempt: (n: number) => Promise<T>,
  policy: RetryPolicy,
  signal: AbortSignal | undefined,
  onRetry?: (notice: RetryNotice) => void,
): Promise<T> {
  let last = first;
  const wait = async (failed: number): Promise<boolean> => {
    if (signal?.aborted || !policy.retryable(last)) return false;
    const delayMs = Math.max(backoffMs(policy, failed), retryAfterMs(last) ?? 0);
    onRetry?.({ error: last, attempt: failed, delayMs });
    await sleep(delayMs, signal);
    return true;
  };
  if (!(await wait(1))) throw signal?.aborted ? abortReason(signal) : first;
  try {
    return await pRetry(
      async (n) => {
        try {
          return await attempt(n + 1);
        } catch (e) {
          last = e;
          // p-retry wants an Error; the original is rethrown below.
          throw e instanceof Error ? e : new ContextError("INTERNAL", String(e), { cause: e });
        }
      },
      {
        retries: policy.retries - 1,
        minTimeout: 0,
        factor: 1,
        ...(signal !== undefined && { signal }),
        shouldRetry: ({ attemptNumber }) => wait(attemptNumber + 1),
      },
    );
  } catch (e) {
    if (signal?.aborted) throw abortReason(signal);
    throw last ?? e;
  }
}
