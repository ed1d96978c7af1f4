/**
 * The server's limits on requests (body size, batch size, rate, deadline) and their defaults.
 */

/** Server limits. Every field has a default. */
export interface ServerLimits {
  /** Largest request body, bytes; above the store's 16 MiB state limit, so a full state fits. @default 20971520 (20 MiB) */
  maxBodyBytes: number;
  /** Largest single event (its JSON), bytes: a coarse guard; the store's own limit (1 MiB of data + metadata) is exact. @default 2097152 (2 MiB) */
  maxEventBytes: number;
  /** Most events in one append. @default 1000 */
  maxBatch: number;
  /** Per-key rate limit, or `null` for none. @default null */
  rateLimit: { perSecond: number; burst?: number } | null;
  /** Deadline of a request (not of an event stream), ms. @default 30000 */
  requestTimeoutMs: number;
  /** Interval of SSE heartbeat comments, ms. @default 15000 */
  heartbeatMs: number;
}

/** The defaults of {@link ServerLimits}. */
export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  maxBodyBytes: 20 * 1024 * 1024,
  maxEventBytes: 2 * 1024 * 1024,
  maxBatch: 1000,
  rateLimit: null,
  requestTimeoutMs: 30_000,
  heartbeatMs: 15_000,
};
