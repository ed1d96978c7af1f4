import { describe, expect, it } from "vitest";
import { createStore, inMemoryDriver, sqliteDriver } from "../index.js";
import { committedContext } from "./committed.js";

describe("committedContext", () => {
  for (const [name, driver] of [["memory", () => inMemoryDriver()], ["sqlite", () => sqliteDriver({ path: ":memory:" })]] as const) {
    it(`${name}: an append's events say which context they were committed to, as getContext says right after it`, async () => {
      const store = await createStore(driver());
      await store.createContext({ id: "c", metadata: { incarnation: "one" } });
      const first = await store.append("c", [{ type: "a", data: {} }, { type: "b", data: {} }]);
      const info = await store.getContext("c");
      expect(committedContext(first)).toEqual({ metadata: info.metadata, createdAt: info.createdAt, lastSeq: 2 });
      // Not part of the events as a caller sees them.
      expect(Object.keys(first)).toEqual(["0", "1"]);
      expect(JSON.parse(JSON.stringify(first))).toHaveLength(2);
      // A context deleted and created again under the same id is the new one.
      await store.deleteContext("c");
      await store.createContext({ id: "c", metadata: { incarnation: "two" } });
      const again = await store.append("c", { type: "a", data: {} });
      expect(committedContext(again)?.metadata).toEqual({ incarnation: "two" });
      expect(committedContext([...again])).toBeUndefined();
      await store.close();
    });
  }
});
