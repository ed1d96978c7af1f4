/**
 * How a LangGraph thread is laid out in a contextd context: the context ids, the event types
 * and the shapes of their data, and the encoding of serialized values as JSON.
 *
 * One context per thread; its append-only history holds, per `put`, one `lg.value` event per
 * changed plain channel, one `lg.items` event per changed list channel (only the items added
 * since a stored base, with a pointer to that base), then one `lg.checkpoint` event that says
 * where every channel's value lives; `putWrites` appends one `lg.writes` event. Nothing is
 * rewritten: an unchanged channel is a pointer, a grown list is its new items.
 */
import { createHash, randomUUID } from "node:crypto";
import type { SerializerProtocol } from "@langchain/langgraph-checkpoint";
import type { JsonObject, JsonValue } from "../../index.js";
import { trustedJsonText } from "../../core/json-text.js";
import { NOT_PLAIN, isDefaultSerde, jsonPlusValue, reviveItems } from "./json-plus.js";

/** The event types the saver writes (none is one of contextd's reserved types). */
export const CHECKPOINT_EVENT = "lg.checkpoint";
export const VALUE_EVENT = "lg.value";
export const ITEMS_EVENT = "lg.items";
export const WRITES_EVENT = "lg.writes";

/** A serialized value: parsed JSON text of serde's `json` type, or another type's bytes in base64. */
export type StoredValue = { j: JsonValue } | { t: string; b: string };

/** Data of an `lg.checkpoint` event. */
export interface CheckpointData {
  /** The checkpoint namespace. */
  ns: string;
  id: string;
  /** The parent checkpoint's id, if any. */
  parent: string | null;
  /** The newest checkpoint id of the namespace when this one was written (this one's or an older put's). */
  max: string;
  /** The checkpoint without its channel values. */
  cp: StoredValue;
  md: StoredValue;
  /**
   * Where each channel's value lives: the seq of its `lg.value`/`lg.items` event; a value
   * `<= 0` counts back from this event (`-1`: the event before it, in the same append).
   */
  at: Record<string, number>;
}

/** Data of an `lg.value` event. */
export interface ValueData {
  c: string;
  v: StoredValue;
}

/** Data of an `lg.items` event: the items of a list channel added after the list at `base`. */
export interface ItemsData {
  c: string;
  /** The seq of the `lg.items` event holding the list these items extend, or `null`. */
  base: number | null;
  /** The seq of the first event of the chain (the one with `base: null`); `null` on that event itself. */
  first: number | null;
  /** The length of the whole list. */
  n: number;
  items: JsonValue[];
}

/** Data of an `lg.writes` event. */
export interface WritesData {
  ns: string;
  cp: string;
  task: string;
  path: string;
  /** `[idx, channel, value]` per write. */
  w: [number, string, StoredValue][];
}

const SAFE_THREAD = /^[A-Za-z0-9._:@+=-]{1,150}$/;

/**
 * The context id of a thread: `<prefix>:<thread id>` when the id is made of safe characters,
 * else `<prefix>~<sha256 of the id>` (the thread id is kept in the context's metadata).
 */
export function threadContextId(prefix: string, threadId: string): string {
  if (SAFE_THREAD.test(threadId)) return `${prefix}:${threadId}`;
  return `${prefix}~${createHash("sha256").update(threadId).digest("hex")}`;
}

const decoder = new TextDecoder();

/**
 * How the saver serializes: LangGraph's default serializer is run as one walk to the JSON
 * value (json-plus.ts) when it can be, any other serializer as itself.
 */
export class ValueEncoder {
  readonly serde: SerializerProtocol;
  private readonly direct: boolean;
  /**
   * How many values went through the serializer (not the walk) so far. Only the walk's output
   * is JSON by construction; an event holding anything else must be checked by the store, so
   * the saver compares this count before and after encoding an event's values.
   */
  fallbacks = 0;
  constructor(serde: SerializerProtocol) {
    this.serde = serde;
    this.direct = isDefaultSerde(serde);
  }

  /** {@link encodeValue}, without a serializer call when the value is plain JSON to the default serializer. */
  value(value: unknown): StoredValue | Promise<StoredValue> {
    if (this.direct) {
      const j = jsonPlusValue(value);
      if (j !== NOT_PLAIN) return { j };
    }
    this.fallbacks++;
    return encodeValue(this.serde, value);
  }

  /** {@link encodeItem}, likewise. */
  item(item: unknown): JsonValue | Promise<JsonValue> {
    if (this.direct) {
      const j = jsonPlusValue(item);
      if (j !== NOT_PLAIN) return j;
    }
    this.fallbacks++;
    return encodeItem(this.serde, item);
  }
}

/**
 * An event's data as the saver hands it to the store: pre-encoded and unchecked
 * (core/json-text.ts) when `built` — every value in it came from the json-plus walk and every
 * other field is a string, number or null the saver checked — else the plain value, which the
 * store checks like any other.
 */
