/** Conformance: two stores on one backend (as two processes or nodes would be). */
import { describe, expect } from "vitest";
import type { ContextStore } from "../agent/types.js";
import { allEvents, expectError, within } from "./harness.js";
import type { Suite } from "./harness.js";

/** Registers the shared-backend tests (skipped unless `openPeer` is given). */
export function sharedBackendTests(s: Suite): void {
  describe("shared backend", () => {
    s.test("sharedBackend", "a context written through one store is read the same through another", async () => {
      const peer = await s.openPeer();
      const c = await s.store.createContext({ kind: "shared", state: { a: 1 } });
      await s.store.append(c.id, [{ type: "message", data: "hi" }]);
      await s.store.createSnapshot(c.id, { name: "snap" });
      expect(await peer.getContext(c.id)).toEqual(await s.store.getContext(c.id));
      expect(await peer.getState(c.id)).toEqual(await s.store.getState(c.id));
      expect(await allEvents(peer, c.id)).toEqual(await allEvents(s.store, c.id));
      expect(await peer.listSnapshots(c.id)).toEqual(await s.store.listSnapshots(c.id));
      await peer.patchState(c.id, { b: 2 });
      expect(await s.store.getState(c.id)).toEqual({ state: { a: 1, b: 2 }, version: 2 });
    });

    s.test("sharedBackend", "appends, state writes and context updates through two stores interleave: each store's next write and read see the other's", async () => {
      const peer = await s.openPeer();
      const c = await s.store.createContext({ kind: "shared", state: { n: 0 } });
      let seq = 0;
      for (let i = 1; i <= 4; i++) {
        // Plain appends through both: each one's head (kept by the store that wrote it) must
        // not hide the other's.
        await s.store.append(c.id, [{ type: "message", data: `a${i}` }]);
        await s.store.append(c.id, [{ type: "message", data: `b${i}` }]);
        seq += 2;
        expect((await peer.getContext(c.id)).lastSeq).toBe(seq);
        await peer.append(c.id, [{ type: "message", data: `c${i}` }]);
        seq += 1;
        expect((await s.store.getContext(c.id)).lastSeq).toBe(seq);
        // A state write after plain appends merges into the stored state.
        await s.store.patchState(c.id, { [`k${i}`]: i });
        seq += 1;
        expect(await peer.getState(c.id)).toEqual({ state: { n: 0, ...Object.fromEntries(Array.from({ length: i }, (_, j) => [`k${j + 1}`, j + 1])) }, version: i + 1 });
        await peer.updateContext(c.id, { title: `t${i}` });
        const seen = await s.store.getContext(c.id);
        expect([seen.title, seen.lastSeq, seen.version]).toEqual([`t${i}`, seq, i + 1]);
      }
      const events = await allEvents(peer, c.id);
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: seq }, (_, i) => i + 1));
      expect(await peer.getContext(c.id)).toEqual(await s.store.getContext(c.id));
    });

    s.test("sharedBackend", "compare-and-set increments from two stores end exactly at the total, one state event each", async () => {
      const peer = await s.openPeer();
      const c = await s.store.createContext({ state: { n: 0 } });
      const perStore = 40;
      async function increment(store: ContextStore): Promise<void> {
        for (let done = 0; done < perStore; ) {
          const { state, version } = await store.getState(c.id);
          try {
            await store.replaceState(c.id, { n: (state.n as number) + 1 }, { expectedVersion: version });
            done++;
          } catch (e) {
            if ((e as { code?: unknown }).code !== "VERSION_CONFLICT") throw e;
          }
        }
      }
      await Promise.all([increment(s.store), increment(peer), increment(s.store), increment(peer)]);
      expect(await s.store.getState(c.id)).toEqual({ state: { n: 4 * perStore }, version: 4 * perStore + 1 });
      const events = await allEvents(peer, c.id);
      expect(events.filter((e) => e.type === "state" && e.version !== 1)).toHaveLength(4 * perStore);
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: events.length }, (_, i) => i + 1));
    }, 60_000);

    s.test("sharedBackend", "a lease held through one store excludes the other; its waiting acquire gets it after release", async () => {
      const peer = await s.openPeer();
      const c = await s.store.createContext();
      const a = await s.store.acquireLease(c.id, { holder: "a", ttlMs: 60_000 });
      await expectError(() => peer.acquireLease(c.id, { holder: "b", waitMs: 0 }), "LOCK_TIMEOUT");
      const waiting = peer.acquireLease(c.id, { holder: "b", waitMs: s.waitMs, ttlMs: 60_000 });
      await s.store.releaseLease(c.id, { holder: "a", token: a.token });
      const b = await within(waiting, s.waitMs + 1000, "the peer's waiting acquire");
      expect(b.token).toBeGreaterThan(a.token);
      await expectError(() => s.store.patchState(c.id, { x: 1 }, { fencingToken: a.token }), "LEASE_LOST");
      expect((await s.store.patchState(c.id, { x: 2 }, { fencingToken: b.token })).version).toBe(2);
    });
  });
}
