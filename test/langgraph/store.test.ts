/**
 * `ContextdStore` beyond what InMemoryStore can be compared on: replacing puts and their
 * times, the reserved roots, index fields and `index: false`, query ranking, the time to live
 * with refresh on read, keys that do not fit a scope, the items as contextd memories, and a
 * real StateGraph whose node uses the store.
 */
import { describe, expect, it } from "vitest";
import { InvalidNamespaceError } from "@langchain/langgraph-checkpoint";
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { createStore, inMemoryDriver, isContextError } from "../../src/index.js";
import type { ContextStore } from "../../src/index.js";
import { testEmbedder } from "../../src/testing/index.js";
import { ContextdStore } from "../../src/integrations/langgraph/index.js";

async function open(clock?: { t: number }): Promise<ContextStore> {
  return createStore(inMemoryDriver(), { embedder: testEmbedder(), ...(clock && { now: () => clock.t }) });
}

describe("ContextdStore", () => {
  it("a put of an existing key replaces the value: createdAt stays, updatedAt moves", async () => {
    const clock = { t: Date.UTC(2026, 0, 1) };
    await using cd = await open(clock);
    const store = new ContextdStore(cd);
    await store.put(["users", "u1"], "prefs", { food: "ramen" });
    clock.t += 5000;
    await store.put(["users", "u1"], "prefs", { food: "curry", level: 3 });
    const item = await store.get(["users", "u1"], "prefs");
    expect(item?.value).toEqual({ food: "curry", level: 3 });
    expect(item?.createdAt.getTime()).toBe(Date.UTC(2026, 0, 1));
    expect(item?.updatedAt.getTime()).toBe(Date.UTC(2026, 0, 1) + 5000);
    expect((await store.search(["users"])).length).toBe(1);
    // Keys are per namespace.
    await store.put(["users", "u2"], "prefs", { food: "pho" });
    expect((await store.get(["users", "u2"], "prefs"))?.value).toEqual({ food: "pho" });
    expect((await store.get(["users", "u1"], "prefs"))?.value).toEqual({ food: "curry", level: 3 });
    await store.delete(["users", "u1"], "prefs");
    expect(await store.get(["users", "u1"], "prefs")).toBeNull();
    expect(await store.get(["users", "u2"], "prefs")).not.toBeNull();
  });

  it("refuses the root langgraph with a clear error and writes nothing; contextd is an ordinary label", async () => {
    await using cd = await open();
    const store = new ContextdStore(cd);
    await expect(store.put(["langgraph", "x"], "k", { a: 1 })).rejects.toBeInstanceOf(InvalidNamespaceError);
    const viaBatch = await store.batch([{ namespace: ["langgraph"], key: "k", value: { a: 1 } }]).catch((e: unknown) => e);
    expect(isContextError(viaBatch, "INVALID_INPUT")).toBe(true);
    expect((viaBatch as Error).message).toMatch(/"langgraph" is the namespace root LangGraph reserves/);
    expect(await store.get(["langgraph"], "k")).toBeNull();
    await store.delete(["langgraph"], "k");
    expect(await store.search(["langgraph"])).toEqual([]);
    expect(await store.listNamespaces()).toEqual([]);
    // "contextd" is reserved inside contextd, not in LangGraph: it lives under the store's root.
    await store.put(["contextd", "notes"], "n1", { text: "kept" });
    expect((await store.get(["contextd", "notes"], "n1"))?.value).toEqual({ text: "kept" });
    expect(await store.listNamespaces()).toEqual([["contextd", "notes"]]);
    expect(() => new ContextdStore(cd, { root: "contextd" })).toThrow(/other than "contextd" and "langgraph"/);
    expect(() => new ContextdStore(cd, { root: "langgraph" })).toThrow(/other than/);
  });

  it("keeps each item as a contextd memory under [root, ...namespace], value as metadata", async () => {
    await using cd = await open();
    const store = new ContextdStore(cd, { root: "agent-memory" });
    await store.put(["users", "u1"], "prefs", { food: "spicy ramen", level: 3 });
    const page = await cd.listMemories({ scope: { namespace: ["agent-memory", "users"] } });
    expect(page.items).toHaveLength(1);
    expect(page.items[0]?.scope.namespace).toEqual(["agent-memory", "users", "u1"]);
    expect(page.items[0]?.metadata).toEqual({ food: "spicy ramen", level: 3 });
    expect(page.items[0]?.text).toContain("spicy ramen");
    // Another root does not see it.
    expect(await new ContextdStore(cd, { root: "other" }).search([])).toEqual([]);
  });

  it("keys that are empty, long or have control characters round-trip and stay distinct", async () => {
    await using cd = await open();
    const store = new ContextdStore(cd);
    const keys = ["", "x".repeat(300), "x".repeat(301), "a\nb", "h:abc", "k:"];
    for (const [i, key] of keys.entries()) await store.put(["ns"], key, { i });
    for (const [i, key] of keys.entries()) expect(await store.get(["ns"], key)).toMatchObject({ key, value: { i } });
    expect((await store.search(["ns"], { limit: 100 })).map((i) => i.key)).toEqual(keys);
  });

  it("index fields choose what a query ranks; index false stores without ranking", async () => {
    await using cd = await open();
    const store = new ContextdStore(cd, { index: { fields: ["text"] } });
    await store.put(["docs"], "d1", { text: "the cat sat on the mat", topic: "ramen noodles" });
    await store.put(["docs"], "d2", { text: "spicy ramen noodles with egg", topic: "cats" });
    await store.put(["docs"], "d3", { text: "ramen ramen ramen" }, false);
    await store.put(["docs"], "d4", { body: "no text field here" });
    const hits = await store.search(["docs"], { query: "ramen noodles", limit: 10 });
    expect(hits[0]?.key).toBe("d2");
    expect(typeof hits[0]?.score).toBe("number");
    // Unindexed items come last, unscored (as InMemoryStore does).
    expect(hits.slice(-2).map((h) => [h.key, h.score])).toEqual([
      ["d3", undefined],
      ["d4", undefined],
    ]);
    // A put's own fields override the store's.
    await store.put(["docs"], "d1", { text: "the cat sat on the mat", topic: "ramen noodles" }, ["topic"]);
    const again = await store.search(["docs"], { query: "ramen noodles", limit: 2 });
    expect(again.map((h) => h.key).sort()).toEqual(["d1", "d2"]);
    // Offset pages through the ranked items, then the unindexed ones, without repeating.
    const pages = [];
    for (let offset = 0; offset < 5; offset++) pages.push(...(await store.search(["docs"], { query: "ramen noodles", limit: 1, offset })).map((h) => h.key));
    expect(pages).toEqual((await store.search(["docs"], { query: "ramen noodles", limit: 10 })).map((h) => h.key));
    expect(new Set(pages).size).toBe(4);
    // Filters and the query together.
    expect((await store.search(["docs"], { query: "ramen", filter: { topic: "cats" } })).map((h) => h.key)).toEqual(["d2"]);
  });

  it("a value larger than contextd's metadata limit is INVALID_INPUT and nothing changes; values are kept as JSON", async () => {
    await using cd = await open();
    const store = new ContextdStore(cd);
    await store.put(["big"], "k", { small: true });
    const err = await store.put(["big"], "k", { blob: "x".repeat(70_000) }).catch((e: unknown) => e);
    expect(isContextError(err, "INVALID_INPUT")).toBe(true);
    expect((await store.get(["big"], "k"))?.value).toEqual({ small: true });
    // Values are kept as JSON, as LangGraph's database stores keep them.
    await store.put(["big"], "d", { at: new Date(0), gone: undefined, n: 1 });
    expect((await store.get(["big"], "d"))?.value).toEqual({ at: "1970-01-01T00:00:00.000Z", n: 1 });
  });

  it("items expire defaultTtlMs after the last put or read; refreshOnRead false reads without moving it", async () => {
    const clock = { t: Date.UTC(2026, 0, 1) };
    await using cd = await open(clock);
    const store = new ContextdStore(cd, { ttl: { defaultTtlMs: 60_000 } });
    await store.put(["s"], "a", { v: 1 });
    await store.put(["s"], "b", { v: 2 });
    clock.t += 50_000;
    expect(await store.get(["s"], "a")).not.toBeNull(); // refreshed to t + 60 s
    expect((await store.search(["s"], { filter: { v: 2 } })).length).toBe(1); // b refreshed by the search
    clock.t += 50_000;
    expect((await store.search(["s"], { limit: 10 })).map((i) => i.key)).toEqual(["a", "b"]);
    clock.t += 61_000;
    expect(await store.get(["s"], "a")).toBeNull();
    expect(await store.search(["s"])).toEqual([]);
    expect(await store.listNamespaces()).toEqual([]);
    // A put after expiry starts the item afresh.
    await store.put(["s"], "a", { v: 3 });
    expect((await store.get(["s"], "a"))?.createdAt.getTime()).toBe(clock.t);
    // Also with the very value it had (the same text as the expired memory's).
    await store.put(["s"], "b", { v: 2 });
    expect((await store.get(["s"], "b"))?.createdAt.getTime()).toBe(clock.t);
    // And back to the value the expired memory of "a" had.
    await store.put(["s"], "a", { v: 1 });
    expect((await store.get(["s"], "a"))?.value).toEqual({ v: 1 });

    const fixed = new ContextdStore(cd, { root: "fixed", ttl: { defaultTtlMs: 60_000, refreshOnRead: false } });
    await fixed.put(["s"], "a", { v: 1 });
    clock.t += 50_000;
    expect(await fixed.get(["s"], "a")).not.toBeNull();
    clock.t += 20_000;
    expect(await fixed.get(["s"], "a")).toBeNull();
    // A store without ttl keeps items: a put clears the expiry it had.
    const plain = new ContextdStore(cd, { root: "fixed" });
    await fixed.put(["s"], "b", { v: 1 });
    await plain.put(["s"], "b", { v: 2 });
    clock.t += 10 * 60_000;
    expect((await plain.get(["s"], "b"))?.value).toEqual({ v: 2 });
  });

  it("concurrent first puts of one key leave one item, with the last call's value", async () => {
    await using cd = await open();
    const store = new ContextdStore(cd);
    await Promise.all([store.put(["c"], "k", { v: 1 }), store.put(["c"], "k", { v: 2 }), store.put(["c"], "k", { v: 3 })]);
    expect((await store.search(["c"])).map((i) => i.value)).toEqual([{ v: 3 }]);
    expect((await cd.listMemories({ scope: { namespace: ["lgstore", "c"] } })).items).toHaveLength(1);
  });

  it("a batch of more new items than one addMemories takes stores them all, in order", async () => {
    await using cd = await open();
    const store = new ContextdStore(cd);
    const ops = Array.from({ length: 1100 }, (_, i) => ({ namespace: ["bulk", `n${i % 3}`], key: `k${i}`, value: { i } }));
    await store.batch(ops);
    const all = await store.search(["bulk"], { limit: 2000 });
    expect(all.map((i) => i.value.i)).toEqual(ops.map((_, i) => i));
  });

  it("listNamespaces: prefix and suffix with *, maxDepth, limit and offset, in label order", async () => {
    await using cd = await open();
    const store = new ContextdStore(cd);
    for (const ns of [["users", "u1", "prefs"], ["users", "u2", "prefs"], ["users", "u2", "notes"], ["docs", "v1"], ["users"]]) await store.put(ns, "k", { x: 1 });
    expect(await store.listNamespaces()).toEqual([["docs", "v1"], ["users"], ["users", "u1", "prefs"], ["users", "u2", "notes"], ["users", "u2", "prefs"]]);
    expect(await store.listNamespaces({ prefix: ["users", "*", "prefs"] })).toEqual([["users", "u1", "prefs"], ["users", "u2", "prefs"]]);
    expect(await store.listNamespaces({ suffix: ["prefs"] })).toEqual([["users", "u1", "prefs"], ["users", "u2", "prefs"]]);
    expect(await store.listNamespaces({ prefix: ["users"], maxDepth: 2 })).toEqual([["users"], ["users", "u1"], ["users", "u2"]]);
    expect(await store.listNamespaces({ prefix: ["users"], maxDepth: 2, limit: 1, offset: 1 })).toEqual([["users", "u1"]]);
  });

  it("a StateGraph node reads and writes the store given to compile()", async () => {
    await using cd = await open();
    const store = new ContextdStore(cd);
    const State = Annotation.Root({ user: Annotation<string>, input: Annotation<string>, reply: Annotation<string> });
    const remember = async (s: typeof State.State, config: LangGraphRunnableConfig) => {
      const ns = ["memories", s.user];
      const seen = await config.store?.search(ns, { limit: 100 });
      const related = await config.store?.search(ns, { query: s.input, limit: 1 });
      await config.store?.put(ns, `m${seen?.length ?? 0}`, { text: s.input });
      return { reply: `I knew ${seen?.length ?? 0} things about you; closest: ${String(related?.[0]?.value.text)}` };
    };
    const graph = new StateGraph(State).addNode("remember", remember).addEdge(START, "remember").addEdge("remember", END).compile({ store });
    await graph.invoke({ user: "u1", input: "I like spicy ramen" });
    await graph.invoke({ user: "u1", input: "I live near the lake" });
    const out = await graph.invoke({ user: "u1", input: "ramen for dinner?" });
    expect(out.reply).toBe("I knew 2 things about you; closest: I like spicy ramen");
    expect((await store.search(["memories", "u1"], { limit: 10 })).map((i) => i.value.text)).toEqual([
      "I like spicy ramen",
      "I live near the lake",
      "ramen for dinner?",
    ]);
    expect(await store.listNamespaces()).toEqual([["memories", "u1"]]);
  });
});
