/** Conformance: creating, reading, updating, archiving, deleting and listing contexts. */
import { describe, expect } from "vitest";
import type { ContextInfo, ListContextsQuery } from "../core/types.js";
import { clockPast, expectError, randomName } from "./harness.js";
import type { Suite } from "./harness.js";
import type { ContextStore } from "../agent/types.js";

const isoMs = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Every page of a listing, following `nextCursor`. */
async function listAll(store: ContextStore, query: ListContextsQuery): Promise<ContextInfo[][]> {
  const pages: ContextInfo[][] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 1000; i++) {
    const page = await store.listContexts({ ...query, ...(cursor === undefined ? {} : { cursor }) });
    pages.push(page.items);
    if (page.nextCursor === null) return pages;
    cursor = page.nextCursor;
  }
  throw new Error("pagination did not end");
}

/** Registers the context tests. */
export function contextsTests(s: Suite): void {
  describe("contexts", () => {
    s.test("contexts", "createContext with no input generates an id and fills the defaults", async () => {
      const before = Date.now();
      const c = await s.store.createContext();
      const after = Date.now();
      expect(c.id).toMatch(/^.{26}$/);
      expect(c).toMatchObject({
        tenant: s.store.tenant,
        kind: "default",
        userId: null,
        chatId: null,
        agentId: null,
        title: null,
        metadata: {},
        version: 1,
        status: "active",
        expiresAt: null,
        parentId: null,
        parentVersion: null,
      });
      expect(c.createdAt).toMatch(isoMs);
      expect(c.updatedAt).toMatch(isoMs);
      expect(Date.parse(c.createdAt)).toBeGreaterThanOrEqual(before);
      expect(Date.parse(c.createdAt)).toBeLessThanOrEqual(after);
      expect(c.lastSeq).toBe(await s.store.countEvents(c.id));
      expect(await s.store.getState(c.id)).toEqual({ state: {}, version: 1 });
      expect(await s.store.getContext(c.id)).toEqual(c);
    });

    s.test("contexts", "createContext keeps a given id, owners, title, metadata, initial state and expiry", async () => {
      const id = randomName("ctx");
      const expiresAt = new Date(Date.now() + 3_600_000);
      const input = {
        id,
        kind: "chat",
        userId: "user-1",
        chatId: "chat-1",
        agentId: "agent-1",
        title: "Planning ✓",
        metadata: { source: "test", nested: { n: 1, list: [1, "two", null] } },
        state: { messages: [], counter: 0, profile: { name: "Ada" } },
        expiresAt,
      };
      const c = await s.store.createContext(input);
      expect(c).toMatchObject({
        id,
        kind: "chat",
        userId: "user-1",
        chatId: "chat-1",
        agentId: "agent-1",
        title: "Planning ✓",
        metadata: input.metadata,
        version: 1,
        expiresAt: expiresAt.toISOString(),
      });
      expect(await s.store.getContext(id)).toEqual(c);
      expect(await s.store.getState(id)).toEqual({ state: input.state, version: 1 });
    });

    s.test("contexts", "createContext records a given parent as a fork's lineage (imports carry forks this way)", async () => {
      const c = await s.store.createContext({ parent: { id: "elsewhere-1", version: 3 } });
      expect(await s.store.getContext(c.id)).toMatchObject({ parentId: "elsewhere-1", parentVersion: 3 });
      const plain = await s.store.createContext({ parent: null });
      expect(plain).toMatchObject({ parentId: null, parentVersion: null });
    });

    s.test("contexts", "expiresAt accepts a Date, epoch milliseconds and an ISO string; ttlMs sets now + ttlMs", async () => {
      const t = Date.now() + 3_600_000;
      const iso = new Date(t).toISOString();
      for (const expiresAt of [new Date(t), t, iso]) {
        const c = await s.store.createContext({ expiresAt });
        expect(c.expiresAt).toBe(iso);
      }
      const before = Date.now();
      const c = await s.store.createContext({ ttlMs: 60_000 });
      const after = Date.now();
      expect(c.expiresAt).not.toBeNull();
      const exp = Date.parse(c.expiresAt ?? "");
      expect(exp).toBeGreaterThanOrEqual(before + 60_000);
      expect(exp).toBeLessThanOrEqual(after + 60_000);
    });

    s.test("contexts", "generated ids sort by creation time: a later create sorts after an earlier one", async () => {
      const ids: string[] = [];
      for (let i = 0; i < 30; i++) ids.push((await s.store.createContext()).id);
      const sorted = [...ids].sort();
      expect(sorted).toEqual(ids);
      expect(new Set(ids).size).toBe(ids.length);
    });

    s.test("contexts", "createContext with a taken id fails with ALREADY_EXISTS and leaves the first one unchanged", async () => {
      const id = randomName("dup");
      const first = await s.store.createContext({ id, title: "first", state: { a: 1 } });
      await expectError(() => s.store.createContext({ id, title: "second", state: { b: 2 } }), "ALREADY_EXISTS");
      expect(await s.store.getContext(id)).toEqual(first);
      expect(await s.store.getState(id)).toEqual({ state: { a: 1 }, version: 1 });
    });

    s.test("contexts", "getContext of an unknown id fails with NOT_FOUND", async () => {
      await expectError(() => s.store.getContext(randomName("missing")), "NOT_FOUND");
      await expectError(() => s.store.getState(randomName("missing")), "NOT_FOUND");
    });

    s.test("contexts", "updateContext replaces the given fields only and keeps the state version", async () => {
      const c = await s.store.createContext({ title: "old", metadata: { a: 1, b: 2 }, userId: "u", state: { x: 1 } });
      await clockPast(c.updatedAt);
      const u = await s.store.updateContext(c.id, { metadata: { c: 3 } });
      // "the fields given are replaced": metadata is replaced, not merged.
      expect(u.metadata).toEqual({ c: 3 });
      expect(u.title).toBe("old");
      expect(u.userId).toBe("u");
      expect(u.version).toBe(1);
      expect(Date.parse(u.updatedAt)).toBeGreaterThan(Date.parse(c.updatedAt));
      expect(u.createdAt).toBe(c.createdAt);
      const t = await s.store.updateContext(c.id, { title: null });
      expect(t.title).toBeNull();
      expect(t.metadata).toEqual({ c: 3 });
      expect(await s.store.getContext(c.id)).toEqual(t);
      expect(await s.store.getState(c.id)).toEqual({ state: { x: 1 }, version: 1 });
    });

    s.test("contexts", "a state write or an append moves updatedAt forward, so updatedSince finds the context", async () => {
      const a = await s.store.createContext();
      const b = await s.store.createContext();
      await clockPast(b.updatedAt);
      const since = Date.now();
      await s.store.patchState(a.id, { x: 1 });
      // An append changes the context's history, so it counts as an update too (sensible reading).
      await s.store.append(b.id, { type: "message" });
      const ua = await s.store.getContext(a.id);
      const ub = await s.store.getContext(b.id);
      expect(Date.parse(ua.updatedAt)).toBeGreaterThanOrEqual(since);
      expect(Date.parse(ub.updatedAt)).toBeGreaterThanOrEqual(since);
      const ids = (await s.store.listContexts({ updatedSince: since })).items.map((x) => x.id).sort();
      expect(ids).toEqual([a.id, b.id].sort());
    });

    s.test("contexts", "updateContext of an unknown id fails with NOT_FOUND", async () => {
      await expectError(() => s.store.updateContext(randomName("missing"), { title: "x" }), "NOT_FOUND");
      await expectError(() => s.store.archiveContext(randomName("missing")), "NOT_FOUND");
    });

    s.test("contexts", "archiveContext sets status archived; the context stays readable and writable", async () => {
      const c = await s.store.createContext({ state: { a: 1 } });
      const a = await s.store.archiveContext(c.id);
      expect(a.status).toBe("archived");
      expect((await s.store.getContext(c.id)).status).toBe("archived");
      const w = await s.store.patchState(c.id, { b: 2 });
      expect(w.version).toBe(2);
      const back = await s.store.updateContext(c.id, { status: "active" });
      expect(back.status).toBe("active");
    });

    s.test("contexts", "deleteContext removes the context with its history, snapshots and lease", async () => {
      const id = randomName("del");
      await s.store.createContext({ id, state: { a: 1 } });
      await s.store.append(id, [{ type: "message", data: "one" }, { type: "message", data: "two" }]);
      await s.store.createSnapshot(id, { name: "s1" });
      await s.store.acquireLease(id, { holder: "old-holder", ttlMs: 60_000 });
      await s.store.deleteContext(id);

      await expectError(() => s.store.getContext(id), "NOT_FOUND");
      await expectError(() => s.store.getState(id), "NOT_FOUND");
      await expectError(() => s.store.readEvents(id), "NOT_FOUND");
      await expectError(() => s.store.listSnapshots(id), "NOT_FOUND");
      expect((await s.store.listContexts()).items.map((c) => c.id)).not.toContain(id);

      // A context re-created with the same id starts empty: nothing of the old one survives.
      const fresh = await s.store.createContext({ id });
      const baseline = await s.store.createContext();
      expect(fresh.version).toBe(1);
      expect(fresh.lastSeq).toBe(baseline.lastSeq);
      expect(await s.store.countEvents(id)).toBe(await s.store.countEvents(baseline.id));
      expect(await s.store.listSnapshots(id)).toEqual([]);
      expect(await s.store.getLease(id)).toBeNull();
      const lease = await s.store.acquireLease(id, { holder: "new-holder", waitMs: 0 });
      expect(lease.holder).toBe("new-holder");
    });

    s.test("contexts", "deleteContext of an unknown id fails with NOT_FOUND", async () => {
      await expectError(() => s.store.deleteContext(randomName("missing")), "NOT_FOUND");
    });

    s.test("contexts", "listContexts filters by kind, userId, chatId, agentId and status", async () => {
      const a = await s.store.createContext({ kind: "chat", userId: "u1", chatId: "c1", agentId: "a1" });
      const b = await s.store.createContext({ kind: "chat", userId: "u2", chatId: "c2", agentId: "a1" });
      const c = await s.store.createContext({ kind: "task", userId: "u1", chatId: "c2", agentId: "a2" });
      const d = await s.store.createContext({ kind: "task" });
      await s.store.archiveContext(d.id);
      const ids = async (q: ListContextsQuery): Promise<string[]> =>
        (await s.store.listContexts(q)).items.map((x) => x.id).sort();
      const sorted = (...xs: ContextInfo[]): string[] => xs.map((x) => x.id).sort();

      expect(await ids({})).toEqual(sorted(a, b, c, d));
      expect(await ids({ kind: "chat" })).toEqual(sorted(a, b));
      expect(await ids({ kind: "task" })).toEqual(sorted(c, d));
      expect(await ids({ userId: "u1" })).toEqual(sorted(a, c));
      expect(await ids({ chatId: "c2" })).toEqual(sorted(b, c));
      expect(await ids({ agentId: "a1" })).toEqual(sorted(a, b));
      expect(await ids({ status: "archived" })).toEqual(sorted(d));
      expect(await ids({ status: "active" })).toEqual(sorted(a, b, c));
      expect(await ids({ kind: "chat", userId: "u1" })).toEqual(sorted(a));
      expect(await ids({ kind: "nothing" })).toEqual([]);
    });

    s.test("contexts", "listContexts updatedSince returns the contexts updated at or after the time", async () => {
      const a = await s.store.createContext();
      const b = await s.store.createContext();
      await clockPast(b.updatedAt);
      const c = await s.store.createContext();
      const since = c.updatedAt;
      await clockPast(since);
      const a2 = await s.store.updateContext(a.id, { title: "touched" });
      const ids = (await s.store.listContexts({ updatedSince: since })).items.map((x) => x.id).sort();
      expect(ids).toEqual([a2.id, c.id].sort());
      const later = (await s.store.listContexts({ updatedSince: Date.parse(a2.updatedAt) + 1 })).items;
      expect(later).toEqual([]);
      const asDate = (await s.store.listContexts({ updatedSince: new Date(since) })).items.map((x) => x.id).sort();
      expect(asDate).toEqual(ids);
    });

    for (const order of ["asc", "desc"] as const) {
      s.test("contexts", `listContexts pages with a cursor visit every context exactly once in ${order} id order`, async () => {
        const created: string[] = [];
        for (let i = 0; i < 23; i++) created.push((await s.store.createContext({ kind: "paged" })).id);
        await s.store.createContext({ kind: "other" });
        const pages = await listAll(s.store, { kind: "paged", order, limit: 5 });
        expect(pages.map((p) => p.length)).toEqual([5, 5, 5, 5, 3]);
        const seen = pages.flat().map((c) => c.id);
        const expected = [...created].sort();
        if (order === "desc") expected.reverse();
        expect(seen).toEqual(expected);
        // Default order is ascending by id.
        if (order === "asc") expect((await listAll(s.store, { kind: "paged", limit: 5 })).flat().map((c) => c.id)).toEqual(seen);
      });
    }

    s.test("contexts", "listContexts pagination stays stable while contexts are updated between pages", async () => {
      const created: string[] = [];
      for (let i = 0; i < 12; i++) created.push((await s.store.createContext()).id);
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 100; page++) {
        const r = await s.store.listContexts({ limit: 4, ...(cursor === undefined ? {} : { cursor }) });
        seen.push(...r.items.map((c) => c.id));
        // Touch one already seen and one not yet seen: the order is by id, so neither moves.
        for (const id of [seen[0], created[created.length - 1 - page]]) {
          if (id !== undefined) await s.store.updateContext(id, { metadata: { page } });
        }
        if (r.nextCursor === null) break;
        cursor = r.nextCursor;
      }
      expect(seen).toEqual([...created].sort());
    });

    s.test("contexts", "listContexts returns at most 100 contexts by default", async () => {
      for (let i = 0; i < 105; i++) await s.store.createContext();
      const page = await s.store.listContexts();
      expect(page.items).toHaveLength(100);
      expect(page.nextCursor).not.toBeNull();
    }, 60_000);
  });
}
