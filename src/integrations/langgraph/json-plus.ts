/**
 * LangGraph's default serializer (`JsonPlusSerializer`) without its text round trip: the JSON
 * value `JSON.parse(serde.dumpsTyped(v))` would give, built in one walk. The saver stores
 * values as JSON inside contextd events, so the serializer's text (made with a cycle-checking
 * `stringify` and a replacer, then encoded to bytes) was only decoded and parsed again before
 * the store encoded it once more; building the value directly removes three of those passes.
 *
 * The walk follows `JSON.stringify`'s steps with JsonPlusSerializer's replacer (`toJSON`
 * first, then the replacer on every value, `undefined` included) and gives up — returning
 * {@link NOT_PLAIN}, so the caller uses the serializer itself — on anything where the two
 * could differ: an object met again on its own path (a cycle, which the serializer's
 * `stringify` would replace), boxed primitives, BigInt, nesting deeper than {@link MAX_WALK_DEPTH}.
 * test/langgraph/json-plus.test.ts holds it to the serializer's output.
 */
import { load } from "@langchain/core/load";
import { Serializable } from "@langchain/core/load/serializable";
import {
  AIMessage, AIMessageChunk, ChatMessage, ChatMessageChunk, FunctionMessage, FunctionMessageChunk, HumanMessage,
  HumanMessageChunk, RemoveMessage, SystemMessage, SystemMessageChunk, ToolMessage, ToolMessageChunk,
} from "@langchain/core/messages";
import { DeltaSnapshot, JsonPlusSerializer } from "@langchain/langgraph-checkpoint";
import type { SerializerProtocol } from "@langchain/langgraph-checkpoint";
import type { JsonObject, JsonValue } from "../../index.js";

/** Returned when the walk cannot promise the serializer's exact output. */
export const NOT_PLAIN: unique symbol = Symbol("contextd.langgraph.notPlain");

/** Deeper values go through the serializer. */
export const MAX_WALK_DEPTH = 200;

/** True when `serde` is LangGraph's default serializer itself (not a subclass, not a wrapper). */
export function isDefaultSerde(serde: SerializerProtocol): boolean {
  return Object.getPrototypeOf(serde) === JsonPlusSerializer.prototype;
}

class NotPlain extends Error {}
const notPlain = new NotPlain();
const BOXED = new Set(["[object Number]", "[object String]", "[object Boolean]", "[object BigInt]"]);
/** What `JSON.stringify` leaves out of an object (and writes as `null` in an array). */
const SKIP = Symbol("skip");

function constructorRecord(name: string, method: string | null, args: unknown[]): Record<string, unknown> {
  return { lc: 2, type: "constructor", id: [name], method, args, kwargs: {} };
}

/** JsonPlusSerializer's replacer (`_default`), step for step. */
function replace(obj: unknown): unknown {
  if (obj === undefined) return { lc: 2, type: "undefined" };
  if (obj instanceof DeltaSnapshot) return { lc: 2, type: "delta_snapshot", value: obj.value };
  if (obj instanceof Set || obj instanceof Map) return constructorRecord(obj.constructor.name, null, [Array.from(obj as Iterable<unknown>)]);
  if (obj instanceof RegExp) return constructorRecord("RegExp", null, [obj.source, obj.flags]);
  if (obj instanceof Error) return constructorRecord("Error", null, [obj.message]);
  if (obj !== null && (obj as { lg_name?: unknown }).lg_name === "Send") {
    const send = obj as { node: unknown; args: unknown; timeout?: unknown };
    return { node: send.node, args: send.args, ...(send.timeout !== undefined ? { timeout: send.timeout } : {}) };
  }
  if (obj instanceof Uint8Array) return constructorRecord("Uint8Array", "from", [Array.from(obj)]);
  return obj;
}

const OBJECT_PROTOTYPE: unknown = Object.prototype;
const ARRAY_PROTOTYPE: unknown = Array.prototype;
/** `undefined` as the replacer writes it. */
const UNDEFINED = (): JsonObject => ({ lc: 2, type: "undefined" });

/**
 * One value as `JSON.stringify(…, replacer)` then `JSON.parse` would give it; {@link SKIP} when
 * left out. `key` is the value's key (an array index as a number: made a string only for a
 * `toJSON`). The common values take a short way with the same result: a primitive (every
 * `instanceof` of the replacer is false for one; only its prototype's `lg_name` could matter),
 * and an object without `toJSON` whose prototype is `Object.prototype`, `Array.prototype` or
 * null (none of the replacer's classes is on its chain, so only its own `lg_name` could
 * matter). Anything else takes the replacer's steps one by one ({@link walkReplaced}).
 */
