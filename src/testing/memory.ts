/**
 * Conformance: long-term memory — the model, idempotent atomic adds, compare-and-set updates,
 * history, deletes, lists with filters and cursors, expiry and purge, tenancy, and bad input.
 * Ranking is in `memory-search.ts`.
 */
import { describe, expect } from "vitest";
import type { Memory, MemoryInput } from "../core/memory-types.js";
import type { JsonObject, JsonValue } from "../core/json-types.js";
import { TEST_EMBEDDER_MODEL } from "./test-embedder.js";
import { expectError, randomName, TestClock } from "./harness.js";
import type { Suite } from "./harness.js";
import type { ContextStore } from "../agent/types.js";

/** Every memory of the store's tenant, following cursors. */
export async function allMemories(store: ContextStore, query: Parameters<ContextStore["listMemories"]>[0] = {}): Promise<Memory[]> {
  const out: Memory[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await store.listMemories({ ...query, limit: 7, ...(cursor === undefined ? {} : { cursor }) });
    out.push(...page.items);
    if (page.nextCursor === null) return out;
    cursor = page.nextCursor;
  }
}

/** Registers the memory tests. */
export function memoryTests(s: Suite): void {
  const user = (text: string, extra: Partial<MemoryInput> = {}): MemoryInput => ({ scope: { userId: "u1" }, text, ...extra });

  describe("memory", () => {
    s.test(["memory", "testEmbedder"], "addMemories stores a memory with its scope, content, defaults and embedding; getMemory returns it", async () => {
      const c = await s.store.createContext();
      const [added] = await s.store.addMemories({
        scope: { userId: "u1", namespace: ["prefs", "food"] },
        text: "Caroline likes spicy ramen",
        value: { dish: "ramen", spicy: true },
        metadata: { source: "chat", turn: 3 },
        tags: ["food", "likes"],
        importance: 0.8,
        source: { contextId: c.id, seq: 7 },
      });
      expect(added?.outcome).toBe("created");
      const m = added?.memory as Memory;
      expect(m).toMatchObject({
        tenant: s.store.tenant,
        scope: { userId: "u1", agentId: null, contextId: null, namespace: ["prefs", "food"] },
        text: "Caroline likes spicy ramen",
        value: { dish: "ramen", spicy: true },
        metadata: { source: "chat", turn: 3 },
        tags: ["food", "likes"],
        importance: 0.8,
        source: { contextId: c.id, seq: 7 },
        expiresAt: null,
        ttlMs: null,
        version: 1,
        embedding: { model: TEST_EMBEDDER_MODEL, dimensions: 64 },
      });
      expect(m.id).toMatch(/^[0-9A-Z]{26}$/);
      expect(m.createdAt).toBe(m.updatedAt);
      expect(await s.store.getMemory(m.id)).toEqual(m);
      const [plain] = await s.store.addMemories(user("no extras"));
      expect(plain?.memory).toMatchObject({ value: null, metadata: {}, tags: [], importance: 0.5, source: null });
    });

    s.test("memory", "keys named __proto__, constructor and prototype in a memory's value and metadata are kept as ordinary keys", async () => {
      const value = JSON.parse('{"__proto__":{"polluted":1},"constructor":{"prototype":2},"ok":3}') as JsonValue;
      const metadata = JSON.parse('{"__proto__":{"polluted":1},"turn":3}') as JsonObject;
      const [added] = await s.store.addMemories(user("has odd keys", { value, metadata }));
      const m = added?.memory as Memory;
      for (const got of [m, await s.store.getMemory(m.id), (await s.store.listMemories({ scope: { userId: "u1" } })).items[0] as Memory]) {
        expect(Object.keys(got.value as object)).toEqual(["__proto__", "constructor", "ok"]);
        expect(JSON.stringify(got.value)).toBe('{"__proto__":{"polluted":1},"constructor":{"prototype":2},"ok":3}');
        expect(JSON.stringify(got.metadata)).toBe('{"__proto__":{"polluted":1},"turn":3}');
      }
      const updated = await s.store.updateMemory(m.id, { metadata: JSON.parse('{"__proto__":{"b":2}}') as JsonObject });
      expect(JSON.stringify(updated.metadata)).toBe('{"__proto__":{"b":2}}');
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    s.test("memory", "adding the same text to the same scope returns the existing memory; another scope gets its own", async () => {
      const [a] = await s.store.addMemories(user("Lives in Lisbon"));
      const [b] = await s.store.addMemories(user("Lives in Lisbon", { metadata: { ignored: true } }));
      expect(b?.outcome).toBe("existing");
      expect(b?.memory).toEqual(a?.memory);
      const [c] = await s.store.addMemories({ scope: { userId: "u2" }, text: "Lives in Lisbon" });
      expect(c?.outcome).toBe("created");
      expect(c?.memory.id).not.toBe(a?.memory.id);
      const batch = await s.store.addMemories([user("Has a dog"), user("Has a dog"), user("Lives in Lisbon")]);
      expect(batch.map((r) => r.outcome)).toEqual(["created", "existing", "existing"]);
      expect(batch[1]?.memory.id).toBe(batch[0]?.memory.id);
      expect((await allMemories(s.store)).length).toBe(3);
    });

    s.test("memory", "a batch of adds is atomic: one bad or taken id writes none of them", async () => {
      await expectError(() => s.store.addMemories([user("first"), user("")]), "INVALID_INPUT");
      const [kept] = await s.store.addMemories(user("kept", { id: "m-1" }));
      await expectError(() => s.store.addMemories([user("second"), user("third", { id: "m-1" })]), "ALREADY_EXISTS");
      expect((await allMemories(s.store)).map((m) => m.id)).toEqual([kept?.memory.id]);
    });

    s.test("memory", "updateMemory replaces the given fields, bumps the version, and refuses a stale expectedVersion", async () => {
      const [a] = await s.store.addMemories(user("Works at the bakery", { tags: ["job"], metadata: { since: 2020 } }));
      const id = a?.memory.id as string;
      const u = await s.store.updateMemory(id, { text: "Works at the library", metadata: { since: 2023 } }, { expectedVersion: 1, actor: "agent-7" });
      expect(u).toMatchObject({ id, text: "Works at the library", metadata: { since: 2023 }, tags: ["job"], version: 2 });
      const e = await expectError(() => s.store.updateMemory(id, { importance: 1 }, { expectedVersion: 1 }), "VERSION_CONFLICT");
      expect(e.details).toMatchObject({ expected: 1, actual: 2 });
      expect((await s.store.getMemory(id)).version).toBe(2);
      await expectError(() => s.store.updateMemory("nope", { importance: 1 }), "NOT_FOUND");
      await expectError(() => s.store.updateMemory(id, {}), "INVALID_INPUT");
      const [other] = await s.store.addMemories(user("Plays chess"));
      await expectError(() => s.store.updateMemory(other?.memory.id as string, { text: "Works at the library" }), "ALREADY_EXISTS");
    });

    s.test("memory", "the history keeps every version with its operation and actor; a delete ends it", async () => {
      const [a] = await s.store.addMemories(user("Drinks coffee"), { actor: "extractor" });
      const id = a?.memory.id as string;
      await s.store.updateMemory(id, { text: "Drinks tea" }, { actor: "user" });
      await s.store.deleteMemory(id, { actor: "cleanup" });
      const h = await s.store.memoryHistory(id);
      expect(h.map((v) => [v.version, v.op, v.text, v.actor])).toEqual([
        [1, "add", "Drinks coffee", "extractor"],
        [2, "update", "Drinks tea", "user"],
        [3, "delete", "Drinks tea", "cleanup"],
      ]);
      await expectError(() => s.store.getMemory(id), "NOT_FOUND");
      await expectError(() => s.store.deleteMemory(id), "NOT_FOUND");
      await expectError(() => s.store.memoryHistory("never-was"), "NOT_FOUND");
      expect(await allMemories(s.store)).toEqual([]);
      const [again] = await s.store.addMemories(user("Drinks tea"));
      expect(again?.outcome).toBe("created");
      expect(again?.memory.id).not.toBe(id);
    });

    s.test("memory", "deleteMemory compare-and-sets on expectedVersion", async () => {
      const [a] = await s.store.addMemories(user("x"));
      await s.store.updateMemory(a?.memory.id as string, { text: "y" });
      await expectError(() => s.store.deleteMemory(a?.memory.id as string, { expectedVersion: 1 }), "VERSION_CONFLICT");
      await s.store.deleteMemory(a?.memory.id as string, { expectedVersion: 2 });
    });

    s.test("memory", "listMemories selects by scope, namespace prefix, tags, metadata operators and time; cursors cover every memory once", async () => {
      const rows: MemoryInput[] = [];
      for (let i = 0; i < 20; i++) {
        rows.push({
          scope: { userId: i % 2 === 0 ? "even" : "odd", namespace: i % 4 === 0 ? ["a", "b"] : ["a"] },
          text: `memory number ${i}`,
          tags: i % 3 === 0 ? ["three", "all"] : ["all"],
          metadata: { i, kind: i % 5 === 0 ? "five" : "other", nested: { v: i * 10 } },
        });
      }
      await s.store.addMemories(rows);
      const ids = (ms: Memory[]) => ms.map((m) => m.metadata["i"]).sort((x, y) => (x as number) - (y as number));
      expect((await allMemories(s.store)).length).toBe(20);
      expect(ids(await allMemories(s.store, { scope: { userId: "even" } }))).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
      expect(ids(await allMemories(s.store, { scope: { namespace: ["a", "b"] } }))).toEqual([0, 4, 8, 12, 16]);
      expect(ids(await allMemories(s.store, { scope: { namespace: ["a"] } })).length).toBe(20);
      expect(ids(await allMemories(s.store, { tags: ["three", "all"] }))).toEqual([0, 3, 6, 9, 12, 15, 18]);
      expect(ids(await allMemories(s.store, { filter: { kind: "five" } }))).toEqual([0, 5, 10, 15]);
      expect(ids(await allMemories(s.store, { filter: { i: { $gte: 17 } } }))).toEqual([17, 18, 19]);
      expect(ids(await allMemories(s.store, { filter: { i: { $gt: 2, $lt: 5 } } }))).toEqual([3, 4]);
      expect(ids(await allMemories(s.store, { filter: { i: { $lte: 1 } } }))).toEqual([0, 1]);
      expect(ids(await allMemories(s.store, { filter: { i: { $in: [1, 2, 99] } } }))).toEqual([1, 2]);
      expect(ids(await allMemories(s.store, { filter: { i: { $nin: [0, 1] }, kind: { $ne: "other" } } }))).toEqual([5, 10, 15]);
      expect(ids(await allMemories(s.store, { filter: { "nested.v": { $eq: 30 } } }))).toEqual([3]);
      expect(ids(await allMemories(s.store, { filter: { missing: { $ne: 1 } } })).length).toBe(20);
      expect(await allMemories(s.store, { filter: { kind: { $gt: 5 } } })).toEqual([]);
      const asc = await allMemories(s.store, { order: "asc" });
      const desc = await allMemories(s.store, { order: "desc" });
      expect(asc.map((m) => m.id)).toEqual([...desc].reverse().map((m) => m.id));
      expect(new Set(asc.map((m) => m.id)).size).toBe(20);
    });

    s.test(["memory", "clock"], "memories expire at the store's clock; refresh on read extends them; purge deletes them with their history", async () => {
      const clock = new TestClock();
      const store = await s.openWithClock(clock);
      const [a] = await store.addMemories({ scope: { userId: "u" }, text: "short lived", ttlMs: 1000 });
      const [b] = await store.addMemories({ scope: { userId: "u" }, text: "forever" });
      const id = a?.memory.id as string;
      expect(a?.memory.expiresAt).toBe(new Date(clock.now + 1000).toISOString());
      clock.advance(900);
      const refreshed = await store.getMemory(id, { refresh: true });
      expect(refreshed.expiresAt).toBe(new Date(clock.now + 1000).toISOString());
      expect(refreshed.version).toBe(1);
      clock.advance(999);
      expect((await store.getMemory(id)).id).toBe(id);
      clock.advance(1);
      await expectError(() => store.getMemory(id), "NOT_FOUND");
      expect((await allMemories(store)).map((m) => m.id)).toEqual([b?.memory.id]);
      expect(await store.searchMemories({ text: "short lived", mode: "text" })).toEqual([]);
      expect(await store.purgeMemories()).toBe(1);
      await expectError(() => store.memoryHistory(id), "NOT_FOUND");
      expect(await store.purgeMemories()).toBe(0);
    });

    s.test(["memory", "clock"], "an expired memory no longer holds its text: the same text added again is a new memory, and another memory may take it", async () => {
      const clock = new TestClock();
      const store = await s.openWithClock(clock);
      const [old] = await store.addMemories({ scope: { userId: "u" }, text: "the door code is 4411", ttlMs: 1000 });
      const [other] = await store.addMemories({ scope: { userId: "u" }, text: "the gate code is 9090", ttlMs: 1000 });
      const [again] = await store.addMemories({ scope: { userId: "u" }, text: "the door code is 4411" });
      expect(again?.outcome).toBe("existing");
      expect(again?.memory.id).toBe(old?.memory.id);
      clock.advance(1000);
      // Expired, not yet purged: the text is free, in a batch as on its own.
      const [fresh] = await store.addMemories({ scope: { userId: "u" }, text: "the door code is 4411" });
      expect(fresh?.outcome).toBe("created");
      expect(fresh?.memory.id).not.toBe(old?.memory.id);
      expect(fresh?.memory.expiresAt).toBeNull();
      expect((await store.getMemory(fresh?.memory.id as string)).text).toBe("the door code is 4411");
      const [kept] = await store.addMemories({ scope: { userId: "u" }, text: "the shed code is 1234" });
      const moved = await store.updateMemory(kept?.memory.id as string, { text: "the gate code is 9090" });
      expect(moved.text).toBe("the gate code is 9090");
      expect((await allMemories(store)).map((m) => m.text).sort()).toEqual(["the door code is 4411", "the gate code is 9090"]);
      expect((await store.searchMemories({ text: "door", mode: "text" })).map((h) => h.memory.id)).toEqual([fresh?.memory.id]);
      await expectError(() => store.getMemory(old?.memory.id as string), "NOT_FOUND");
      await expectError(() => store.getMemory(other?.memory.id as string), "NOT_FOUND");
    });

    s.test("memory", "purgeMemories with a scope deletes every memory of that scope, and only those", async () => {
      await s.store.addMemories([user("a"), user("b"), { scope: { userId: "u2" }, text: "c" }]);
      expect(await s.store.purgeMemories({ scope: { userId: "u1" } })).toBe(2);
      expect((await allMemories(s.store)).map((m) => m.text)).toEqual(["c"]);
    });

    s.test(["memory", "tenancy"], "another tenant's memories are never returned, listed, counted in ranking or reachable by id", async () => {
      const other = s.store.withTenant(randomName("t"));
      const [mine] = await s.store.addMemories(user("the blue notebook is on the shelf"));
      const before = await s.store.searchMemories({ text: "blue notebook", mode: "text" });
      const [theirs] = await other.addMemories([user("the blue notebook"), user("blue notebook again"), user("notebook notebook")]);
      expect((await s.store.searchMemories({ text: "blue notebook", mode: "text" })).map((h) => [h.memory.id, h.score])).toEqual(
        before.map((h) => [h.memory.id, h.score]),
      );
      expect((await allMemories(s.store)).map((m) => m.id)).toEqual([mine?.memory.id]);
      await expectError(() => s.store.getMemory(theirs?.memory.id as string), "NOT_FOUND");
      await expectError(() => s.store.updateMemory(theirs?.memory.id as string, { text: "x" }), "NOT_FOUND");
      await expectError(() => s.store.deleteMemory(theirs?.memory.id as string), "NOT_FOUND");
      await expectError(() => s.store.memoryHistory(theirs?.memory.id as string), "NOT_FOUND");
      expect(await s.store.purgeMemories({ scope: { userId: "u1" } })).toBe(1);
      expect((await allMemories(other)).length).toBe(3);
    });

    s.test(["memory", "badInput"], "bad memories are INVALID_INPUT naming the field, and nothing is written", async () => {
      const bad: [unknown, string][] = [
        [{ scope: { userId: "u" }, text: "" }, "memory.text"],
        [{ scope: { userId: "u" }, text: "   " }, "memory.text"],
        [{ scope: { userId: "u" }, text: "x".repeat(32_769) }, "memory.text"],
        [{ scope: { userId: "u" }, text: "lone \ud800 surrogate" }, "memory.text"],
        [{ scope: {}, text: "no one" }, "memory.scope"],
        [{ text: "no scope" }, "memory.scope"],
        [{ scope: { namespace: ["langgraph", "x"] }, text: "reserved" }, "memory.scope.namespace[0]"],
        [{ scope: { namespace: [] }, text: "empty namespace" }, "memory.scope"],
        [{ scope: { userId: "u" }, text: "t", importance: 2 }, "memory.importance"],
        [{ scope: { userId: "u" }, text: "t", tags: ["ok", ""] }, "memory.tags[1]"],
        [{ scope: { userId: "u" }, text: "t", vector: [1, 2, 3] }, "memory.vector"],
        [{ scope: { userId: "u" }, text: "t", metadata: [] }, "memory.metadata"],
        [{ scope: { userId: "u" }, text: "t", value: Number.NaN }, "memory.value"],
        [{ scope: { userId: "u" }, text: "t", wrong: 1 }, "memory.wrong"],
        [{ scope: { userId: "u", team: "x" }, text: "t" }, "memory.scope.team"],
        [{ scope: { userId: "u" }, text: "t", expiresAt: "yesterday" }, "memory.expiresAt"],
      ];
      for (const [input, field] of bad) {
        const e = await expectError(() => s.store.addMemories(input as MemoryInput), "INVALID_INPUT");
        expect(e.details["field"], JSON.stringify(input).slice(0, 80)).toBe(field);
      }
      await expectError(() => s.store.addMemories([]), "INVALID_INPUT");
      await expectError(() => s.store.listMemories({ filter: { a: { $regex: "x" } } }), "INVALID_INPUT");
      await expectError(() => s.store.searchMemories({ text: "" }), "INVALID_INPUT");
      await expectError(() => s.store.searchMemories({ text: "x", mode: "fuzzy" as "text" }), "INVALID_INPUT");
      await expectError(() => s.store.searchMemories({ text: "x", filter: { n: { $gt: [1] } } }), "INVALID_INPUT");
      await expectError(() => s.store.addMemories(user("t"), { merge: { threshold: 1.5 } }), "INVALID_INPUT");
      expect(await allMemories(s.store)).toEqual([]);
    });
  });
}
