/**
 * The saver's direct encoding for LangGraph's default serializer (json-plus.ts) against the
 * serializer itself: for every value, the JSON the saver stores is what the serializer's
 * text parses to, or the saver falls back to the serializer.
 */
import { describe, expect, it } from "vitest";
import {
  AIMessage, AIMessageChunk, ChatMessage, ChatMessageChunk, FunctionMessage, FunctionMessageChunk, HumanMessage,
  HumanMessageChunk, RemoveMessage, SystemMessage, SystemMessageChunk, ToolMessage, ToolMessageChunk,
} from "@langchain/core/messages";
import { Command, Send } from "@langchain/langgraph";
import { DeltaSnapshot, JsonPlusSerializer } from "@langchain/langgraph-checkpoint";
import type { SerializerProtocol } from "@langchain/langgraph-checkpoint";
import { NOT_PLAIN, isDefaultSerde, jsonPlusValue, messageJSON, reviveItems } from "../../src/integrations/langgraph/json-plus.js";
import { ValueEncoder, decodeItems, decodeValue, encodeValue } from "../../src/integrations/langgraph/log.js";
import type { JsonValue } from "../../src/index.js";

const serde = new JsonPlusSerializer();

async function viaSerde(value: unknown): Promise<unknown> {
  const [type, bytes] = await serde.dumpsTyped(value);
  expect(type).toBe("json");
  return JSON.parse(new TextDecoder().decode(bytes));
}

class Point {
  x = 1;
  y: number | undefined = undefined;
  method(): number {
    return this.x;
  }
}

const withProto = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as unknown;

const cases: [string, () => unknown][] = [
  ["primitives", () => ["s", 1, 0, -0, 1.5, true, false, null, NaN, Infinity, -Infinity]],
  ["undefined at the top", () => undefined],
  ["undefined in objects and arrays", () => ({ a: undefined, b: [undefined, 1], c: { d: undefined } })],
  ["functions and symbols", () => ({ f: () => 1, s: Symbol("x"), arr: [() => 1, Symbol("y")] })],
  ["a Date", () => ({ at: new Date(0), dates: [new Date(1e12)] })],
  ["Set, Map, RegExp, Error", () => ({ set: new Set([1, "a", { b: 2 }]), map: new Map<unknown, unknown>([["k", { v: [1] }], [2, undefined]]), re: /a+b/gi, err: new TypeError("bad") })],
  ["bytes inside a value", () => ({ bytes: new Uint8Array([1, 2, 255]) })],
  ["a DeltaSnapshot", () => new DeltaSnapshot([1, { a: 2 }])],
  ["a Send", () => [new Send("node", { x: 1 }), new Send("other", [undefined])]],
  ["a Command", () => new Command({ resume: { answer: 42 }, goto: "next" })],
  ["messages", () => [new HumanMessage({ content: "hi", id: "m1" }), new AIMessage({ content: "", tool_calls: [{ id: "t1", name: "search", args: { q: "x", n: undefined } }] }), new ToolMessage({ content: "ok", tool_call_id: "t1" })]],
  ["class instances", () => ({ p: new Point(), nested: [new Point()] })],
  ["a __proto__ key", () => withProto],
  ["integer-like keys", () => ({ b: 1, 2: "two", a: 3, 1: "one" })],
  ["lone surrogates and unicode", () => ({ s: "\ud800 é 😀 \u2028", k: { "\udc00": 1 } })],
  ["a shared (not cyclic) object", () => {
    const shared = { v: 1 };
    return { a: shared, b: [shared, shared] };
  }],
  ["toJSON with its key", () => ({ k: { toJSON: (key: string) => `key:${key}` }, arr: [{ toJSON: (key: string) => key }] })],
  ["toJSON returning undefined", () => ({ gone: { toJSON: () => undefined }, kept: 1 })],
  ["a null-prototype object", () => ({ n: Object.assign(Object.create(null) as object, { a: 1, b: [undefined, "x"] }) })],
  ["plain objects and arrays that look like a Send", () => ({ s: { lg_name: "Send", node: "n", args: { x: 1 }, extra: true }, a: Object.assign([1, 2], { lg_name: "Send", node: "m", args: [3] }) })],
  ["a checkpoint", () => ({ v: 4, id: "1ef", ts: "2026-01-01T00:00:00.000Z", channel_values: {}, channel_versions: { messages: 2, "branch:to:agent": 3 }, versions_seen: { __input__: {}, agent: { messages: 1 } } })],
];

