import { describe, expect, it } from "vitest";
import { isContextError } from "../errors.js";
import { canonicalJson, copyEncodeJson, copyEncodeJsonObject, diffJson, encodeJson, jsonEqual, mergePatch, parsePath, removeAtPath, setAtPath } from "./json.js";
import type { JsonObject, JsonPatchOperation, JsonValue } from "./types.js";

function applyPatch(doc: JsonValue, ops: JsonPatchOperation[]): JsonValue {
  let root = structuredClone(doc);
  for (const op of ops) {
    if (op.path === "") {
      root = op.op === "remove" ? null : structuredClone(op.value);
      continue;
    }
    const segs = parsePath(op.path);
    if (op.op === "remove") removeAtPath(root as JsonObject, segs);
    else setAtPath(root as JsonObject, segs, structuredClone(op.value));
  }
  return root;
}

describe("encodeJson", () => {
  it("returns the JSON text of plain values", () => {
    expect(encodeJson({ a: [1, "x", null, true, { b: 2.5 }] }, "f", 1000)).toBe('{"a":[1,"x",null,true,{"b":2.5}]}');
  });

  it.each([
    ["undefined inside an object", { a: undefined }, "/a"],
    ["a function", { f: () => 1 }, "/f"],
    ["NaN", [1, Number.NaN], "/1"],
    ["Infinity", { x: { y: Infinity } }, "/x/y"],
    ["a BigInt", { n: 1n }, "/n"],
    ["a Symbol", { s: Symbol("s") }, "/s"],
    ["a Date", { d: new Date() }, "/d"],
    ["a Map", { m: new Map() }, "/m"],
  ])("refuses %s with INVALID_INPUT naming the path", (_name, value, path) => {
    try {
      encodeJson(value, "data", 1000);
      expect.unreachable();
    } catch (e) {
      expect(isContextError(e, "INVALID_INPUT")).toBe(true);
      expect((e as { details: { path: string } }).details.path).toBe(path);
    }
  });

  it("refuses cycles and oversized text", () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(() => encodeJson(a, "data", 1000)).toThrow(/cyclic/);
    expect(() => encodeJson({ s: "x".repeat(100) }, "data", 50)).toThrow(/exceed the limit of 50/);
  });

  it("refuses a cycle that fans out (each level pointing back twice) without walking every path", () => {
    const a: Record<string, unknown> = {};
    a.x = a;
    a.y = [a, { z: a }];
    expect(() => encodeJson({ deep: { deeper: a } }, "data", 1000)).toThrow(/cyclic/);
  });

  it("keeps an own __proto__ key as data and does not read inherited keys", () => {
    const v = JSON.parse('{"__proto__":{"polluted":true},"a":1}') as JsonObject;
    expect(encodeJson(v, "data", 1000)).toBe('{"__proto__":{"polluted":true},"a":1}');
    const withInherited = Object.create({ inherited: 1 }) as Record<string, unknown>;
    withInherited.own = 2;
    expect(() => encodeJson({ v: withInherited }, "data", 1000)).toThrow(/INVALID|not JSON|instance|object/i);
  });

  it("accepts the same object twice when it is not a cycle", () => {
    const shared = { x: 1 };
    expect(encodeJson({ a: shared, b: shared }, "data", 100)).toBe('{"a":{"x":1},"b":{"x":1}}');
  });
});

