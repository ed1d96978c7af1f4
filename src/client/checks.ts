/**
 * The checks the client makes before sending: what would change meaning on the way through
 * JSON or a URL (a Date or NaN silently converted, a number where a string belongs) is
 * refused here with `INVALID_INPUT`, like the embedded store does. Everything else the
 * server checks.
 */
import { ContextError, invalidInput } from "../errors.js";
import type { CallOptions, TimeInput } from "../core/types.js";
import { isPlainObject } from "../core/json.js";

// The same JSON check as the embedded store (core/json.ts imports nothing but errors.ts),
// so a value that cannot cross the wire gets the same code, message and pointer from both.
export { checkJson, checkJsonObject } from "../core/json.js";

/** A non-empty string of at most `max` characters (ids, holders, kinds, names). */
export function checkString(value: unknown, field: string, max = 1024): string {
  if (typeof value !== "string") throw invalidInput(field, `must be a string, got ${value === null ? "null" : typeof value}`);
  if (value.length === 0) throw invalidInput(field, "must not be empty");
  if (value.length > max) throw invalidInput(field, `longer than ${max} characters`);
  return value;
}

/** A non-negative safe integer. */
export function checkCount(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw invalidInput(field, `must be a non-negative integer, got ${typeof value === "number" ? String(value) : typeof value}`);
  }
  return value;
}

/** An options object (or nothing), with a real AbortSignal if any. */
export function checkOptions<T extends object>(value: unknown, field = "options"): Partial<T> {
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) throw invalidInput(field, "must be an object");
  const signal = value.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidInput(`${field}.signal`, "must be an AbortSignal");
  return value as Partial<T>;
}

/** A plain object, required. */
export function checkObject(value: unknown, field: string): Record<string, unknown> {
  if (!isPlainObject(value)) throw invalidInput(field, "must be an object");
  return value;
}

/** A time as it goes over the wire: a Date becomes its ISO string; an invalid Date is refused. */
export function wireTime(value: TimeInput | null | undefined, field: string): string | number | null | undefined {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw invalidInput(field, "is an invalid Date");
    return value.toISOString();
  }
  if (typeof value === "number" && !Number.isFinite(value)) throw invalidInput(field, `${String(value)} is not a time`);
  return value as string | number | null | undefined;
}

/** A time for a query string. */
export function queryTime(value: unknown, field: string): string {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw invalidInput(field, "is an invalid Date");
    return value.toISOString();
  }
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw invalidInput(field, `${String(value)} is not a time`);
    return String(value);
  }
  if (typeof value === "string" && value.length > 0) return value;
  throw invalidInput(field, "must be a Date, epoch milliseconds or an ISO 8601 string");
}

/** Throws `ABORTED` if the call's signal has fired. */
export function throwIfAborted(options: CallOptions | undefined): void {
  const signal = options?.signal;
  if (signal?.aborted) throw new ContextError("ABORTED", "the operation was aborted", { cause: signal.reason });
}

const TENANT = /^[A-Za-z0-9][A-Za-z0-9._:@+=-]{0,199}$/;

/** A tenant name: the id alphabet of the store. */
export function checkTenant(value: unknown): string {
  if (typeof value !== "string" || !TENANT.test(value)) {
    throw invalidInput("tenant", "must be 1–200 characters of A–Z a–z 0–9 . _ : @ + = -, starting with a letter or digit");
  }
  return value;
}
