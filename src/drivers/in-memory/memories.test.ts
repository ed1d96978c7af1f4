import { describe, expect, it } from "vitest";
import { createStore } from "../../open.js";
import { inMemoryDriver } from "./driver.js";

describe("in-memory memory area", () => {
  it("pages the change feed by rev, so an updated memory does not hide the ones after it", async () => {
    const driver = inMemoryDriver();
    const store = await createStore(driver, { embedder: null });
    const [a] = await store.addMemories([{ scope: { userId: "u" }, text: "first" }]);
    await store.addMemories([{ scope: { userId: "u" }, text: "second" }]);
    await store.addMemories([{ scope: { userId: "u" }, text: "third" }]);
    await store.updateMemory(a?.memory.id as string, { text: "first, changed" });
    const area = driver.memory;
    if (area === undefined) throw new Error("the in-memory driver has a memory area");
    const call = { now: Date.now(), signal: undefined };
    const page = await area.changes("default", 0, 2, call);
    expect(page.map((r) => r.text)).toEqual(["second", "third"]);
    const rest = await area.changes("default", page[1]?.rev as number, 2, call);
    expect(rest.map((r) => r.text)).toEqual(["first, changed"]);
    await store.close();
  });
});
