/**
 * Conformance: every public method, given wrong types, missing fields, empty or oversized
 * strings, oversized data, non-JSON values, bad numbers or bad JSON pointers, rejects with
 * `INVALID_INPUT` (never a TypeError, never a crash) and leaves the store unchanged.
 */
import { describe, expect } from "vitest";
import type { ContextStore } from "../agent/types.js";
import type { JsonObject } from "../core/types.js";
import { expectError, fingerprint, seedContext, within } from "./harness.js";
import type { ConformanceSkipKey, Suite } from "./harness.js";

type Call = (store: ContextStore, id: string) => unknown;

interface BadCase {
  name: string;
  call: Call;
  skip?: ConformanceSkipKey;
  /** A substring `details.field` must contain. */
  field?: string;
}

/**
 * A value's own enumerable keys as plain data, so that `toEqual` compares a `__proto__` key
 * like any other (JSON text round trip: `JSON.stringify` writes own keys only).
 */
function ownJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value) ?? "null");
}

/** Casts a wrong value to whatever type the call expects. */
function bad<T>(value: unknown): T {
  return value as T;
}

const long = "x".repeat(100_000);
const MiB = 1024 * 1024;

function cyclic(): Record<string, unknown> {
  const o: Record<string, unknown> = { a: 1 };
  o.self = o;
  return o;
}

class Point {
  x = 1;
  y = 2;
}

/** A value of `levels` nested arrays and objects (`nested(2)` is `[{ "a": 1 }]`-like). */
function nested(levels: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = i % 2 === 0 ? { a: v } : [v];
  return v;
}

/** Values that are not JSON; each is built fresh per call. */
const nonJson: [string, () => unknown][] = [
  ["undefined inside an object", () => ({ a: undefined })],
  ["undefined inside an array", () => [1, undefined]],
  ["a function", () => () => 1],
  ["NaN", () => Number.NaN],
  ["Infinity", () => Number.POSITIVE_INFINITY],
  ["-Infinity", () => Number.NEGATIVE_INFINITY],
  ["a BigInt", () => BigInt(1)],
  ["a Symbol", () => Symbol("s")],
  ["a Date", () => new Date(0)],
  ["a Map", () => new Map([["a", 1]])],
  ["a Set", () => new Set([1])],
  ["a class instance", () => new Point()],
  ["a cyclic object", () => cyclic()],
];

/** Where non-JSON values can be passed. */
const nonJsonSinks: [string, (store: ContextStore, id: string, value: unknown) => unknown][] = [
  ["createContext state", (st, _id, v) => st.createContext({ state: bad({ v }) })],
  ["createContext metadata", (st, _id, v) => st.createContext({ metadata: bad({ v }) })],
  ["updateContext metadata", (st, id, v) => st.updateContext(id, { metadata: bad({ v }) })],
  ["replaceState state", (st, id, v) => st.replaceState(id, bad({ nested: { v } }))],
  ["patchState patch", (st, id, v) => st.patchState(id, bad({ v }))],
  ["setStateAt value", (st, id, v) => st.setStateAt(id, "/v", bad(v))],
  ["append data", (st, id, v) => st.append(id, { type: "message", data: bad(v) })],
  ["append metadata", (st, id, v) => st.append(id, { type: "message", metadata: bad({ v }) })],
  ["write metadata", (st, id, v) => st.patchState(id, { ok: 1 }, { metadata: bad({ v }) })],
  ["createSnapshot metadata", (st, id, v) => st.createSnapshot(id, { name: "n", metadata: bad({ v }) })],
  ["setSchema schema", (st, _id, v) => st.setSchema("k", bad({ type: "object", v }))],
];

const badIds: [string, unknown][] = [
  ["a number", 5],
  ["undefined", undefined],
  ["null", null],
  ["an empty string", ""],
  ["an oversized string", long],
  ["an object", {}],
];

