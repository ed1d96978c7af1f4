/**
 * Conformance: the history searched by meaning (`searchEvents` in `"vector"` and `"hybrid"`
 * mode). The expected rankings come from the plain re-implementation of the memory ranking in
 * `memory-search.ts`, applied to the events' texts, so every store must rank the same way.
 */
import { describe, expect } from "vitest";
import type { ContextStore } from "../agent/types.js";
import type { EventInput, SearchHit } from "../core/types.js";
import { expectError, randomName } from "./harness.js";
import type { Suite } from "./harness.js";
import { reference } from "./memory-search.js";

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
  "Dinosaurs at the museum excited the children",
];
/** Event timestamps of the corpus: one second apart, so no two hits tie on time. */
const T0 = Date.parse("2024-05-01T10:00:00.000Z");

const message = (content: string, i = 0): EventInput => ({
  type: "message",
  data: { role: i % 2 === 0 ? "user" : "assistant", content },
  timestamp: new Date(T0 + i * 1000).toISOString(),
});
const round = (x: number) => Math.round(x * 1e9) / 1e9;
const contentOf = (h: SearchHit) => (h.event.data as { content?: string }).content ?? h.event.data;

/** Registers the tests of vector and hybrid history search. */
export function historySearchTests(s: Suite): void {
  async function conversation(store: ContextStore, texts: string[]): Promise<string> {
    const c = await store.createContext();
    await store.append(c.id, texts.map((t, i) => message(t, i)));
    return c.id;
  }

  describe("history search by meaning", () => {
    for (const mode of ["vector", "hybrid"] as const) {
      s.test(["memory", "testEmbedder"], `${mode} search of the history ranks as memory search does, scores included`, async () => {
        const id = await conversation(s.store, CORPUS);
        // Another context must not change the ranking of a search of this one.
        await conversation(s.store, ["Caroline Caroline support group group", "museum museum museum"]);
        const events = CORPUS.map((text, i) => ({ id: String(i + 1), text, createdAt: new Date(T0 + i * 1000).toISOString() }));
        for (const query of ["Caroline support group", "Melanie running race", "dinosaurs museum kids", "summer lake painting", "adoption"]) {
          const hits = await s.store.searchEvents({ text: query, mode, contextId: id, limit: 5 });
          expect(hits.every((h) => h.contextId === id)).toBe(true);
          const got = hits.map((h) => [String(h.event.seq), round(h.score)]);
          expect(got, `${mode}: ${query}`).toEqual(reference(events, query, mode, 5).map((r) => [r.id, round(r.score)]));
        }
        // The hits are the stored events.
        const [first] = await s.store.searchEvents({ text: "adoption agencies", mode, contextId: id, limit: 1 });
        expect(first?.event).toEqual((await s.store.readEvents(id, { afterSeq: 2, limit: 1 })).items[0]);
      });
    }

    s.test(["memory", "testEmbedder", "search"], "vector mode finds an event by other forms of its words, which text mode does not", async () => {
      const id = await conversation(s.store, ["The cats were running through the gardens", "Quarterly revenue grew again", "Nothing to report"]);
      expect(await s.store.searchEvents({ text: "cat runs garden" })).toEqual([]);
      const [best] = await s.store.searchEvents({ text: "cat runs garden", mode: "vector" });
      expect(best?.contextId).toBe(id);
      expect(best && contentOf(best)).toBe("The cats were running through the gardens");
      const [fused] = await s.store.searchEvents({ text: "cat runs garden", mode: "hybrid" });
      expect(fused && contentOf(fused)).toBe("The cats were running through the gardens");
    });

    s.test(["memory", "testEmbedder"], "events appended after a search are found by the next one; the same text twice is two hits", async () => {
      const id = await conversation(s.store, ["Booked the flight to Lisbon"]);
      expect((await s.store.searchEvents({ text: "apple pie recipe", mode: "vector" })).map(contentOf)).toEqual(["Booked the flight to Lisbon"]);
      await s.store.append(id, [message("apple pie recipe", 1), message("apple pie recipe", 2)]);
      const hits = await s.store.searchEvents({ text: "apple pie recipe", mode: "vector" });
      expect(hits.map((h) => [h.event.seq, contentOf(h)])).toEqual([
        [3, "apple pie recipe"],
        [2, "apple pie recipe"],
        [1, "Booked the flight to Lisbon"],
      ]);
      // Searching again changes nothing.
      expect((await s.store.searchEvents({ text: "apple pie recipe", mode: "vector" })).map((h) => h.event.seq)).toEqual([3, 2, 1]);
    });

    s.test(["memory", "testEmbedder"], "types, contextId, limit and minScore narrow the hits; only text-bearing event types are searched by meaning", async () => {
      const a = await s.store.createContext();
      await s.store.append(a.id, [
        { type: "message", data: { role: "user", content: "what is the weather in Paris" } },
        { type: "tool_call", data: { name: "weather", arguments: { city: "Paris" } } },
        { type: "tool_result", data: { output: "sunny weather in Paris, 24 degrees" } },
        { type: "note", data: "weather Paris weather" },
      ]);
      await s.store.patchState(a.id, { weather: "Paris" });
      const b = await conversation(s.store, ["Paris weather tomorrow"]);
      const all = await s.store.searchEvents({ text: "weather Paris", mode: "hybrid" });
      expect(all.map((h) => `${h.contextId === a.id ? "a" : "b"}:${h.event.type}`).sort()).toEqual(
        ["a:message", "a:tool_call", "a:tool_result", "b:message"],
      );
      const calls = await s.store.searchEvents({ text: "weather Paris", mode: "vector", types: ["tool_call", "tool_result"] });
      expect(calls.map((h) => h.event.type).sort()).toEqual(["tool_call", "tool_result"]);
      expect((await s.store.searchEvents({ text: "weather Paris", mode: "vector", contextId: b })).map((h) => h.contextId)).toEqual([b]);
      expect(await s.store.searchEvents({ text: "weather Paris", mode: "vector", contextId: "no-such-context" })).toEqual([]);
      const ranked = await s.store.searchEvents({ text: "weather Paris", mode: "vector" });
      expect(await s.store.searchEvents({ text: "weather Paris", mode: "vector", limit: 2 })).toEqual(ranked.slice(0, 2));
      const bar = (ranked[1] as SearchHit).score;
      const above = await s.store.searchEvents({ text: "weather Paris", mode: "vector", minScore: bar });
      expect(above).toEqual(ranked.filter((h) => h.score >= bar));
    });

    s.test(["memory", "testEmbedder"], "compacted events and deleted contexts never come back; a re-created context is searched afresh", async () => {
      const id = await conversation(s.store, ["alpha river crossing", "beta mountain pass", "gamma ocean view"]);
      const gone = await conversation(s.store, ["delta forest walk"]);
      const seqs = async (text: string) =>
        (await s.store.searchEvents({ text, mode: "vector" })).map((h) => `${h.contextId === id ? "a" : "b"}${h.event.seq}:${String(contentOf(h))}`);
      expect(await seqs("alpha river")).toContain("a1:alpha river crossing");
      expect(await seqs("delta forest")).toContain("b1:delta forest walk");
      await s.store.createSnapshot(id);
      await s.store.compact(id, { beforeSeq: 3 });
      const after = await seqs("alpha river beta mountain");
      expect(after.filter((x) => x.startsWith("a"))).toEqual(["a3:gamma ocean view"]);
      await s.store.deleteContext(gone);
      expect((await seqs("delta forest")).filter((x) => x.startsWith("b"))).toEqual([]);
      await s.store.createContext({ id: gone });
      await s.store.append(gone, [message("epsilon desert heat")]);
      const fresh = await seqs("delta forest epsilon desert");
      expect(fresh.filter((x) => x.startsWith("b"))).toEqual(["b1:epsilon desert heat"]);
    });

    s.test(["memory", "testEmbedder"], "the store's own memories of the history are never listed, searched, purged or reindexed; their namespace is reserved", async () => {
      const id = await conversation(s.store, ["remember the milk", "the meeting moved to Friday"]);
      expect(await s.store.searchEvents({ text: "milk", mode: "hybrid" })).toHaveLength(2);
      expect((await s.store.listMemories()).items).toEqual([]);
      expect(await s.store.searchMemories({ text: "remember the milk", mode: "vector" })).toEqual([]);
      expect(await s.store.searchMemories({ text: "milk", mode: "text" })).toEqual([]);
      expect(await s.store.purgeMemories({ scope: { contextId: id } })).toBe(0);
      expect(await s.store.reindexMemories()).toEqual({ reindexed: 0, remaining: 0 });
      const e = await expectError(() => s.store.addMemories({ scope: { namespace: ["contextd", "history"] }, text: "x" }), "INVALID_INPUT");
      expect(e.details).toMatchObject({ field: "memory.scope.namespace[0]" });
      await expectError(() => s.store.listMemories({ scope: { namespace: ["contextd"] } }), "INVALID_INPUT");
      expect((await s.store.searchEvents({ text: "milk", mode: "hybrid" })).map(contentOf)[0]).toBe("remember the milk");
    });

    s.test(["memory", "testEmbedder", "tenancy"], "a search by meaning never returns another tenant's events", async () => {
      const other = s.store.withTenant(randomName("t"));
      await conversation(other, ["secret launch codes for the rocket"]);
      const mine = await conversation(s.store, ["the rocket launch is on Monday"]);
      for (const mode of ["vector", "hybrid"] as const) {
        const hits = await s.store.searchEvents({ text: "secret launch codes rocket", mode });
        expect(hits.map((h) => h.contextId)).toEqual([mine]);
        const theirs = await other.searchEvents({ text: "rocket launch Monday", mode });
        expect(theirs.map(contentOf)).toEqual(["secret launch codes for the rocket"]);
      }
    });

    s.test(["memory", "badInput"], "a bad mode, minScore or empty text is INVALID_INPUT naming the field", async () => {
      const bad: [Record<string, unknown>, string][] = [
        [{ text: "x", mode: "semantic" }, "mode"],
        [{ text: "x", mode: "vector", minScore: "high" }, "minScore"],
        [{ text: "   ", mode: "hybrid" }, "text"],
        [{ text: "x", mode: "hybrid", limit: 0 }, "limit"],
        [{ text: "x", mode: "vector", types: [] }, "types"],
      ];
      for (const [query, field] of bad) {
        const e = await expectError(() => s.store.searchEvents(query as never), "INVALID_INPUT");
        expect(e.details, JSON.stringify(query)).toMatchObject({ field });
      }
    });
  });
}
