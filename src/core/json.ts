/**
 * JSON values: strict validation (nothing `JSON.stringify` would silently drop or
 * change), RFC 7396 merge patch, RFC 6901 pointers and RFC 6902 diffs.
 */
import { ContextError, invalidInput } from "../errors.js";
import type { JsonObject, JsonPatchOperation, JsonValue, StatePath } from "./types.js";

/** Most nesting levels of a JSON value (arrays and objects; `[[1]]` has 2). */
export const MAX_DEPTH = 256;

/** True for `{}`-like objects (prototype `Object.prototype` or `null`). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value === "number") return String(value);
  if (typeof value === "object" && value !== null) {
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name;
    return name ? `a ${name} instance` : "an object";
  }
  return `a ${typeof value}`;
}

/**
 * The value of `obj`'s own property `key`: `obj[key]` would also find what the prototype
 * holds under `__proto__`, `constructor`, `toString`…, which user JSON may name as keys.
 */
export function ownValue(obj: JsonObject, key: string): JsonValue | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/**
 * Sets `obj`'s own property `key`: assigning to `__proto__` would set the prototype instead
 * (prototype pollution, or the key silently lost), so that one key is defined, not assigned.
 */
export function setOwn(obj: JsonObject, key: string, value: JsonValue): void {
  if (key === "__proto__") Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}

function escapeSegment(segment: string): string {
  return segment.replaceAll("~", "~0").replaceAll("/", "~1");
}

/**
 * Checks that `value` is JSON exactly as given and returns its JSON text.
 * `maxDepth`: most nesting levels (less than {@link MAX_DEPTH} for a value placed inside
 * something else, e.g. at a path of the state).
 * @throws `INVALID_INPUT` naming `field` and the JSON pointer of the first bad value,
 *   or when the text is longer than `maxChars`.
 */
export function encodeJson(value: unknown, field: string, maxChars: number, maxDepth = MAX_DEPTH): string {
  checkJson(value, field, maxDepth);
  return encodeJsonText(value, field, maxChars);
}

function encodeJsonText(value: unknown, field: string, maxChars: number): string {
  return checkJsonChars(JSON.stringify(value), field, maxChars);
}

/**
 * Returns `text` (JSON text) unless it is longer than `maxChars`.
 * @throws `INVALID_INPUT` naming `field`, with `details.size` and `details.limit`
 */
export function checkJsonChars(text: string, field: string, maxChars: number): string {
  if (text.length > maxChars) {
    throw invalidInput(field, `${text.length} characters of JSON exceed the limit of ${maxChars}`, {
      size: text.length,
      limit: maxChars,
    });
  }
  return text;
}

/**
 * Checks that `value` is JSON exactly as given: what `JSON.stringify` would drop or change
 * (undefined, NaN, a Date, a Map, a class instance, a cycle, holes) or nesting deeper than
 * `maxDepth` levels. The one check the embedded store and `contextd/client` both make, so a
 * bad value gets the same error from each.
 * @throws `INVALID_INPUT` naming `field`, with the JSON pointer of the first bad value in `details.path`
 */
export function checkJson(value: unknown, field: string, maxDepth = MAX_DEPTH): void {
  // The common case is valid input: check it without building JSON pointers, and walk again
  // with pointers only to name the first bad value.
  if (!isJson(value, [], 0, maxDepth)) explainNotJson(value, field, maxDepth);
}

/** {@link checkJson}, and the value must be a plain object. */
export function checkJsonObject(value: unknown, field: string, maxDepth = MAX_DEPTH): void {
  if (!isPlainObject(value)) throw invalidInput(field, `must be a JSON object, got ${describe(value)}`);
  checkJson(value, field, maxDepth);
}

/**
 * `ancestors` holds the containers around `v` (an array: JSON is shallow, and a scan of a few
 * entries costs less than making and filling a `Set` on every call).
 */
