import { describe, expect, it } from "vitest";
import { createStore } from "../open.js";
import { inMemoryDriver } from "../drivers/in-memory/driver.js";
import { testEmbedder } from "../testing/index.js";
import type { Embedder } from "./embedder.js";
import type { AddedMemory } from "./memory-types.js";
import { topK } from "./memory-search.js";

describe("topK", () => {
  it("gives what sort + slice gives, ties and all, for large and small inputs", () => {
    let seed = 1;
    const rnd = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    // Few distinct scores, so ties are broken by the second key as the ranking breaks them.
    const compare = (a: { score: number; id: number }, b: { score: number; id: number }) => b.score - a.score || a.id - b.id;
    for (const n of [0, 3, 50, 201, 5000]) {
      const items = Array.from({ length: n }, (_, id) => ({ score: Math.floor(rnd() * 20), id }));
      for (const k of [1, 10, 50]) {
        expect(topK([...items], k, compare)).toEqual([...items].sort(compare).slice(0, k));
      }
    }
  });
});

describe("a search whose query is still being embedded", () => {
  it("sees the index as it is when the vector arrives, never a reused slot of another scope", async () => {
    // The query's embedding waits for `release`; meanwhile a memory of u1 is deleted, one of u2
    // added (taking the freed slot) and another search catches the index up.
    let entered!: () => void;
    const embedding = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const inner = testEmbedder();
    const embedder: Embedder = {
      model: inner.model,
      dimensions: inner.dimensions,
      embed: async (texts, options) => {
        if (texts.includes("blue notebook on the shelf")) {
          entered();
          await gate;
        }
        return inner.embed(texts, options);
      },
    };
    const store = await createStore(inMemoryDriver(), { embedder, metrics: false });
    try {
      const [a] = await store.addMemories([
        { scope: { userId: "u1" }, text: "the blue notebook is on the shelf" },
        { scope: { userId: "u1" }, text: "a notebook with a blue cover" },
        { scope: { userId: "u1" }, text: "a red bicycle in the garage" },
      ]);
      const searching = store.searchMemories({ text: "blue notebook on the shelf", scope: { userId: "u1" }, limit: 10 });
      await embedding;
      // Another search shares the first one's catch-up, so when it is done the first has selected and ranked by text.
      await store.searchMemories({ text: "notebook", mode: "text", scope: { userId: "u1" } });
      await store.deleteMemory((a as AddedMemory).memory.id);
      await store.addMemories({ scope: { userId: "u2" }, text: "the blue notebook of u2 is on the shelf" });
      await store.searchMemories({ text: "notebook", mode: "text", scope: { userId: "u2" } });
      release();
      const hits = await searching;
      expect(hits.map((h) => h.memory.scope.userId)).toEqual(["u1", "u1", "u1"].slice(0, hits.length));
      expect(hits.map((h) => h.memory.text)).not.toContain("the blue notebook is on the shelf");
      expect(hits).toEqual(await store.searchMemories({ text: "blue notebook on the shelf", scope: { userId: "u1" }, limit: 10 }));
    } finally {
      await store.close();
    }
  });
});
