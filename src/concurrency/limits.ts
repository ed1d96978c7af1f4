/**
 * Limits per key (a model, a provider, a tenant) and the rate limiter that enforces their
 * rates: {@link localRateLimiter} in one process, `redisRateLimiter` across processes.
 */
import { invalidInput } from "../errors.js";
import { fullBucket, levelAt, waitFor, type BucketShape, type BucketState } from "./token-bucket.js";

/** The limits of one key. */
export interface KeyLimits {
  /** Calls of this key running at once. @default Infinity */
  concurrency?: number;
  /** Calls started per window (a minute unless `windowMs` says otherwise). */
  requestsPerMinute?: number;
  /** Tokens (estimated before a call, corrected after it) spent per window. */
  tokensPerMinute?: number;
  /** The window the two rates are counted in, for providers that count per second. @default 60000 */
  windowMs?: number;
  /**
   * Requests that may start at once. With 1, starts are spread evenly and no window of
   * `windowMs` ever holds more than `requestsPerMinute` starts. @default 1
   */
  burstRequests?: number;
  /** Tokens that may be spent at once. @default a second's worth (`tokensPerMinute × 1000 / windowMs`), at least 1 */
  burstTokens?: number;
}

/** The rate part of a key's limits, checked and with defaults applied. */
export interface RateLimits {
  requests: BucketShape | null;
  tokens: BucketShape | null;
}

/** What one call spends. */
export interface RateCost {
  requests: number;
  tokens: number;
}

/** A granted reservation: the call may start `waitMs` from now; `at` is now on the limiter's clock. */
export interface Reservation {
  waitMs: number;
  at: number;
}

/**
 * Enforces the rates of keys. `reserve` debits a call's cost and says when it may start;
 * `adjust` moves a key's level (a refund for a cancelled reservation, the difference between
 * the estimated and the real tokens).
 */
export interface RateLimiter {
  reserve(key: string, cost: RateCost, limits: RateLimits): Promise<Reservation>;
  /** Gives `delta` back (positive) or takes it (negative). */
  adjust(key: string, delta: RateCost, limits: RateLimits): Promise<void>;
}

const positive = (value: unknown, field: string, integer = false): number | undefined => {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !(value > 0) || (integer ? !Number.isInteger(value) : !Number.isFinite(value))) {
    throw invalidInput(field, `must be a${integer ? "n integer" : " number"} > 0, got ${String(value)}`);
  }
  return value;
};

const KEY_LIMIT_FIELDS = new Set(["concurrency", "requestsPerMinute", "tokensPerMinute", "windowMs", "burstRequests", "burstTokens"]);

/**
 * Checks a key's limits and returns the concurrency and the bucket shapes.
 * @throws `INVALID_INPUT` naming the field
 */
export function checkKeyLimits(key: string, limits: KeyLimits): { concurrency: number; rates: RateLimits } {
  if (typeof limits !== "object" || limits === null) throw invalidInput(`limits.${key}`, "must be an object");
  for (const name of Object.keys(limits)) if (!KEY_LIMIT_FIELDS.has(name)) throw invalidInput(`limits.${key}.${name}`, "is not a known limit");
  const at = (f: string) => `limits.${key}.${f}`;
  const concurrency = limits.concurrency === Infinity ? Infinity : (positive(limits.concurrency, at("concurrency"), true) ?? Infinity);
  const windowMs = positive(limits.windowMs, at("windowMs")) ?? 60_000;
  const rpm = positive(limits.requestsPerMinute, at("requestsPerMinute"));
  const tpm = positive(limits.tokensPerMinute, at("tokensPerMinute"));
  const burstRequests = positive(limits.burstRequests, at("burstRequests")) ?? 1;
  const burstTokens = positive(limits.burstTokens, at("burstTokens"));
  return {
    concurrency,
    rates: {
      requests: rpm === undefined ? null : { limit: rpm, windowMs, capacity: burstRequests },
      tokens: tpm === undefined ? null : { limit: tpm, windowMs, capacity: burstTokens ?? Math.max(1, (tpm * 1000) / windowMs) },
    },
  };
}

/** True when the limits have a rate (a call must reserve before it starts). */
export const hasRates = (r: RateLimits): boolean => r.requests !== null || r.tokens !== null;

/** Options of {@link localRateLimiter}. */
export interface LocalRateLimiterOptions {
  /** The clock. @default Date.now */
  now?: () => number;
  /** Each limit is multiplied by this (a process's share of a budget it shares with others). @default 1 */
  share?: number;
}

/**
 * Token buckets in this process's memory (the controller's default).
 *
 * @example
 * ```ts
 * const limiter = localRateLimiter();
 * ```
 */
export function localRateLimiter(options: LocalRateLimiterOptions = {}): RateLimiter & { level(key: string, limits: RateLimits): RateCost } {
  const now = options.now ?? Date.now;
  const share = positive(options.share, "share") ?? 1;
  const buckets = new Map<string, { requests: BucketState | null; tokens: BucketState | null }>();
  const scaled = (s: BucketShape | null): BucketShape | null => (s === null || share === 1 ? s : { ...s, limit: s.limit * share, capacity: Math.max(1, s.capacity * share) });
  const stateOf = (key: string, limits: RateLimits, t: number) => {
    let b = buckets.get(key);
    if (b === undefined) {
      b = { requests: limits.requests && fullBucket(scaled(limits.requests)!, t), tokens: limits.tokens && fullBucket(scaled(limits.tokens)!, t) };
      buckets.set(key, b);
    }
    return b;
  };
  const move = (shape: BucketShape | null, state: BucketState | null, t: number, delta: number): void => {
    if (shape === null || state === null) return;
    state.level = levelAt(shape, state, t) + delta;
    if (state.level > shape.capacity) state.level = shape.capacity;
    state.at = t;
  };
  return {
    reserve(key, cost, limits) {
      const t = now();
      const b = stateOf(key, limits, t);
      const rs = scaled(limits.requests);
      const ts = scaled(limits.tokens);
      let waitMs = 0;
      if (rs && b.requests) waitMs = Math.max(waitMs, waitFor(rs, levelAt(rs, b.requests, t), cost.requests));
      if (ts && b.tokens) waitMs = Math.max(waitMs, waitFor(ts, levelAt(ts, b.tokens, t), cost.tokens));
      move(rs, b.requests, t, -cost.requests);
      move(ts, b.tokens, t, -cost.tokens);
      return Promise.resolve({ waitMs, at: t });
    },
    adjust(key, delta, limits) {
      const t = now();
      const b = stateOf(key, limits, t);
      move(scaled(limits.requests), b.requests, t, delta.requests);
      move(scaled(limits.tokens), b.tokens, t, delta.tokens);
      return Promise.resolve();
    },
    level(key, limits) {
      const t = now();
      const b = stateOf(key, limits, t);
      const rs = scaled(limits.requests);
      const ts = scaled(limits.tokens);
      return { requests: rs && b.requests ? levelAt(rs, b.requests, t) : Infinity, tokens: ts && b.tokens ? levelAt(ts, b.tokens, t) : Infinity };
    },
  };
}