describe("copyEncodeJson", () => {
  it("returns encodeJson's text and a copy that shares no object or array with the value", () => {
    const value = { a: [1, { b: "x" }, [null, true]], "0": 2.5, c: { d: {} } };
    const { value: copy, text } = copyEncodeJson(value, "f", 1000);
    expect(text).toBe(encodeJson(value, "f", 1000));
    expect(copy).toEqual(value);
    const c = copy as { a: [number, { b: string }, unknown[]]; c: { d: object } };
    expect(c.a).not.toBe(value.a);
    expect(c.a[1]).not.toBe(value.a[1]);
    expect(c.c.d).not.toBe(value.c.d);
    (value.a[1] as { b: string }).b = "changed";
    expect(c.a[1].b).toBe("x");
  });

  it("keeps an own __proto__ key as data, never as the copy's prototype", () => {
    const value = JSON.parse('{"__proto__":{"polluted":true},"n":{"__proto__":[1]}}') as JsonObject;
    const { value: copy, text } = copyEncodeJsonObject(value, "f", 1000);
    expect(text).toBe('{"__proto__":{"polluted":true},"n":{"__proto__":[1]}}');
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.hasOwn(copy, "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ["undefined inside an object", { a: undefined }, "/a"],
    ["NaN in an array", [1, Number.NaN], "/1"],
    ["a hole", { h: Object.assign(new Array<number>(3), { 0: 1, 2: 3 }) }, "/h/1"],
    ["a Date", { d: new Date() }, "/d"],
    ["a class instance", { m: new Map() }, "/m"],
  ])("refuses %s with encodeJson's error and path", (_name, value, path) => {
    let expected: unknown;
    try {
      encodeJson(value, "data", 1000);
    } catch (e) {
      expected = e;
    }
    try {
      copyEncodeJson(value, "data", 1000);
      expect.unreachable();
    } catch (e) {
      expect(isContextError(e, "INVALID_INPUT")).toBe(true);
      expect((e as Error).message).toBe((expected as Error).message);
      expect((e as { details: { path: string } }).details.path).toBe(path);
    }
  });

  it("refuses cycles, nesting beyond the limit, text over the limit and a non-object where an object is due", () => {
    const a: Record<string, unknown> = {};
    a.x = [a, a];
    expect(() => copyEncodeJson({ a }, "data", 1000)).toThrow(/cyclic/);
    expect(() => copyEncodeJson([[[1]]], "data", 1000, 2)).toThrow(/INVALID_INPUT|deep|depth|level/i);
    expect(() => copyEncodeJson({ s: "x".repeat(100) }, "data", 50)).toThrow(/exceed the limit of 50/);
    expect(() => copyEncodeJsonObject([1], "patch", 100)).toThrow(/must be a JSON object/);
  });
});

describe("mergePatch (RFC 7396 appendix A examples)", () => {
  it.each<[JsonValue, JsonValue, JsonValue]>([
    [{ a: "b" }, { a: "c" }, { a: "c" }],
    [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
    [{ a: "b" }, { a: null }, {}],
    [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
    [{ a: ["b"] }, { a: "c" }, { a: "c" }],
    [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
    [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
    [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
    [["a", "b"], ["c", "d"], ["c", "d"]],
    [{ a: "b" }, ["c"], ["c"]],
    [{ a: "foo" }, null, null],
    [{ a: "foo" }, "bar", "bar"],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: "b", c: null }, { a: "b" }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ])("merge %j with %j", (target, patch, expected) => {
    expect(mergePatch(structuredClone(target), patch)).toEqual(expected);
  });
});

describe("JSON pointers", () => {
  it("parses escapes ~0 and ~1", () => {
    expect(parsePath("/a~1b/c~0d/0")).toEqual(["a/b", "c~d", "0"]);
    expect(parsePath(["x", 3])).toEqual(["x", "3"]);
  });

  it("refuses pointers without a leading slash, bad escapes and the root", () => {
    expect(() => parsePath("a")).toThrow(/must start with/);
    expect(() => parsePath("/a~2")).toThrow(/bad escape/);
    expect(() => parsePath("")).toThrow();
    expect(() => parsePath([])).toThrow(/root/);
  });

  it("sets deep values creating objects, appends with -, and removes", () => {
    const s: JsonObject = { list: [1] };
    setAtPath(s, ["a", "b"], 1);
    setAtPath(s, ["list", "-"], 2);
    expect(s).toEqual({ a: { b: 1 }, list: [1, 2] });
    removeAtPath(s, ["list", "0"]);
    expect(s).toEqual({ a: { b: 1 }, list: [2] });
    expect(() => removeAtPath(s, ["nope"])).toThrow(/nothing at \/nope/);
    expect(() => setAtPath(s, ["a", "b", "c"], 1)).toThrow(/cannot descend/);
  });
});

describe("diffJson", () => {
  const cases: [JsonValue, JsonValue][] = [
    [{ a: 1 }, { a: 2 }],
    [{ a: 1, b: { c: [1, 2, 3] } }, { b: { c: [1, 5] }, d: "x" }],
    [{ list: [1] }, { list: [1, 2, 3, { z: 1 }] }],
    [{ "a/b": 1, "c~d": 2 }, { "a/b": 3 }],
    [{ x: { y: 1 } }, { x: [1] }],
  ];
  it.each(cases)("patch from %j to %j applies exactly", (a, b) => {
    const ops = diffJson(a, b);
    expect(applyPatch(a, ops)).toEqual(b);
  });

  it("is empty for equal values regardless of key order", () => {
    expect(diffJson({ a: 1, b: 2 }, { b: 2, a: 1 })).toEqual([]);
    expect(jsonEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(canonicalJson({ b: 1, a: [2, { d: 1, c: 2 }] })).toBe('{"a":[2,{"c":2,"d":1}],"b":1}');
  });
});

describe("keys that name prototype members", () => {
  const j = (text: string) => JSON.parse(text) as JsonObject;
  const leaked = () => ["polluted", "expectedVersion"].filter((k) => Object.hasOwn(Object.prototype, k));

  it("mergePatch stores __proto__, constructor and prototype as own keys and leaves Object.prototype alone", () => {
    try {
      const merged = mergePatch({}, j('{"__proto__":{"expectedVersion":999},"constructor":{"prototype":{"polluted":1}}}'));
      expect(JSON.stringify(merged)).toBe('{"__proto__":{"expectedVersion":999},"constructor":{"prototype":{"polluted":1}}}');
      expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
      expect(JSON.stringify(mergePatch(merged, j('{"__proto__":null}')))).toBe('{"constructor":{"prototype":{"polluted":1}}}');
    } finally {
      const found = leaked();
      for (const k of found) delete (Object.prototype as Record<string, unknown>)[k];
      expect(found).toEqual([]);
    }
  });

  it("setAtPath creates own keys for __proto__ and constructor segments", () => {
    try {
      const state: JsonObject = {};
      setAtPath(state, parsePath("/__proto__/polluted"), 1);
      setAtPath(state, ["constructor", "prototype", "polluted"], 2);
      expect(JSON.stringify(state)).toBe('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}}}');
      const ops = diffJson({}, state);
      expect(JSON.stringify(applyPatch({}, ops))).toBe(JSON.stringify(state));
    } finally {
      const found = leaked();
      for (const k of found) delete (Object.prototype as Record<string, unknown>)[k];
      expect(found).toEqual([]);
    }
  });
});