function walk(key: string | number, input: unknown, path: unknown[]): JsonValue | typeof SKIP {
  switch (typeof input) {
    case "string":
    case "boolean":
      if ((input as unknown as { lg_name?: unknown }).lg_name === "Send") throw notPlain;
      return input;
    case "number":
      if ((input as unknown as { lg_name?: unknown }).lg_name === "Send") throw notPlain;
      return Number.isFinite(input) ? (input === 0 ? 0 : input) : null; // -0 is written 0
    case "undefined":
      return UNDEFINED();
    case "object": {
      if (input === null) return null;
      if (typeof (input as { toJSON?: unknown }).toJSON === "function") break;
      const proto: unknown = Object.getPrototypeOf(input);
      if (proto !== OBJECT_PROTOTYPE && proto !== ARRAY_PROTOTYPE && proto !== null) break;
      if ((input as { lg_name?: unknown }).lg_name === "Send") break;
      return walkObject(input, input, path);
    }
    default:
      break;
  }
  return walkReplaced(key, input, path);
}

/**
 * True when the serializer's cycle pass would find a cycle under `obj`, an object with a
 * `toJSON`: before `JSON.stringify` runs, the serializer's `stringify` walks the value's own
 * keys — into objects whose `toJSON` the walk only calls, such as a message's fields — and
 * replaces an object met again on its way from the top with "[Circular]" (while `toJSON` would
 * see, and write, something else). `path`: the walk's way to `obj` (every object on the way
 * from the top is on it). Such a value goes to the serializer.
 */
function cyclicInside(obj: object, path: unknown[]): boolean {
  const depth = path.length;
  try {
    return cyclicFrom(obj, path);
  } finally {
    path.length = depth;
  }
}

/** {@link cyclicInside}: `v` met again on `path`, or under it; pushes onto `path` (the caller restores it). */
function cyclicFrom(v: object, path: unknown[]): boolean {
  if (path.includes(v)) return true;
  if (path.length >= MAX_WALK_DEPTH) throw notPlain;
  path.push(v);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x === "object" && x !== null && cyclicFrom(x, path)) return true;
    }
  } else {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      const x = o[k];
      if (typeof x === "object" && x !== null && cyclicFrom(x, path)) return true;
    }
  }
  path.pop();
  return false;
}

/** {@link walk} of any value, step for step: `toJSON`, then the replacer, then the result. */
function walkReplaced(key: string | number, input: unknown, path: unknown[]): JsonValue | typeof SKIP {
  let value = input;
  if (typeof value === "bigint") throw notPlain;
  if (typeof value === "object" && value !== null) {
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function") {
      if (cyclicInside(value, path)) throw notPlain;
      if (toJSON === LC_TO_JSON) {
        const walked = walkedMessage(value, path);
        if (walked !== undefined) return walked;
      }
      value = (toJSON as (k: string) => unknown).call(value, String(key));
    }
  }
  value = replace(value);
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? (value === 0 ? 0 : value) : null; // -0 is written 0
    case "object":
      break;
    case "bigint":
      throw notPlain;
    default:
      return SKIP; // undefined (from toJSON), functions, symbols
  }
  if (value === null) return null;
  return walkObject(value, input, path);
}

/** The members of object `value` (which `input` became through `toJSON` or the replacer, or is). */
function walkObject(value: object, input: unknown, path: unknown[]): JsonValue {
  const array = Array.isArray(value); // an array is no boxed primitive
  if (!array && (BOXED.has(Object.prototype.toString.call(value)) || value instanceof Number || value instanceof String || value instanceof Boolean)) throw notPlain;
  if (path.length >= MAX_WALK_DEPTH || path.includes(value)) throw notPlain;
  // The object toJSON or the replacer was called on counts as on the path too: seeing it again is a cycle.
  const pushed = typeof input === "object" && input !== null && input !== value ? 2 : 1;
  if (pushed === 2 && path.includes(input)) throw notPlain;
  path.push(value);
  if (pushed === 2) path.push(input);
  try {
    if (array) {
      const list = value as unknown[];
      const out: JsonValue[] = new Array<JsonValue>(list.length);
      for (let i = 0; i < list.length; i++) {
        const v = walk(i, list[i], path);
        out[i] = v === SKIP ? null : v;
      }
      return out;
    }
    const out: JsonObject = {};
    const obj = value as Record<string, unknown>;
    for (const k of Object.keys(obj)) {
      const v = walk(k, obj[k], path);
      if (v === SKIP) continue;
      if (k === "__proto__") Object.defineProperty(out, k, { value: v, writable: true, enumerable: true, configurable: true });
      else out[k] = v;
    }
    return out;
  } finally {
    // pop, not a length write: the length setter is a call of its own, and this runs per object.
    path.pop();
    if (pushed === 2) path.pop();
  }
}

