/** Conformance: the active context of a holder (activate, switch, deactivate, defaults). */
import { describe, expect } from "vitest";
import { expectError, randomName } from "./harness.js";
import type { Suite } from "./harness.js";

/** Registers the active-context tests. */
export function activeContextTests(s: Suite): void {
  describe("active context", () => {
    s.test("activeContext", "currentContext is null for a holder with nothing active and no default", async () => {
      expect(await s.store.currentContext("agent-1")).toBeNull();
      expect(await s.store.deactivate("agent-1")).toBeNull();
    });

    s.test("activeContext", "activate makes a context current; switchContext returns the previous one; deactivate clears it", async () => {
      const a = await s.store.createContext({ title: "a" });
      const b = await s.store.createContext({ title: "b" });
      await s.store.activate("agent-1", a.id);
      expect(await s.store.currentContext("agent-1")).toEqual(await s.store.getContext(a.id));
      expect(await s.store.switchContext("agent-1", b.id)).toBe(a.id);
      expect((await s.store.currentContext("agent-1"))?.id).toBe(b.id);
      expect(await s.store.deactivate("agent-1")).toBe(b.id);
      expect(await s.store.currentContext("agent-1")).toBeNull();
      expect(await s.store.switchContext("agent-1", a.id)).toBeNull();
      expect((await s.store.currentContext("agent-1"))?.id).toBe(a.id);
      // Activating again replaces the active one.
      await s.store.activate("agent-1", b.id);
      expect((await s.store.currentContext("agent-1"))?.id).toBe(b.id);
    });

    s.test("activeContext", "the default context is current while nothing is active; the active one takes precedence", async () => {
      const d = await s.store.createContext({ title: "default" });
      const a = await s.store.createContext({ title: "active" });
      await s.store.setDefaultContext("agent-1", d.id);
      expect((await s.store.currentContext("agent-1"))?.id).toBe(d.id);
      await s.store.activate("agent-1", a.id);
      expect((await s.store.currentContext("agent-1"))?.id).toBe(a.id);
      // deactivate returns the active context, not the default.
      expect(await s.store.deactivate("agent-1")).toBe(a.id);
      expect((await s.store.currentContext("agent-1"))?.id).toBe(d.id);
      await s.store.setDefaultContext("agent-1", null);
      expect(await s.store.currentContext("agent-1")).toBeNull();
    });

    s.test("activeContext", "holders are independent of each other", async () => {
      const a = await s.store.createContext();
      const b = await s.store.createContext();
      await s.store.activate("holder-a", a.id);
      await s.store.setDefaultContext("holder-b", b.id);
      expect((await s.store.currentContext("holder-a"))?.id).toBe(a.id);
      expect((await s.store.currentContext("holder-b"))?.id).toBe(b.id);
      expect(await s.store.currentContext("holder-c")).toBeNull();
      await s.store.deactivate("holder-a");
      expect((await s.store.currentContext("holder-b"))?.id).toBe(b.id);
      expect(await s.store.currentContext("holder-a")).toBeNull();
    });

    s.test("activeContext", "tenants are independent: the same holder has its own active and default context per tenant", async () => {
      const t1 = s.root.withTenant(randomName("tenant"));
      const t2 = s.root.withTenant(randomName("tenant"));
      const a = await t1.createContext();
      const b = await t2.createContext();
      await t1.activate("agent", a.id);
      expect(await t2.currentContext("agent")).toBeNull();
      await t2.setDefaultContext("agent", b.id);
      expect((await t1.currentContext("agent"))?.id).toBe(a.id);
      expect((await t2.currentContext("agent"))?.id).toBe(b.id);
      expect(await t2.deactivate("agent")).toBeNull();
      expect((await t1.currentContext("agent"))?.id).toBe(a.id);
    });

    s.test("activeContext", "activate, switchContext and setDefaultContext of an unknown context fail with NOT_FOUND", async () => {
      const a = await s.store.createContext();
      await s.store.activate("agent", a.id);
      await expectError(() => s.store.activate("agent", "missing-context"), "NOT_FOUND");
      await expectError(() => s.store.switchContext("agent", "missing-context"), "NOT_FOUND");
      await expectError(() => s.store.setDefaultContext("agent", "missing-context"), "NOT_FOUND");
      expect((await s.store.currentContext("agent"))?.id).toBe(a.id);
    });

    s.test("activeContext", "a deleted active context is no longer current: the default, else null, is", async () => {
      const a = await s.store.createContext();
      const d = await s.store.createContext();
      await s.store.activate("agent", a.id);
      await s.store.deleteContext(a.id);
      expect(await s.store.currentContext("agent")).toBeNull();
      await s.store.activate("agent", d.id);
      const b = await s.store.createContext();
      await s.store.setDefaultContext("agent", b.id);
      await s.store.deleteContext(d.id);
      expect((await s.store.currentContext("agent"))?.id).toBe(b.id);
    });

    s.test("activeContext", "currentContext returns the context as it is now", async () => {
      const a = await s.store.createContext({ title: "before" });
      await s.store.activate("agent", a.id);
      await s.store.patchState(a.id, { x: 1 });
      await s.store.updateContext(a.id, { title: "after" });
      expect(await s.store.currentContext("agent")).toEqual(await s.store.getContext(a.id));
    });
  });
}
