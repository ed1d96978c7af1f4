/**
 * Conformance: memory search ranks as docs/memory.md defines, on every store. The expected
 * rankings come from a plain re-implementation of the definition in this file (BM25 with
 * k1 = 0.5, b = 0.3 over the selected memories; cosine of the test embedder's vectors; the
 * hybrid fusion; the order score ↓, createdAt ↓, id ↑), so a store that ranks differently fails.
 */
import { describe, expect } from "vitest";
import type { Memory, MemoryHit } from "../core/memory-types.js";
import type { ContextStore } from "../agent/types.js";
import { textTerms } from "../core/text-terms.js";
import { testEmbedding } from "./test-embedder.js";
import { expectError, TestClock } from "./harness.js";
import type { Suite } from "./harness.js";
import { allMemories } from "./memory.js";

const CORPUS = [
  "Caroline went to the LGBTQ support group on Tuesday",
  "Melanie painted a sunrise over the lake last summer",
  "Caroline is researching adoption agencies",
  "Melanie's kids love dinosaurs and the museum",
  "The support group gave Caroline courage",
  "Melanie ran a charity race for mental health",
  "Caroline plans to study counseling",
  "A lake trip with the kids in summer",
  "Running is how Melanie clears her head",
  "Caroline and Melanie talk about painting and pottery",
  "Dinosaurs at the museum excited the children",
  "The race raised money for mental health awareness",
];

/** One expected hit of {@link reference}. */
export interface Ref {
  id: string;
  score: number;
  createdAt: number;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/** The definition, written out plainly: the expected hits of `query` over `memories` (also the history's, `history-search.ts`). */
export function reference(memories: Pick<Memory, "id" | "text" | "createdAt">[], query: string, mode: "text" | "vector" | "hybrid", limit: number): Ref[] {
  const docs = memories.map((m) => ({ m, terms: textTerms(m.text), vector: testEmbedding(m.text) }));
  const n = docs.length;
  const avg = docs.reduce((sum, d) => sum + d.terms.length, 0) / n;
  const q = [...new Set(textTerms(query))];
  const bm25 = (terms: string[]) =>
    q.reduce((sum, t) => {
      const df = docs.filter((d) => d.terms.includes(t)).length;
      const tf = terms.filter((x) => x === t).length;
      if (tf === 0) return sum;
      const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
      return sum + (idf * tf * 1.5) / (tf + 0.5 * (1 - 0.3 + (0.3 * terms.length) / avg));
    }, 0);
  const qv = testEmbedding(query);
  const order = (a: Ref, b: Ref) => b.score - a.score || b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1);
  const rows = docs.map((d) => ({ id: d.m.id, createdAt: Date.parse(d.m.createdAt), text: bm25(d.terms), cos: cosine(d.vector, qv) }));
  const c = Math.max(50, limit);
  const byText = rows.filter((r) => r.text > 0).map((r) => ({ ...r, score: r.text })).sort(order).slice(0, c);
  if (mode === "text") return byText.slice(0, limit);
  const byVector = rows.map((r) => ({ ...r, score: r.cos })).sort(order).slice(0, c);
  if (mode === "vector") return byVector.slice(0, limit);
  const max = byText[0]?.score ?? 0;
  const ids = new Set([...byText, ...byVector].map((r) => r.id));
  return rows
    .filter((r) => ids.has(r.id))
    .map((r) => ({ ...r, score: (max > 0 ? r.text / max : 0) + 0.5 * r.cos }))
    .sort(order)
    .slice(0, limit);
}

const view = (hits: MemoryHit[] | Ref[]) => hits.map((h) => ("memory" in h ? [h.memory.id, round(h.score)] : [h.id, round(h.score)]));
const round = (x: number) => Math.round(x * 1e9) / 1e9;