/** The `toJSON` LangChain's message classes inherit from `Serializable`. */
const LC_TO_JSON: unknown = Serializable.prototype.toJSON;

/** LangChain's own message classes: their alias getters return constants and they have no secrets or attributes. */
const MESSAGE_PROTOTYPES = new Set<object>(
  [AIMessage, AIMessageChunk, ChatMessage, ChatMessageChunk, FunctionMessage, FunctionMessageChunk, HumanMessage,
    HumanMessageChunk, RemoveMessage, SystemMessage, SystemMessageChunk, ToolMessage, ToolMessageChunk].map((c) => c.prototype as object),
);

/** What {@link messageJSON} keeps per message class: its aliases and each kwargs key's JSON name. */
interface MessageClass {
  aliases: Record<string, unknown>;
  /** `aliases[key] || snakeCase(key)` per key, as `toJSON` names it; null when it is not a string key. */
  names: Map<string, string | null>;
}

/** Per prototype; null for a class {@link messageJSON} leaves to its own `toJSON`. */
const messageClasses = new Map<object, MessageClass | null>();

/** Whether {@link messageJSON} serves messages at all: the probe at load agreed with `toJSON` (see below). */
let shortMessages = true;

class Bail extends Error {}
/** Thrown where `toJSON` would do something {@link messageJSON} does not copy: it then calls `toJSON`. */
const bail = new Bail();

/** LangChain's `snakeCase` (load/map_keys), which `toJSON` applies to a kwargs key without an alias. */
function snakeCase(key: string): string {
  return key
    .replace(/([A-Z]+)([A-Z][a-z0-9]+)/g, "$1_$2")
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[-_\s]+/g, "_")
    .toLowerCase();
}

function learnMessageClass(proto: object, instance: object): MessageClass | null {
  if (!MESSAGE_PROTOTYPES.has(proto)) return null;
  // toJSON's own merge: every class on the chain, getters called on the instance.
  const aliases: Record<string, unknown> = {};
  const secrets: Record<string, unknown> = {};
  const attributes: Record<string, unknown> = {};
  for (let current: object | null = proto; current !== null; current = Object.getPrototypeOf(current) as object | null) {
    Object.assign(aliases, Reflect.get(current, "lc_aliases", instance));
    Object.assign(secrets, Reflect.get(current, "lc_secrets", instance));
    Object.assign(attributes, Reflect.get(current, "lc_attributes", instance));
  }
  if (Object.keys(secrets).length > 0 || Object.keys(attributes).length > 0) return null;
  return { aliases, names: new Map() };
}

/** The JSON name `toJSON` gives kwargs key `key` (learned once per class), or null for one {@link messageJSON} leaves to `toJSON`. */
function nameOf(cls: MessageClass, key: string): string | null {
  let name = cls.names.get(key);
  if (name === undefined) {
    const alias = cls.aliases[key]; // an inherited property counts, as in toJSON's `aliases?.[key]`
    const mapped: unknown = alias || snakeCase(key);
    name = typeof mapped === "string" && mapped !== "__proto__" ? mapped : null;
    cls.names.set(key, name);
  }
  return name;
}

/** LangChain's `escapeIfNeeded` (load/validation), for what it does to kwargs values; {@link bail} on a cycle or a `__proto__` key. */
function escapeValue(value: unknown, path: object[]): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== ARRAY_PROTOTYPE) throw bail; // its `map` could build another class
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) if (i in value) out[i] = escapeValue(value[i], path);
    return out;
  }
  if (path.includes(value)) throw bail; // toJSON writes a "not_implemented" record there
  if ("lc_serializable" in value && typeof (value as { toJSON?: unknown }).toJSON === "function") return value;
  if ("lc" in value || (Object.keys(value).length === 1 && "__lc_escaped__" in value)) return { __lc_escaped__: value };
  path.push(value);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === "__proto__") throw bail; // toJSON's assignment would set the copy's prototype
    out[k] = escapeValue(v, path);
  }
  path.pop();
  return out;
}

