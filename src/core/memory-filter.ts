/**
 * Metadata filters of memory lists and searches, with LangGraph's operators (`$eq $ne $gt $gte
 * $lt $lte $in $nin`). One definition, applied by the core on every store:
 *
 * - A key selects `metadata[key]`; when the metadata has no key of that exact name, a dotted
 *   key (`"a.b"`) reaches into nested objects.
 * - A plain value means `$eq`. `$eq` / `$ne` / `$in` / `$nin` compare JSON values structurally
 *   (objects by keys, arrays in order); a missing key equals nothing (so `$ne` and `$nin` hold).
 * - `$gt $gte $lt $lte` compare numbers with numbers and strings with strings (by UTF-16 code
 *   units, like JavaScript); any other pairing, or a missing key, does not match.
 * - Every condition must hold (AND).
 */
import { invalidInput } from "../errors.js";
import { isPlainObject, jsonEqual } from "./json.js";
import type { JsonObject, JsonValue } from "./json-types.js";

const OPERATORS = new Set(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin"]);
const MAX_CONDITIONS = 64;

/** A compiled filter: true when the metadata matches. */
export type MetadataPredicate = (metadata: JsonObject) => boolean;

type Check = (value: JsonValue | undefined) => boolean;

function lookup(metadata: JsonObject, key: string): JsonValue | undefined {
  if (Object.hasOwn(metadata, key)) return metadata[key];
  let cur: JsonValue | undefined = metadata;
  for (const part of key.split(".")) {
    if (cur === null || typeof cur !== "object" || Array.isArray(cur) || !Object.hasOwn(cur, part)) return undefined;
    cur = cur[part];
  }
  return cur;
}

function ordered(op: string, bound: JsonValue, field: string): Check {
  if (typeof bound !== "number" && typeof bound !== "string") {
    throw invalidInput(field, `${op} needs a number or a string, got ${bound === null ? "null" : typeof bound}`);
  }
  const cmp = (v: JsonValue | undefined): number | undefined =>
    typeof v === typeof bound && (typeof v === "number" || typeof v === "string") ? (v < bound ? -1 : v > bound ? 1 : 0) : undefined;
  switch (op) {
    case "$gt":
      return (v) => cmp(v) === 1;
    case "$gte":
      return (v) => (cmp(v) ?? -1) >= 0;
    case "$lt":
      return (v) => cmp(v) === -1;
    default:
      return (v) => (cmp(v) ?? 1) <= 0;
  }
}

function operatorCheck(op: string, operand: JsonValue, field: string): Check {
  switch (op) {
    case "$eq":
      return (v) => v !== undefined && jsonEqual(v, operand);
    case "$ne":
      return (v) => v === undefined || !jsonEqual(v, operand);
    case "$in":
    case "$nin": {
      if (!Array.isArray(operand)) throw invalidInput(field, `${op} needs an array`);
      const inList = (v: JsonValue | undefined) => v !== undefined && operand.some((o) => jsonEqual(v, o));
      return op === "$in" ? inList : (v) => !inList(v);
    }
    default:
      return ordered(op, operand, field);
  }
}

/**
 * Compiles `filter` (already checked to be JSON by the caller).
 * @throws `INVALID_INPUT` naming the field for an unknown operator, an operator object mixed
 *   with plain keys, a wrong operand, or more than 64 conditions
 */
export function compileMetadataFilter(filter: unknown, field = "filter"): MetadataPredicate {
  if (filter === undefined) return () => true;
  if (!isPlainObject(filter)) throw invalidInput(field, "must be an object of metadata conditions");
  const checks: { key: string; check: Check }[] = [];
  for (const [key, condition] of Object.entries(filter as JsonObject)) {
    const at = `${field}.${key}`;
    if (key.length === 0) throw invalidInput(at, "a metadata key must not be empty");
    const isOperators = isPlainObject(condition) && Object.keys(condition).some((k) => k.startsWith("$"));
    if (!isOperators) {
      checks.push({ key, check: operatorCheck("$eq", condition, at) });
      continue;
    }
    for (const [op, operand] of Object.entries(condition as JsonObject)) {
      if (!OPERATORS.has(op)) {
        throw invalidInput(`${at}.${op}`, `unknown operator (allowed: ${[...OPERATORS].join(" ")})`);
      }
      checks.push({ key, check: operatorCheck(op, operand, `${at}.${op}`) });
    }
  }
  if (checks.length > MAX_CONDITIONS) throw invalidInput(field, `has ${checks.length} conditions; at most ${MAX_CONDITIONS}`);
  if (checks.length === 0) return () => true;
  return (metadata) => checks.every(({ key, check }) => check(lookup(metadata, key)));
}