/** Registers the memory search tests. */
export function memorySearchTests(s: Suite): void {
  describe("memory search", () => {
    async function corpus(): Promise<{ store: ContextStore; memories: Memory[] }> {
      const clock = new TestClock();
      const store = await s.openWithClock(clock);
      for (const text of CORPUS) {
        await store.addMemories({ scope: { userId: "u1" }, text });
        clock.advance(1000);
      }
      // Noise in another scope must not change the ranking of u1's memories.
      await store.addMemories({ scope: { userId: "u2" }, text: "Caroline Caroline support group group" });
      return { store, memories: await allMemories(store, { scope: { userId: "u1" } }) };
    }

    for (const mode of ["text", "vector", "hybrid"] as const) {
      s.test(["memory", "testEmbedder", "clock"], `${mode} search ranks exactly as the definition says, scores included`, async () => {
        const { store, memories } = await corpus();
        for (const query of ["Caroline support group", "Melanie running race", "dinosaurs museum kids", "summer lake painting", "adoption"]) {
          const hits = await store.searchMemories({ text: query, mode, scope: { userId: "u1" }, limit: 5 });
          expect(view(hits), `${mode}: ${query}`).toEqual(view(reference(memories, query, mode, 5)));
        }
      });
    }

    s.test(["memory", "testEmbedder", "clock"], "ties are broken by the newer memory, then by id", async () => {
      const clock = new TestClock();
      const store = await s.openWithClock(clock);
      await store.addMemories([
        { id: "b", scope: { userId: "u" }, text: "apple pie" },
        { id: "a", scope: { userId: "u" }, text: "pie apple" },
      ]);
      clock.advance(1000);
      await store.addMemories({ id: "c", scope: { userId: "u" }, text: "apple pie!" });
      const hits = await store.searchMemories({ text: "apple pie", mode: "text" });
      expect(hits.map((h) => h.memory.id)).toEqual(["c", "a", "b"]);
      expect(new Set(hits.map((h) => h.score)).size).toBe(1);
    });

    s.test(["memory", "testEmbedder"], "text search needs a matching term; stop words alone match nothing; stemming joins word forms", async () => {
      await s.store.addMemories([
        { scope: { userId: "u" }, text: "She runs every morning" },
        { scope: { userId: "u" }, text: "The connection was lost" },
      ]);
      expect(await s.store.searchMemories({ text: "the of and", mode: "text" })).toEqual([]);
      expect((await s.store.searchMemories({ text: "running", mode: "text" })).map((h) => h.memory.text)).toEqual(["She runs every morning"]);
      expect((await s.store.searchMemories({ text: "connected", mode: "text" })).map((h) => h.memory.text)).toEqual(["The connection was lost"]);
    });

    s.test(["memory", "testEmbedder"], "limit, minScore, filters and boosts shape the result", async () => {
      const added = await s.store.addMemories([
        { scope: { userId: "u" }, text: "green tea, more green tea in the morning", importance: 0.1, metadata: { kind: "habit" } },
        { scope: { userId: "u" }, text: "green tea and cake", importance: 0.9, metadata: { kind: "treat" } },
        { scope: { userId: "u" }, text: "black coffee at noon", importance: 0.5, metadata: { kind: "habit" } },
      ]);
      const all = await s.store.searchMemories({ text: "green tea", mode: "text" });
      expect(all).toHaveLength(2);
      expect(await s.store.searchMemories({ text: "green tea", mode: "text", limit: 1 })).toHaveLength(1);
      const min = all[1]?.score as number;
      expect((await s.store.searchMemories({ text: "green tea", mode: "text", minScore: min + 1e-9 })).length).toBe(1);
      const habits = await s.store.searchMemories({ text: "green tea", mode: "text", filter: { kind: "habit" } });
      expect(habits.map((h) => h.memory.id)).toEqual([added[0]?.memory.id]);
      const boosted = await s.store.searchMemories({ text: "green tea", mode: "text", boosts: { importance: { weight: 10 } } });
      expect(boosted[0]?.memory.id).toBe(added[1]?.memory.id);
      expect(boosted[0]?.score).toBeCloseTo((boosted[0]?.textScore ?? 0) + 9, 9);
      for (const h of await s.store.searchMemories({ text: "green tea", mode: "hybrid" })) {
        expect(h.vectorScore).not.toBeNull();
      }
    });

    s.test(["memory", "testEmbedder"], "merge folds a near-duplicate into the existing memory as a new version; the history keeps the old text", async () => {
      const [a] = await s.store.addMemories({ scope: { userId: "u" }, text: "Caroline loves hiking in the mountains", tags: ["a"] });
      const [b] = await s.store.addMemories(
        { scope: { userId: "u" }, text: "Caroline loves hiking in mountains", tags: ["b"] },
        { merge: { threshold: 0.9 } },
      );
      expect(b?.outcome).toBe("merged");
      expect(b?.memory).toMatchObject({ id: a?.memory.id, version: 2, text: "Caroline loves hiking in mountains", tags: ["a", "b"] });
      expect((await s.store.memoryHistory(a?.memory.id as string)).map((v) => [v.op, v.text])).toEqual([
        ["add", "Caroline loves hiking in the mountains"],
        ["merge", "Caroline loves hiking in mountains"],
      ]);
      const [c] = await s.store.addMemories({ scope: { userId: "u" }, text: "Melanie paints pottery" }, { merge: { threshold: 0.9 } });
      expect(c?.outcome).toBe("created");
      const [d] = await s.store.addMemories({ scope: { userId: "other" }, text: "Caroline loves hiking in mountains" }, { merge: { threshold: 0.5 } });
      expect(d?.outcome).toBe("created");
      expect((await allMemories(s.store)).length).toBe(3);
    });

    s.test(["memory", "testEmbedder"], "an updated text is searched by its new words and meaning; a deleted memory is never found", async () => {
      const [a] = await s.store.addMemories({ scope: { userId: "u" }, text: "owns a red bicycle" });
      await s.store.updateMemory(a?.memory.id as string, { text: "owns a blue kayak" });
      expect(await s.store.searchMemories({ text: "bicycle", mode: "text" })).toEqual([]);
      expect((await s.store.searchMemories({ text: "kayak", mode: "text" }))[0]?.memory.id).toBe(a?.memory.id);
      const hybrid = await s.store.searchMemories({ text: "blue kayak" });
      expect(hybrid[0]?.memory.version).toBe(2);
      await s.store.deleteMemory(a?.memory.id as string);
      expect(await s.store.searchMemories({ text: "blue kayak" })).toEqual([]);
    });

    s.test(["memory", "testEmbedder"], "a query vector given by the caller is used as is; a wrong one is INVALID_INPUT", async () => {
      await s.store.addMemories({ scope: { userId: "u" }, text: "quiet library afternoon" });
      const hits = await s.store.searchMemories({ text: "anything", mode: "vector", vector: [...testEmbedding("quiet library")] });
      expect(hits[0]?.vectorScore).toBeGreaterThan(0.5);
      await expectError(() => s.store.searchMemories({ text: "x", vector: [1, 2] }), "INVALID_INPUT");
      await expectError(() => s.store.searchMemories({ text: "x", vector: new Array<number>(64).fill(Number.NaN) }), "INVALID_INPUT");
    });

    s.test(["memory", "testEmbedder"], "memories added with the caller's vectors are searched by them", async () => {
      const v = testEmbedding("ocean sailing trip");
      await s.store.addMemories({ scope: { userId: "u" }, text: "unrelated words entirely", vector: [...v] });
      const [hit] = await s.store.searchMemories({ text: "ocean sailing trip", mode: "vector" });
      expect(hit?.vectorScore).toBeCloseTo(1, 5);
    });
  });
}