/**
 * What `message.toJSON()` returns, for an instance of one of LangChain's message classes that
 * inherits `Serializable`'s `toJSON`, built without it: the same steps (each kwargs key's current
 * value, escaped, under its JSON name) without what costs most in it — the alias, secret and
 * attribute getters of every class on the chain (learned once per class) and the key mapping's
 * regular expressions (once per key). Undefined when `toJSON` itself must answer.
 * test/langgraph/json-plus.test.ts holds it to `toJSON`, and a probe at load turns it off
 * should the installed LangChain serialize differently.
 */
export function messageJSON(message: object): JsonObject | undefined {
  const fields = messageFields(message);
  if (fields === undefined) return undefined;
  try {
    const path: object[] = [message];
    const kwargs: Record<string, unknown> = {};
    for (let i = 0; i < fields.names.length; i++) kwargs[fields.names[i] as string] = escapeValue(fields.values[i], path);
    return { lc: 1, type: "constructor", id: (message as { lc_id: JsonValue }).lc_id, kwargs: kwargs as JsonObject };
  } catch (e) {
    if (e instanceof Bail) return undefined;
    throw e;
  }
}

/**
 * What {@link messageJSON} starts from: each kwargs key's JSON name and current value (read in
 * `toJSON`'s order), or undefined when `toJSON` itself must answer. Two keys of one name
 * (`toJSON` keeps the later value at the earlier place) are left to it as well.
 */
function messageFields(message: object): { names: string[]; values: unknown[] } | undefined {
  if (!shortMessages) return undefined;
  const proto = Object.getPrototypeOf(message) as object;
  let cls = messageClasses.get(proto);
  if (cls === undefined) {
    cls = learnMessageClass(proto, message);
    messageClasses.set(proto, cls);
  }
  if (cls === null) return undefined;
  const m = message as Record<string, unknown>;
  const fields = m.lc_kwargs;
  if (!m.lc_serializable || typeof fields !== "object" || fields === null || Array.isArray(fields) || fields instanceof Serializable) return undefined;
  const keys = Object.keys(fields);
  const values = keys.map((k) => (k in message ? m[k] : (fields as Record<string, unknown>)[k]));
  const names: string[] = [];
  for (const k of keys) {
    if (k === "__proto__") return undefined;
    const name = nameOf(cls, k);
    if (name === null || names.includes(name)) return undefined;
    names.push(name);
  }
  return { names, values };
}

/** Stands on the walk's path for an object `toJSON` and `escapeIfNeeded` would have made (never met in a value). */
const MADE = Object.freeze({});

/**
 * True when `Object.prototype` or `Array.prototype` has a `toJSON` or an `lg_name` of "Send":
 * the walk would then call it, or replace, on the objects `toJSON` makes.
 */
function prototypesHooked(): boolean {
  return (
    typeof Reflect.get(Object.prototype, "toJSON") === "function" ||
    Reflect.get(Object.prototype, "lg_name") === "Send" ||
    typeof Reflect.get(Array.prototype, "toJSON") === "function" ||
    Reflect.get(Array.prototype, "lg_name") === "Send"
  );
}

/**
 * The walk of `message.toJSON()`'s result (an instance {@link messageJSON} serves, met at
 * `path`), built in one pass: the kwargs' values as the walk would give them after
 * `escapeIfNeeded` copied them, without the copies. {@link walk} has checked the value for
 * cycles ({@link cyclicInside}), so the fresh objects `toJSON` would make stand on the path as
 * {@link MADE}. Undefined when the walk must take `toJSON`'s result itself.
 */
