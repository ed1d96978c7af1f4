import { describe, expect, it } from "vitest";
import { isContextError } from "../errors.js";
import type { Embedder } from "../core/embedder.js";
import { createStore } from "../open.js";
import { inMemoryDriver } from "../drivers/in-memory/driver.js";
import { cachedEmbedder, EmbeddingCache } from "./cache.js";
import { hashingEmbedder } from "./hashing.js";
import { createEmbedder, DEFAULT_EMBEDDER, defaultEmbedder } from "./index.js";
import { USE_MODEL, type UseEmbedder } from "./use.js";

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * (b[i] as number), 0);
const thrown = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
};

/** An embedder that records what it was asked to embed. */
function counting(): Embedder & { calls: string[][] } {
  const inner = hashingEmbedder({ dimensions: 32 });
  const calls: string[][] = [];
  return { model: inner.model, dimensions: 32, calls, embed: (texts, o) => (calls.push([...texts]), inner.embed(texts, o)) };
}

describe("hashingEmbedder", () => {
  it("is deterministic, unit length, and closer for texts that share words", async () => {
    const e = hashingEmbedder({ dimensions: 64 });
    const [a, a2, b, c] = await e.embed(["red kites fly high", "red kites fly high", "the kite is red", "quarterly tax report"]);
    expect([...(a as Float32Array)]).toEqual([...(a2 as Float32Array)]);
    expect(dot(a as Float32Array, a as Float32Array)).toBeCloseTo(1, 5);
    expect(dot(a as Float32Array, b as Float32Array)).toBeGreaterThan(dot(a as Float32Array, c as Float32Array));
    expect(e.model).toBe("hashing-v1-64");
    expect(isContextError(thrown(() => hashingEmbedder({ dimensions: 3 })), "INVALID_INPUT")).toBe(true);
  });
});

describe("the embedding cache", () => {
  it("embeds a text once: repeated in one call, and again in a later call", async () => {
    const inner = counting();
    const e = cachedEmbedder(inner);
    const [x, y, z] = await e.embed(["a fact", "another fact", "a fact"]);
    expect(inner.calls).toEqual([["a fact", "another fact"]]);
    expect([...(x as Float32Array)]).toEqual([...(z as Float32Array)]);
    const [again] = await e.embed(["another fact"]);
    expect(inner.calls).toHaveLength(1);
    expect([...(again as Float32Array)]).toEqual([...(y as Float32Array)]);
    // Callers get copies: changing one does not change the cache.
    (again as Float32Array).fill(0);
    expect([...((await e.embed(["another fact"]))[0] as Float32Array)]).toEqual([...(y as Float32Array)]);
    expect(e.cache.hits).toBe(2);
  });

  it("forgets the least recently used vector when full; keys are the model id and the text's SHA-256", async () => {
    const inner = counting();
    const e = cachedEmbedder(inner, { maxEntries: 2 });
    await e.embed(["a", "b"]);
    await e.embed(["a"]); // a is now more recent than b
    await e.embed(["c"]); // evicts b
    await e.embed(["a", "b"]);
    expect(inner.calls).toEqual([["a", "b"], ["c"], ["b"]]);
    expect(EmbeddingCache.key("m1", "text")).not.toBe(EmbeddingCache.key("m2", "text"));
    expect(EmbeddingCache.key("m1", "text")).toBe(EmbeddingCache.key("m1", "text"));
  });

  it("keeps nothing of a malformed answer (the engine reports it as EMBEDDING_FAILED)", async () => {
    let calls = 0;
    const bad: Embedder = { model: "bad", dimensions: 4, embed: async (t) => (calls++, t.map(() => new Float32Array(3))) };
    const e = cachedEmbedder(bad);
    await e.embed(["x"]);
    await e.embed(["x"]);
    expect(calls).toBe(2);
    expect(e.cache.size).toBe(0);
  });
});