/** Every method that takes a context id, called with a bad one in its place. */
const idMethods: [string, (store: ContextStore, badId: string, id: string) => unknown][] = [
  ["getContext", (st, x) => st.getContext(x)],
  ["updateContext", (st, x) => st.updateContext(x, { title: "t" })],
  ["archiveContext", (st, x) => st.archiveContext(x)],
  ["deleteContext", (st, x) => st.deleteContext(x)],
  ["getState", (st, x) => st.getState(x)],
  ["replaceState", (st, x) => st.replaceState(x, { a: 1 })],
  ["patchState", (st, x) => st.patchState(x, { a: 1 })],
  ["setStateAt", (st, x) => st.setStateAt(x, "/a", 1)],
  ["removeStateAt", (st, x) => st.removeStateAt(x, "/n")],
  ["stateAt", (st, x) => st.stateAt(x, { version: 1 })],
  ["diff", (st, x) => st.diff(x, 1, 2)],
  ["append", (st, x) => st.append(x, { type: "message" })],
  ["readEvents", (st, x) => st.readEvents(x)],
  ["countEvents", (st, x) => st.countEvents(x)],
  ["lastEvents", (st, x) => st.lastEvents(x, 1)],
  ["createSnapshot", (st, x) => st.createSnapshot(x)],
  ["listSnapshots", (st, x) => st.listSnapshots(x)],
  ["getSnapshot", (st, x) => st.getSnapshot(x, "seed")],
  ["restore", (st, x) => st.restore(x, { version: 1 })],
  ["fork", (st, x) => st.fork(x)],
  ["activate", (st, x) => st.activate("holder", x)],
  ["switchContext", (st, x) => st.switchContext("holder", x)],
  ["setDefaultContext", (st, x) => st.setDefaultContext("holder", x)],
  ["acquireLease", (st, x) => st.acquireLease(x, { holder: "h" })],
  ["renewLease", (st, x) => st.renewLease(x, { holder: "h", token: 1 })],
  ["releaseLease", (st, x) => st.releaseLease(x, { holder: "h", token: 1 })],
  ["getLease", (st, x) => st.getLease(x)],
  ["compact", (st, x) => st.compact(x, { beforeSeq: 1 })],
  ["watch", (st, x) => firstOfWatch(st, x, {})],
];

const badTimes: [string, unknown][] = [
  ["an unparseable string", "not a date"],
  ["an impossible date", "2024-13-45T99:00:00Z"],
  ["NaN", Number.NaN],
  ["an object", {}],
  ["a boolean", true],
];

const badCounts: [string, unknown][] = [
  ["negative", -1],
  ["fractional", 1.5],
  ["NaN", Number.NaN],
  ["Infinity", Number.POSITIVE_INFINITY],
  ["a numeric string", "2"],
];

const badPaths: [string, unknown][] = [
  ["a pointer without a leading slash", "a/b"],
  ["a pointer with a bad escape ~2", "/a~2b"],
  ["a pointer ending in ~", "/a~"],
  ["a number", 5],
  ["null", null],
  ["segments holding an object", ["a", {}]],
  ["segments holding a boolean", ["a", true]],
  ["segments holding a negative index", ["list", -1]],
  ["segments holding a fractional index", ["list", 1.5]],
];

/** Reads the first event of a watch (guarded, so a watcher that never rejects fails the test). */
async function firstOfWatch(store: ContextStore, id: string, options: Record<string, unknown>): Promise<unknown> {
  const controller = new AbortController();
  try {
    const iter = store.watch(id, bad({ ...options, signal: controller.signal }));
    return await within(iter.next(), 2000, "watch to reject bad input");
  } finally {
    controller.abort();
  }
}

