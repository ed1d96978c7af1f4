/**
 * Helpers handlers use to turn a request (its deadline, body guards, `If-Match`, query
 * strings) into store call options.
 */
import type { Context } from "hono";
import { ContextError, invalidInput } from "../index.js";
import type { CallOptions, EventInput, JsonObject, StateWriteOptions } from "../index.js";
import type { AppEnv } from "./app-env.js";

/** Call options of the current request (its deadline as the signal). */
export function callOptions(c: Context<AppEnv>): CallOptions {
  return { signal: c.get("signal") };
}

/**
 * Parses `If-Match: "7"` (or `7`) into a version. If-Match uses the strong comparison
 * (RFC 9110 §13.1.1): a weak tag such as `W/"7"` never matches, so the write is refused with
 * `VERSION_CONFLICT` whatever the version.
 */
export function ifMatchVersion(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*(W\/)?"?(\d{1,15})"?\s*$/.exec(header);
  if (!m) throw invalidInput("If-Match", `expected a version such as "7", got ${JSON.stringify(header.slice(0, 40))}`);
  if (m[1] !== undefined) {
    throw new ContextError("VERSION_CONFLICT", `If-Match ${header.trim()}: a weak entity tag never matches (If-Match compares strongly); send "${m[2]}"`, {
      details: { header: "If-Match" },
    });
  }
  return Number(m[2]);
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
