/** Conformance: typed errors, aborted calls, health, and use after close. */
import { describe, expect } from "vitest";
import { ContextError, isContextError } from "../errors.js";
import type { ContextStore } from "../agent/types.js";
import { expectError, fingerprint, seedContext } from "./harness.js";
import type { Suite } from "./harness.js";

/** Registers the error, abort and close tests. */
export function errorsTests(s: Suite): void {
  describe("errors and lifecycle", () => {
    s.test("errors", "errors from the store are ContextErrors recognised by isContextError, with and without a code", async () => {
      const e = await expectError(() => s.store.getContext("missing-context"), "NOT_FOUND");
      expect(isContextError(e)).toBe(true);
      expect(isContextError(e, "NOT_FOUND")).toBe(true);
      expect(isContextError(e, "CLOSED")).toBe(false);
      expect(e).toBeInstanceOf(Error);
      expect(e.toJSON()).toEqual({ code: "NOT_FOUND", message: e.message, details: e.details });
      expect(isContextError(new Error("plain"))).toBe(false);
      expect(isContextError({ code: "NOT_FOUND", message: "look-alike" })).toBe(false);
      expect(isContextError(null)).toBe(false);
      expect(isContextError(new ContextError("INTERNAL", "x"), "INTERNAL")).toBe(true);
    });

    s.test("errors", "a call with an already aborted signal rejects with ABORTED and writes nothing", async () => {
      const id = await seedContext(s.store);
      const before = await fingerprint(s.store, id);
      const signal = AbortSignal.abort(new Error("caller gave up"));
      await expectError(() => s.store.getContext(id, { signal }), "ABORTED");
      await expectError(() => s.store.patchState(id, { aborted: true }, { signal }), "ABORTED");
      await expectError(() => s.store.append(id, { type: "m" }, { signal }), "ABORTED");
      await expectError(() => s.store.createContext({ state: {} }, { signal }), "ABORTED");
      await expectError(() => s.store.listContexts({ signal }), "ABORTED");
      expect(await fingerprint(s.store, id)).toEqual(before);
    });

    s.test("errors", "health reports ok with the driver name and a latency", async () => {
      const h = await s.store.health();
      expect(h.ok).toBe(true);
      expect(typeof h.driver).toBe("string");
      expect(h.driver.length).toBeGreaterThan(0);
      expect(h.latencyMs).toBeGreaterThanOrEqual(0);
    });

    s.test("errors", "every method of a closed store rejects with CLOSED; closing twice is safe", async () => {
      const store = await s.makeStore();
      const c = await store.createContext();
      await store.close();
      await store.close();
      const calls: [string, (st: ContextStore) => unknown][] = [
        ["createContext", (st) => st.createContext()],
        ["getContext", (st) => st.getContext(c.id)],
        ["listContexts", (st) => st.listContexts()],
        ["updateContext", (st) => st.updateContext(c.id, { title: "x" })],
        ["deleteContext", (st) => st.deleteContext(c.id)],
        ["getState", (st) => st.getState(c.id)],
        ["replaceState", (st) => st.replaceState(c.id, { a: 1 })],
        ["patchState", (st) => st.patchState(c.id, { a: 1 })],
        ["stateAt", (st) => st.stateAt(c.id, { version: 1 })],
        ["append", (st) => st.append(c.id, { type: "m" })],
        ["readEvents", (st) => st.readEvents(c.id)],
        ["createSnapshot", (st) => st.createSnapshot(c.id)],
        ["activate", (st) => st.activate("h", c.id)],
        ["currentContext", (st) => st.currentContext("h")],
        ["setSchema", (st) => st.setSchema("k", { type: "object" })],
        ["acquireLease", (st) => st.acquireLease(c.id, { holder: "h" })],
        ["getLease", (st) => st.getLease(c.id)],
        ["purgeExpired", (st) => st.purgeExpired()],
        ["compact", (st) => st.compact(c.id, { beforeSeq: 1 })],
        ["watch", (st) => st.watch(c.id, { afterSeq: 0 }).next()],
      ];
      for (const [method, call] of calls) {
        for (const view of [() => store, () => store.withTenant("another-tenant")]) {
          const e = await expectError(() => call(view()), "CLOSED").catch((err: unknown) => {
            throw new Error(`${method}: ${err instanceof Error ? err.message : String(err)}`);
          });
          expect(e.code).toBe("CLOSED");
        }
      }
    });

    s.test("errors", "Symbol.asyncDispose closes the store", async () => {
      const store = await s.makeStore();
      expect(typeof store[Symbol.asyncDispose]).toBe("function");
      await store[Symbol.asyncDispose]();
      await expectError(() => store.createContext(), "CLOSED");
    });
  });
}
