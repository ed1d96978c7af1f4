/**
 * Conformance: everything time-dependent follows the store's clock (`StoreOptions.now`), on
 * every driver — expiry, leases, timestamps and time travel — tested without waiting.
 */
import { describe, expect } from "vitest";
import { TestClock, expectError, randomName } from "./harness.js";
import type { Suite } from "./harness.js";

/** Registers the clock tests. */
export function clockTests(s: Suite): void {
  describe("clock", () => {
    s.test("clock", "timestamps of contexts, events, state writes, snapshots, leases and schemas come from the store's clock", async () => {
      const clock = new TestClock();
      const store = await s.openWithClock(clock);
      const c = await store.createContext({ kind: "timed" });
      expect([c.createdAt, c.updatedAt]).toEqual([clock.iso, clock.iso]);
      clock.advance(1000);
      const [e] = await store.append(c.id, { type: "message", data: "hi" });
      expect(e?.timestamp).toBe(clock.iso);
      expect((await store.getContext(c.id)).updatedAt).toBe(clock.iso);
      clock.advance(1000);
      const w = await store.patchState(c.id, { a: 1 });
      expect(w.timestamp).toBe(clock.iso);
      clock.advance(1000);
      expect((await store.updateContext(c.id, { title: "t" })).updatedAt).toBe(clock.iso);
      clock.advance(1000);
      expect((await store.createSnapshot(c.id, { name: "s1" })).createdAt).toBe(clock.iso);
      clock.advance(1000);
      const lease = await store.acquireLease(c.id, { holder: "a", ttlMs: 5000 });
      expect(lease.expiresAt).toBe(new Date(clock.now + 5000).toISOString());
      clock.advance(1000);
      expect((await store.setSchema("timed", { type: "object" })).updatedAt).toBe(clock.iso);
      const forked = await store.fork(c.id);
      expect(forked.createdAt).toBe(clock.iso);
    });

    s.test("clock", "a context expires when the store's clock reaches expiresAt, for every method", async () => {
      const clock = new TestClock();
      const store = await s.openWithClock(clock);
      const id = randomName("ttl");
      await store.createContext({ id, ttlMs: 1000, kind: "ttl", state: { n: 1 } });
      await store.append(id, { type: "message", data: "needle in the haystack" });
      await store.createSnapshot(id, { name: "s" });
      await store.activate("holder", id);
      clock.advance(999);
      expect((await store.getContext(id)).id).toBe(id);
      expect((await store.listContexts({ kind: "ttl" })).items).toHaveLength(1);
      clock.advance(1);
      await expectError(() => store.getContext(id), "NOT_FOUND");
      await expectError(() => store.getState(id), "NOT_FOUND");
      await expectError(() => store.readEvents(id), "NOT_FOUND");
      await expectError(() => store.countEvents(id), "NOT_FOUND");
      await expectError(() => store.lastEvents(id, 5), "NOT_FOUND");
      await expectError(() => store.listSnapshots(id), "NOT_FOUND");
      await expectError(() => store.getSnapshot(id, "s"), "NOT_FOUND");
      await expectError(() => store.stateAt(id, { version: 1 }), "NOT_FOUND");
      await expectError(() => store.append(id, { type: "message" }), "NOT_FOUND");
      await expectError(() => store.patchState(id, { n: 2 }), "NOT_FOUND");
      await expectError(() => store.createSnapshot(id), "NOT_FOUND");
      await expectError(() => store.restore(id, { snapshot: "s" }), "NOT_FOUND");
      await expectError(() => store.fork(id), "NOT_FOUND");
      await expectError(() => store.updateContext(id, { title: "x" }), "NOT_FOUND");
      await expectError(() => store.acquireLease(id, { holder: "a" }), "NOT_FOUND");
      await expectError(() => store.getLease(id), "NOT_FOUND");
      expect((await store.listContexts({ kind: "ttl" })).items).toEqual([]);
      expect(await store.currentContext("holder")).toBeNull();
      if ((await store.health()).capabilities.search) expect(await store.searchEvents({ text: "needle" })).toEqual([]);
      expect(await store.purgeExpired()).toBe(1);
      expect(await store.purgeExpired()).toBe(0);
    });

    s.test("clock", "a lease expires when the store's clock passes its expiry: another holder gets it, the old token is refused", async () => {
      const clock = new TestClock();
      const store = await s.openWithClock(clock);
      const c = await store.createContext();
      const a = await store.acquireLease(c.id, { holder: "a", ttlMs: 1000 });
      clock.advance(999);
      await expectError(() => store.acquireLease(c.id, { holder: "b", waitMs: 0 }), "LOCK_TIMEOUT");
      expect((await store.getLease(c.id))?.holder).toBe("a");
      const renewed = await store.renewLease(c.id, { holder: "a", token: a.token, ttlMs: 1000 });
      expect(renewed.expiresAt).toBe(new Date(clock.now + 1000).toISOString());
      clock.advance(1000);
      expect(await store.getLease(c.id)).toBeNull();
      await expectError(() => store.renewLease(c.id, { holder: "a", token: a.token }), "LEASE_LOST");
      await expectError(() => store.patchState(c.id, { x: 1 }, { fencingToken: a.token }), "LEASE_LOST");
      const b = await store.acquireLease(c.id, { holder: "b", ttlMs: 1000 });
      expect(b.token).toBeGreaterThan(a.token);
      await store.releaseLease(c.id, { holder: "a", token: a.token });
      expect((await store.getLease(c.id))?.holder).toBe("b");
      await store.append(c.id, { type: "m" }, { fencingToken: b.token });
    });

    s.test("clock", "time travel finds states, snapshots and versions by the store's clock", async () => {
      const clock = new TestClock();
      const store = await s.openWithClock(clock);
      const t0 = clock.now;
      const c = await store.createContext({ state: { v: 1 } });
      const t1 = clock.advance(1000);
      await store.patchState(c.id, { v: 2 });
      const t2 = clock.advance(1000);
      await store.createSnapshot(c.id, { name: "two" });
      clock.advance(1000);
      await store.patchState(c.id, { v: 3 });
      expect((await store.stateAt(c.id, { at: t0 + 500 })).state).toEqual({ v: 1 });
      expect((await store.stateAt(c.id, { at: t1 })).version).toBe(2);
      expect((await store.stateAt(c.id, { at: clock.now })).state).toEqual({ v: 3 });
      await expectError(() => store.stateAt(c.id, { at: t0 - 1 }), "NOT_FOUND");
      await expectError(() => store.restore(c.id, { before: t2 - 1 }), "NOT_FOUND");
      expect((await store.restore(c.id, { before: t2 })).state).toEqual({ v: 2 });
    });
  });
}
