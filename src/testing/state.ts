/** Conformance: reading and writing state; versions, expectedVersion and the `state` events. */
import { describe, expect } from "vitest";
import type { JsonObject, StateWriteResult, WriteOptions } from "../core/types.js";
import type { VersionConflictError } from "../errors.js";
import { expectError, fingerprint } from "./harness.js";
import type { Suite } from "./harness.js";

type Write = (id: string, options?: WriteOptions) => Promise<StateWriteResult>;

/** Registers the state tests. */
export function stateTests(s: Suite): void {
  // One of each state write, for the tests that hold for all of them.
  const writes: Record<string, Write> = {
    replaceState: (id, o) => s.store.replaceState(id, { replaced: true, a: { b: 1 } }, o),
    patchState: (id, o) => s.store.patchState(id, { patched: 1 }, o),
    setStateAt: (id, o) => s.store.setStateAt(id, "/a/b", 2, o),
    removeStateAt: (id, o) => s.store.removeStateAt(id, "/a", o),
  };

  describe("state", () => {
    s.test("state", "getState of a new context returns its initial state at version 1", async () => {
      const c = await s.store.createContext({ state: { a: 1, nested: { list: [1, { b: null }] } } });
      expect(await s.store.getState(c.id)).toEqual({ state: { a: 1, nested: { list: [1, { b: null }] } }, version: 1 });
    });

    s.test("state", "replaceState replaces the whole state and returns the new version, seq and timestamp", async () => {
      const c = await s.store.createContext({ state: { a: 1, b: 2 } });
      const before = Date.now();
      const r = await s.store.replaceState(c.id, { c: [3] });
      expect(r.state).toEqual({ c: [3] });
      expect(r.version).toBe(2);
      expect(Date.parse(r.timestamp)).toBeGreaterThanOrEqual(before);
      expect(await s.store.getState(c.id)).toEqual({ state: { c: [3] }, version: 2 });
      const info = await s.store.getContext(c.id);
      expect(info.version).toBe(2);
      expect(info.lastSeq).toBe(r.seq);
    });

    s.test("state", "a state write keeps the value as it was at the call: the caller changing it before the write settles changes nothing", async () => {
      const c = await s.store.createContext({ state: { keep: 1 } });
      const patch = { list: [1, { deep: "a" }], obj: { x: 1 } };
      const pendingPatch = s.store.patchState(c.id, patch);
      patch.list.push(99);
      (patch.list[1] as { deep: string }).deep = "changed";
      patch.obj.x = 2;
      const p = await pendingPatch;
      expect(p.state).toEqual({ keep: 1, list: [1, { deep: "a" }], obj: { x: 1 } });
      expect(p.state.list).not.toBe(patch.list);

      const set = { at: [3] };
      const pendingSet = s.store.setStateAt(c.id, "/set", set);
      set.at.push(97);
      const t = await pendingSet;
      expect(t.state).toEqual({ keep: 1, list: [1, { deep: "a" }], obj: { x: 1 }, set: { at: [3] } });

      const replaced = { list: [2], obj: { y: 2 } };
      const pendingReplace = s.store.replaceState(c.id, replaced);
      replaced.list.push(98);
      const r = await pendingReplace;
      expect(r.state).toEqual({ list: [2], obj: { y: 2 } });
      expect(r.state.list).not.toBe(replaced.list);

      expect((await s.store.getState(c.id)).state).toEqual({ list: [2], obj: { y: 2 } });
      expect((await s.store.stateAt(c.id, { version: 3 })).state).toEqual({ keep: 1, list: [1, { deep: "a" }], obj: { x: 1 }, set: { at: [3] } });
    });

    const mergeCases: [JsonObject, JsonObject, JsonObject][] = [
      // RFC 7396 appendix A, where target and result are objects.
      [{ a: "b" }, { a: "c" }, { a: "c" }],
      [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
      [{ a: "b" }, { a: null }, {}],
      [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
      [{ a: ["b"] }, { a: "c" }, { a: "c" }],
      [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
      [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
      [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
      [{ e: null }, { a: 1 }, { e: null, a: 1 }],
      [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
      [{ a: { x: 1, y: { z: 2 } }, k: 0 }, { a: { y: { w: 3 } } }, { a: { x: 1, y: { z: 2, w: 3 } }, k: 0 }],
      [{ a: 1 }, {}, { a: 1 }],
    ];
    s.test("state", "patchState applies an RFC 7396 merge patch: null deletes, objects merge, arrays are replaced", async () => {
      for (const [target, patch, result] of mergeCases) {
        const c = await s.store.createContext({ state: target });
        const r = await s.store.patchState(c.id, patch);
        expect(r.state, `merge ${JSON.stringify(patch)} into ${JSON.stringify(target)}`).toEqual(result);
        expect((await s.store.getState(c.id)).state).toEqual(result);
        expect(r.version).toBe(2);
      }
    });

    s.test("state", "setStateAt sets a value at a JSON pointer, creating missing objects", async () => {
      const c = await s.store.createContext({ state: { list: [1, 2, 3], keep: true } });
      await s.store.setStateAt(c.id, "/a/b/c", { deep: [1] });
      await s.store.setStateAt(c.id, "/list/1", "two");
      await s.store.setStateAt(c.id, "/keep", null);
      const r = await s.store.setStateAt(c.id, "/top", 5);
      expect(r.state).toEqual({ list: [1, "two", 3], keep: null, a: { b: { c: { deep: [1] } } }, top: 5 });
      expect(r.version).toBe(5);
      expect(await s.store.getState(c.id)).toEqual({ state: r.state, version: 5 });
    });

    s.test("state", "setStateAt takes segment arrays, and pointers unescape ~1 to / and ~0 to ~", async () => {
      const c = await s.store.createContext({ state: { list: [{ v: 0 }, { v: 1 }] } });
      await s.store.setStateAt(c.id, ["a/b", "m~n"], 1);
      expect((await s.store.getState(c.id)).state).toEqual({ list: [{ v: 0 }, { v: 1 }], "a/b": { "m~n": 1 } });
      await s.store.setStateAt(c.id, "/a~1b/m~0n", 2);
      expect((await s.store.getState(c.id)).state["a/b"]).toEqual({ "m~n": 2 });
      // "~01" is "~1" unescaped once, not "/".
      await s.store.setStateAt(c.id, "/~01", "tilde-one");
      await s.store.setStateAt(c.id, ["list", 1, "v"], 11);
      await s.store.setStateAt(c.id, ["", "empty key"], true);
      const { state } = await s.store.getState(c.id);
      expect(state["~1"]).toBe("tilde-one");
      expect(state.list).toEqual([{ v: 0 }, { v: 11 }]);
      expect(state[""]).toEqual({ "empty key": true });
    });

    s.test("state", "removeStateAt removes the value at a path, by pointer or segments", async () => {
      const c = await s.store.createContext({ state: { a: { b: 1, c: 2 }, "x/y": { "~": 1, z: 2 }, list: [1, 2, 3] } });
      await s.store.removeStateAt(c.id, "/a/b");
      await s.store.removeStateAt(c.id, "/x~1y/~0");
      await s.store.removeStateAt(c.id, ["list", 0]);
      const r = await s.store.removeStateAt(c.id, ["a", "c"]);
      expect(r.state).toEqual({ a: {}, "x/y": { z: 2 }, list: [2, 3] });
      expect(r.version).toBe(5);
    });

    s.test("state", "removeStateAt of a path where nothing is fails with NOT_FOUND and writes nothing", async () => {
      const c = await s.store.createContext({ state: { a: { b: 1 } } });
      const before = await fingerprint(s.store, c.id);
      await expectError(() => s.store.removeStateAt(c.id, "/a/missing"), "NOT_FOUND");
      await expectError(() => s.store.removeStateAt(c.id, "/nothing/here"), "NOT_FOUND");
      expect(await fingerprint(s.store, c.id)).toEqual(before);
    });

    for (const [name, write] of Object.entries(writes)) {
      s.test("state", `${name} increments the version by 1 and appends exactly one state event with that version`, async () => {
        const c = await s.store.createContext({ state: { a: { b: 1 } } });
        await s.store.append(c.id, { type: "message", data: "before" });
        const count = await s.store.countEvents(c.id);
        const r = await write(c.id, { metadata: { why: "test" } });
        expect(r.version).toBe(2);
        expect(await s.store.countEvents(c.id)).toBe(count + 1);
        const [event] = await s.store.lastEvents(c.id, 1);
        expect(event).toMatchObject({ contextId: c.id, seq: r.seq, type: "state", version: 2, metadata: { why: "test" } });
        expect(event?.timestamp).toBe(r.timestamp);
        expect((await s.store.getContext(c.id)).lastSeq).toBe(r.seq);
        expect(await s.store.getState(c.id)).toEqual({ state: r.state, version: 2 });
      });

      s.test("state", `${name} with a stale expectedVersion fails with VERSION_CONFLICT carrying expected and actual, and writes nothing`, async () => {
        const c = await s.store.createContext({ state: { a: { b: 1 } } });
        await s.store.patchState(c.id, { v: 2 });
        await s.store.patchState(c.id, { v: 3 });
        const before = await fingerprint(s.store, c.id);
        const e = (await expectError(() => write(c.id, { expectedVersion: 2 }), "VERSION_CONFLICT")) as VersionConflictError;
        expect(e.expected).toBe(2);
        expect(e.actual).toBe(3);
        expect(e.details).toMatchObject({ expected: 2, actual: 3 });
        expect(await fingerprint(s.store, c.id)).toEqual(before);
        const ok = await write(c.id, { expectedVersion: 3 });
        expect(ok.version).toBe(4);
      });
    }

    s.test("state", "append with a stale expectedVersion fails with VERSION_CONFLICT and writes nothing", async () => {
      const c = await s.store.createContext();
      await s.store.patchState(c.id, { a: 1 });
      const before = await fingerprint(s.store, c.id);
      const e = (await expectError(() => s.store.append(c.id, { type: "message" }, { expectedVersion: 1 }), "VERSION_CONFLICT")) as VersionConflictError;
      expect(e.expected).toBe(1);
      expect(e.actual).toBe(2);
      expect(await fingerprint(s.store, c.id)).toEqual(before);
      const events = await s.store.append(c.id, { type: "message" }, { expectedVersion: 2 });
      expect(events).toHaveLength(1);
      // Appending events is not a state write: the version stays.
      expect((await s.store.getState(c.id)).version).toBe(2);
    });

    s.test("state", "concurrent compare-and-set writes: exactly one per version wins, the others get VERSION_CONFLICT", async () => {
      const c = await s.store.createContext({ state: { n: 0 } });
      const stateEvents = await s.store.countEvents(c.id, { types: ["state"] });
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => s.store.replaceState(c.id, { n: i + 1 }, { expectedVersion: 1 })),
      );
      const ok = results.filter((r) => r.status === "fulfilled");
      expect(ok).toHaveLength(1);
      for (const r of results) {
        if (r.status === "rejected") {
          expect((r.reason as { code?: unknown }).code).toBe("VERSION_CONFLICT");
        }
      }
      expect((await s.store.getState(c.id)).version).toBe(2);
      expect(await s.store.countEvents(c.id, { types: ["state"] })).toBe(stateEvents + 1);
    });

    s.test("state", "state writes and appends interleaved keep versions and sequence numbers gapless", async () => {
      const c = await s.store.createContext();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          i % 2 === 0 ? s.store.patchState(c.id, { [`k${i}`]: i }).then((r) => r.seq) : s.store.append(c.id, { type: "message", data: i }).then((e) => e[0]?.seq ?? -1),
        ),
      );
      const events = (await s.store.readEvents(c.id, { limit: 1000 })).items;
      const seqs = events.map((e) => e.seq);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => (seqs[0] ?? 1) + i));
      expect(new Set(results).size).toBe(20);
      // Whether creating a context records an event of its own is left to the store.
      const versions = events.filter((e) => e.type === "state" && e.version !== 1).map((e) => e.version);
      expect(versions).toEqual(Array.from({ length: 10 }, (_, i) => i + 2));
      expect((await s.store.getState(c.id)).version).toBe(11);
    });
  });
}
