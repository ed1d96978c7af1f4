/**
 * Conformance: forks that share their parent's history up to the fork point — reads, counts,
 * cursors, windows, search, watch and time travel of a fork, forks of forks, and what deleting,
 * compacting or expiring a parent with live forks does.
 */
import { describe, expect } from "vitest";
import type { ContextStore } from "../agent/types.js";
import type { ContextEvent, EventInput } from "../core/types.js";
import { allEvents, expectError, randomName, take, TestClock, within } from "./harness.js";
import type { Suite } from "./harness.js";

const say = (text: string): EventInput => ({ type: "message", data: { role: "user", content: text } });
const texts = (events: ContextEvent[]) => events.map((e) => (e.data as { content?: string } | null)?.content ?? e.type);

/** Every event of `id` read page by page with cursors, in `order`. */
async function paged(store: ContextStore, id: string, order: "asc" | "desc", limit: number): Promise<ContextEvent[]> {
  const out: ContextEvent[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.readEvents(id, { order, limit, ...(cursor !== undefined && { cursor }) });
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return out;
}

/** Registers the tests of forks that share history. */
export function forksTests(s: Suite): void {
  /** A root with three messages, a fork of it, a fork of that fork, and writes after each fork point. */
  async function chain(store: ContextStore) {
    const root = await store.createContext({ state: { n: 0 } });
    await store.append(root.id, [say("r1"), say("r2"), say("r3")]);
    const mid = await store.fork(root.id);
    await store.append(root.id, say("r4 after the fork"));
    await store.append(mid.id, [say("m4"), say("m5")]);
    const leaf = await store.fork(mid.id);
    await store.append(mid.id, say("m6 after the fork"));
    await store.append(leaf.id, say("l6"));
    return { root: root.id, mid: mid.id, leaf: leaf.id };
  }

  describe("forks", () => {
    s.test("forks", "a fork reads its parent's history up to the fork point and none after; the parent never sees the fork's", async () => {
      const p = await s.store.createContext({ state: { n: 1 } });
      await s.store.append(p.id, [say("hello"), say("world")]);
      await s.store.patchState(p.id, { n: 2 });
      const f = await s.store.fork(p.id);
      expect(f).toMatchObject({ parentId: p.id, parentVersion: 2, parentSeq: 3, version: 2, lastSeq: 3 });
      await s.store.append(p.id, say("parent only"));
      const [own] = await s.store.append(f.id, say("fork only"));
      expect(own?.seq).toBe(4);
      const fork = await allEvents(s.store, f.id);
      expect(texts(fork)).toEqual(["hello", "world", "state", "fork only"]);
      expect(fork.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      expect(fork.every((e) => e.contextId === f.id)).toBe(true);
      expect(texts(await allEvents(s.store, p.id))).toEqual(["hello", "world", "state", "parent only"]);
      expect(await s.store.countEvents(f.id)).toBe(4);
      expect(await s.store.countEvents(f.id, { types: ["message"] })).toBe(3);
      expect(await s.store.countEvents(f.id, { afterSeq: 1, beforeSeq: 4 })).toBe(2);
      expect(texts(await s.store.lastEvents(f.id, 3))).toEqual(["world", "state", "fork only"]);
      expect((await s.store.getContext(f.id)).lastSeq).toBe(4);
      // The inherited events are the parent's, as stored.
      const parentEvents = await allEvents(s.store, p.id);
      expect(fork.slice(0, 3)).toEqual(parentEvents.slice(0, 3).map((e) => ({ ...e, contextId: f.id })));
    });

    s.test("forks", "forks of forks read a chain of ancestors, each cut at its fork point, in pages both ways", async () => {
      const { root, mid, leaf } = await chain(s.store);
      const want = ["r1", "r2", "r3", "m4", "m5", "l6"];
      expect(texts(await allEvents(s.store, leaf))).toEqual(want);
      for (const limit of [1, 2, 4, 100]) {
        expect(texts(await paged(s.store, leaf, "asc", limit)), `asc ${limit}`).toEqual(want);
        expect(texts(await paged(s.store, leaf, "desc", limit)), `desc ${limit}`).toEqual([...want].reverse());
      }
      expect(texts(await allEvents(s.store, mid))).toEqual(["r1", "r2", "r3", "m4", "m5", "m6 after the fork"]);
      expect(texts(await allEvents(s.store, root))).toEqual(["r1", "r2", "r3", "r4 after the fork"]);
      expect(await s.store.countEvents(leaf)).toBe(6);
      expect(await s.store.countEvents(leaf, { afterSeq: 2, beforeSeq: 6 })).toBe(3);
      const page = await s.store.readEvents(leaf, { afterSeq: 2, beforeSeq: 6, order: "desc", limit: 10 });
      expect(texts(page.items)).toEqual(["m5", "m4", "r3"]);
      expect((await s.store.getContext(leaf)).parentSeq).toBe(5);
    });

    s.test("forks", "a fork of a past version, of a snapshot or of a time is cut at that point", async () => {
      const p = await s.store.createContext({ state: { n: 1 } });
      await s.store.append(p.id, say("one"));
      await s.store.patchState(p.id, { n: 2 }, { events: [say("two")] });
      await s.store.createSnapshot(p.id, { name: "at-two" });
      await s.store.append(p.id, say("after the snapshot"));
      await s.store.patchState(p.id, { n: 3 });
      await s.store.append(p.id, say("three"));
      const byVersion = await s.store.fork(p.id, { version: 2 });
      expect(byVersion).toMatchObject({ version: 2, parentVersion: 2, parentSeq: 5 });
      expect(texts(await allEvents(s.store, byVersion.id))).toEqual(["one", "state", "two", "snapshot", "after the snapshot"]);
      const bySnapshot = await s.store.fork(p.id, { snapshot: "at-two" });
      expect(bySnapshot).toMatchObject({ version: 2, parentSeq: 4 });
      expect(texts(await allEvents(s.store, bySnapshot.id))).toEqual(["one", "state", "two", "snapshot"]);
      const byOne = await s.store.fork(p.id, { version: 1 });
      expect(byOne).toMatchObject({ version: 1, parentSeq: 1 });
      expect(texts(await allEvents(s.store, byOne.id))).toEqual(["one"]);
    });

    s.test(["forks", "clock"], "a fork of a time is cut at the last event at or before it", async () => {
      const clock = new TestClock();
      const store = await s.openWithClock(clock);
      const p = await store.createContext({ state: { n: 1 } });
      await store.append(p.id, say("one"));
      clock.advance(1000);
      await store.patchState(p.id, { n: 2 }, { events: [say("two")] });
      const atTwo = clock.advance(1000);
      await store.append(p.id, say("still two"));
      clock.advance(1000);
      await store.patchState(p.id, { n: 3 });
      const f = await store.fork(p.id, { at: atTwo });
      expect(f).toMatchObject({ version: 2, parentSeq: 4 });
      expect((await store.getState(f.id)).state).toEqual({ n: 2 });
      expect(texts(await allEvents(store, f.id))).toEqual(["one", "state", "two", "still two"]);
      // Times before the fork was made are in its history too.
      expect((await store.stateAt(f.id, { at: atTwo })).state).toEqual({ n: 2 });
      expect((await store.stateAt(f.id, { at: atTwo - 1500 })).state).toEqual({ n: 1 });
      expect((await store.restore(f.id, { at: atTwo - 1500 })).state).toEqual({ n: 1 });
      await expectError(() => store.stateAt(f.id, { at: atTwo - 5000 }), "NOT_FOUND");
    });

    s.test("forks", "time travel on a fork reaches the versions before the fork point; stateAt, diff and restore", async () => {
      const p = await s.store.createContext({ state: { v: 1 } });
      // Past the store's checkpoint interval, so a fork's rebuild starts from a parent's checkpoint.
      for (let v = 2; v <= 40; v++) await s.store.patchState(p.id, { v, [`k${v}`]: v });
      const f = await s.store.fork(p.id, { version: 38 });
      expect(f.version).toBe(38);
      await s.store.patchState(p.id, { v: "parent 41" });
      const w = await s.store.patchState(f.id, { v: "fork 39" });
      expect(w.version).toBe(39);
      for (const v of [1, 2, 31, 33, 35, 37, 38]) expect((await s.store.stateAt(f.id, { version: v })).state, `version ${v}`).toEqual((await s.store.stateAt(p.id, { version: v })).state);
      expect((await s.store.stateAt(f.id, { version: 39 })).state).toMatchObject({ v: "fork 39", k38: 38 });
      expect(await s.store.diff(f.id, 37, 39)).toEqual([
        { op: "replace", path: "/v", value: "fork 39" },
        { op: "add", path: "/k38", value: 38 },
      ]);
      await expectError(() => s.store.stateAt(f.id, { version: 41 }), "NOT_FOUND");
      const r = await s.store.restore(f.id, { version: 3 });
      expect(r).toMatchObject({ version: 40, state: { v: 3, k2: 2, k3: 3 } });
      expect((await s.store.getState(p.id)).state).toMatchObject({ v: "parent 41" });
      // A fork of the fork rebuilds through both ancestors.
      const g = await s.store.fork(f.id, { version: 39 });
      expect((await s.store.stateAt(g.id, { version: 20 })).state).toEqual((await s.store.stateAt(p.id, { version: 20 })).state);
      expect((await s.store.stateAt(g.id, { version: 39 })).state).toMatchObject({ v: "fork 39" });
    });

    s.test("forks", "the window of a fork holds the parent's recent conversation before its own", async () => {
      const p = await s.store.createContext();
      await s.store.append(p.id, [say("the question"), say("a first answer")]);
      const f = await s.store.fork(p.id);
      await s.store.append(p.id, say("the parent's next turn"));
      await s.store.append(f.id, say("another answer"));
      const w = await s.store.context(f.id).window({ maxTokens: 10_000 });
      expect(texts(w.events)).toEqual(["the question", "a first answer", "another answer"]);
      expect(w.dropped).toBe(0);
      const small = await s.store.context(f.id).window({ maxTokens: 30 });
      expect(texts(small.events).at(-1)).toBe("another answer");
    });

    s.test(["forks", "search"], "text search of a fork finds the parent's events before the fork point and none after", async () => {
      const p = await s.store.createContext();
      await s.store.append(p.id, [say("zebra crossing early"), say("unrelated")]);
      const f = await s.store.fork(p.id);
      await s.store.append(p.id, say("zebra after the fork in the parent"));
      await s.store.createSnapshot(f.id, { name: "before" });
      await s.store.append(f.id, say("zebra in the fork"));
      const hits = await s.store.searchEvents({ text: "zebra", contextId: f.id });
      expect(hits.map((h) => [h.contextId, h.event.seq])).toEqual([
        [f.id, 4],
        [f.id, 1],
      ]);
      expect(texts(hits.map((h) => h.event))).toEqual(["zebra in the fork", "zebra crossing early"]);
      const parentHits = await s.store.searchEvents({ text: "zebra", contextId: p.id });
      expect(texts(parentHits.map((h) => h.event))).toEqual(["zebra after the fork in the parent", "zebra crossing early"]);
      // Tenant-wide, each event is found once, in the context that wrote it.
      const all = await s.store.searchEvents({ text: "zebra" });
      expect(all.map((h) => `${h.contextId === f.id ? "fork" : "parent"}:${h.event.seq}`).sort()).toEqual(["fork:4", "parent:1", "parent:3"]);
      // A fork of the fork, cut before the fork's own event.
      const g = await s.store.fork(f.id, { snapshot: "before" });
      expect((await s.store.searchEvents({ text: "zebra", contextId: g.id })).map((h) => h.event.seq)).toEqual([1]);
    });

    for (const mode of ["vector", "hybrid"] as const) {
      s.test(["forks", "memory", "testEmbedder"], `${mode} search of a fork includes the parent's events before the fork point and none after`, async () => {
        const p = await s.store.createContext();
        await s.store.append(p.id, [say("Caroline went to the support group"), say("Melanie painted a sunrise")]);
        const f = await s.store.fork(p.id);
        await s.store.append(p.id, say("Caroline adopted a dog after the fork"));
        await s.store.append(f.id, say("Caroline studies counseling in the fork"));
        const hits = await s.store.searchEvents({ text: "Caroline", mode, contextId: f.id, limit: 10 });
        expect(hits.every((h) => h.contextId === f.id)).toBe(true);
        const found = texts(hits.map((h) => h.event));
        expect(found).toContain("Caroline went to the support group");
        expect(found).toContain("Caroline studies counseling in the fork");
        expect(found).not.toContain("Caroline adopted a dog after the fork");
        const parentFound = texts((await s.store.searchEvents({ text: "Caroline", mode, contextId: p.id, limit: 10 })).map((h) => h.event));
        expect(parentFound).not.toContain("Caroline studies counseling in the fork");
        // Tenant-wide, the inherited event is found once (in the parent).
        const all = await s.store.searchEvents({ text: "Caroline support group", mode, limit: 20 });
        expect(all.filter((h) => (h.event.data as { content: string }).content === "Caroline went to the support group").map((h) => h.contextId)).toEqual([p.id]);
      });
    }

    s.test("forks", "watch on a fork replays the inherited events, then follows the fork's own and never the parent's", async () => {
      const p = await s.store.createContext();
      await s.store.append(p.id, [say("a"), say("b")]);
      const f = await s.store.fork(p.id);
      const ac = new AbortController();
      const replay = s.store.watch(f.id, { afterSeq: 0, signal: ac.signal });
      const live = s.store.watch(f.id, { signal: ac.signal });
      try {
        expect(texts(await take(replay, 2, s.waitMs))).toEqual(["a", "b"]);
        const first = within(live.next(), s.waitMs, "the fork's first live event");
        await s.store.append(p.id, say("parent"));
        await s.store.append(f.id, say("fork"));
        const got = await first;
        expect(got.done).toBe(false);
        expect(got.value).toMatchObject({ contextId: f.id, seq: 3, data: { content: "fork" } });
        expect(texts(await take(replay, 1, s.waitMs))).toEqual(["fork"]);
        const resumed = s.store.watch(f.id, { afterSeq: 1, signal: ac.signal });
        expect(texts(await take(resumed, 2, s.waitMs))).toEqual(["b", "fork"]);
      } finally {
        ac.abort();
      }
    });

    s.test("forks", "deleting or compacting a parent with live forks fails with HAS_FORKS naming them and changes nothing", async () => {
      const { root, mid, leaf } = await chain(s.store);
      await s.store.createSnapshot(root, { name: "s" });
      const before = texts(await allEvents(s.store, leaf));
      const e = await expectError(() => s.store.deleteContext(root), "HAS_FORKS");
      expect(e.details).toMatchObject({ contextId: root, operation: "delete" });
      expect((e.details["forks"] as string[]).sort()).toEqual([mid, leaf].sort());
      const c = await expectError(() => s.store.compact(root, { beforeSeq: 3 }), "HAS_FORKS");
      expect(c.details).toMatchObject({ contextId: root, operation: "compact" });
      expect((await expectError(() => s.store.deleteContext(mid), "HAS_FORKS")).details["forks"]).toEqual([leaf]);
      expect(texts(await allEvents(s.store, leaf))).toEqual(before);
      expect(await s.store.countEvents(root)).toBe(5);
      // Once the forks are gone, the parent can go.
      await s.store.deleteContext(leaf);
      await s.store.deleteContext(mid);
      expect((await s.store.compact(root, { beforeSeq: 3 })).removed).toBe(2);
      await s.store.deleteContext(root);
    });

    s.test("forks", "compacting a fork past its fork point releases its parent; compaction below it hides inherited events", async () => {
      const p = await s.store.createContext({ state: { n: 1 } });
      await s.store.append(p.id, [say("p1"), say("p2"), say("p3")]);
      const f = await s.store.fork(p.id);
      await s.store.patchState(f.id, { n: 2 }, { events: [say("f5")] });
      await s.store.createSnapshot(f.id, { name: "fs" });
      await s.store.compact(f.id, { beforeSeq: 3 });
      expect(texts(await allEvents(s.store, f.id))).toEqual(["p3", "state", "f5", "snapshot"]);
      expect(await s.store.countEvents(f.id)).toBe(4);
      await expectError(() => s.store.deleteContext(p.id), "HAS_FORKS");
      // Past the fork point: the fork reads nothing of its parent any more.
      await s.store.compact(f.id, { beforeSeq: 5 });
      expect(texts(await allEvents(s.store, f.id))).toEqual(["f5", "snapshot"]);
      expect((await s.store.stateAt(f.id, { version: 2 })).state).toEqual({ n: 2 });
      await expectError(() => s.store.stateAt(f.id, { version: 1 }), "COMPACTED");
      await s.store.deleteContext(p.id);
      expect(texts(await allEvents(s.store, f.id))).toEqual(["f5", "snapshot"]);
    });

    s.test(["forks", "clock"], "an expired parent is kept for its live forks: invisible, still read by them, purged after them", async () => {
      const clock = new TestClock();
      const store = await s.openWithClock(clock);
      const p = await store.createContext({ ttlMs: 1000, state: { n: 1 } });
      await store.append(p.id, [say("kept for the fork"), say("two")]);
      const f = await store.fork(p.id, { ttlMs: 5000 });
      clock.advance(2000);
      await expectError(() => store.getContext(p.id), "NOT_FOUND");
      expect(await store.purgeExpired()).toBe(0);
      expect(texts(await allEvents(store, f.id))).toEqual(["kept for the fork", "two"]);
      expect((await store.stateAt(f.id, { version: 1 })).state).toEqual({ n: 1 });
      // The id stays taken while the parent is kept.
      await expectError(() => store.createContext({ id: p.id }), "ALREADY_EXISTS");
      clock.advance(5000);
      expect(await store.purgeExpired()).toBe(2);
      await store.createContext({ id: p.id });
    });

    s.test(["forks", "tenancy"], "a fork lives in its parent's tenant: another tenant can neither fork nor read it, and the same ids stay apart", async () => {
      const a = s.store;
      const b = s.store.withTenant(randomName("other"));
      const id = randomName("shared");
      await a.createContext({ id });
      await a.append(id, say("tenant a"));
      await b.createContext({ id });
      await b.append(id, [say("tenant b"), say("tenant b again")]);
      const fa = await a.fork(id, { id: `${id}-fork` });
      const fb = await b.fork(id, { id: `${id}-fork` });
      expect(texts(await allEvents(a, fa.id))).toEqual(["tenant a"]);
      expect(texts(await allEvents(b, fb.id))).toEqual(["tenant b", "tenant b again"]);
      await a.deleteContext(fa.id);
      await expectError(() => b.deleteContext(id), "HAS_FORKS");
      await a.deleteContext(id);
      expect(texts(await allEvents(b, fb.id))).toEqual(["tenant b", "tenant b again"]);
      const c = b.withTenant(randomName("third"));
      await expectError(() => c.fork(id), "NOT_FOUND");
      await expectError(() => c.readEvents(fb.id), "NOT_FOUND");
    });
  });
}