function isJson(v: unknown, ancestors: object[], depth: number, maxDepth: number): boolean {
  switch (typeof v) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(v);
    case "object": {
      if (v === null) return true;
      // `depth` counts the containers around `v`: `v` is level depth + 1.
      if (depth >= maxDepth || ancestors.includes(v)) return false;
      ancestors.push(v);
      let ok = true;
      if (Array.isArray(v)) {
        for (let i = 0; ok && i < v.length; i++) ok = i in v && isJson(v[i], ancestors, depth + 1, maxDepth);
      } else if (isPlainObject(v)) {
        // Own enumerable string keys, what JSON.stringify writes.
        const keys = Object.keys(v);
        for (let i = 0; ok && i < keys.length; i++) ok = isJson(v[keys[i] as string], ancestors, depth + 1, maxDepth);
      } else {
        ok = false;
      }
      ancestors.pop();
      return ok;
    }
    default:
      return false;
  }
}

function explainNotJson(value: unknown, field: string, maxDepth: number): never {
  const ancestors = new Set<object>();
  const walk = (v: unknown, path: string, depth: number): void => {
    switch (typeof v) {
      case "string":
      case "boolean":
        return;
      case "number":
        if (!Number.isFinite(v)) throw invalidInput(field, `${describe(v)} at "${path}" is not JSON`, { path });
        return;
      case "object": {
        if (v === null) return;
        if (depth >= maxDepth) {
          const message = maxDepth === MAX_DEPTH ? `nested deeper than ${MAX_DEPTH} levels` : `nested deeper than ${MAX_DEPTH} levels once placed at its path`;
          throw invalidInput(field, message, { path, limit: MAX_DEPTH });
        }
        if (ancestors.has(v)) throw invalidInput(field, `cyclic reference at "${path}"`, { path });
        ancestors.add(v);
        if (Array.isArray(v)) {
          for (let i = 0; i < v.length; i++) {
            if (!(i in v)) throw invalidInput(field, `hole in array at "${path}/${i}"`, { path: `${path}/${i}` });
            walk(v[i], `${path}/${i}`, depth + 1);
          }
        } else if (isPlainObject(v)) {
          for (const key of Object.keys(v)) walk(v[key], `${path}/${escapeSegment(key)}`, depth + 1);
        } else {
          throw invalidInput(field, `${describe(v)} at "${path}" is not JSON (convert it to a plain value first)`, {
            path,
          });
        }
        ancestors.delete(v);
        return;
      }
      default:
        throw invalidInput(field, `${describe(v)} at "${path}" is not JSON`, { path });
    }
  };
  walk(value, "", 0);
  throw invalidInput(field, "is not JSON");
}

const NOT_JSON = Symbol("not JSON");

/**
 * A copy of `v` if it is JSON exactly as given (the rules of {@link checkJson}), else
 * `NOT_JSON`: new objects and arrays, the same strings (strings cannot change), keys in order,
 * an own `__proto__` key kept as data.
 */
function copyJson(v: unknown, ancestors: object[], depth: number, maxDepth: number): JsonValue | typeof NOT_JSON {
  switch (typeof v) {
    case "string":
    case "boolean":
      return v;
    case "number":
      return Number.isFinite(v) ? v : NOT_JSON;
    case "object": {
      if (v === null) return null;
      if (depth >= maxDepth || ancestors.includes(v)) return NOT_JSON;
      ancestors.push(v);
      let out: JsonValue | typeof NOT_JSON;
      if (Array.isArray(v)) {
        const items: JsonValue[] = [];
        out = items;
        for (let i = 0; i < v.length; i++) {
          const item = i in v ? copyJson(v[i], ancestors, depth + 1, maxDepth) : NOT_JSON;
          if (item === NOT_JSON) {
            out = NOT_JSON;
            break;
          }
          items.push(item);
        }
      } else if (isPlainObject(v)) {
        const obj: JsonObject = {};
        out = obj;
        const keys = Object.keys(v);
        for (let i = 0; i < keys.length; i++) {
          const key = keys[i] as string;
          const item = copyJson(v[key], ancestors, depth + 1, maxDepth);
          if (item === NOT_JSON) {
            out = NOT_JSON;
            break;
          }
          if (key === "__proto__") setOwn(obj, key, item);
          else obj[key] = item;
        }
      } else {
        out = NOT_JSON;
      }
      ancestors.pop();
      return out;
    }
    default:
      return NOT_JSON;
  }
}

