/**
 * How client arguments become URLs, query strings and JSON bodies, checked on the way.
 */
import { invalidInput } from "../errors.js";
import type { EventQuery, SearchHit, SearchQuery, StateWriteOptions } from "../core/types.js";
import { isPlainObject } from "../core/json.js";
import { isJsonText } from "../core/json-text.js";
import { checkCount, checkJson, checkJsonObject, checkObject, checkOptions, checkString, queryTime, wireTime } from "./checks.js";

/** A query string's parameters (an array repeats the parameter). */
export type Query = Record<string, string | string[] | undefined>;

export type { SearchHit, SearchQuery };

/** Encodes a path segment. */
export const enc = encodeURIComponent;

/** The path of a context route; the id must be a non-empty string. */
export function ctxPath(id: unknown, rest = ""): string {
  return `/v1/contexts/${enc(checkString(id, "contextId"))}${rest}`;
}

/** A non-negative integer query parameter, or nothing. */
export function num(value: unknown, field: string): string | undefined {
  return value === undefined ? undefined : String(checkCount(value, field));
}

/** A string query parameter, or nothing. */
export function str(value: unknown, field: string): string | undefined {
  return value === undefined ? undefined : checkString(value, field, 4096);
}

/** Event types as the comma-separated `types` parameter. */
export function types(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw invalidInput("types", "must be an array of event types");
  value.forEach((t, i) => checkString(t, `types[${i}]`, 256));
  if (value.some((t: string) => t.includes(","))) throw invalidInput("types", "an event type for a filter must not contain ','");
  return value.length === 0 ? undefined : value.join(",");
}

/** Write guards for a body (and, for state writes, the events of the step); the signal stays out. */
export function guards(options: unknown, withEvents = false): { body: Record<string, unknown>; signal: AbortSignal | undefined } {
  const o = checkOptions<StateWriteOptions>(options);
  const body: Record<string, unknown> = {};
  if (o.expectedVersion !== undefined) body.expectedVersion = checkCount(o.expectedVersion, "expectedVersion");
  if (o.fencingToken !== undefined) body.fencingToken = checkCount(o.fencingToken, "fencingToken");
  if (o.metadata !== undefined) {
    checkJsonObject(o.metadata, "metadata");
    body.metadata = o.metadata;
  }
  if (withEvents && o.events !== undefined) {
    if (!Array.isArray(o.events)) throw invalidInput("events", "must be an array of events");
    body.events = o.events.map((e, i) => wireEvent(e, `events[${i}]`));
  }
  return { body, signal: o.signal };
}

/** The event filters of a query as query parameters. */
export function eventFilters(q: Partial<EventQuery>): Query {
  return {
    afterSeq: num(q.afterSeq, "afterSeq"),
    beforeSeq: num(q.beforeSeq, "beforeSeq"),
    since: q.since === undefined ? undefined : queryTime(q.since, "since"),
    until: q.until === undefined ? undefined : queryTime(q.until, "until"),
    types: types(q.types),
  };
}

/**
 * An event to append, with its timestamp made wire-safe and its values checked as the store
 * checks them (`<field>.data`, `<field>.metadata`), so errors read the same.
 */
export function wireEvent(given: unknown, field: string): Record<string, unknown> {
  if (!isPlainObject(given)) throw invalidInput(field, "must be an object with a type");
  // Data contextd's own code encoded (core/json-text.ts) goes as its value: the server checks it.
  const e = isJsonText(given.data) ? { ...given, data: given.data.value } : given;
  if (e.data !== undefined) checkJson(e.data, `${field}.data`);
  if (e.metadata !== undefined) checkJsonObject(e.metadata, `${field}.metadata`);
  if (typeof e.tokens === "number" && !Number.isInteger(e.tokens)) throw invalidInput(`${field}.tokens`, `must be an integer, got ${e.tokens}`);
  // fromEntries defines keys: assigning `out[k]` would turn a key named `__proto__` into a prototype.
  const out = Object.fromEntries(
    Object.entries(e)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, k === "timestamp" ? wireTime(v as Date, `${field}.timestamp`) : v]),
  );
  for (const [k, v] of Object.entries(out)) if (k !== "data" && k !== "metadata") checkJson(v, `${field}.${k}`);
  return out;
}

/** Fields that are JSON objects in the store: checked as the store checks them. */
const OBJECT_FIELDS = new Set(["metadata", "state"]);

/** Context fields shared by create and fork, with times made wire-safe. */
export function wireContextFields(input: Record<string, unknown>): Record<string, unknown> {
  const out = Object.fromEntries(
    Object.entries(input)
      .filter(([k, v]) => v !== undefined && k !== "signal")
      .map(([k, v]) => [k, k === "expiresAt" || k === "before" || k === "at" ? wireTime(v as Date, k) : v]),
  );
  for (const [k, v] of Object.entries(out)) {
    if (OBJECT_FIELDS.has(k)) checkJsonObject(v, k);
    else checkJson(v, k);
  }
  return out;
}

const SEARCH_OPTIONS = ["text", "mode", "contextId", "types", "limit", "minScore", "onProgress", "signal"];

/**
 * A search query as the parameters of `GET /v1/search`: what JSON or a URL would change is
 * refused here (a number as text, an empty `types` the URL cannot carry, an unknown option);
 * the rest (the words, the limit's range, the id's alphabet) the server's store checks.
 */
export function searchParams(query: unknown): { signal: AbortSignal | undefined; params: Query } {
  const q = checkOptions<SearchQuery>(checkObject(query, "query"), "query");
  for (const key of Object.keys(q)) {
    if (!SEARCH_OPTIONS.includes(key)) throw invalidInput(`query.${key}`, `unknown option (allowed: ${SEARCH_OPTIONS.join(", ")})`);
  }
  let type: string[] | undefined;
  if (q.types !== undefined) {
    if (!Array.isArray(q.types) || q.types.length === 0 || q.types.length > 100) {
      throw invalidInput("types", "must be a non-empty array of at most 100 event types");
    }
    type = q.types.map((t, i) => checkString(t, `types[${i}]`, 256));
  }
  if (q.minScore !== undefined && (typeof q.minScore !== "number" || !Number.isFinite(q.minScore))) throw invalidInput("minScore", "must be a number");
  // The server embeds what it has not embedded yet; it reports no progress over HTTP.
  if (q.onProgress !== undefined && typeof q.onProgress !== "function") throw invalidInput("onProgress", "must be a function");
  return {
    signal: q.signal,
    params: {
      text: checkString(q.text, "text", 1000),
      mode: str(q.mode, "mode"),
      contextId: str(q.contextId, "contextId"),
      type,
      limit: num(q.limit, "limit"),
      minScore: q.minScore === undefined ? undefined : String(q.minScore),
    },
  };
}
