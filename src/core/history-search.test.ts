import { describe, expect, it } from "vitest";
import { createStore } from "../open.js";
import { inMemoryDriver } from "../drivers/in-memory/driver.js";
import { wrapDriver } from "../drivers/wrap.js";
import { isContextError } from "../errors.js";
import { testEmbedder } from "../testing/test-embedder.js";
import type { HistorySearchProgress } from "./types.js";

describe("history search by meaning", () => {
  it("reports the catch-up through onProgress, ending at done = total; a caught-up history reports nothing", async () => {
    const store = await createStore(inMemoryDriver(), { embedder: testEmbedder() });
    try {
      const c = await store.createContext();
      await store.append(c.id, Array.from({ length: 1200 }, (_, i) => ({ type: i % 3 === 0 ? "state_note" : "message", data: `turn ${i} about topic ${i % 7}` })));
      const seen: HistorySearchProgress[] = [];
      const hits = await store.searchEvents({ text: "topic 3", mode: "hybrid", onProgress: (p) => seen.push(p) });
      expect(hits.length).toBeGreaterThan(0);
      expect(seen.length).toBeGreaterThan(1);
      expect(seen.at(-1)).toEqual({ done: 1200, total: 1200 });
      for (let i = 1; i < seen.length; i++) expect((seen[i] as HistorySearchProgress).done).toBeGreaterThanOrEqual((seen[i - 1] as HistorySearchProgress).done);
      const again: HistorySearchProgress[] = [];
      await store.searchEvents({ text: "topic 3", mode: "vector", onProgress: (p) => again.push(p) });
      expect(again).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it("a fork's first search by meaning embeds only its own events: the inherited ones take the vectors of the parent's (and grandparent's) memories", async () => {
    const base = testEmbedder();
    const embedded: string[] = [];
    const store = await createStore(inMemoryDriver(), {
      embedder: { ...base, embed: async (texts, o) => (embedded.push(...texts), base.embed(texts, o)) },
    });
    try {
      const parent = await store.createContext();
      await store.append(parent.id, Array.from({ length: 40 }, (_, i) => ({ type: "message", data: `parent turn ${i} about topic ${i % 5}` })));
      const fromParent = await store.searchEvents({ text: "topic 3", mode: "vector", contextId: parent.id, limit: 5 });
      expect(embedded.length).toBe(41);
      const child = await store.fork(parent.id);
      await store.append(child.id, [{ type: "message", data: "child turn about topic 3" }]);
      const grandchild = await store.fork(child.id);
      await store.append(grandchild.id, [{ type: "message", data: "grandchild turn about topic 4" }]);
      embedded.length = 0;
      // The grandchild first: its own event, and the child's (not yet searched) own event, are
      // the only texts to embed; the 40 inherited from the parent take the parent's vectors.
      const fromGrandchild = await store.searchEvents({ text: "topic 3", mode: "vector", contextId: grandchild.id, limit: 50 });
      expect(embedded.sort()).toEqual(["child turn about topic 3", "grandchild turn about topic 4", "topic 3"]);
      expect(fromGrandchild.length).toBe(42);
      embedded.length = 0;
      const fromChild = await store.searchEvents({ text: "topic 3", mode: "vector", contextId: child.id, limit: 50 });
      // The child's own event is embedded for the child (a descendant's memories are not reused).
      expect(embedded.sort()).toEqual(["child turn about topic 3", "topic 3"]);
      // The copied vectors rank as the parent's own: the same events with the same scores.
      const parentScores = new Map(fromParent.map((h) => [h.event.seq, h.score]));
      for (const h of fromChild.filter((x) => parentScores.has(x.event.seq))) expect(h.score).toBeCloseTo(parentScores.get(h.event.seq) as number, 6);
      expect(fromChild.filter((x) => parentScores.has(x.event.seq)).length).toBe(5);
    } finally {
      await store.close();
    }
  });

  it("without an embedding model: vector mode is NOT_SUPPORTED, hybrid ranks by words (BM25) alone", async () => {
    const store = await createStore(inMemoryDriver(), { embedder: null });
    try {
      const c = await store.createContext();
      await store.append(c.id, [{ type: "message", data: "the cats were running" }, { type: "message", data: "revenue grew" }]);
      const e: unknown = await store.searchEvents({ text: "cat", mode: "vector" }).catch((x: unknown) => x);
      expect(isContextError(e, "NOT_SUPPORTED")).toBe(true);
      const hits = await store.searchEvents({ text: "cat runs", mode: "hybrid" });
      expect(hits.map((h) => h.event.seq)).toEqual([1]);
    } finally {
      await store.close();
    }
  });

  it("an embedder that fails leaves nothing half-done: the next search embeds the history", async () => {
    let fail = true;
    const base = testEmbedder();
    const store = await createStore(inMemoryDriver(), {
      embedder: { ...base, embed: async (texts, o) => (fail && texts.length > 1 ? Promise.reject(new Error("down")) : base.embed(texts, o)) },
    });
    try {
      const c = await store.createContext();
      await store.append(c.id, [{ type: "message", data: "alpha beta" }, { type: "message", data: "gamma delta" }]);
      const e: unknown = await store.searchEvents({ text: "alpha", mode: "vector" }).catch((x: unknown) => x);
      expect(isContextError(e, "EMBEDDING_FAILED")).toBe(true);
      fail = false;
      expect((await store.searchEvents({ text: "alpha beta", mode: "vector" })).map((h) => h.event.seq)).toEqual([1, 2]);
    } finally {
      await store.close();
    }
  });

  it("reads each event once: a history ending in events without text is not read again by the next search", async () => {
    const inner = inMemoryDriver();
    let catchUpReads = 0;
    const driver = wrapDriver(inner, {
      readEvents: (tenant, id, query, call) => {
        if (query.types !== undefined && query.beforeSeq === undefined) catchUpReads++;
        return inner.readEvents(tenant, id, query, call);
      },
    });
    const store = await createStore(driver, { embedder: testEmbedder() });
    try {
      const c = await store.createContext();
      await store.append(c.id, { type: "message", data: "book a table for two" });
      await store.patchState(c.id, { step: 1 });
      await store.searchEvents({ text: "table", mode: "vector" });
      expect(catchUpReads).toBe(1);
      await store.patchState(c.id, { step: 2 });
      await store.searchEvents({ text: "table", mode: "vector" });
      expect(catchUpReads).toBe(2);
      await store.searchEvents({ text: "table", mode: "hybrid" });
      await Promise.all([store.searchEvents({ text: "table", mode: "vector" }), store.searchEvents({ text: "two", mode: "vector" })]);
      expect(catchUpReads).toBe(2);
      await store.append(c.id, { type: "message", data: "make it three" });
      const [a, b] = await Promise.all([store.searchEvents({ text: "three", mode: "vector" }), store.searchEvents({ text: "three", mode: "vector" })]);
      expect(catchUpReads).toBe(3);
      expect(a).toEqual(b);
      expect(a.map((h) => h.event.seq)).toEqual([4, 1]);
    } finally {
      await store.close();
    }
  });
});