describe("createEmbedder", () => {
  it("makes the embedder a spec names; use is the process's one shared model", () => {
    expect(DEFAULT_EMBEDDER).toBe("use");
    expect(createEmbedder("use")).toBe(defaultEmbedder());
    expect(createEmbedder("use").model).toBe(USE_MODEL);
    expect(createEmbedder("use", { batchSize: 8 })).not.toBe(defaultEmbedder());
    expect(createEmbedder("hashing").model).toBe("hashing-v1-256");
    expect(createEmbedder("hashing:128").dimensions).toBe(128);
    const openai = createEmbedder("openai:text-embedding-3-small", { apiKey: "k" });
    expect(openai.model).toBe("openai:text-embedding-3-small:1536");
    expect("cache" in openai).toBe(true);
    for (const spec of ["", "usee", "hashing:", "hashing:abc", "openai:", "sentence-transformers"]) {
      expect(isContextError(thrown(() => createEmbedder(spec)), "INVALID_INPUT")).toBe(true);
    }
    expect(isContextError(thrown(() => createEmbedder("use", { cache: 0 })), "INVALID_INPUT")).toBe(true);
  });
});

describe("stores use the Universal Sentence Encoder by default", () => {
  it("opening a store loads nothing; the first memory loads the model; texts of the same meaning are found by vector search", async () => {
    const shared = defaultEmbedder();
    const use = shared.inner as UseEmbedder;
    const store = await createStore(inMemoryDriver());
    expect((await store.health()).embedder).toEqual({ model: USE_MODEL, dimensions: 512 });
    const ctx = await store.createContext({ kind: "chat" });
    await store.append(ctx.id, { type: "message", data: { role: "user", content: "hi" } });
    expect(use.loadMs).toBeUndefined();

    await store.addMemories([
      { scope: { userId: "u" }, text: "Caroline is researching adoption agencies" },
      { scope: { userId: "u" }, text: "Melanie painted a sunrise over the lake" },
      { scope: { userId: "u" }, text: "The quarterly report is due on Friday" },
    ]);
    expect(use.loadMs).toBeGreaterThan(0);
    const [hit] = await store.searchMemories({ text: "Who wants to adopt a child?", mode: "vector", scope: { userId: "u" } });
    expect(hit?.memory.text).toBe("Caroline is researching adoption agencies");
    expect(hit?.memory.embedding).toEqual({ model: USE_MODEL, dimensions: 512 });
    // The query was embedded once: searching again is a cache hit.
    const hits = shared.cache.hits;
    await store.searchMemories({ text: "Who wants to adopt a child?", mode: "vector", scope: { userId: "u" } });
    expect(shared.cache.hits).toBe(hits + 1);
    await store.close();
  });

  it("a bulk import embeds in the worker while other writes of the store go on", async () => {
    const store = await createStore(inMemoryDriver());
    const ctx = await store.createContext({ kind: "chat" });
    let imported = false;
    const bulk = store
      .addMemories(Array.from({ length: 48 }, (_, i) => ({ scope: { userId: "bulk" }, text: `turn ${i}: we talked about hiking trip number ${i}` })))
      .then((r) => ((imported = true), r));
    let writesDoneWhileImporting = 0;
    for (let i = 0; i < 20; i++) {
      await store.append(ctx.id, { type: "message", data: { role: "user", content: `message ${i}` } });
      if (!imported) writesDoneWhileImporting++;
    }
    expect(writesDoneWhileImporting).toBe(20);
    expect(await bulk).toHaveLength(48);
    await store.close();
  });

  it("an add aborted while the model embeds is ABORTED and writes nothing", async () => {
    const store = await createStore(inMemoryDriver());
    const controller = new AbortController();
    const adding = store
      .addMemories(Array.from({ length: 40 }, (_, i) => ({ scope: { userId: "aborted" }, text: `a turn that is never stored ${i}` })), { signal: controller.signal })
      .catch((x: unknown) => x);
    controller.abort();
    expect(isContextError(await adding, "ABORTED")).toBe(true);
    expect((await store.listMemories({ scope: { userId: "aborted" } })).items).toEqual([]);
    await store.close();
  });

  it("embedder: null opens a store without a model", async () => {
    const store = await createStore(inMemoryDriver(), { embedder: null });
    expect((await store.health()).embedder).toBeNull();
    await store.close();
  });
});
