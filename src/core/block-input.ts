/**
 * Validation of working-memory input — scopes, labels, descriptions, limits, values, schemas
 * and edits — and the one place a block's size is measured against its limit. Everything but
 * the limit of an edit (which depends on the stored value) is checked before any I/O.
 */
import { ContextError, invalidInput } from "../errors.js";
import type { BlockContent, BlockKey, BlockRecord } from "../drivers/block-area.js";
import type { BlockEdit, BlockInput, BlockLimit, BlockScope } from "./block-types.js";
import { countBlockTokens } from "./block-tokens.js";
import { encodeJson, encodeJsonObject, isPlainObject } from "./json.js";
import type { JsonObject, JsonValue } from "./json-types.js";
import type { SchemaValidator } from "./state-validator.js";
import { checkId, checkOptions, checkText, type StoreLimits } from "./validate.js";

/** Largest `limit.chars`. */
export const MAX_BLOCK_CHARS = 1 << 20;
/** Largest `limit.tokens`. */
export const MAX_BLOCK_TOKENS = 1 << 18;
/** Longest description. */
export const MAX_BLOCK_DESCRIPTION = 2048;
const LABEL = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
/**
 * Labels refused although they match the pattern: names an object key would confuse with its
 * prototype's (a renderer or an export may key blocks by label), and the store's own prefix.
 */
export const RESERVED_BLOCK_LABELS: readonly string[] = Object.freeze(["constructor", "prototype", "hasOwnProperty", "toString", "valueOf"]);
const RESERVED_PREFIX = "contextd";
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// eslint-disable-next-line no-control-regex
const CONTROL_BUT_NEWLINES = /[\u0000-\u0008\u000b-\u001f\u007f]/;

/** Checks a scope: exactly one of contextId, userId, agentId. */
export function checkBlockScope(value: unknown, field = "scope"): BlockKey {
  if (!isPlainObject(value)) throw invalidInput(field, "must be an object with exactly one of contextId, userId, agentId");
  const o = checkOptions<{ contextId: string; userId: string; agentId: string }>(value, field, ["contextId", "userId", "agentId"]);
  const given = (["contextId", "userId", "agentId"] as const).filter((k) => o[k] !== undefined);
  if (given.length !== 1) {
    throw invalidInput(field, `must name exactly one of contextId, userId, agentId (got ${given.length === 0 ? "none" : given.join(", ")})`);
  }
  const k = given[0] as "contextId" | "userId" | "agentId";
  const id = k === "contextId" ? checkId(o[k], `${field}.${k}`) : checkText(o[k], `${field}.${k}`);
  return { kind: k === "contextId" ? "context" : k === "userId" ? "user" : "agent", id };
}

/** The public scope of a stored key. */
export function scopeOf(key: BlockKey): BlockScope {
  return key.kind === "context" ? { contextId: key.id } : key.kind === "user" ? { userId: key.id } : { agentId: key.id };
}

/** Checks a label: 1–64 of `A–Z a–z 0–9 _ - .`, starting with a letter, not reserved. */
export function checkLabel(value: unknown, field = "label"): string {
  if (typeof value !== "string") throw invalidInput(field, `must be a string, got ${value === null ? "null" : typeof value}`);
  if (value === "__proto__" || RESERVED_BLOCK_LABELS.includes(value) || value.toLowerCase().startsWith(RESERVED_PREFIX)) {
    throw invalidInput(field, `${JSON.stringify(value)} is a reserved label`, { reserved: true });
  }
  if (!LABEL.test(value)) {
    throw invalidInput(field, `${JSON.stringify(value.slice(0, 70))} is not a valid label (1–64 characters of A–Z a–z 0–9 _ - ., starting with a letter)`);
  }
  return value;
}

/** Checks text a block holds or an edit carries: well-formed Unicode (it must survive UTF-8). */
function checkBlockText(value: unknown, field: string, maxChars: number, allowEmpty: boolean): string {
  if (typeof value !== "string") throw invalidInput(field, `must be a string, got ${value === null ? "null" : typeof value}`);
  if (!allowEmpty && value.length === 0) throw invalidInput(field, "must not be empty");
  if (value.length > maxChars) throw invalidInput(field, `has ${value.length} characters; at most ${maxChars}`, { limit: maxChars, size: value.length });
  if (LONE_SURROGATE.test(value)) throw invalidInput(field, "is not well-formed Unicode (a lone surrogate cannot be encoded as UTF-8)");
  return value;
}

