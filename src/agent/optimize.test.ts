import { describe, expect, it } from "vitest";
import { createStore } from "../open.js";
import { inMemoryDriver } from "../drivers/in-memory/driver.js";
import { defaultTokenCounter } from "./tokens.js";
import { optimize } from "./optimize.js";

describe("optimize", () => {
  it("drops older duplicates, keeps the newest within maxChars, and says so", async () => {
    await using store = await createStore(inMemoryDriver());
    const { id } = await store.createContext();
    await store.append(id, [
      { type: "message", data: "aaaaaaaaaa" }, // 10 chars, duplicate of seq 4
      { type: "message", data: "bbbbbbbbbbbbbbbbbbbb" }, // 20 chars
      { type: "message", data: "cc" }, // 2 chars
      { type: "message", data: "aaaaaaaaaa" }, // 10 chars
      { type: "note", data: { k: 1 } }, // {"k":1} = 7 chars
    ]);
    const r = await optimize(store, id, { maxChars: 20 });
    // newest first: note 7 → a 17 → cc 19 → b 39 (skipped, over) → a (duplicate)
    expect(r.events.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(r).toMatchObject({ considered: 5, duplicates: 1, overBudget: 1, removed: 2, optimized: true, size: 19, unit: "chars" });
    // The durable history is untouched.
    expect(await store.countEvents(id)).toBe(5);
    const nothing = await optimize(store, id, { maxChars: 1000 });
    expect(nothing).toMatchObject({ optimized: true, duplicates: 1, overBudget: 0 });
    const { id: clean } = await store.createContext();
    await store.append(clean, [{ type: "message", data: "x" }, { type: "message", data: "y" }]);
    expect((await optimize(store, clean, { maxChars: 1000 })).optimized).toBe(false);
  });

  it("budgets by tokens with the stored counts", async () => {
    await using store = await createStore(inMemoryDriver(), { tokenCounter: defaultTokenCounter });
    const { id } = await store.createContext();
    await store.append(id, [{ type: "message", data: "dog dog dog" }, { type: "message", data: "cat cat" }]);
    const r = await optimize(store, id, { maxTokens: 2 });
    expect(r.events.map((e) => e.data)).toEqual(["cat cat"]);
    expect(r.size).toBe(2);
  });

  it("with compact: snapshots the state and replaces the history by the optimized view", async () => {
    await using store = await createStore(inMemoryDriver());
    const { id } = await store.createContext({ state: { n: 1 } });
    await store.patchState(id, { n: 2 });
    await store.append(id, [
      { type: "message", data: "old", timestamp: 1000 },
      { type: "message", data: "dup" },
      { type: "message", data: "dup" },
    ]);
    const r = await optimize(store, id, { maxChars: 100, compact: true });
    expect(r.compacted).toBeDefined();
    const history = (await store.readEvents(id, { limit: 100 })).items;
    expect(history.map((e) => [e.type, e.data])).toEqual([
      ["snapshot", expect.anything()],
      ["message", "old"],
      ["message", "dup"],
    ]);
    expect(history[1]!.timestamp).toBe(new Date(1000).toISOString());
    expect(history[1]!.metadata["originalSeq"]).toBe(2);
    expect((await store.getState(id)).state).toEqual({ n: 2 });
  });

  it("counts characters as code points, as AIECS (Python len) does: an emoji is one", async () => {
    await using store = await createStore(inMemoryDriver());
    const { id } = await store.createContext();
    await store.append(id, [{ type: "message", data: "😀".repeat(10) }, { type: "message", data: "😀".repeat(10) + "!" }]);
    const r = await optimize(store, id, { maxChars: 21 });
    expect(r).toMatchObject({ size: 21, removed: 0 });
  });
});