/**
 * {@link encodeJson}'s check and text, and a private copy of the value: what a write keeps
 * when the caller may change its own value before the write is applied. Cheaper than parsing
 * the text back (strings are shared, not scanned again).
 * @throws `INVALID_INPUT` as {@link encodeJson}
 */
export function copyEncodeJson(value: unknown, field: string, maxChars: number, maxDepth = MAX_DEPTH): { value: JsonValue; text: string } {
  const copy = copyJson(value, [], 0, maxDepth);
  if (copy === NOT_JSON) explainNotJson(value, field, maxDepth);
  return { value: copy, text: checkJsonChars(JSON.stringify(copy), field, maxChars) };
}

/** {@link copyEncodeJson}, and the value must be a plain object. */
export function copyEncodeJsonObject(value: unknown, field: string, maxChars: number, maxDepth = MAX_DEPTH): { value: JsonObject; text: string } {
  if (!isPlainObject(value)) throw invalidInput(field, `must be a JSON object, got ${describe(value)}`);
  return copyEncodeJson(value, field, maxChars, maxDepth) as { value: JsonObject; text: string };
}

/** Like {@link encodeJson}, and the value must be a plain object. */
export function encodeJsonObject(value: unknown, field: string, maxChars: number, maxDepth = MAX_DEPTH): string {
  checkJsonObject(value, field, maxDepth);
  return encodeJsonText(value, field, maxChars);
}

/** Deep structural equality of JSON values (key order ignored). */
export function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i] as JsonValue));
  }
  const ao = a as JsonObject;
  const bo = b as JsonObject;
  const keys = Object.keys(ao);
  if (keys.length !== Object.keys(bo).length) return false;
  return keys.every((k) => Object.hasOwn(bo, k) && jsonEqual(ao[k] as JsonValue, bo[k] as JsonValue));
}

/** JSON text with object keys sorted: equal values give equal text. */
export function canonicalJson(value: JsonValue): string {
  if (typeof value !== "object" || value === null) return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k] as JsonValue)}`).join(",")}}`;
}

/** Applies an RFC 7396 merge patch; returns the merged value (the target may be reused). */
export function mergePatch(target: JsonValue, patch: JsonValue): JsonValue {
  if (!isPlainObject(patch)) return patch;
  const result: JsonObject = isPlainObject(target) ? (target as JsonObject) : {};
  const keys = Object.keys(patch);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const value = (patch as JsonObject)[key] as JsonValue;
    if (value === null) delete result[key];
    else setOwn(result, key, mergePatch(ownValue(result, key) ?? null, value));
  }
  return result;
}

/**
 * Parses a state path into segments: a JSON Pointer string (`/a/b~1c/0`) or an array.
 * The root path is refused: use `replaceState` for the whole state.
 */
export function parsePath(path: StatePath, field = "path"): string[] {
  let segments: string[];
  if (typeof path === "string") {
    if (!path.startsWith("/")) throw invalidInput(field, `JSON pointer must start with "/", got ${JSON.stringify(path)}`);
    segments = path
      .slice(1)
      .split("/")
      .map((s) => {
        if (/~[^01]|~$/.test(s)) throw invalidInput(field, `bad escape in JSON pointer ${JSON.stringify(path)}`);
        return s.replaceAll("~1", "/").replaceAll("~0", "~");
      });
  } else if (Array.isArray(path)) {
    segments = path.map((s: unknown, i) => {
      if (typeof s === "string") return s;
      if (typeof s === "number" && Number.isInteger(s) && s >= 0) return String(s);
      throw invalidInput(field, `segment ${i} must be a string or a non-negative integer`);
    });
  } else {
    throw invalidInput(field, "must be a JSON pointer string or an array of segments");
  }
  if (segments.length === 0) throw invalidInput(field, "the root path is not allowed here; use replaceState");
  if (segments.length > MAX_DEPTH) throw invalidInput(field, `deeper than ${MAX_DEPTH} segments`);
  return segments;
}

