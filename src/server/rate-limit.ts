/**
 * A token bucket per API key (or per client address when the server runs without keys).
 */

/** Options of {@link createRateLimiter}. */
export interface RateLimitOptions {
  /** Sustained requests per second per key. */
  perSecond: number;
  /** Requests allowed in a burst. @default perSecond */
  burst?: number;
}

/** Takes one token for `key`; returns 0 when allowed, else the seconds to wait. */
export interface RateLimiter {
  take(key: string, now?: number): number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Creates a rate limiter; buckets of idle keys are dropped so memory stays bounded. */
export function createRateLimiter(options: RateLimitOptions): RateLimiter {
  const rate = options.perSecond / 1000;
  const burst = Math.max(1, options.burst ?? options.perSecond);
  const buckets = new Map<string, Bucket>();
  let sweptAt = 0;
  return {
    take(key, now = Date.now()) {
      if (now - sweptAt > 60_000 && buckets.size > 10_000) {
        sweptAt = now;
        for (const [k, b] of buckets) if (b.tokens + (now - b.at) * rate >= burst) buckets.delete(k);
      }
      let bucket = buckets.get(key);
      if (!bucket) {
        bucket = { tokens: burst, at: now };
        buckets.set(key, bucket);
      }
      bucket.tokens = Math.min(burst, bucket.tokens + (now - bucket.at) * rate);
      bucket.at = now;
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - bucket.tokens) / rate / 1000));
    },
  };
}