function walkedMessage(message: object, path: unknown[]): JsonValue | undefined {
  const fields = messageFields(message);
  if (fields === undefined || prototypesHooked()) return undefined;
  // walkObject of toJSON's result, with the message (its input) on the path too.
  if (path.length >= MAX_WALK_DEPTH) throw notPlain;
  const depth = path.length;
  path.push(MADE, message);
  try {
    const id = walk("id", (message as { lc_id: unknown }).lc_id, path);
    if (id === SKIP || path.length >= MAX_WALK_DEPTH) return undefined;
    path.push(MADE); // the kwargs object
    const kwargs: JsonObject = {};
    for (let i = 0; i < fields.names.length; i++) {
      const name = fields.names[i] as string;
      const v = escapeWalk(name, fields.values[i], path);
      if (v !== SKIP) kwargs[name] = v;
    }
    return { lc: 1, type: "constructor", id, kwargs };
  } catch (e) {
    if (e instanceof Bail) return undefined;
    throw e;
  } finally {
    path.length = depth;
  }
}

/** The walk of `escapeIfNeeded(value)` (see {@link escapeValue}) at `key`, without the copy. */
function escapeWalk(key: string | number, value: unknown, path: unknown[]): JsonValue | typeof SKIP {
  if (value === null || typeof value !== "object") return walk(key, value, path);
  if ("lc_serializable" in value && typeof (value as { toJSON?: unknown }).toJSON === "function" && !Array.isArray(value)) return walk(key, value, path);
  if (path.length >= MAX_WALK_DEPTH) throw notPlain;
  path.push(MADE);
  try {
    if (Array.isArray(value)) {
      if (Object.getPrototypeOf(value) !== ARRAY_PROTOTYPE) throw bail;
      const out: JsonValue[] = new Array<JsonValue>(value.length);
      for (let i = 0; i < value.length; i++) {
        // A hole stays one in the copy, which the walk reads as undefined.
        const v = i in value ? escapeWalk(i, value[i], path) : walk(i, undefined, path);
        out[i] = v === SKIP ? null : v;
      }
      return out;
    }
    if ("lc" in value || (Object.keys(value).length === 1 && "__lc_escaped__" in value)) {
      const inner = walk("__lc_escaped__", value, path);
      return inner === SKIP ? {} : { __lc_escaped__: inner };
    }
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) {
      // The copy's own `toJSON` or Send mark would make the walk call or replace it.
      if (k === "__proto__" || (k === "lg_name" && v === "Send") || (k === "toJSON" && typeof v === "function")) throw bail;
      const w = escapeWalk(k, v, path);
      if (w !== SKIP) out[k] = w;
    }
    return out;
  } finally {
    path.pop();
  }
}

/**
 * The JSON value JsonPlusSerializer's text of `value` parses to, or {@link NOT_PLAIN} when
 * only the serializer itself can say. Only for the default serializer (see {@link isDefaultSerde}).
 */
export function jsonPlusValue(value: unknown): JsonValue | typeof NOT_PLAIN {
  if (value instanceof Uint8Array) return NOT_PLAIN; // the serializer stores bytes as bytes, not JSON
  try {
    const v = walk("", value, []);
    return v === SKIP ? NOT_PLAIN : v;
  } catch {
    // A cycle or an odd value, or a toJSON that threw: the serializer has its own answer to each.
    return NOT_PLAIN;
  }
}

/** Messages of each kind, with what `toJSON` escapes, renames, keeps as is or reads from a field. */
function probeMessages(): object[] {
  const ai = new AIMessage({
    content: "probe",
    id: "p1",
    name: "n",
    additional_kwargs: { a: { lc: 1, k: 2 }, b: [{ __lc_escaped__: 1 }], camelCase: { innerKey: [1, null, "s"] }, d: new Date(0), u: undefined },
    response_metadata: { model_name: "m", tokenUsage: { promptTokens: 1 } },
    tool_calls: [{ id: "t", name: "f", args: { q: "x" }, type: "tool_call" }],
    usage_metadata: { input_tokens: 1, output_tokens: 2, total_tokens: 3 },
  });
  ai.content = "changed after construction";
  return [
    ai,
    new HumanMessage({ content: [{ type: "text", text: "hi" }, { type: "image_url", image_url: { url: "data:," } }], additional_kwargs: { nested: new HumanMessage("inner") } }),
    new ToolMessage({ content: "ok", tool_call_id: "t", artifact: { big: [1, 2] }, status: "success" }),
    new SystemMessage("s"),
    new ChatMessage("c", "role"),
    new AIMessageChunk({ content: "chunk", tool_call_chunks: [{ id: "t", name: "f", args: "{\"q\":", index: 0, type: "tool_call_chunk" }] }),
  ];
}

