/** Conformance: snapshots (recovery points), restore and fork. */
import { describe, expect } from "vitest";
import type { RestoreTarget } from "../core/types.js";
import { allEvents, clockPast, expectError, fingerprint, randomName } from "./harness.js";
import type { Suite } from "./harness.js";

/** Registers the snapshot, restore and fork tests. */
export function snapshotsTests(s: Suite): void {
  describe("snapshots", () => {
    s.test("snapshots", "createSnapshot records the current state and version with a snapshot event", async () => {
      const c = await s.store.createContext({ state: { a: 1 } });
      await s.store.patchState(c.id, { b: 2 });
      const count = await s.store.countEvents(c.id);
      const snap = await s.store.createSnapshot(c.id, { name: "v2", label: "after b", metadata: { by: "test", n: [1] } });
      expect(snap).toMatchObject({
        contextId: c.id,
        name: "v2",
        label: "after b",
        metadata: { by: "test", n: [1] },
        version: 2,
        state: { a: 1, b: 2 },
      });
      expect(Date.parse(snap.createdAt)).not.toBeNaN();
      expect(await s.store.countEvents(c.id)).toBe(count + 1);
      const [event] = await s.store.lastEvents(c.id, 1);
      expect(event).toMatchObject({ type: "snapshot", seq: snap.seq });
      // A snapshot is not a state write.
      expect(await s.store.getState(c.id)).toEqual({ state: { a: 1, b: 2 }, version: 2 });
      expect(await s.store.getSnapshot(c.id, "v2")).toEqual(snap);
    });

    s.test("snapshots", "createSnapshot without a name generates a unique one", async () => {
      const c = await s.store.createContext();
      const a = await s.store.createSnapshot(c.id);
      const b = await s.store.createSnapshot(c.id, {});
      expect(a.name.length).toBeGreaterThan(0);
      expect(b.name).not.toBe(a.name);
      expect(a.label).toBeNull();
      expect(a.metadata).toEqual({});
    });

    s.test("snapshots", "createSnapshot with a taken name fails with ALREADY_EXISTS and writes nothing", async () => {
      const c = await s.store.createContext({ state: { a: 1 } });
      await s.store.createSnapshot(c.id, { name: "same" });
      await s.store.patchState(c.id, { a: 2 });
      const before = await fingerprint(s.store, c.id);
      await expectError(() => s.store.createSnapshot(c.id, { name: "same" }), "ALREADY_EXISTS");
      expect(await fingerprint(s.store, c.id)).toEqual(before);
      expect((await s.store.getSnapshot(c.id, "same")).state).toEqual({ a: 1 });
    });

    s.test("snapshots", "listSnapshots returns every snapshot of the context, oldest first", async () => {
      const c = await s.store.createContext();
      const other = await s.store.createContext();
      await s.store.createSnapshot(other.id, { name: "elsewhere" });
      const names = ["one", "two", "three"];
      for (const [i, name] of names.entries()) {
        await s.store.patchState(c.id, { i });
        await s.store.createSnapshot(c.id, { name });
      }
      const list = await s.store.listSnapshots(c.id);
      // Sensible order (the interface does not say): creation order, i.e. by seq.
      expect(list.map((x) => x.name)).toEqual(names);
      expect(list.map((x) => x.state)).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
      expect(list.map((x) => x.version)).toEqual([2, 3, 4]);
    });

    s.test("snapshots", "getSnapshot of an unknown name fails with NOT_FOUND", async () => {
      const c = await s.store.createContext();
      await expectError(() => s.store.getSnapshot(c.id, "nope"), "NOT_FOUND");
      await expectError(() => s.store.restore(c.id, { snapshot: "nope" }), "NOT_FOUND");
    });

    const restoreCases: [string, (ctx: { snapTime: string; v2Time: string }) => RestoreTarget][] = [
      ["by snapshot name", () => ({ snapshot: "at-v2" })],
      ["by version", () => ({ version: 2 })],
      ["by the latest snapshot at or before a time", (t) => ({ before: t.snapTime })],
      ["by the state at a time", (t) => ({ at: t.v2Time })],
    ];
    for (const [how, target] of restoreCases) {
      s.test("snapshots", `restore ${how} writes the old state as a new version with a restore event; history never shrinks`, async () => {
        const c = await s.store.createContext({ state: { step: 1 } });
        const v2 = await s.store.replaceState(c.id, { step: 2, data: { keep: [1, 2] } });
        const snap = await s.store.createSnapshot(c.id, { name: "at-v2" });
        await clockPast(snap.createdAt);
        await s.store.replaceState(c.id, { step: 3 });
        await s.store.patchState(c.id, { step: 4 });
        const eventsBefore = await allEvents(s.store, c.id);
        const r = await s.store.restore(c.id, target({ snapTime: snap.createdAt, v2Time: v2.timestamp }), { metadata: { reason: "undo" } });
        expect(r.version).toBe(5);
        expect(r.state).toEqual({ step: 2, data: { keep: [1, 2] } });
        expect(await s.store.getState(c.id)).toEqual({ state: r.state, version: 5 });
        const eventsAfter = await allEvents(s.store, c.id);
        expect(eventsAfter.slice(0, eventsBefore.length)).toEqual(eventsBefore);
        expect(eventsAfter).toHaveLength(eventsBefore.length + 1);
        expect(eventsAfter.at(-1)).toMatchObject({ type: "restore", seq: r.seq, version: 5, metadata: { reason: "undo" } });
        // Every version stays rebuildable after a restore.
        expect((await s.store.stateAt(c.id, { version: 4 })).state).toEqual({ step: 4 });
        expect((await s.store.stateAt(c.id, { version: 5 })).state).toEqual(r.state);
      });
    }

    s.test("snapshots", "restore {before: T} picks the latest snapshot at or before T", async () => {
      const c = await s.store.createContext({ state: { n: 0 } });
      await s.store.replaceState(c.id, { n: 1 });
      const s1 = await s.store.createSnapshot(c.id, { name: "s1" });
      await clockPast(s1.createdAt);
      await s.store.replaceState(c.id, { n: 2 });
      const s2 = await s.store.createSnapshot(c.id, { name: "s2" });
      await clockPast(s2.createdAt);
      await s.store.replaceState(c.id, { n: 3 });
      expect((await s.store.restore(c.id, { before: s1.createdAt })).state).toEqual({ n: 1 });
      expect((await s.store.restore(c.id, { before: Date.parse(s2.createdAt) - 1 })).state).toEqual({ n: 1 });
      expect((await s.store.restore(c.id, { before: new Date(s2.createdAt) })).state).toEqual({ n: 2 });
      expect((await s.store.restore(c.id, { before: Date.now() + 60_000 })).state).toEqual({ n: 2 });
      await expectError(() => s.store.restore(c.id, { before: Date.parse(s1.createdAt) - 1 }), "NOT_FOUND");
    });

    s.test("snapshots", "restore with a stale expectedVersion fails with VERSION_CONFLICT and writes nothing", async () => {
      const c = await s.store.createContext({ state: { n: 0 } });
      await s.store.replaceState(c.id, { n: 1 });
      const before = await fingerprint(s.store, c.id);
      await expectError(() => s.store.restore(c.id, { version: 1 }, { expectedVersion: 1 }), "VERSION_CONFLICT");
      expect(await fingerprint(s.store, c.id)).toEqual(before);
      expect((await s.store.restore(c.id, { version: 1 }, { expectedVersion: 2 })).state).toEqual({ n: 0 });
    });

    s.test("snapshots", "restore of a version that never existed fails with NOT_FOUND", async () => {
      const c = await s.store.createContext();
      await expectError(() => s.store.restore(c.id, { version: 99 }), "NOT_FOUND");
    });

    const forkCases: [string, (snapName: string) => Parameters<Suite["store"]["fork"]>[1], number, unknown][] = [
      ["a snapshot", (name) => ({ snapshot: name }), 2, { n: 2 }],
      ["a version", () => ({ version: 3 }), 3, { n: 3 }],
      ["the current state", () => ({}), 4, { n: 4 }],
    ];
    for (const [from, input, parentVersion, state] of forkCases) {
      s.test("snapshots", `fork from ${from} creates a linked context with that state and leaves the parent unchanged`, async () => {
        const parent = await s.store.createContext({ kind: "agent", state: { n: 1 } });
        await s.store.replaceState(parent.id, { n: 2 });
        await s.store.createSnapshot(parent.id, { name: "snap" });
        await s.store.replaceState(parent.id, { n: 3 });
        await s.store.replaceState(parent.id, { n: 4 });
        const parentInfo = await s.store.getContext(parent.id);
        const before = (await fingerprint(s.store, parent.id)) as Record<string, unknown>;
        const child = await s.store.fork(parent.id, input("snap"));
        expect(child.id).not.toBe(parent.id);
        // A fork continues its parent's numbering: it starts at the version it was forked from.
        expect(child).toMatchObject({ parentId: parent.id, parentVersion, version: parentVersion, tenant: s.store.tenant });
        expect(await s.store.getState(child.id)).toEqual({ state, version: parentVersion });
        expect(await s.store.getContext(child.id)).toEqual(child);
        // The parent's record, state, history and snapshots are untouched (the list gains the child).
        expect(await s.store.getContext(parent.id)).toEqual(parentInfo);
        const after = (await fingerprint(s.store, parent.id)) as Record<string, unknown>;
        expect({ ...after, contexts: null }).toEqual({ ...before, contexts: null });
        // Writes to the child do not reach the parent.
        await s.store.patchState(child.id, { child: true });
        expect((await s.store.getState(parent.id)).state).toEqual({ n: 4 });
      });
    }

    s.test("snapshots", "fork takes a given id, owners and title; a taken id fails with ALREADY_EXISTS", async () => {
      const parent = await s.store.createContext({ state: { a: 1 } });
      const id = randomName("fork");
      const child = await s.store.fork(parent.id, { id, title: "branch", userId: "u9", metadata: { m: 1 } });
      expect(child).toMatchObject({ id, title: "branch", userId: "u9", metadata: { m: 1 }, parentId: parent.id, parentVersion: 1 });
      await expectError(() => s.store.fork(parent.id, { id }), "ALREADY_EXISTS");
      await expectError(() => s.store.fork(parent.id, { snapshot: "missing" }), "NOT_FOUND");
      await expectError(() => s.store.fork("missing-parent"), "NOT_FOUND");
    });
  });
}
