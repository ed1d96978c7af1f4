/** Conformance: a state write that carries events (an agent step) is one transaction. */
import { describe, expect } from "vitest";
import { expectError, fingerprint } from "./harness.js";
import type { Suite } from "./harness.js";

/** Registers the atomic-step tests. */
export function stepsTests(s: Suite): void {
  describe("state write with events (agent step)", () => {
    s.test("state", "patchState with events writes the state event and the events together, in order", async () => {
      const c = await s.store.createContext({ state: { step: 0 } });
      const r = await s.store.patchState(
        c.id,
        { step: 1 },
        { expectedVersion: 1, events: [{ type: "message", data: { role: "user", content: "hi" } }, { type: "tool_call", data: { id: "t1" } }] },
      );
      expect(r.version).toBe(2);
      expect(r.events?.map((e) => [e.seq, e.type])).toEqual([
        [r.seq + 1, "message"],
        [r.seq + 2, "tool_call"],
      ]);
      const history = await s.store.readEvents(c.id);
      expect(history.items.map((e) => e.type)).toEqual(["state", "message", "tool_call"]);
      expect(history.items[1]?.data).toEqual({ role: "user", content: "hi" });
      expect((await s.store.getState(c.id)).state).toEqual({ step: 1 });
    });

    s.test("state", "a stale expectedVersion on a state write with events writes neither the state nor the events", async () => {
      const c = await s.store.createContext({ state: { step: 0 } });
      await s.store.patchState(c.id, { step: 1 });
      const before = await fingerprint(s.store, c.id);
      await expectError(() =>
        s.store.patchState(c.id, { step: 2 }, { expectedVersion: 1, events: [{ type: "message", data: "lost?" }] }),
        "VERSION_CONFLICT",
      );
      expect(await fingerprint(s.store, c.id)).toEqual(before);
    });

    s.test("badInput", "an invalid event on a state write rejects with INVALID_INPUT and writes nothing", async () => {
      const c = await s.store.createContext({ state: { step: 0 } });
      const before = await fingerprint(s.store, c.id);
      await expectError(() =>
        s.store.patchState(c.id, { step: 1 }, { events: [{ type: "message", data: { bad: Number.NaN } }] }),
        "INVALID_INPUT",
      );
      await expectError(() =>
        s.store.replaceState(c.id, { step: 1 }, { events: { type: "message" } as unknown as [] }),
        "INVALID_INPUT",
      );
      expect(await fingerprint(s.store, c.id)).toEqual(before);
    });
  });
}