/** True when {@link messageJSON} gives `toJSON`'s answers for the probe messages (under the installed LangChain). */
function probeAgrees(): boolean {
  try {
    for (const message of probeMessages()) {
      shortMessages = false;
      const slow = JSON.stringify(jsonPlusValue(message));
      shortMessages = true;
      if (messageJSON(message) === undefined || JSON.stringify(jsonPlusValue(message)) !== slow) return false;
    }
    return true;
  } catch {
    return false;
  }
}
shortMessages = probeAgrees();

/** True when `v` holds no object with an own `lc` or `__proto__` key (at any depth). */
function inert(v: JsonValue): boolean {
  if (typeof v !== "object" || v === null) return true;
  if (Array.isArray(v)) return v.every(inert);
  if (Object.hasOwn(v, "lc") || Object.hasOwn(v, "__proto__")) return false;
  for (const k in v) if (!inert(v[k] as JsonValue)) return false;
  return true;
}

/** A LangChain serialized object (`{ lc: 1, type: "constructor", id: [...] }`) with nothing to revive inside it. */
function plainSerialized(item: JsonValue): item is JsonObject {
  if (typeof item !== "object" || item === null || Array.isArray(item)) return false;
  if (item.lc !== 1 || item.type !== "constructor" || !Array.isArray(item.id) || Object.hasOwn(item, "__proto__")) return false;
  for (const k in item) if (k !== "lc" && !inert(item[k] as JsonValue)) return false;
  return true;
}

/** Nesting a direct revive accepts; LangChain's `load` refuses more than 50 levels itself. */
const MAX_REVIVE_DEPTH = 40;
/** A kwargs key LangChain's key mapping (`camelCase` when not aliased) leaves as it is. */
const PLAIN_KEY = /^[A-Za-z0-9]+$/;

type Builder = new (fields: JsonObject) => object;

/** What LangChain's `load` builds for one serialized `id`, learned from `load` itself. */
interface KnownClass {
  cls: Builder;
  /** The class name `load` gives the class (the id's last element). */
  name: string;
  /** Per kwargs key: whether `load` passes it to the constructor unchanged. */
  keys: Map<string, boolean>;
  /** The class's `lc_aliases`, inverted, as `load` looks keys up in them. */
  inverted: Record<string, string>;
}

/** Classes by `id` (joined with NUL), once `load` revived an item of that id. */
const classes = new Map<string, KnownClass>();

function learn(key: string, name: string, instance: unknown): void {
  if (typeof instance !== "object" || instance === null) return;
  const proto: unknown = Object.getPrototypeOf(instance);
  const cls = (proto as { constructor?: unknown } | null)?.constructor;
  if (typeof cls !== "function" || cls.prototype !== proto) return;
  // load's own inversion of the aliases of every class on the chain (combineAliasesAndInvert).
  const aliases: Record<string, unknown> = {};
  for (let c: unknown = cls; typeof c === "function" && c.prototype !== undefined && c.prototype !== null; c = Object.getPrototypeOf(c)) {
    Object.assign(aliases, Reflect.get(c.prototype as object, "lc_aliases"));
  }
  const inverted: Record<string, string> = {};
  for (const [k, v] of Object.entries(aliases)) inverted[String(v)] = k;
  classes.set(key, { cls: cls as Builder, name, keys: new Map(), inverted });
}

/** True when `load` would hand kwargs key `k` to the class's constructor as `k`. */
function keptKey(known: KnownClass, k: string): boolean {
  let kept = known.keys.get(k);
  if (kept === undefined) {
    // load maps a key to its alias when it has one, else to camelCase(key) (unchanged without - _ or spaces).
    kept = k in known.inverted ? Object.hasOwn(known.inverted, k) && known.inverted[k] === k : PLAIN_KEY.test(k);
    known.keys.set(k, kept);
  }
  return kept;
}

/**
 * A fresh copy of a JSON value as `load`'s reviver rebuilds one with nothing to revive (new
 * objects and arrays, keys in order), or {@link NOT_PLAIN} when the reviver would do more:
 * an escaped object (`__lc_escaped__`), or nesting near its depth limit.
 */
