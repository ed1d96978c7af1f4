/** Conformance: full-text search over the history (`searchEvents`, `handle.search`). */
import { describe, expect } from "vitest";
import type { EventInput, JsonValue, SearchHit } from "../core/types.js";
import { expectError, randomName, waitFor } from "./harness.js";
import type { Suite } from "./harness.js";
import type { ContextStore } from "../agent/types.js";

/** Registers the search tests. */
export function searchTests(s: Suite): void {
  /** A new context holding one `message` event per data value; returns its id. */
  async function withEvents(store: ContextStore, data: JsonValue[], type = "message"): Promise<string> {
    const c = await store.createContext();
    if (data.length > 0) await store.append(c.id, data.map((d) => ({ type, data: d })));
    return c.id;
  }
  /** The data of the hits, in order. */
  async function found(text: string, query: Record<string, unknown> = {}, store = s.store): Promise<JsonValue[]> {
    return (await store.searchEvents({ text, ...query })).map((h) => h.event.data);
  }
  const key = (h: SearchHit) => `${h.contextId}#${h.event.seq}`;

  describe("search", () => {
    s.test("search", "finds events by the words of their data, case-insensitively, and returns them as events", async () => {
      const id = await withEvents(s.store, [{ role: "user", content: "Hello Wonderful World" }, { content: "nothing here" }]);
      const hits = await s.store.searchEvents({ text: "WONDERFUL" });
      expect(hits).toHaveLength(1);
      const [hit] = hits as [SearchHit];
      expect(hit.contextId).toBe(id);
      expect(hit.event).toEqual((await s.store.readEvents(id)).items[0]);
      expect(typeof hit.score).toBe("number");
      expect(hit.score).toBeGreaterThan(0);
      expect(await found("hello world")).toEqual([{ role: "user", content: "Hello Wonderful World" }]);
      expect(await found("hElLo")).toHaveLength(1);
    });

    s.test("search", "every word of the query must occur in the event", async () => {
      await withEvents(s.store, ["red apple", "red car", "green apple pie"]);
      expect(await found("red apple")).toEqual(["red apple"]);
      expect((await found("red")).sort()).toEqual(["red apple", "red car"]);
      expect((await found("apple")).sort()).toEqual(["green apple pie", "red apple"]);
      expect(await found("red pie")).toEqual([]);
      expect(await found("apple apple APPLE red")).toEqual(["red apple"]);
    });

    s.test("search", "matches whole words only", async () => {
      await withEvents(s.store, ["a category of things", "the cat sat", "concatenate"]);
      expect(await found("cat")).toEqual(["the cat sat"]);
      expect(await found("categor")).toEqual([]);
      expect(await found("category")).toEqual(["a category of things"]);
    });

    s.test("search", "words are runs of Unicode letters and digits; diacritics count, case does not", async () => {
      await withEvents(s.store, ["Grüße aus 東京", "Ελληνικά ΚΕΙΜΕΝΟ", "order 12345 shipped", "un café noir", "plain cafe"]);
      expect(await found("grüße")).toEqual(["Grüße aus 東京"]);
      expect(await found("GRÜẞE")).toEqual(["Grüße aus 東京"]);
      expect(await found("東京")).toEqual(["Grüße aus 東京"]);
      expect(await found("κειμενο")).toEqual(["Ελληνικά ΚΕΙΜΕΝΟ"]);
      expect(await found("12345")).toEqual(["order 12345 shipped"]);
      expect(await found("1234")).toEqual([]);
      expect(await found("café")).toEqual(["un café noir"]);
      expect(await found("cafe")).toEqual(["plain cafe"]);
      // The same text in decomposed form (e + combining acute) is the same word.
      expect(await found("cafe\u0301")).toEqual(["un café noir"]);
    });

    s.test("search", "punctuation separates words: emails, URLs, hyphens, underscores, paths", async () => {
      await withEvents(s.store, [
        "mail bob@example.com now",
        "state-of-the-art design",
        "see https://docs.example.org/a/b?q=search_term",
        "snake_case and C:\\tmp\\file.txt",
      ]);
      expect(await found("example")).toHaveLength(2);
      expect(await found("bob")).toEqual(["mail bob@example.com now"]);
      expect(await found("bob@example.com")).toEqual(["mail bob@example.com now"]);
      expect(await found("art")).toEqual(["state-of-the-art design"]);
      expect(await found("state of the art")).toEqual(["state-of-the-art design"]);
      expect(await found("docs org term")).toEqual(["see https://docs.example.org/a/b?q=search_term"]);
      expect(await found("snake case")).toEqual(["snake_case and C:\\tmp\\file.txt"]);
      expect(await found("txt")).toEqual(["snake_case and C:\\tmp\\file.txt"]);
      expect(await found("snake_case")).toEqual(["snake_case and C:\\tmp\\file.txt"]);
    });

    s.test("search", "searches string values at any depth and a string data itself, never keys, numbers or booleans", async () => {
      await withEvents(s.store, [
        { secretkey: "visible", n: 42, flag: true, none: null },
        { a: [{ b: ["deep needle"] }, "x"], c: { d: { e: "nested haystack" } } },
        "plain string needle",
        ["array", ["of", ["strings"]]],
        { count: "42" },
        7,
        null,
      ]);
      expect(await found("secretkey")).toEqual([]);
      expect(await found("visible")).toEqual([{ secretkey: "visible", n: 42, flag: true, none: null }]);
      expect(await found("true")).toEqual([]);
      expect(await found("null")).toEqual([]);
      expect(await found("7")).toEqual([]);
      expect(await found("42")).toEqual([{ count: "42" }]);
      expect(await found("needle deep")).toEqual([{ a: [{ b: ["deep needle"] }, "x"], c: { d: { e: "nested haystack" } } }]);
      expect(await found("haystack")).toHaveLength(1);
      expect(await found("needle")).toHaveLength(2);
      expect(await found("strings array")).toEqual([["array", ["of", ["strings"]]]]);
      // Words are not joined across values ("deep needle", "x").
      expect(await found("needlex")).toEqual([]);
      expect(await found("needle x")).toHaveLength(1);
    });

    s.test("search", "metadata is not searched", async () => {
      const c = await s.store.createContext();
      await s.store.append(c.id, { type: "message", data: "body text", metadata: { tag: "hiddenword" } });
      expect(await found("hiddenword")).toEqual([]);
      expect(await found("body")).toHaveLength(1);
    });

    s.test("search", "types restricts the event types searched", async () => {
      const c = await s.store.createContext();
      await s.store.append(c.id, [
        { type: "message", data: "deploy failed" },
        { type: "tool_result", data: { output: "deploy ok" } },
        { type: "error", data: { message: "deploy timeout" } },
      ]);
      expect(await found("deploy", { types: ["tool_result"] })).toEqual([{ output: "deploy ok" }]);
      expect((await found("deploy", { types: ["error", "message"] })).length).toBe(2);
      expect(await found("deploy", { types: ["custom"] })).toEqual([]);
      expect(await found("deploy")).toHaveLength(3);
    });

    s.test("search", "contextId (and handle.search) restricts the search to one context", async () => {
      const a = await withEvents(s.store, ["shared word alpha"]);
      const b = await withEvents(s.store, ["shared word beta"]);
      expect((await s.store.searchEvents({ text: "shared" })).map((h) => h.contextId).sort()).toEqual([a, b].sort());
      const hits = await s.store.searchEvents({ text: "shared", contextId: a });
      expect(hits.map((h) => h.contextId)).toEqual([a]);
      const viaHandle = await s.store.context(b).search("SHARED word", { limit: 5 });
      expect(viaHandle.map((h) => [h.contextId, h.event.data])).toEqual([[b, "shared word beta"]]);
      expect(await s.store.context(b).search("alpha")).toEqual([]);
    });

    s.test("search", "a context that does not exist (or expired) gives no hits, not NOT_FOUND", async () => {
      expect(await s.store.searchEvents({ text: "anything", contextId: randomName("missing") })).toEqual([]);
      expect(await s.store.context(randomName("missing")).search("anything")).toEqual([]);
    });

    s.test("search", "limit caps the hits (default 20)", async () => {
      const c = await s.store.createContext();
      await s.store.append(
        c.id,
        Array.from({ length: 25 }, (_, i): EventInput => ({ type: "message", data: `item number ${i}`, timestamp: 1_000_000 + i })),
      );
      const all = await s.store.searchEvents({ text: "item" });
      expect(all).toHaveLength(20);
      // Equal scores: newest first.
      expect(all.map((h) => h.event.seq)).toEqual(Array.from({ length: 20 }, (_, i) => 25 - i));
      expect(await s.store.searchEvents({ text: "item", limit: 3 })).toEqual(all.slice(0, 3));
      expect(await s.store.searchEvents({ text: "item", limit: 1000 })).toHaveLength(25);
      expect(await found("number 7")).toEqual(["item number 7"]);
    });

    s.test("search", "orders by score (more occurrences first), then newest, then context id, then seq", async () => {
      const t = 2_000_000_000_000;
      const a = await s.store.createContext({ id: `a-${randomName("ctx")}` });
      const b = await s.store.createContext({ id: `b-${randomName("ctx")}` });
      await s.store.append(a.id, [
        { type: "message", data: "kiwi", timestamp: t + 10 }, // a#1: 1 occurrence, newest
        { type: "message", data: "kiwi kiwi kiwi", timestamp: t }, // a#2: 3, oldest
        { type: "message", data: ["kiwi", { x: "Kiwi" }], timestamp: t + 5 }, // a#3: 2
        { type: "message", data: "kiwi", timestamp: t + 1 }, // a#4: 1, same time as b#1 and a#5
        { type: "message", data: "kiwi", timestamp: t + 1 }, // a#5
      ]);
      await s.store.append(b.id, [{ type: "message", data: "KIWI", timestamp: t + 1 }]); // b#1
      const hits = await s.store.searchEvents({ text: "kiwi" });
      expect(hits.map(key)).toEqual([`${a.id}#2`, `${a.id}#3`, `${a.id}#1`, `${a.id}#5`, `${a.id}#4`, `${b.id}#1`]);
      const scores = hits.map((h) => h.score);
      expect(scores[0]).toBeGreaterThan(scores[1] as number);
      expect(scores[1]).toBeGreaterThan(scores[2] as number);
      expect(new Set(scores.slice(2)).size).toBe(1);
      // Deterministic: the same search gives the same hits.
      expect((await s.store.searchEvents({ text: "kiwi" })).map(key)).toEqual(hits.map(key));
      // Several words: the occurrences of all of them count.
      await s.store.append(b.id, [
        { type: "message", data: "lime kiwi lime", timestamp: t }, // b#2: 3
        { type: "message", data: "lime kiwi", timestamp: t + 20 }, // b#3: 2
      ]);
      expect((await s.store.searchEvents({ text: "lime kiwi" })).map(key)).toEqual([`${b.id}#2`, `${b.id}#3`]);
    });

    s.test("search", "searches only the store's tenant", async () => {
      const other = s.root.withTenant(randomName("other"));
      const mine = await withEvents(s.store, ["tenant secret mine"]);
      const theirs = await withEvents(other, ["tenant secret theirs"]);
      expect((await s.store.searchEvents({ text: "tenant secret" })).map((h) => h.contextId)).toEqual([mine]);
      expect((await other.searchEvents({ text: "tenant secret" })).map((h) => h.contextId)).toEqual([theirs]);
      expect(await s.store.searchEvents({ text: "secret", contextId: theirs })).toEqual([]);
      // The same id in two tenants is two contexts.
      const id = randomName("same");
      await s.store.createContext({ id });
      await other.createContext({ id });
      await s.store.append(id, { type: "message", data: "samename ours" });
      await other.append(id, { type: "message", data: "samename other" });
      expect(await found("samename", { contextId: id })).toEqual(["samename ours"]);
      expect(await found("samename", { contextId: id }, other)).toEqual(["samename other"]);
    });

    s.test("search", "expired contexts are not searched", async () => {
      const keep = await withEvents(s.store, ["ephemeral keep"]);
      const short = await s.store.createContext({ ttlMs: 300 });
      await s.store.append(short.id, { type: "message", data: "ephemeral gone" });
      await waitFor(
        async () => {
          try {
            await s.store.getContext(short.id);
            return false;
          } catch {
            return true;
          }
        },
        s.waitMs,
        "the context to expire",
      );
      expect((await s.store.searchEvents({ text: "ephemeral" })).map((h) => h.contextId)).toEqual([keep]);
      expect(await s.store.searchEvents({ text: "ephemeral", contextId: short.id })).toEqual([]);
    });

    s.test("search", "events removed by compact are not found, before or after a first search", async () => {
      const c = await s.store.createContext();
      await s.store.append(c.id, [
        { type: "message", data: "compactword one" },
        { type: "message", data: "compactword two" },
      ]);
      expect(await found("compactword")).toHaveLength(2); // indexed now
      await s.store.append(c.id, { type: "message", data: "compactword three" });
      await s.store.createSnapshot(c.id, { name: "s" });
      await s.store.compact(c.id, { beforeSeq: 3 });
      expect((await found("compactword")).sort()).toEqual(["compactword three"]);
      expect(await found("two")).toEqual([]);
    });

    s.test("search", "events of a deleted context are not found, even when its id is reused", async () => {
      const id = randomName("gone");
      await s.store.createContext({ id });
      await s.store.append(id, { type: "message", data: "deletedword first life" });
      expect(await found("deletedword")).toHaveLength(1);
      await s.store.deleteContext(id);
      expect(await found("deletedword")).toEqual([]);
      await s.store.createContext({ id });
      await s.store.append(id, { type: "message", data: "deletedword second life" });
      expect(await found("deletedword")).toEqual(["deletedword second life"]);
      expect(await found("first")).toEqual([]);
    });

    s.test("search", "events appended after a search are found by the next one, with their state events", async () => {
      const c = await s.store.createContext();
      await s.store.append(c.id, { type: "message", data: "laterword early" });
      expect(await found("laterword")).toHaveLength(1);
      await s.store.append(c.id, [{ type: "message", data: "laterword late" }, { type: "note", data: { text: "laterword" } }]);
      await s.store.patchState(c.id, { label: "laterword in state" });
      const hits = await s.store.searchEvents({ text: "laterword" });
      expect(hits.map((h) => h.event.type).sort()).toEqual(["message", "message", "note", "state"]);
      const fresh = await s.store.createContext();
      await s.store.append(fresh.id, { type: "message", data: "laterword new context" });
      expect(await found("laterword", { types: ["message"] })).toHaveLength(3);
    });

    s.test("search", "invalid queries reject with INVALID_INPUT", async () => {
      const st = s.store;
      const bad: [string, () => Promise<unknown>][] = [
        ["no query", () => (st.searchEvents as (q?: unknown) => Promise<unknown>)()],
        ["not an object", () => st.searchEvents("text" as never)],
        ["empty text", () => st.searchEvents({ text: "" })],
        ["no text", () => st.searchEvents({} as never)],
        ["text not a string", () => st.searchEvents({ text: 42 as never })],
        ["text without words", () => st.searchEvents({ text: " ,.;!? @-- " })],
        ["text too long", () => st.searchEvents({ text: "a ".repeat(501) })],
        ["too many words", () => st.searchEvents({ text: Array.from({ length: 33 }, (_, i) => `w${i}`).join(" ") })],
        ["word too long", () => st.searchEvents({ text: "x".repeat(101) })],
        ["limit 0", () => st.searchEvents({ text: "a", limit: 0 })],
        ["limit 1001", () => st.searchEvents({ text: "a", limit: 1001 })],
        ["limit not an integer", () => st.searchEvents({ text: "a", limit: 1.5 })],
        ["limit a string", () => st.searchEvents({ text: "a", limit: "5" as never })],
        ["unknown option", () => st.searchEvents({ text: "a", lmit: 5 } as never)],
        ["types empty", () => st.searchEvents({ text: "a", types: [] })],
        ["types not an array", () => st.searchEvents({ text: "a", types: "message" as never })],
        ["type empty", () => st.searchEvents({ text: "a", types: [""] })],
        ["contextId invalid", () => st.searchEvents({ text: "a", contextId: "bad id/with slash" })],
        ["handle: unknown option", () => st.context("x").search("a", { lmit: 5 } as never)],
        ["handle: empty text", () => st.context("x").search("")],
      ];
      for (const [name, call] of bad) {
        const e = await expectError(call, "INVALID_INPUT").catch((err: unknown) => {
          throw new Error(`${name}: ${err instanceof Error ? err.message : String(err)}`);
        });
        expect(e.code, name).toBe("INVALID_INPUT");
      }
      // At the limits: accepted.
      expect(await st.searchEvents({ text: Array.from({ length: 32 }, (_, i) => `w${i}`).join(" ") })).toEqual([]);
      expect(await st.searchEvents({ text: `${"a ".repeat(499)}b`, limit: 1000 })).toEqual([]);
      expect(await st.searchEvents({ text: "x".repeat(100) })).toEqual([]);
    });

    s.test("search", "an aborted signal rejects with ABORTED", async () => {
      const controller = new AbortController();
      controller.abort();
      await expectError(() => s.store.searchEvents({ text: "a", signal: controller.signal }), "ABORTED");
    });
  });
}