function checkDescription(value: unknown, field: string): string {
  if (value === undefined) return "";
  const text = checkBlockText(value, field, MAX_BLOCK_DESCRIPTION, true);
  if (CONTROL_BUT_NEWLINES.test(text)) throw invalidInput(field, "must not contain control characters (other than newlines and tabs)");
  return text;
}

/** Checks a limit: at least one of `chars` and `tokens`, positive integers within the maxima. */
export function checkLimit(value: unknown, field = "limit"): { limitChars: number | null; limitTokens: number | null } {
  if (value === undefined) throw invalidInput(field, "is required: { chars } and/or { tokens }");
  const o = checkOptions<BlockLimit>(value, field, ["chars", "tokens"]);
  const int = (v: unknown, name: string, max: number): number | null => {
    if (v === undefined) return null;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > max) {
      throw invalidInput(`${field}.${name}`, `must be an integer from 1 to ${max}, got ${typeof v === "number" ? v : typeof v}`);
    }
    return v;
  };
  const limitChars = int(o.chars, "chars", MAX_BLOCK_CHARS);
  const limitTokens = int(o.tokens, "tokens", MAX_BLOCK_TOKENS);
  if (limitChars === null && limitTokens === null) throw invalidInput(field, "must give chars and/or tokens");
  return { limitChars, limitTokens };
}

/** What the rules of a block need: the store's limits and validator. */
export interface BlockRules {
  limits: StoreLimits;
  schemas: SchemaValidator;
}

/**
 * Checks a value for a block with `schemaJson` (text block when null) and returns its JSON
 * text, then enforces the limit.
 * @throws `INVALID_INPUT` (wrong type, not JSON, too large for the store, schema failure with
 *   the JSON pointer in `details.path`); `LIMIT_EXCEEDED`
 */
export function encodeBlockValue(
  rules: BlockRules,
  label: string,
  value: unknown,
  field: string,
  schema: { json: string; value: JsonObject } | null,
  limit: { limitChars: number | null; limitTokens: number | null },
): string {
  const max = rules.limits.maxEventChars;
  let text: string;
  let json: string;
  if (schema === null) {
    if (typeof value !== "string") {
      throw invalidInput(field, `a block without a schema holds text: give a string (or a schema for a JSON value), got ${value === null ? "null" : typeof value}`);
    }
    text = checkBlockText(value, field, max, true);
    json = JSON.stringify(text);
  } else {
    json = encodeJson(value, field, max);
    text = json;
    const errors = rules.schemas.violations(schema.json, schema.value, JSON.parse(json));
    const first = errors[0];
    if (first !== undefined) {
      throw invalidInput(field, `does not match the block's schema: ${first.path} ${first.message}`, { path: first.path, errors });
    }
  }
  checkSize(label, text, limit);
  return json;
}

/** Throws `LIMIT_EXCEEDED` when `text` is over the block's limit (characters first, then tokens). */
export function checkSize(label: string, text: string, limit: { limitChars: number | null; limitTokens: number | null }): void {
  if (limit.limitChars !== null && text.length > limit.limitChars) throw limitExceeded(label, limit.limitChars, "chars", text.length);
  if (limit.limitTokens !== null) {
    const tokens = countBlockTokens(text);
    if (tokens > limit.limitTokens) throw limitExceeded(label, limit.limitTokens, "tokens", tokens);
  }
}

function limitExceeded(label: string, limit: number, unit: "chars" | "tokens", size: number): ContextError {
  const over = size - limit;
  const units = unit === "chars" ? "characters" : "tokens";
  return new ContextError("LIMIT_EXCEEDED", `block ${label} would hold ${size} ${units}, ${over} over its limit of ${limit}; nothing was written`, {
    details: { label, limit, unit, size, over },
  });
}

/** Checks a schema: a JSON object that compiles. */
function checkSchema(rules: BlockRules, value: unknown, field: string): { json: string; value: JsonObject } {
  const json = encodeJsonObject(value, field, rules.limits.maxSchemaChars);
  const parsed = JSON.parse(json) as JsonObject;
  rules.schemas.violations(json, parsed, null); // compiles (INVALID_INPUT when it does not)
  return { json, value: parsed };
}

