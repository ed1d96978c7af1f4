/**
 * Input checks at the edge of the core: every public method validates all of its input
 * here before it touches the driver, so bad input never causes a partial write.
 */
import { abortedError, invalidInput } from "../errors.js";
import type { ContextError } from "../errors.js";
import { isPlainObject } from "./json.js";
import type { CallOptions } from "./types.js";

/** Size limits, in characters of JSON text (UTF-16 code units, JavaScript's `length`: a storage bound, not a budget of the content). */
export interface StoreLimits {
  /** Data + metadata of one event. @default 1 MiB */
  maxEventChars: number;
  /** The whole state. @default 16 MiB */
  maxStateChars: number;
  /** Metadata of a context, snapshot or event. @default 64 KiB */
  maxMetadataChars: number;
  /** Events in one append. @default 10000 */
  maxBatch: number;
  /** A JSON Schema. @default 1 MiB */
  maxSchemaChars: number;
}

/** The default {@link StoreLimits}. */
export const DEFAULT_LIMITS: StoreLimits = {
  maxEventChars: 1 << 20,
  maxStateChars: 16 << 20,
  maxMetadataChars: 64 << 10,
  maxBatch: 10_000,
  maxSchemaChars: 1 << 20,
};

// Ids appear in URLs and file names: keep them to a safe alphabet.
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@+=-]{0,199}$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** An id of a context, snapshot, kind or tenant: 1–200 of `A–Z a–z 0–9 . _ : @ + = -`, starting alphanumeric. */
export function checkId(value: unknown, field: string): string {
  // An agent names the same context call after call: the last valid id skips the pattern.
  if (value === lastValidId) return value;
  if (typeof value !== "string") throw invalidInput(field, `must be a string, got ${typeof value}`);
  if (!ID_PATTERN.test(value)) {
    throw invalidInput(
      field,
      `${JSON.stringify(value.slice(0, 50))} is not a valid id (1–200 characters of A–Z a–z 0–9 . _ : @ + = -, starting with a letter or digit)`,
    );
  }
  lastValidId = value;
  return value;
}
let lastValidId = "0"; // a valid id: returning it unchecked is right

/** A free-form label (owner ids, holders, titles, event types): 1–`max` characters, no control characters. */
export function checkText(value: unknown, field: string, max = 256): string {
  if (typeof value !== "string") throw invalidInput(field, `must be a string, got ${value === null ? "null" : typeof value}`);
  if (value.length === 0) throw invalidInput(field, "must not be empty");
  if (value.length > max) throw invalidInput(field, `longer than ${max} characters`);
  if (CONTROL.test(value)) throw invalidInput(field, "must not contain control characters");
  return value;
}

/** {@link checkText}, or `null`/`undefined` → `null`. */
export function checkOptionalText(value: unknown, field: string, max = 256): string | null {
  return value === undefined || value === null ? null : checkText(value, field, max);
}

/**
 * The event types the engine writes for its own operations (state writes, snapshots,
 * restores) and reads back when it rebuilds a past state, exports or imports a context.
 * `append` refuses them: a user's `state` event would be taken for a state write.
 */
export const RESERVED_EVENT_TYPES: readonly string[] = Object.freeze(["state", "snapshot", "restore"]);

/** An event type to append: {@link checkText} of at most 128 characters, not one of {@link RESERVED_EVENT_TYPES}. */
export function checkEventType(value: unknown, field: string): string {
  // Appends repeat a few types ("message"…): the last valid one skips the checks.
  if (value === lastEventType) return value;
  const type = checkText(value, field, 128);
  if (RESERVED_EVENT_TYPES.includes(type)) {
    throw invalidInput(field, `"${type}" is reserved for the engine's own events (${RESERVED_EVENT_TYPES.join(", ")}); use another type`, {
      type,
    });
  }
  lastEventType = type;
  return type;
}
let lastEventType = "message"; // a valid type: returning it unchecked is right

/** An integer in `[min, max]`. */
export function checkInt(value: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw invalidInput(field, `must be an integer, got ${typeof value === "number" ? value : typeof value}`);
  }
  if (value < min || value > max) throw invalidInput(field, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** A time as epoch milliseconds. */
export function checkTime(value: unknown, field: string): number {
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === "number") ms = value;
  else if (typeof value === "string") ms = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  else throw invalidInput(field, "must be a Date, epoch milliseconds or an ISO 8601 string");
  if (!Number.isFinite(ms) || ms < 0 || ms > 8.64e15) throw invalidInput(field, `is not a valid time: ${String(value)}`);
  return Math.floor(ms);
}

/** An options object (or undefined) with only the allowed keys: a typo is an error, not silently ignored. */
export function checkOptions<T extends object>(value: unknown, field: string, allowed: readonly string[]): Partial<T> {
  if (value === undefined) return {};
  if (!isPlainObject(value)) throw invalidInput(field, "must be an object");
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw invalidInput(`${field}.${key}`, `unknown option (allowed: ${allowed.join(", ")})`);
    }
  }
  const signal = (value as { signal?: unknown }).signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidInput(`${field}.signal`, "must be an AbortSignal");
  return value as Partial<T>;
}

/** The error an aborted signal turns into. */
export function abortError(signal: AbortSignal): ContextError {
  return abortedError(signal);
}

/** Throws `ABORTED` if the signal has fired. */
export function throwIfAborted(options: CallOptions | undefined): void {
  const signal = options?.signal;
  if (signal?.aborted) throw abortError(signal);
}

/** ISO 8601 text of epoch milliseconds. */
export function iso(time: number): string {
  // What Date does with the time: a RangeError beyond ±8.64e15 ms (or NaN), fractions dropped.
  if (!(Math.abs(time) <= 8.64e15)) return new Date(time).toISOString();
  const ms = Math.trunc(time);
  // Events of one batch share a millisecond, and a second's texts share all but the
  // milliseconds: formatting a Date (V8 formats it with printf) is not free.
  if (ms !== lastIsoMs) {
    const second = Math.floor(ms / 1000);
    if (second !== lastIsoSecond) {
      // "…T12:34:56.789Z" without "789Z"; toISOString throws a RangeError on a bad time.
      lastIsoPrefix = new Date(second * 1000).toISOString().slice(0, -4);
      lastIsoSecond = second;
    }
    const milli = ms - second * 1000;
    lastIso = `${lastIsoPrefix}${milli < 10 ? "00" : milli < 100 ? "0" : ""}${milli}Z`;
    lastIsoMs = ms;
  }
  return lastIso;
}
let lastIsoMs = Number.NaN;
let lastIso = "";
let lastIsoSecond = Number.NaN;
let lastIsoPrefix = "";

/** Encodes a numeric cursor opaquely. */
export function encodeCursor(value: string): string {
  return Buffer.from(value, "utf8").toString("base64url");
}

/** Decodes a cursor made by {@link encodeCursor}. */
export function decodeCursor(cursor: unknown, field = "cursor"): string {
  if (typeof cursor !== "string" || cursor.length === 0 || cursor.length > 1000) {
    throw invalidInput(field, "must be the nextCursor of a previous page");
  }
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  if (text.length === 0 || encodeCursor(text) !== cursor) throw invalidInput(field, "must be the nextCursor of a previous page");
  return text;
}
