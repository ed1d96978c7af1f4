/**
 * `contextd/concurrency`: the concurrency controller (priority queue, concurrency overall and
 * per key, rates per key, retries, timeouts, cancellation, progress) and its rate limiters.
 * @packageDocumentation
 */
export { createController } from "./controller.js";
export type { Controller, ControllerOptions, ControllerStats, ProgressEvent, RunContext, RunOptions } from "./controller.js";
export { localRateLimiter } from "./limits.js";
export type { KeyLimits, LocalRateLimiterOptions, RateCost, RateLimiter, RateLimits, Reservation } from "./limits.js";
export { backoffMs, isRetryable, retryAfterMs } from "./retry.js";
export type { RetryOptions } from "./retry.js";
export { redisRateLimiter } from "./redis-limiter.js";
export type { LimiterLogger, RedisRateLimiter, RedisRateLimiterOptions } from "./redis-limiter.js";