function cases(): BadCase[] {
  const out: BadCase[] = [];
  const add = (name: string, call: Call, extra: Partial<BadCase> = {}): void => {
    out.push({ name, call, ...extra });
  };

  for (const [method, call] of idMethods) {
    for (const [what, value] of badIds) {
      // null is how setDefaultContext clears the default: valid there.
      if (method === "setDefaultContext" && value === null) continue;
      add(`${method} with ${what} as the context id`, (st, id) => call(st, bad(value), id));
    }
  }
  for (const [sink, call] of nonJsonSinks) {
    for (const [what, make] of nonJson) add(`${sink} holding ${what}`, (st, id) => call(st, id, make()));
  }

  // createContext
  for (const input of ["x", 5, [], true]) add(`createContext with ${JSON.stringify(input)} as input`, (st) => st.createContext(bad(input)));
  add("createContext with an empty kind", (st) => st.createContext({ kind: "" }));
  add("createContext with an oversized kind", (st) => st.createContext({ kind: long }));
  add("createContext with a numeric kind", (st) => st.createContext(bad({ kind: 5 })));
  add("createContext with a numeric userId", (st) => st.createContext(bad({ userId: 5 })));
  add("createContext with an object chatId", (st) => st.createContext(bad({ chatId: {} })));
  add("createContext with a numeric agentId", (st) => st.createContext(bad({ agentId: 5 })));
  add("createContext with a numeric title", (st) => st.createContext(bad({ title: 5 })));
  add("createContext with array metadata", (st) => st.createContext(bad({ metadata: [1] })));
  add("createContext with string metadata", (st) => st.createContext(bad({ metadata: "m" })));
  for (const state of [[], "s", 5, null]) add(`createContext with ${JSON.stringify(state)} as state`, (st) => st.createContext(bad({ state })));
  for (const [what, t] of badTimes) add(`createContext with ${what} as expiresAt`, (st) => st.createContext(bad({ expiresAt: t })));
  for (const [what, n] of badCounts) add(`createContext with ${what} ttlMs`, (st) => st.createContext(bad({ ttlMs: n })));

  // updateContext / listContexts
  for (const input of [undefined, null, "x", 5]) add(`updateContext with ${String(input)} as input`, (st, id) => st.updateContext(id, bad(input)));
  add("updateContext with status 'deleted'", (st, id) => st.updateContext(id, bad({ status: "deleted" })));
  add("updateContext with a numeric title", (st, id) => st.updateContext(id, bad({ title: 5 })));
  add("updateContext with array metadata", (st, id) => st.updateContext(id, bad({ metadata: [] })));
  for (const [what, t] of badTimes) add(`updateContext with ${what} as expiresAt`, (st, id) => st.updateContext(id, bad({ expiresAt: t })));
  add("listContexts with a string as query", (st) => st.listContexts(bad("x")));
  for (const [what, n] of badCounts) add(`listContexts with a ${what} limit`, (st) => st.listContexts(bad({ limit: n })));
  add("listContexts with order 'sideways'", (st) => st.listContexts(bad({ order: "sideways" })));
  add("listContexts with status 'deleted'", (st) => st.listContexts(bad({ status: "deleted" })));
  add("listContexts with a numeric kind", (st) => st.listContexts(bad({ kind: 5 })));
  add("listContexts with a numeric cursor", (st) => st.listContexts(bad({ cursor: 5 })));
  for (const [what, t] of badTimes) add(`listContexts with ${what} as updatedSince`, (st) => st.listContexts(bad({ updatedSince: t })));

  // state writes
  for (const state of [undefined, null, [], "s", 5]) add(`replaceState with ${JSON.stringify(state) ?? "undefined"} as state`, (st, id) => st.replaceState(id, bad(state)));
  for (const patch of [undefined, null, [], "s", 5]) add(`patchState with ${JSON.stringify(patch) ?? "undefined"} as patch`, (st, id) => st.patchState(id, bad(patch)));
  add("setStateAt with undefined as value", (st, id) => st.setStateAt(id, "/a", bad(undefined)));
  for (const [what, path] of badPaths) {
    add(`setStateAt with ${what} as path`, (st, id) => st.setStateAt(id, bad(path), 1));
    add(`removeStateAt with ${what} as path`, (st, id) => st.removeStateAt(id, bad(path)));
  }
  // Sensible choice: the root cannot be removed (the state must stay an object).
  add("removeStateAt of the root", (st, id) => st.removeStateAt(id, ""));
  for (const [what, n] of badCounts) {
    add(`replaceState with a ${what} expectedVersion`, (st, id) => st.replaceState(id, { a: 1 }, bad({ expectedVersion: n })));
    add(`append with a ${what} expectedVersion`, (st, id) => st.append(id, { type: "m" }, bad({ expectedVersion: n })));
    add(`patchState with a ${what} fencingToken`, (st, id) => st.patchState(id, { a: 1 }, bad({ fencingToken: n })));
  }
  add("replaceState with a string as options", (st, id) => st.replaceState(id, { a: 1 }, bad("x")));
  add("patchState with array write metadata", (st, id) => st.patchState(id, { a: 1 }, bad({ metadata: [] })));

  // time travel
  for (const sel of [undefined, null, {}, 5, "1"]) add(`stateAt with ${JSON.stringify(sel) ?? "undefined"} as selector`, (st, id) => st.stateAt(id, bad(sel)));
  for (const [what, n] of badCounts) {
    add(`stateAt with a ${what} version`, (st, id) => st.stateAt(id, bad({ version: n })));
    add(`diff with a ${what} from version`, (st, id) => st.diff(id, bad(n), 2));
    add(`diff with a ${what} to version`, (st, id) => st.diff(id, 1, bad(n)));
  }
  for (const [what, t] of badTimes) add(`stateAt with ${what} as time`, (st, id) => st.stateAt(id, bad({ at: t })));

  // history
  for (const events of [undefined, null, 5, "message", [null], [5]]) add(`append with ${JSON.stringify(events) ?? "undefined"} as events`, (st, id) => st.append(id, bad(events)));
  add("append of an event without a type", (st, id) => st.append(id, bad({ data: 1 })));
  add("append of an event with an empty type", (st, id) => st.append(id, { type: "" }));
  add("append of an event with a numeric type", (st, id) => st.append(id, bad({ type: 5 })));
  add("append of an event with an oversized type", (st, id) => st.append(id, { type: long }));
  add("append of an event with a field named __proto__", (st, id) => st.append(id, bad(JSON.parse('{"type":"m","__proto__":{"data":1}}'))));
  for (const type of ["state", "snapshot", "restore"]) {
    add(`append of an event with the engine's reserved type ${type}`, (st, id) => st.append(id, { type, data: "hello" }), { field: "type" });
    add(`a state write with an event of the reserved type ${type}`, (st, id) => st.patchState(id, { a: 1 }, { events: [{ type }] }), { field: "type" });
  }
  // 256 nesting levels, the documented limit, for event data as for the state.
  add("append with event data nested 257 levels", (st, id) => st.append(id, { type: "m", data: bad(nested(257)) }), { field: "data" });
  add("append with metadata nested 257 levels", (st, id) => st.append(id, { type: "m", metadata: bad({ m: nested(256) }) }), { field: "metadata" });
  add("replaceState with a state nested 257 levels", (st, id) => st.replaceState(id, bad({ s: nested(256) })), { field: "state" });
  add("setStateAt with a value that would nest the state 257 levels", (st, id) => st.setStateAt(id, "/a/b", bad(nested(255))), { field: "value" });
  add("append of an event with array metadata", (st, id) => st.append(id, bad({ type: "m", metadata: [] })));
  add("append of an event with string metadata", (st, id) => st.append(id, bad({ type: "m", metadata: "x" })));
  for (const [what, n] of badCounts) add(`append of an event with ${what} tokens`, (st, id) => st.append(id, bad({ type: "m", tokens: n })));
  for (const [what, t] of badTimes) add(`append of an event with ${what} as timestamp`, (st, id) => st.append(id, bad({ type: "m", timestamp: t })));
  add("append of a batch whose last event is bad", (st, id) => st.append(id, bad([{ type: "m" }, { type: "m" }, { type: "m", data: Number.NaN }])));
  add("readEvents with a string as query", (st, id) => st.readEvents(id, bad("x")));
  for (const [what, n] of badCounts) {
    add(`readEvents with a ${what} limit`, (st, id) => st.readEvents(id, bad({ limit: n })));
    add(`readEvents with a ${what} afterSeq`, (st, id) => st.readEvents(id, bad({ afterSeq: n })));
    add(`readEvents with a ${what} beforeSeq`, (st, id) => st.readEvents(id, bad({ beforeSeq: n })));
    add(`countEvents with a ${what} afterSeq`, (st, id) => st.countEvents(id, bad({ afterSeq: n })));
    add(`lastEvents with a ${what} n`, (st, id) => st.lastEvents(id, bad(n)));
  }
  add("readEvents with order 'sideways'", (st, id) => st.readEvents(id, bad({ order: "sideways" })));
  add("readEvents with a string as types", (st, id) => st.readEvents(id, bad({ types: "message" })));
  add("readEvents with a number in types", (st, id) => st.readEvents(id, bad({ types: [5] })));
  add("readEvents with an empty string in types", (st, id) => st.readEvents(id, bad({ types: [""] })));
  add("readEvents with a numeric cursor", (st, id) => st.readEvents(id, bad({ cursor: 5 })));
  for (const [what, t] of badTimes) {
    add(`readEvents with ${what} as since`, (st, id) => st.readEvents(id, bad({ since: t })));
    add(`countEvents with ${what} as until`, (st, id) => st.countEvents(id, bad({ until: t })));
  }

  // snapshots, restore, fork
  add("createSnapshot with a string as input", (st, id) => st.createSnapshot(id, bad("x")));
  add("createSnapshot with an empty name", (st, id) => st.createSnapshot(id, { name: "" }));
  add("createSnapshot with a numeric name", (st, id) => st.createSnapshot(id, bad({ name: 5 })));
  add("createSnapshot with an oversized name", (st, id) => st.createSnapshot(id, { name: long }));
  add("createSnapshot with a numeric label", (st, id) => st.createSnapshot(id, bad({ label: 5 })));
  add("createSnapshot with array metadata", (st, id) => st.createSnapshot(id, bad({ metadata: [] })));
  add("getSnapshot with an empty name", (st, id) => st.getSnapshot(id, ""));
  add("getSnapshot with a numeric name", (st, id) => st.getSnapshot(id, bad(5)));
  for (const target of [undefined, null, {}, 5, { snapshot: "" }, { snapshot: 5 }]) {
    add(`restore with ${JSON.stringify(target) ?? "undefined"} as target`, (st, id) => st.restore(id, bad(target)));
  }
  for (const [what, n] of badCounts) add(`restore with a ${what} version`, (st, id) => st.restore(id, bad({ version: n })));
  for (const [what, t] of badTimes) {
    add(`restore with ${what} as before`, (st, id) => st.restore(id, bad({ before: t })));
    add(`restore with ${what} as at`, (st, id) => st.restore(id, bad({ at: t })));
  }
  add("createContext with a parent without a version", (st) => st.createContext(bad({ parent: { id: "p" } })), { field: "parent" });
  add("fork with a parent (fork records its own)", (st, id) => st.fork(id, bad({ parent: { id: "p", version: 1 } })));
  add("fork with a string as input", (st, id) => st.fork(id, bad("x")));
  add("fork with a negative version", (st, id) => st.fork(id, bad({ version: -1 })));
  add("fork with a numeric snapshot name", (st, id) => st.fork(id, bad({ snapshot: 5 })));
  add("fork with an empty id", (st, id) => st.fork(id, { id: "" }));
  add("fork with a numeric kind", (st, id) => st.fork(id, bad({ kind: 5 })));
  add("fork with array metadata", (st, id) => st.fork(id, bad({ metadata: [] })));
  add("fork with a cyclic metadata", (st, id) => st.fork(id, bad({ metadata: cyclic() })));

  // active context
  for (const [what, h] of [["a number", 5], ["an empty string", ""], ["an oversized string", long], ["undefined", undefined]] as const) {
    add(`activate with ${what} as holder`, (st, id) => st.activate(bad(h), id));
    add(`deactivate with ${what} as holder`, (st) => st.deactivate(bad(h)));
    add(`switchContext with ${what} as holder`, (st, id) => st.switchContext(bad(h), id));
    add(`currentContext with ${what} as holder`, (st) => st.currentContext(bad(h)));
    add(`setDefaultContext with ${what} as holder`, (st, id) => st.setDefaultContext(bad(h), id));
  }

  // schemas
  add("setSchema with an empty kind", (st) => st.setSchema("", { type: "object" }));
  add("setSchema with a numeric kind", (st) => st.setSchema(bad(5), { type: "object" }));
  add("setSchema with an oversized kind", (st) => st.setSchema(long, { type: "object" }));
  for (const schema of [undefined, null, "x", [], 5]) add(`setSchema with ${JSON.stringify(schema) ?? "undefined"} as schema`, (st) => st.setSchema("k", bad(schema)));
  add("setSchema with an invalid JSON Schema ({type: 5})", (st) => st.setSchema("k", { type: 5 }));
  add("setSchema with an invalid JSON Schema ({type: 'nonsense'})", (st) => st.setSchema("k", { type: "nonsense" }));
  add("setSchema with an invalid JSON Schema ({required: 'name'})", (st) => st.setSchema("k", { required: "name" }));
  add("getSchema with an empty kind", (st) => st.getSchema(""));
  add("getSchema with a numeric kind", (st) => st.getSchema(bad(5)));
  add("deleteSchema with an empty kind", (st) => st.deleteSchema(""));

  // leases
  for (const options of [undefined, null, "x", {}, { holder: "" }, { holder: 5 }, { holder: long }]) {
    const label = JSON.stringify(options)?.slice(0, 40) ?? "undefined";
    add(`acquireLease with ${label} as options`, (st, id) => st.acquireLease(id, bad(options)));
  }
  for (const [what, n] of badCounts) {
    add(`acquireLease with a ${what} ttlMs`, (st, id) => st.acquireLease(id, bad({ holder: "h", ttlMs: n })));
    add(`acquireLease with a ${what} waitMs`, (st, id) => st.acquireLease(id, bad({ holder: "h", waitMs: n })));
    add(`renewLease with a ${what} token`, (st, id) => st.renewLease(id, bad({ holder: "h", token: n })));
    add(`releaseLease with a ${what} token`, (st, id) => st.releaseLease(id, bad({ holder: "h", token: n })));
  }
  for (const ref of [undefined, null, {}, { holder: "h" }, { token: 1 }, { holder: "", token: 1 }]) {
    const label = JSON.stringify(ref) ?? "undefined";
    add(`renewLease with ${label} as lease`, (st, id) => st.renewLease(id, bad(ref)));
    add(`releaseLease with ${label} as lease`, (st, id) => st.releaseLease(id, bad(ref)));
  }
  add("renewLease with a negative ttlMs", (st, id) => st.renewLease(id, bad({ holder: "h", token: 1, ttlMs: -1 })));

  // watch, retention, call options
  for (const [what, n] of badCounts) add(`watch with a ${what} afterSeq`, (st, id) => firstOfWatch(st, id, { afterSeq: n }));
  for (const options of [undefined, null, {}, { beforeSeq: "3" }]) {
    add(`compact with ${JSON.stringify(options) ?? "undefined"} as options`, (st, id) => st.compact(id, bad(options)));
  }
  for (const [what, n] of badCounts) add(`compact with a ${what} beforeSeq`, (st, id) => st.compact(id, bad({ beforeSeq: n })));
  add("getContext with a string as options", (st, id) => st.getContext(id, bad("x")));
  add("getContext with a signal that is not an AbortSignal", (st, id) => st.getContext(id, bad({ signal: { aborted: false } })));

  // sizes
  add("createContext with a state over 16 MiB", (st) => st.createContext({ state: { big: "x".repeat(16 * MiB + 1) } }), { skip: "largeValues", field: "state" });
  add("replaceState with a state over 16 MiB", (st, id) => st.replaceState(id, { big: "x".repeat(16 * MiB + 1) }), { skip: "largeValues", field: "state" });
  // The value alone is over the limit: the offending field may be named "value" or "state".
  add("setStateAt with a value over 16 MiB", (st, id) => st.setStateAt(id, "/big", "x".repeat(16 * MiB + 1)), { skip: "largeValues" });
  add("append with event data over 1 MiB", (st, id) => st.append(id, { type: "m", data: "x".repeat(MiB + 1) }), { skip: "largeValues", field: "data" });
  add("append with one event of a batch over 1 MiB", (st, id) => st.append(id, [{ type: "m" }, { type: "m", data: { big: "x".repeat(MiB + 1) } }]), { skip: "largeValues", field: "data" });
  return out;
}

