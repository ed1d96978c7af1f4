/**
 * What every request carries through the middleware chain, and the helpers handlers use to
 * turn it into store call options.
 */
import type { Context } from "hono";
import { invalidInput } from "../index.js";
import type { CallOptions, ContextStore, EventInput, JsonObject, StateWriteOptions } from "../index.js";
import type { ApiKeyRecord } from "./keys.js";

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

/** Hono environment of the contextd app. */
export interface AppEnv {
  Variables: {
    requestId: string;
    /** The store as seen by this request's tenant. */
    store: ContextStore;
    tenant: string;
    /** The key of the request, or `null` when the server runs without keys. */
    key: ApiKeyRecord | null;
    /** Fires at the request's deadline. */
    signal: AbortSignal;
  };
}

/** Call options of the current request (its deadline as the signal). */
export function callOptions(c: Context<AppEnv>): CallOptions {
  return { signal: c.get("signal") };
}

/** Parses `If-Match: "7"` (or `W/"7"`, or `7`) into a version. */
export function ifMatchVersion(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(header);
  if (!m) throw invalidInput("If-Match", `expected a version such as "7", got ${JSON.stringify(header.slice(0, 40))}`);
  return Number(m[1]);
}

/** The write guards a body may carry. */
export interface BodyGuards {
  expectedVersion?: number | undefined;
  fencingToken?: number | undefined;
  metadata?: Record<string, unknown> | undefined;
  events?: unknown[] | undefined;
}

/** Write options from a body's guards plus the `If-Match` header. */
export function writeOptions(c: Context<AppEnv>, body: BodyGuards): StateWriteOptions {
  return writeOptionsFrom(body, c.req.header("if-match"), c.get("signal"));
}

/** {@link writeOptions} from the parts: the body's guards, the `If-Match` header and the deadline. */
export function writeOptionsFrom(body: BodyGuards, ifMatch: string | undefined, signal: AbortSignal): StateWriteOptions {
  const fromHeader = ifMatchVersion(ifMatch);
  if (fromHeader !== undefined && body.expectedVersion !== undefined && fromHeader !== body.expectedVersion) {
    throw invalidInput("expectedVersion", "differs from the If-Match header");
  }
  const options: StateWriteOptions = { signal };
  const expected = body.expectedVersion ?? fromHeader;
  if (expected !== undefined) options.expectedVersion = expected;
  if (body.fencingToken !== undefined) options.fencingToken = body.fencingToken;
  if (body.metadata !== undefined) options.metadata = body.metadata as JsonObject;
  if (body.events !== undefined) options.events = body.events as EventInput[];
  return options;
}

/** Splits a comma-separated `types` query value. */
export function splitTypes(types: string | undefined): string[] | undefined {
  if (types === undefined) return undefined;
  const list = types
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
  return list.length > 0 ? list : undefined;
}

/** A time from a query string: digits are epoch milliseconds, anything else goes to the core as given. */
export function timeParam(value: string): string | number {
  return /^\d{1,15}$/.test(value) ? Number(value) : value;
}
