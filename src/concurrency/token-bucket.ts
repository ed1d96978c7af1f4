/**
 * The token bucket every rate limit of the controller is made of, local or shared: the same
 * arithmetic runs here in JavaScript and in Redis as Lua (`redis-limiter.ts`), so one process
 * and many processes behave alike.
 *
 * A bucket holds up to `capacity` tokens and refills at `limit` per `windowMs`. A request of
 * `cost` tokens *reserves*: it is debited at once (the level may go below zero) and may start
 * when the level, refilled, would have covered it — after `waitMs`. A request larger than the
 * capacity needs a full bucket and leaves a debt. So grants are spaced exactly as the refill
 * allows, waiting callers are served in the order they asked, and no token is lost to a timer
 * that fires late. Corrections with the real cost (`adjust`) move the level up or down.
 */

/** The size and speed of one bucket. */
export interface BucketShape {
  /** Tokens per window. */
  limit: number;
  windowMs: number;
  /** Most tokens held at once (what may be spent in a burst). */
  capacity: number;
}

/** One bucket's level at a time. */
export interface BucketState {
  level: number;
  at: number;
}

/** A full bucket at `now`. */
export function fullBucket(shape: BucketShape, now: number): BucketState {
  return { level: shape.capacity, at: now };
}

/** The level at `now` (refilled, never above the capacity). */
export function levelAt(shape: BucketShape, state: BucketState, now: number): number {
  const elapsed = Math.max(0, now - state.at);
  return Math.min(shape.capacity, state.level + (elapsed * shape.limit) / shape.windowMs);
}

/** How long until `cost` may be spent from a bucket at `level` (0: now). */
export function waitFor(shape: BucketShape, level: number, cost: number): number {
  const need = Math.min(cost, shape.capacity);
  return level >= need ? 0 : ((need - level) * shape.windowMs) / shape.limit;
}