/** Registers the bad-input tests. */
export function badInputTests(s: Suite): void {
  describe("bad input", () => {
    for (const c of cases()) {
      s.test(c.skip === undefined ? "badInput" : ["badInput", c.skip], `${c.name} rejects with INVALID_INPUT and changes nothing`, async () => {
        const id = await seedContext(s.store);
        await s.store.activate("seed-holder", id);
        const before = { print: await fingerprint(s.store, id), current: (await s.store.currentContext("seed-holder"))?.id };
        // Errors of a method that returns a promise arrive as its rejection, never as a
        // synchronous throw (which `store.x().catch(…)` would miss).
        let result: unknown;
        expect(() => (result = c.call(s.store, id)), "throws synchronously instead of rejecting").not.toThrow();
        const e = await expectError(() => result, "INVALID_INPUT");
        expect(typeof e.message).toBe("string");
        expect(e.message.length).toBeGreaterThan(0);
        if (c.field !== undefined) expect(String(e.details.field)).toContain(c.field);
        const after = { print: await fingerprint(s.store, id), current: (await s.store.currentContext("seed-holder"))?.id };
        expect(after).toEqual(before);
      });
    }

    s.test(["badInput", "largeValues"], "a write whose result is over 16 MiB (each part under it) rejects with INVALID_INPUT and writes nothing", async () => {
      const c = await s.store.createContext({ state: { a: "x".repeat(9 * MiB) } });
      const before = await fingerprint(s.store, c.id);
      const patch = await expectError(() => s.store.patchState(c.id, { b: "y".repeat(9 * MiB) }), "INVALID_INPUT");
      expect(String(patch.details.field)).toContain("state");
      const set = await expectError(() => s.store.setStateAt(c.id, "/b", "y".repeat(9 * MiB)), "INVALID_INPUT");
      expect(String(set.details.field)).toContain("state");
      expect(await fingerprint(s.store, c.id)).toEqual(before);
    }, 60_000);

    s.test("badInput", "withTenant with an empty, non-string or oversized tenant throws INVALID_INPUT", async () => {
      for (const tenant of ["", 5, undefined, long]) {
        await expectError(() => s.root.withTenant(bad(tenant)), "INVALID_INPUT");
      }
    });

    s.test("badInput", "keys named __proto__, constructor and prototype are stored and returned as ordinary keys and never touch a prototype", async () => {
      // Built by JSON.parse, as a request body or a file is: `__proto__` is then an own key
      // (an object literal `{ __proto__: x }` would set the prototype instead).
      const j = (text: string) => JSON.parse(text) as JsonObject;
      try {
        const c = await s.store.createContext({
          state: j('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}}}'),
          metadata: j('{"__proto__":{"polluted":3},"prototype":"m"}'),
        });
        expect(ownJson((await s.store.getState(c.id)).state)).toEqual(j('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}}}'));
        expect(ownJson((await s.store.getContext(c.id)).metadata)).toEqual(j('{"__proto__":{"polluted":3},"prototype":"m"}'));

        await s.store.patchState(c.id, j('{"__proto__":{"expectedVersion":999},"constructor":{"prototype":{"b":1}},"prototype":{"x":1}}'));
        expect(ownJson((await s.store.getState(c.id)).state)).toEqual(
          j('{"__proto__":{"polluted":1,"expectedVersion":999},"constructor":{"prototype":{"polluted":2,"b":1}},"prototype":{"x":1}}'),
        );
        await s.store.replaceState(c.id, {});
        await s.store.patchState(c.id, j('{"__proto__":{"a":1}}'));
        await s.store.setStateAt(c.id, "/__proto__/b", 2);
        const before = await s.store.getState(c.id);
        await s.store.setStateAt(c.id, ["constructor", "prototype", "polluted"], 3);
        const set = await s.store.setStateAt(c.id, "/toString", "s");
        const expected = j('{"__proto__":{"a":1,"b":2},"constructor":{"prototype":{"polluted":3}},"toString":"s"}');
        expect(ownJson((await s.store.getState(c.id)).state)).toEqual(expected);
        // Past states are rebuilt by replaying the same operations; diffs walk the same keys.
        expect(ownJson((await s.store.stateAt(c.id, { version: set.version })).state)).toEqual(expected);
        expect(ownJson(await s.store.diff(c.id, before.version, set.version))).toEqual([
          { op: "add", path: "/constructor", value: { prototype: { polluted: 3 } } },
          { op: "add", path: "/toString", value: "s" },
        ]);
        await s.store.patchState(c.id, j('{"__proto__":null}'));
        await s.store.removeStateAt(c.id, "/constructor/prototype");
        expect(ownJson((await s.store.getState(c.id)).state)).toEqual({ constructor: {}, toString: "s" });

        const [e] = await s.store.append(c.id, { type: "message", data: j('{"__proto__":{"polluted":4}}'), metadata: j('{"constructor":1}') });
        expect(ownJson(e?.data)).toEqual(j('{"__proto__":{"polluted":4}}'));
        const [read] = await s.store.lastEvents(c.id, 1);
        expect(ownJson(read?.data)).toEqual(j('{"__proto__":{"polluted":4}}'));
        expect(ownJson(read?.metadata)).toEqual({ constructor: 1 });

        await s.store.updateContext(c.id, { metadata: j('{"__proto__":{"polluted":5}}') });
        expect(ownJson((await s.store.getContext(c.id)).metadata)).toEqual(j('{"__proto__":{"polluted":5}}'));
        await s.store.replaceState(c.id, j('{"__proto__":{"polluted":6}}'));
        const snap = await s.store.createSnapshot(c.id, { name: "p", metadata: j('{"__proto__":{"polluted":7}}') });
        expect(ownJson(snap.metadata)).toEqual(j('{"__proto__":{"polluted":7}}'));
        await s.store.replaceState(c.id, {});
        await s.store.restore(c.id, { snapshot: "p" });
        expect(ownJson((await s.store.getState(c.id)).state)).toEqual(j('{"__proto__":{"polluted":6}}'));
      } finally {
        const polluted = ["polluted", "expectedVersion", "a", "b", "x"].filter((k) => Object.hasOwn(Object.prototype, k));
        for (const k of polluted) delete (Object.prototype as Record<string, unknown>)[k];
        expect(polluted).toEqual([]);
      }
    });

    s.test("badInput", "values nested 256 levels, the limit, are accepted in event data, metadata and the state", async () => {
      const c = await s.store.createContext();
      const [e] = await s.store.append(c.id, { type: "m", data: bad(nested(256)), metadata: bad({ m: nested(255) }) });
      expect(e?.data).toEqual(nested(256));
      await s.store.replaceState(c.id, bad({ s: nested(255) }));
      await s.store.setStateAt(c.id, "/a/b", bad(nested(254)));
      expect((await s.store.getState(c.id)).state).toEqual({ s: nested(255), a: { b: nested(254) } });
    });

    s.test("badInput", "values just inside the limits are accepted", async () => {
      const c = await s.store.createContext({ state: { big: "x".repeat(MiB) } });
      const [e] = await s.store.append(c.id, { type: "m", data: "y".repeat(MiB - 100) });
      expect((e?.data as string).length).toBe(MiB - 100);
      expect(((await s.store.getState(c.id)).state.big as string).length).toBe(MiB);
    });
  });
}