function copyPlain(v: JsonValue, depth: number): JsonValue | typeof NOT_PLAIN {
  if (typeof v !== "object" || v === null) return v;
  if (depth > MAX_REVIVE_DEPTH) return NOT_PLAIN;
  if (Array.isArray(v)) {
    const out: JsonValue[] = new Array<JsonValue>(v.length);
    for (let i = 0; i < v.length; i++) {
      const c = copyPlain(v[i] as JsonValue, depth + 1);
      if (c === NOT_PLAIN) return NOT_PLAIN;
      out[i] = c;
    }
    return out;
  }
  if (Object.hasOwn(v, "__lc_escaped__")) return NOT_PLAIN;
  const out: JsonObject = {};
  for (const k of Object.keys(v)) {
    // Assigning `__proto__` would set the copy's prototype: such a value goes to `load`.
    if (k === "__proto__") return NOT_PLAIN;
    const c = copyPlain(v[k] as JsonValue, depth + 1);
    if (c === NOT_PLAIN) return NOT_PLAIN;
    out[k] = c;
  }
  return out;
}

/**
 * One serialized object built as `load` builds it, without `load`: once `load` revived an item
 * of the same id (so the class is the one `load` resolves), and when every kwargs key reaches
 * the constructor unchanged and nothing inside needs reviving. {@link NOT_PLAIN} otherwise.
 */
function construct(item: JsonObject): object | typeof NOT_PLAIN {
  const id = item.id as JsonValue[];
  if (!id.every((p) => typeof p === "string")) return NOT_PLAIN;
  const known = classes.get(id.join("\0"));
  const kwargs = item.kwargs;
  if (known === undefined || typeof kwargs !== "object" || kwargs === null || Array.isArray(kwargs)) return NOT_PLAIN;
  for (const k of Object.keys(kwargs)) if (!keptKey(known, k)) return NOT_PLAIN;
  const fields = copyPlain(kwargs, 1);
  if (fields === NOT_PLAIN) return NOT_PLAIN;
  const instance = new known.cls(fields as JsonObject);
  // load names the class after the id each time it builds one.
  if (known.cls.name !== known.name) Object.defineProperty(known.cls, "name", { value: known.name });
  return instance;
}

/** `load` of one item's text; teaches {@link construct} the item's class. */
async function loadItem(item: JsonObject): Promise<unknown> {
  const instance = await load(JSON.stringify(item));
  const id = item.id as JsonValue[];
  if (id.every((p) => typeof p === "string") && typeof item.kwargs === "object" && item.kwargs !== null) {
    const key = id.join("\0");
    if (!classes.has(key)) learn(key, id[id.length - 1] as string, instance);
  }
  return instance;
}

/**
 * JsonPlusSerializer reading back a list of stored items (`loadsTyped("json", text of items)`),
 * without its reviver's walk: when every item is a JSON scalar or a LangChain serialized object
 * (a message) with no record inside it to revive, the reviver would rebuild each item unchanged
 * and hand it to LangChain's `load` as text — so each item goes to `load` directly, or, once
 * `load` has built an item of the same class, is built as `load` builds it (`new Class(kwargs)`
 * on a fresh copy of the kwargs, when `load` would pass them unchanged): `load`'s per-node
 * `await` made it ~100 µs per message, so a 3,000-message thread took ~300 ms to read back.
 * {@link NOT_PLAIN} for any other list (the caller uses the serializer).
 * test/langgraph/json-plus.test.ts holds it to the serializer's output.
 */
export function reviveItems(items: JsonValue[]): Promise<unknown[]> | typeof NOT_PLAIN {
  for (const item of items) if (typeof item === "object" && item !== null && !plainSerialized(item)) return NOT_PLAIN;
  return revive(items);
}

async function revive(items: JsonValue[]): Promise<unknown[]> {
  const out: unknown[] = new Array<unknown>(items.length);
  let pending = false;
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as JsonValue;
    if (typeof item !== "object" || item === null) {
      out[i] = item;
      continue;
    }
    const built = construct(item as JsonObject);
    if (built !== NOT_PLAIN) out[i] = built;
    else if (isNewClass(item as JsonObject)) out[i] = await loadItem(item as JsonObject); // the next ones of its class are built directly
    else {
      out[i] = loadItem(item as JsonObject);
      pending = true;
    }
  }
  return pending ? Promise.all(out) : out;
}

/** True for an item whose class {@link construct} has not learned yet. */
function isNewClass(item: JsonObject): boolean {
  const id = item.id as JsonValue[];
  return id.every((p) => typeof p === "string") && !classes.has(id.join("\0"));
}
