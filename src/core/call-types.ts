/**
 * Types every I/O method shares (a leaf module: the data model files import it without
 * importing each other).
 */

/** Options every I/O method accepts. */
export interface CallOptions {
  /** Cancels the call; it rejects with `ABORTED` (the signal's reason as `cause`). */
  signal?: AbortSignal;
}

/** A point in time: a `Date`, epoch milliseconds, or an ISO 8601 string. */
export type TimeInput = Date | number | string;
