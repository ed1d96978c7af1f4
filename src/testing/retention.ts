/** Conformance: expiry, `purgeExpired` and `compact`. */
import { describe, expect } from "vitest";
import type { StateWriteResult } from "../core/types.js";
import { allEvents, clockPast, expectError, fingerprint, randomName, waitFor } from "./harness.js";
import type { Suite } from "./harness.js";

/** Registers the retention tests. */
export function retentionTests(s: Suite): void {
  async function expired(id: string): Promise<boolean> {
    try {
      await s.store.getContext(id);
      return false;
    } catch (e) {
      if ((e as { code?: unknown }).code === "NOT_FOUND") return true;
      throw e;
    }
  }

  describe("retention", () => {
    s.test("retention", "an expired context is no longer returned by get, list or any other method", async () => {
      const id = randomName("short");
      const keep = await s.store.createContext();
      await s.store.createContext({ id, ttlMs: 50, kind: "short" });
      await waitFor(() => expired(id), s.waitMs, "the context to expire");
      expect((await s.store.listContexts()).items.map((c) => c.id)).toEqual([keep.id]);
      expect((await s.store.listContexts({ kind: "short" })).items).toEqual([]);
      await expectError(() => s.store.getState(id), "NOT_FOUND");
      await expectError(() => s.store.readEvents(id), "NOT_FOUND");
      await expectError(() => s.store.patchState(id, { a: 1 }), "NOT_FOUND");
      await expectError(() => s.store.append(id, { type: "m" }), "NOT_FOUND");
    });

    s.test("retention", "updateContext can set an expiry in the past, which expires the context at once", async () => {
      const c = await s.store.createContext();
      await s.store.updateContext(c.id, { expiresAt: Date.now() - 1000 });
      await expectError(() => s.store.getContext(c.id), "NOT_FOUND");
    });

    s.test("retention", "updateContext with expiresAt null removes the expiry", async () => {
      const c = await s.store.createContext({ ttlMs: 60_000 });
      const u = await s.store.updateContext(c.id, { expiresAt: null });
      expect(u.expiresAt).toBeNull();
      expect((await s.store.getContext(c.id)).expiresAt).toBeNull();
    });

    s.test("retention", "purgeExpired deletes the expired contexts of this tenant and returns how many", async () => {
      const id = randomName("short");
      const keep = await s.store.createContext({ ttlMs: 3_600_000 });
      // One expiry time for all three, so that when one has expired all have.
      const expiresAt = Date.now() + 50;
      await s.store.createContext({ id, expiresAt });
      await s.store.createContext({ expiresAt });
      const other = s.root.withTenant(randomName("other"));
      await other.createContext({ id, expiresAt });
      await waitFor(() => expired(id), s.waitMs, "the contexts to expire");
      // The id is still taken until the expired context is purged.
      await expectError(() => s.store.createContext({ id }), "ALREADY_EXISTS");
      expect(await s.store.purgeExpired()).toBe(2);
      expect(await s.store.purgeExpired()).toBe(0);
      const again = await s.store.createContext({ id });
      expect(again.version).toBe(1);
      expect(await s.store.listSnapshots(id)).toEqual([]);
      expect((await s.store.listContexts()).items.map((c) => c.id).sort()).toEqual([id, keep.id].sort());
      // The other tenant's expired context was not touched by this tenant's purge.
      expect(await other.purgeExpired()).toBe(1);
    });

    s.test("retention", "compact without a snapshot at or after beforeSeq fails with INVALID_INPUT and removes nothing", async () => {
      const c = await s.store.createContext();
      await s.store.append(c.id, Array.from({ length: 5 }, (_, i) => ({ type: "m", data: i })));
      const before = await fingerprint(s.store, c.id);
      await expectError(() => s.store.compact(c.id, { beforeSeq: 3 }), "INVALID_INPUT");
      const snap = await s.store.createSnapshot(c.id, { name: "s" });
      await s.store.append(c.id, { type: "m" });
      const withSnap = await fingerprint(s.store, c.id);
      await expectError(() => s.store.compact(c.id, { beforeSeq: snap.seq + 1 }), "INVALID_INPUT");
      expect(await fingerprint(s.store, c.id)).toEqual(withSnap);
      expect(before).not.toEqual(withSnap);
    });

    s.test("retention", "compact drops older events; stateAt works from the snapshot on and gives COMPACTED before it", async () => {
      const c = await s.store.createContext({ state: { v: 1 } });
      const writes: StateWriteResult[] = [];
      for (let v = 2; v <= 30; v++) {
        await s.store.append(c.id, { type: "m", data: v });
        writes.push(await s.store.replaceState(c.id, { v }));
        // Later versions get a later millisecond, so version 2 is the state in force at its time.
        if (v === 2) await clockPast((writes[0] as StateWriteResult).timestamp);
      }
      const snap = await s.store.createSnapshot(c.id, { name: "keep-from-here" });
      expect(snap.version).toBe(30);
      for (let v = 31; v <= 40; v++) writes.push(await s.store.patchState(c.id, { v }));
      const eventsBefore = await allEvents(s.store, c.id);
      const lastSeq = (await s.store.getContext(c.id)).lastSeq;

      const r = await s.store.compact(c.id, { beforeSeq: snap.seq });
      expect(r.firstSeq).toBe(snap.seq);
      expect(r.removed).toBe(eventsBefore.filter((e) => e.seq < snap.seq).length);
      expect(r.firstVersion).toBe(snap.version);

      const eventsAfter = await allEvents(s.store, c.id);
      expect(eventsAfter).toEqual(eventsBefore.filter((e) => e.seq >= snap.seq));
      expect(await s.store.countEvents(c.id)).toBe(eventsAfter.length);
      expect((await s.store.getContext(c.id)).lastSeq).toBe(lastSeq);
      expect(await s.store.getState(c.id)).toEqual({ state: { v: 40 }, version: 40 });

      for (let v = 30; v <= 40; v++) expect((await s.store.stateAt(c.id, { version: v })).state).toEqual({ v });
      for (const v of [1, 2, 29]) await expectError(() => s.store.stateAt(c.id, { version: v }), "COMPACTED");
      const old = writes[0] as StateWriteResult;
      await expectError(() => s.store.stateAt(c.id, { at: old.timestamp }), "COMPACTED");
      await expectError(() => s.store.diff(c.id, 2, 35), "COMPACTED");
      await expectError(() => s.store.restore(c.id, { version: 5 }), "COMPACTED");
      const patch = await s.store.diff(c.id, 30, 35);
      expect(patch.length).toBeGreaterThan(0);

      // History continues gapless after compaction; restore from the kept snapshot still works.
      const [next] = await s.store.append(c.id, { type: "m", data: "after" });
      expect(next?.seq).toBe(lastSeq + 1);
      const restored = await s.store.restore(c.id, { snapshot: "keep-from-here" });
      expect(restored.state).toEqual({ v: 30 });
      expect(restored.version).toBe(41);
    });
  });
}