/** Formats segments as a JSON Pointer. */
export function formatPointer(segments: readonly string[]): string {
  return segments.map((s) => `/${escapeSegment(s)}`).join("");
}

function arrayIndex(arr: JsonValue[], segment: string, forInsert: boolean, pointer: string): number {
  if (forInsert && segment === "-") return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(segment)) throw invalidInput("path", `"${segment}" is not an array index at ${pointer}`);
  const index = Number(segment);
  if (index > arr.length || (!forInsert && index === arr.length)) {
    throw invalidInput("path", `index ${index} is out of bounds at ${pointer}`);
  }
  return index;
}

/** Sets `value` at `segments` inside `state` (mutated), creating missing objects. */
export function setAtPath(state: JsonObject, segments: readonly string[], value: JsonValue): void {
  let node: JsonValue = state;
  const pointer = formatPointer(segments);
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    const last = i === segments.length - 1;
    if (Array.isArray(node)) {
      const index = arrayIndex(node, segment, true, pointer);
      if (last) {
        if (index === node.length) node.push(value);
        else node[index] = value;
        return;
      }
      if (index === node.length) node.push({});
      node = node[index] as JsonValue;
    } else if (isPlainObject(node)) {
      const obj = node as JsonObject;
      if (last) {
        setOwn(obj, segment, value);
        return;
      }
      const next = ownValue(obj, segment);
      if (next === undefined || next === null) setOwn(obj, segment, {});
      node = ownValue(obj, segment) as JsonValue;
    } else {
      throw invalidInput("path", `cannot descend into ${describe(node)} at ${formatPointer(segments.slice(0, i))}`);
    }
  }
}

/** Removes the value at `segments` from `state` (mutated). @throws `NOT_FOUND` when nothing is there */
export function removeAtPath(state: JsonObject, segments: readonly string[]): void {
  let node: JsonValue = state;
  const pointer = formatPointer(segments);
  const missing = () => new ContextError("NOT_FOUND", `nothing at ${pointer} in the state`, { details: { path: pointer } });
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    const last = i === segments.length - 1;
    if (Array.isArray(node)) {
      if (!/^(0|[1-9][0-9]*)$/.test(segment) || Number(segment) >= node.length) throw missing();
      if (last) {
        node.splice(Number(segment), 1);
        return;
      }
      node = node[Number(segment)] as JsonValue;
    } else if (isPlainObject(node)) {
      const obj = node as JsonObject;
      if (!Object.hasOwn(obj, segment)) throw missing();
      if (last) {
        delete obj[segment];
        return;
      }
      node = obj[segment] as JsonValue;
    } else {
      throw missing();
    }
  }
}

/** The RFC 6902 operations that turn `a` into `b`. */
export function diffJson(a: JsonValue, b: JsonValue, path = ""): JsonPatchOperation[] {
  if (jsonEqual(a, b)) return [];
  if (Array.isArray(a) && Array.isArray(b)) {
    const ops: JsonPatchOperation[] = [];
    const common = Math.min(a.length, b.length);
    for (let i = 0; i < common; i++) ops.push(...diffJson(a[i] as JsonValue, b[i] as JsonValue, `${path}/${i}`));
    for (let i = a.length - 1; i >= common; i--) ops.push({ op: "remove", path: `${path}/${i}` });
    for (let i = common; i < b.length; i++) ops.push({ op: "add", path: `${path}/${i}`, value: b[i] as JsonValue });
    return ops;
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ao = a as JsonObject;
    const bo = b as JsonObject;
    const ops: JsonPatchOperation[] = [];
    for (const key of Object.keys(ao)) {
      const p = `${path}/${escapeSegment(key)}`;
      if (!Object.hasOwn(bo, key)) ops.push({ op: "remove", path: p });
      else ops.push(...diffJson(ao[key] as JsonValue, bo[key] as JsonValue, p));
    }
    for (const key of Object.keys(bo)) {
      if (!Object.hasOwn(ao, key)) ops.push({ op: "add", path: `${path}/${escapeSegment(key)}`, value: bo[key] as JsonValue });
    }
    return ops;
  }
  return [{ op: "replace", path, value: b }];
}