/** A checked `putBlock` input: its label and the content to store. */
export function checkBlockInput(rules: BlockRules, value: unknown, field = "block"): { label: string; content: BlockContent } {
  if (!isPlainObject(value)) throw invalidInput(field, "must be a block object with label, value and limit");
  const o = checkOptions<BlockInput>(value, field, ["label", "description", "value", "schema", "limit"]);
  const label = checkLabel(o.label, `${field}.label`);
  const description = checkDescription(o.description, `${field}.description`);
  const limit = checkLimit(o.limit, `${field}.limit`);
  const schema = o.schema === undefined ? null : checkSchema(rules, o.schema, `${field}.schema`);
  if (!Object.hasOwn(value, "value")) throw invalidInput(`${field}.value`, "is required");
  const valueJson = encodeBlockValue(rules, label, o.value, `${field}.value`, schema, limit);
  return { label, content: { description, valueJson, schemaJson: schema?.json ?? null, ...limit } };
}

/** Checks an edit (not yet against the block it edits). */
export function checkEdit(value: unknown, maxChars: number, field = "edit"): BlockEdit {
  if (!isPlainObject(value)) throw invalidInput(field, 'must be an object: { op: "append", text }, { op: "replace", old, new } or { op: "rewrite", value }');
  const op = value.op;
  if (op === "append") {
    checkOptions(value, field, ["op", "text"]);
    return { op, text: checkBlockText(value.text, `${field}.text`, maxChars, false) };
  }
  if (op === "replace") {
    checkOptions(value, field, ["op", "old", "new"]);
    return { op, old: checkBlockText(value.old, `${field}.old`, maxChars, false), new: checkBlockText(value.new, `${field}.new`, maxChars, true) };
  }
  if (op === "rewrite") {
    checkOptions(value, field, ["op", "value"]);
    if (!Object.hasOwn(value, "value")) throw invalidInput(`${field}.value`, "is required");
    return { op, value: value.value as JsonValue };
  }
  throw invalidInput(`${field}.op`, `must be "append", "replace" or "rewrite", got ${JSON.stringify(op) ?? "nothing"}`);
}

/** Where `needle` occurs in `text` (overlapping occurrences count: replacing either would be a guess). */
function occurrences(text: string, needle: string): number[] {
  const at: number[] = [];
  for (let i = text.indexOf(needle); i !== -1 && at.length < 2; i = text.indexOf(needle, i + 1)) at.push(i);
  return at;
}

/** The content of `current` after `edit`, limit and schema checked (inside the driver's transaction). */
export function editedContent(rules: BlockRules, current: BlockRecord, edit: BlockEdit): BlockContent {
  const limit = { limitChars: current.limitChars, limitTokens: current.limitTokens };
  const schemaJson = current.schema === null ? null : JSON.stringify(current.schema);
  const schema = current.schema === null || schemaJson === null ? null : { json: schemaJson, value: current.schema };
  const base = { description: current.description, schemaJson, ...limit };
  if (edit.op === "rewrite") return { ...base, valueJson: encodeBlockValue(rules, current.label, edit.value, "edit.value", schema, limit) };
  if (schema !== null || typeof current.value !== "string") {
    throw invalidInput("edit.op", `${edit.op} edits a text block; block ${current.label} holds JSON: rewrite it instead`);
  }
  const text = current.value;
  if (edit.op === "append") return { ...base, valueJson: encodeBlockValue(rules, current.label, text + edit.text, "edit.text", null, limit) };
  const at = occurrences(text, edit.old);
  if (at.length !== 1) {
    const why = at.length === 0 ? "does not occur in" : "occurs more than once in";
    throw invalidInput("edit.old", `${why} block ${current.label}; nothing was replaced${at.length > 1 ? " (give more context to make it unique)" : ""}`, {
      occurrences: at.length,
    });
  }
  const i = at[0] as number;
  const next = text.slice(0, i) + edit.new + text.slice(i + edit.old.length);
  return { ...base, valueJson: encodeBlockValue(rules, current.label, next, "edit.new", null, limit) };
}