describe("json-plus: direct encoding for the default serializer", () => {
  it("recognises only the default serializer itself", () => {
    expect(isDefaultSerde(serde)).toBe(true);
    class Mine extends JsonPlusSerializer {}
    expect(isDefaultSerde(new Mine())).toBe(false);
    expect(isDefaultSerde({ dumpsTyped: serde.dumpsTyped.bind(serde), loadsTyped: serde.loadsTyped.bind(serde) } as SerializerProtocol)).toBe(false);
  });

  for (const [name, make] of cases) {
    it(`gives the serializer's JSON for ${name}`, async () => {
      const direct = jsonPlusValue(make());
      expect(direct).not.toBe(NOT_PLAIN);
      expect(direct).toStrictEqual(await viaSerde(make()));
      // The same bytes once stored (the store writes JSON.stringify of the value).
      expect(JSON.stringify(direct)).toBe(JSON.stringify(await viaSerde(make())));
    });
  }

  it("keeps a __proto__ key as an own property, without touching the prototype", () => {
    const v = jsonPlusValue(withProto) as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.hasOwn(v, "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("falls back to the serializer for cycles, boxed primitives, BigInt, throwing toJSON, bytes and deep nesting", async () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const viaToJSON = { toJSON: (): unknown => ({ again: viaToJSON }) };
    let deep: unknown = 1;
    for (let i = 0; i < 300; i++) deep = [deep];
    const odd = [cyclic, viaToJSON, { n: Object(1) as unknown }, { s: Object("x") as unknown }, { b: 1n }, { t: { toJSON: () => { throw new Error("no"); } } }, new Uint8Array([1]), deep];
    for (const value of odd) expect(jsonPlusValue(value)).toBe(NOT_PLAIN);
    // And the saver's encoder then stores exactly what the serializer gives.
    const encoder = new ValueEncoder(serde);
    for (const value of odd) expect(await encoder.value(value)).toStrictEqual(await encodeValue(serde, value));
  });

  it("round-trips through the serializer's loader like the serializer's own encoding", async () => {
    const encoder = new ValueEncoder(serde);
    for (const [, make] of cases) {
      const stored = await encoder.value(make());
      expect(await decodeValue(serde, stored)).toStrictEqual(await decodeValue(serde, await encodeValue(serde, make())));
    }
  });
});

describe("json-plus: reading a list of items back for the default serializer", () => {
  const viaLoads = async (items: JsonValue[]): Promise<unknown> => serde.loadsTyped("json", JSON.stringify(items));
  const stored = (values: unknown[]): JsonValue[] => values.map((v) => jsonPlusValue(v) as JsonValue);
  const messages = (): unknown[] => [
    new HumanMessage({ content: "hi", id: "m1" }),
    new HumanMessage({ content: [{ type: "text", text: "part" }, { type: "image_url", image_url: { url: "data:," } }], id: "m2", name: "user" }),
    new AIMessage({ content: "", id: "m3", tool_calls: [{ id: "t1", name: "search", args: { q: "x", n: 2, deep: { list: [1, { a: null }] } } }], additional_kwargs: { extra: { nested: [true] } }, response_metadata: { model: "m", usage: { in: 3 } } }),
    new ToolMessage({ content: "ok", tool_call_id: "t1", id: "m4", status: "success" }),
    new AIMessage({ content: "reply \ud800 😀", id: "m5" }),
  ];

  it("revives messages and scalars as the serializer does (same classes, same fields)", async () => {
    const items = [...stored(messages()), "text", 1, null, true];
    const direct = reviveItems(items);
    expect(direct).not.toBe(NOT_PLAIN);
    const [mine, theirs] = [await direct, await viaLoads(items)];
    expect(mine).toStrictEqual(theirs);
    expect((mine as object[]).map((m) => m?.constructor?.name)).toEqual((theirs as object[]).map((m) => m?.constructor?.name));
    expect(await decodeItems(serde, items)).toStrictEqual(theirs);
  });

  it("builds messages of a class load() has built before as load() does: same classes, same fields, fresh objects", async () => {
    const items = stored(messages());
    await reviveItems(items); // load() builds the first of each class; the rest are built directly
    const again = reviveItems(items);
    expect(again).not.toBe(NOT_PLAIN);
    const [mine, theirs] = [(await again) as object[], (await viaLoads(items)) as object[]];
    expect(mine).toStrictEqual(theirs);
    expect(mine.map((m) => Object.getPrototypeOf(m))).toEqual(theirs.map((m) => Object.getPrototypeOf(m)));
    expect(mine.map((m) => m.constructor.name)).toEqual(theirs.map((m) => m.constructor.name));
    expect(mine.map((m) => JSON.stringify(m))).toEqual(theirs.map((m) => JSON.stringify(m)));
    // Nothing is shared with the stored items or between two reads: a caller may change what it got.
    const third = (await reviveItems(items)) as AIMessage[];
    const ai = mine[2] as AIMessage;
    const call = ai.tool_calls?.[0];
    if (call !== undefined) call.args.q = "changed";
    (ai.additional_kwargs.extra as { nested: boolean[] }).nested.push(false);
    expect(third[2]).toStrictEqual(theirs[2]);
    expect(items).toStrictEqual(stored(messages()));
  });

  it("leaves to load() what it would do more with: escaped objects, renamed keys, unknown ids", async () => {
    await reviveItems(stored(messages()));
    const escaped = JSON.parse('{"lc":1,"type":"constructor","id":["langchain_core","messages","HumanMessage"],"kwargs":{"content":"c","id":"e","additional_kwargs":{"x":{"__lc_escaped__":{"a":1}}}}}') as JsonValue;
    const renamed = JSON.parse('{"lc":1,"type":"constructor","id":["langchain_core","messages","HumanMessage"],"kwargs":{"content":"c","id":"r","some_field":1,"constructor":2}}') as JsonValue;
    for (const items of [[escaped], [renamed], [escaped, renamed, ...stored(messages())]]) {
      const mine = reviveItems(items);
      expect(mine).not.toBe(NOT_PLAIN);
      expect(await mine).toStrictEqual(await viaLoads(items));
    }
  });

  it("gives load()'s message for one holding a __proto__ key, the key kept as data (the serializer would make it a prototype), and touches no prototype", async () => {
    await reviveItems(stored(messages()));
    const item = JSON.parse('{"lc":1,"type":"constructor","id":["langchain_core","messages","HumanMessage"],"kwargs":{"content":"c","id":"p","additional_kwargs":{"x":{"__proto__":{"polluted":true}}}}}') as JsonValue;
    const mine = reviveItems([item]);
    const got = (mine === NOT_PLAIN ? await decodeItems(serde, [item]) : await mine) as HumanMessage[];
    const [theirs] = (await viaLoads([item])) as HumanMessage[];
    const x = (got[0]?.additional_kwargs as Record<string, Record<string, unknown>>)["x"] as Record<string, unknown>;
    expect(got[0]).toBeInstanceOf(HumanMessage);
    expect([got[0]?.content, got[0]?.id]).toEqual([theirs?.content, theirs?.id]);
    expect(Object.hasOwn(x, "__proto__")).toBe(true);
    expect(x["__proto__"]).toEqual({ polluted: true });
    expect(Object.getPrototypeOf(x)).toBe(Object.prototype);
    // What the serializer alone gives: the stored object as the prototype, the key gone.
    const theirX = (theirs?.additional_kwargs as Record<string, object>)["x"] as object;
    expect(Object.hasOwn(theirX, "__proto__")).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("leaves to the serializer lists holding anything else to revive", async () => {
    const withUndefined = stored([new AIMessage({ content: "x", id: "u", tool_calls: [{ id: "t", name: "n", args: { gone: undefined } }] })]);
    const nestedMessage = stored([new AIMessage({ content: "x", id: "n", additional_kwargs: { inner: new HumanMessage({ content: "in", id: "i" }) as unknown as string } })]);
    const others = [withUndefined, nestedMessage, stored([{ plain: 1 }]), stored([[1, 2]]), stored([new Set([1])])];
    for (const items of others) {
      expect(reviveItems(items)).toBe(NOT_PLAIN);
      expect(await decodeItems(serde, items)).toStrictEqual(await viaLoads(items));
    }
    // A __proto__ key too (kept as data there: see above).
    const proto = [JSON.parse('{"lc":1,"type":"constructor","id":["langchain_core","messages","HumanMessage"],"kwargs":{"content":"c","response_metadata":{"__proto__":{"a":1}}}}') as JsonValue];
    expect(reviveItems(proto)).toBe(NOT_PLAIN);
    const [read] = (await decodeItems(serde, proto)) as HumanMessage[];
    expect(Object.hasOwn(read?.response_metadata as object, "__proto__")).toBe(true);
  });
});

describe("json-plus: LangChain's messages serialized without their toJSON", () => {
  class MyMessage extends AIMessage {}
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  const sparse = [1, , 3]; // eslint-disable-line no-sparse-arrays
  const corpus: [string, () => object][] = [
    ["a human message", () => new HumanMessage("hello")],
    ["a human message with an id, a name and content blocks", () => new HumanMessage({ content: [{ type: "text", text: "hi" }, { type: "image_url", image_url: { url: "data:image/png;base64,AA==" } }], id: "h1", name: "ann" })],
    ["an AI message with tool calls, usage and metadata", () => new AIMessage({
      content: "",
      id: "a1",
      tool_calls: [{ id: "t1", name: "search", args: { q: "x", n: undefined, deep: { camelKey: [1, 2] } }, type: "tool_call" }],
      invalid_tool_calls: [{ id: "t2", name: "bad", args: "{", error: "parse", type: "invalid_tool_call" }],
      usage_metadata: { input_tokens: 10, output_tokens: 5, total_tokens: 15, input_token_details: { cache_read: 2 } },
      response_metadata: { model_name: "m", finishReason: "stop", tokenUsage: { promptTokens: 10 } },
      additional_kwargs: { function_call: undefined, refusal: null },
    })],
    ["an AI message holding what toJSON escapes", () => new AIMessage({ content: "x", additional_kwargs: { a: { lc: 1, type: "secret", id: ["X"] }, b: [{ __lc_escaped__: { y: 1 } }], c: { __lc_escaped__: 1, other: 2 }, inherited: Object.create({ lc: 1 }) as object } })],
    ["an AI message holding a message, a Date, a Map, a Set, a class instance and a sparse array", () => new AIMessage({ content: "x", additional_kwargs: { inner: new ToolMessage({ content: "r", tool_call_id: "t" }), d: new Date(5), m: new Map([["k", 1]]), s: new Set([1]), p: new Point(), sparse } })],
    ["an AI message holding functions, symbols, holes, a toJSON, a Send mark and undefined", () => new AIMessage({
      content: "x",
      additional_kwargs: { f: () => 1, sym: Symbol("s"), withToJSON: { toJSON: () => "custom", x: 1 }, send: { lg_name: "Send", node: "n", args: 1 }, arr: [undefined, () => 1, , { lc: 2 }], u: undefined }, // eslint-disable-line no-sparse-arrays
    })],
    ["an AI message changed after construction", () => {
      const m = new AIMessage({ content: "before", additional_kwargs: { k: 1 } });
      m.content = "after";
      m.name = "later";
      m.additional_kwargs = { replaced: true };
      return m;
    }],
    ["a tool message with an artifact and a status", () => new ToolMessage({ content: [{ type: "text", text: "r" }], tool_call_id: "t1", name: "search", artifact: { rows: [[1, 2]], at: new Date(0) }, status: "error" })],
    ["a system message", () => new SystemMessage({ content: "be brief", id: "s1" })],
    ["a chat message", () => new ChatMessage({ content: "c", role: "critic" })],
    ["a function message", () => new FunctionMessage({ content: "{}", name: "f" })],
    ["a remove message", () => new RemoveMessage({ id: "gone" })],
    ["message chunks", () => [new AIMessageChunk({ content: "ch", tool_call_chunks: [{ id: "t", name: "f", args: "{\"q\":", index: 0, type: "tool_call_chunk" }] }), new HumanMessageChunk({ content: "h" }), new SystemMessageChunk({ content: "s" }), new ToolMessageChunk({ content: "t", tool_call_id: "t" }), new ChatMessageChunk({ content: "c", role: "r" }), new FunctionMessageChunk({ content: "f", name: "g" })]],
  ];

  for (const [name, make] of corpus) {
    it(`${name}: gives toJSON's answer, and the serializer's JSON`, async () => {
      const made = make();
      for (const message of Array.isArray(made) ? (made as object[]) : [made]) {
        expect(messageJSON(message)).toStrictEqual((message as { toJSON(): unknown }).toJSON());
      }
      expect(jsonPlusValue(make())).toStrictEqual(await viaSerde(make()));
    });
  }

  it("leaves to toJSON other classes, cycles and __proto__ keys, and the saver still stores the serializer's JSON", async () => {
    const odd: [string, () => object][] = [
      ["a subclass", () => new MyMessage({ content: "mine" })],
      ["a cycle", () => new AIMessage({ content: "x", additional_kwargs: { cyclic } })],
      ["a __proto__ key", () => new AIMessage({ content: "x", additional_kwargs: JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown> })],
    ];
    const encoder = new ValueEncoder(serde);
    for (const [, make] of odd) {
      expect(messageJSON(make())).toBeUndefined();
      // What the saver stores (the walk's value, or the serializer's when the walk gives up) is the serializer's.
      expect(await encoder.value(make())).toStrictEqual(await encodeValue(serde, make()));
    }
    // A cycle inside a message: the serializer writes "[Circular]" where toJSON would write another thing.
    expect(jsonPlusValue(odd[1]![1]())).toBe(NOT_PLAIN);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