export function eventData(data: object, built: boolean): JsonValue {
  // The cast: `append` takes JsonText where it takes JSON, without it being in the public types.
  return (built ? trustedJsonText(data as JsonObject) : data) as JsonValue;
}

/** Serializes `value` with `serde` into a JSON-storable form. */
export async function encodeValue(serde: SerializerProtocol, value: unknown): Promise<StoredValue> {
  const [type, bytes] = await serde.dumpsTyped(value);
  if (type === "json") {
    try {
      return { j: JSON.parse(decoder.decode(bytes)) as JsonValue };
    } catch {
      // not JSON text after all: keep the bytes
    }
  }
  return { t: type, b: Buffer.from(bytes).toString("base64") };
}

/** The inverse of {@link encodeValue}. */
export async function decodeValue(serde: SerializerProtocol, stored: StoredValue): Promise<unknown> {
  if ("j" in stored) return loadJson(serde, JSON.stringify(stored.j));
  const bytes = new Uint8Array(Buffer.from(stored.b, "base64"));
  return stored.t === "json" ? loadJson(serde, decoder.decode(bytes)) : serde.loadsTyped(stored.t, bytes);
}

/** Stands in for an own `__proto__` key while the serializer revives: random per process, so no stored key is it. */
const OWN_PROTO = `__contextd_own_proto_${randomUUID()}`;

/**
 * `serde.loadsTyped("json", text)`, with every own `__proto__` key kept as data. LangGraph's
 * reviver (and LangChain's `load`) copy each object with `copy[key] = value`: an own
 * `__proto__` key would make the stored value the copy's prototype (its properties then
 * inherited, the key gone). Such keys are renamed to a stand-in before the serializer runs and
 * made own `__proto__` keys again, in their place, after it.
 */
export async function loadJson(serde: SerializerProtocol, text: string): Promise<unknown> {
  if (!text.includes('"__proto__"')) return serde.loadsTyped("json", text);
  const renamed = JSON.stringify(renameProto(JSON.parse(text) as JsonValue));
  return restoreProto(await serde.loadsTyped("json", renamed), new Set());
}

/** A parsed JSON value with its own `__proto__` keys renamed to {@link OWN_PROTO}. */
function renameProto(value: JsonValue): JsonValue {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map(renameProto);
  const out: JsonObject = {};
  for (const k of Object.keys(value)) out[k === "__proto__" ? OWN_PROTO : k] = renameProto(value[k] as JsonValue);
  return out;
}

/** Turns {@link OWN_PROTO} keys back into own `__proto__` keys, wherever the serializer put the objects. */
function restoreProto(value: unknown, seen: Set<object>): unknown {
  if (typeof value !== "object" || value === null || seen.has(value)) return value;
  seen.add(value);
  if (value instanceof Map) {
    for (const [k, v] of value) {
      restoreProto(k, seen);
      restoreProto(v, seen);
    }
    return value;
  }
  if (value instanceof Set) {
    for (const v of value) restoreProto(v, seen);
    return value;
  }
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o);
  for (const k of keys) restoreProto(o[k], seen);
  if (!Object.hasOwn(o, OWN_PROTO)) return value;
  // Rebuilt in order, so the key stays where it was (an array's indices are no stand-ins).
  const entries = keys.map((k) => [k, o[k]] as const);
  for (const [k] of entries) delete o[k];
  for (const [k, v] of entries) Object.defineProperty(o, k === OWN_PROTO ? "__proto__" : k, { value: v, writable: true, enumerable: true, configurable: true });
  return value;
}

/** Serializes one list item (to store it in an `lg.items` event). */
export async function encodeItem(serde: SerializerProtocol, item: unknown): Promise<JsonValue> {
  const v = await encodeValue(serde, item);
  // A list item that serde does not write as JSON is kept whole as a tagged object.
  return "j" in v ? v.j : ({ __contextd_bytes: v } as unknown as JsonObject);
}

/** Deserializes a whole list from its stored items (one pass of serde over the array). */
export async function decodeItems(serde: SerializerProtocol, items: JsonValue[]): Promise<unknown[]> {
  if (!items.some((i) => i !== null && typeof i === "object" && !Array.isArray(i) && "__contextd_bytes" in i)) {
    const direct = isDefaultSerde(serde) ? reviveItems(items) : NOT_PLAIN;
    if (direct !== NOT_PLAIN) return direct;
    return (await loadJson(serde, JSON.stringify(items))) as unknown[];
  }
  return Promise.all(
    items.map((i) =>
      i !== null && typeof i === "object" && !Array.isArray(i) && "__contextd_bytes" in i
        ? decodeValue(serde, i.__contextd_bytes as unknown as StoredValue)
        : loadJson(serde, JSON.stringify(i)),
    ),
  );
}
