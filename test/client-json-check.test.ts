/**
 * A value that is not JSON gets the same INVALID_INPUT — code, message, field and JSON
 * pointer — from `contextd/client` as from the embedded store: both run core/json.ts's check.
 */
import { describe, expect, it } from "vitest";
import { pino } from "pino";
import { isContextError, openStore } from "../src/index.js";
import type { ContextStore } from "../src/index.js";
import { createClient } from "../src/client/index.js";
import { createApp } from "../src/server/app.js";

class Point {
  x = 1;
}
const cyclic = () => {
  const o: Record<string, unknown> = { a: 1 };
  o.self = o;
  return o;
};

const values: [string, () => unknown][] = [
  ["undefined inside an array", () => [1, undefined]],
  ["NaN", () => Number.NaN],
  ["Infinity", () => Number.POSITIVE_INFINITY],
  ["a BigInt", () => BigInt(1)],
  ["a function", () => () => 1],
  ["a Date", () => new Date(0)],
  ["a Map", () => new Map([["a", 1]])],
  ["a class instance", () => new Point()],
  ["a cyclic object", cyclic],
  [
    "a hole in an array",
    () => {
      const holed: unknown[] = [1];
      holed[2] = 3;
      return holed;
    },
  ],
];

type Sink = (store: ContextStore, id: string, value: unknown) => Promise<unknown>;
const as = <T>(v: unknown) => v as T;
const sinks: [string, Sink][] = [
  ["createContext state", (s, _id, v) => s.createContext({ state: as({ deep: { v } }) })],
  ["createContext metadata", (s, _id, v) => s.createContext({ metadata: as({ v }) })],
  ["createContext metadata itself", (s, _id, v) => s.createContext({ metadata: as(v) })],
  ["updateContext metadata", (s, id, v) => s.updateContext(id, { metadata: as({ list: [0, v] }) })],
  ["replaceState", (s, id, v) => s.replaceState(id, as({ nested: { v } }))],
  ["patchState", (s, id, v) => s.patchState(id, as({ v }))],
  ["setStateAt value", (s, id, v) => s.setStateAt(id, "/v", as(v))],
  ["append data (one event)", (s, id, v) => s.append(id, { type: "message", data: as({ content: v }) })],
  ["append data (a batch)", (s, id, v) => s.append(id, [{ type: "m" }, { type: "message", data: as([v]) }])],
  ["append metadata", (s, id, v) => s.append(id, { type: "m", metadata: as({ v }) })],
  ["state write metadata", (s, id, v) => s.patchState(id, { ok: 1 }, { metadata: as({ v }) })],
  ["state write events", (s, id, v) => s.patchState(id, { ok: 1 }, { events: [{ type: "m", data: as(v) }] })],
  ["createSnapshot metadata", (s, id, v) => s.createSnapshot(id, { name: "n", metadata: as({ v }) })],
  ["setSchema", (s, _id, v) => s.setSchema("k", as({ type: "object", v }))],
];

async function failure(call: () => Promise<unknown>): Promise<unknown> {
  try {
    await call();
  } catch (e) {
    if (!isContextError(e)) throw e;
    return { code: e.code, message: e.message, field: e.details.field ?? null, path: e.details.path ?? null };
  }
  return "succeeded";
}

describe("contextd/client and the embedded store refuse non-JSON values alike", () => {
  for (const [sinkName, sink] of sinks) {
    it(`${sinkName}: the same code, message, field and JSON pointer for every kind of non-JSON value`, async () => {
      await using store = await openStore("in-memory:");
      const app = createApp({ store, logger: pino({ level: "silent" }) });
      const client = createClient({ url: "http://contextd.test", fetch: (input, init) => Promise.resolve(app.request(input instanceof Request ? input : String(input), init)) });
      const { id } = await store.createContext();
      for (const [valueName, make] of values) {
        const embedded = await failure(() => sink(store, id, make()));
        const remote = await failure(() => sink(client, id, make()));
        expect(embedded, valueName).not.toBe("succeeded");
        expect(remote, valueName).toEqual(embedded);
      }
    });
  }
});
