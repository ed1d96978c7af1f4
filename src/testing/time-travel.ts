/** Conformance: rebuilding past states (`stateAt`) and diffs between versions. */
import { describe, expect } from "vitest";
import type { JsonObject, StateWriteResult } from "../core/types.js";
import { clockPast, expectError } from "./harness.js";
import type { Suite } from "./harness.js";
import { applyPatch } from "./json-patch.js";

interface Written {
  version: number;
  state: JsonObject;
  timestamp: string;
}

/** Registers the time-travel tests. */
export function timeTravelTests(s: Suite): void {
  // 200 versions of every write kind, so the store's internal checkpoints are crossed.
  async function writeHistory(id: string, initial: JsonObject, versions: number): Promise<Written[]> {
    const out: Written[] = [{ version: 1, state: initial, timestamp: "" }];
    let current = structuredClone(initial);
    for (let v = 2; v <= versions; v++) {
      let r: StateWriteResult;
      switch (v % 5) {
        case 0:
          current = { round: v, list: [v, { nested: v }], "a/b": { "~": v } };
          r = await s.store.replaceState(id, current);
          break;
        case 1:
          current = { ...current, [`k${v % 7}`]: v % 3 === 0 ? null : { v } };
          r = await s.store.patchState(id, { [`k${v % 7}`]: v % 3 === 0 ? null : { v } });
          if (v % 3 === 0) delete current[`k${v % 7}`];
          break;
        case 2:
          r = await s.store.setStateAt(id, ["deep", "path", `p${v % 4}`], [v, "x"]);
          current = structuredClone(current);
          current.deep = current.deep ?? { path: {} };
          ((current.deep as JsonObject).path as JsonObject)[`p${v % 4}`] = [v, "x"];
          break;
        case 3:
          r = await s.store.append(id, { type: "message", data: v }).then(() => s.store.setStateAt(id, "/counter", v));
          current = { ...current, counter: v };
          break;
        default:
          if ("counter" in current) {
            r = await s.store.removeStateAt(id, "/counter");
            current = { ...current };
            delete current.counter;
          } else {
            r = await s.store.patchState(id, { note: `v${v} ✓` });
            current = { ...current, note: `v${v} ✓` };
          }
      }
      expect(r.version).toBe(v);
      expect(r.state).toEqual(current);
      out.push({ version: v, state: structuredClone(current), timestamp: r.timestamp });
    }
    return out;
  }

  describe("time travel", () => {
    s.test("timeTravel", "stateAt({version}) rebuilds every one of 200 past states exactly", async () => {
      const initial = { start: true, list: [1, 2, 3] };
      const c = await s.store.createContext({ state: initial });
      const written = await writeHistory(c.id, initial, 200);
      for (const w of written) {
        expect(await s.store.stateAt(c.id, { version: w.version }), `version ${w.version}`).toEqual({ state: w.state, version: w.version });
      }
    }, 120_000);

    s.test("timeTravel", "stateAt({at}) returns the state in force at that time", async () => {
      const initial = { v: 1 };
      const c = await s.store.createContext({ state: initial });
      await clockPast(c.createdAt);
      const written = await writeHistory(c.id, initial, 200);
      written[0] = { version: 1, state: initial, timestamp: c.createdAt };
      // Several versions can share a millisecond; the one in force at that time is the last of them.
      const lastAt = new Map<string, Written>();
      for (const w of written) lastAt.set(w.timestamp, w);
      for (const [time, w] of lastAt) {
        expect(await s.store.stateAt(c.id, { at: time }), `at ${time}`).toEqual({ state: w.state, version: w.version });
      }
      const last = written[written.length - 1] as Written;
      expect(await s.store.stateAt(c.id, { at: Date.now() + 60_000 })).toEqual({ state: last.state, version: last.version });
      const mid = written[100] as Written;
      const midTime = Date.parse(mid.timestamp);
      const byDate = await s.store.stateAt(c.id, { at: new Date(midTime) });
      expect(byDate).toEqual(await s.store.stateAt(c.id, { at: midTime }));
      expect(byDate.version).toBeGreaterThanOrEqual(mid.version);
    }, 120_000);

    s.test("timeTravel", "stateAt before the context existed fails with NOT_FOUND", async () => {
      const c = await s.store.createContext({ state: { a: 1 } });
      // Sensible reading of "a version that never existed": no state was in force then.
      await expectError(() => s.store.stateAt(c.id, { at: Date.parse(c.createdAt) - 1 }), "NOT_FOUND");
    });

    s.test("timeTravel", "stateAt of a version that does not exist yet fails with NOT_FOUND", async () => {
      const c = await s.store.createContext({ state: { a: 1 } });
      await s.store.patchState(c.id, { b: 2 });
      await expectError(() => s.store.stateAt(c.id, { version: 3 }), "NOT_FOUND");
      await expectError(() => s.store.stateAt(c.id, { version: 1000 }), "NOT_FOUND");
      await expectError(() => s.store.stateAt("missing-context", { version: 1 }), "NOT_FOUND");
      expect((await s.store.stateAt(c.id, { version: 2 })).state).toEqual({ a: 1, b: 2 });
    });

    s.test("timeTravel", "diff(a, b) returns an RFC 6902 patch that turns state a into state b", async () => {
      const initial = { start: true, list: [1, 2, 3], "we~ird/key": { "": 0 } };
      const c = await s.store.createContext({ state: initial });
      const written = await writeHistory(c.id, initial, 40);
      const pairs: [number, number][] = [
        [1, 2], [1, 40], [40, 1], [5, 6], [6, 5], [10, 30], [30, 10], [7, 7], [2, 3], [3, 4], [4, 5], [19, 20], [20, 21],
      ];
      for (const [a, b] of pairs) {
        const patch = await s.store.diff(c.id, a, b);
        expect(Array.isArray(patch)).toBe(true);
        for (const op of patch) expect(["add", "remove", "replace"]).toContain(op.op);
        const from = (written[a - 1] as Written).state;
        const to = (written[b - 1] as Written).state;
        expect(applyPatch(from, patch), `diff(${a}, ${b}) = ${JSON.stringify(patch)}`).toEqual(to);
      }
      expect(await s.store.diff(c.id, 7, 7)).toEqual([]);
    }, 60_000);

    s.test("timeTravel", "diff handles arrays, nulls, escaped keys and type changes", async () => {
      const c = await s.store.createContext({ state: { arr: [1, 2, 3, 4], obj: { x: 1 }, n: null, "a/b": 1, "c~d": { e: 1 } } });
      const v2: JsonObject = { arr: [4, 3], obj: [1], n: { now: "object" }, "c~d": { e: 2, f: null }, added: "yes" };
      await s.store.replaceState(c.id, v2);
      const v3: JsonObject = { arr: [], obj: { x: 1, y: [{}] }, n: null, "a/b": 2, "c~d": {} };
      await s.store.replaceState(c.id, v3);
      const v1 = (await s.store.stateAt(c.id, { version: 1 })).state;
      expect(applyPatch(v1, await s.store.diff(c.id, 1, 2))).toEqual(v2);
      expect(applyPatch(v2, await s.store.diff(c.id, 2, 3))).toEqual(v3);
      expect(applyPatch(v3, await s.store.diff(c.id, 3, 1))).toEqual(v1);
    });

    s.test("timeTravel", "diff with a version that does not exist fails with NOT_FOUND", async () => {
      const c = await s.store.createContext();
      await expectError(() => s.store.diff(c.id, 1, 2), "NOT_FOUND");
      await expectError(() => s.store.diff(c.id, 5, 1), "NOT_FOUND");
    });
  });
}
