/** Conformance: tenants see and touch only their own contexts, schemas and active contexts. */
import { describe, expect } from "vitest";
import type { ContextStore } from "../agent/types.js";
import { expectError, fingerprint, randomName, seedContext, within } from "./harness.js";
import type { Suite } from "./harness.js";

/** Registers the tenancy tests. */
export function tenancyTests(s: Suite): void {
  function tenants(): [ContextStore, ContextStore] {
    return [s.root.withTenant(randomName("a")), s.root.withTenant(randomName("b"))];
  }

  describe("tenancy", () => {
    s.test("tenancy", "withTenant returns a view whose tenant is the given one", async () => {
      const name = randomName("tenant");
      const t = s.root.withTenant(name);
      expect(t.tenant).toBe(name);
      const c = await t.createContext();
      expect(c.tenant).toBe(name);
      expect(t.withTenant(s.root.tenant).tenant).toBe(s.root.tenant);
    });

    s.test("tenancy", "another tenant cannot see, change, snapshot, lease or watch a context (NOT_FOUND)", async () => {
      const [a, b] = tenants();
      const id = await seedContext(a);
      const before = await fingerprint(a, id);
      const attempts: [string, () => Promise<unknown>][] = [
        ["getContext", () => b.getContext(id)],
        ["updateContext", () => b.updateContext(id, { title: "stolen" })],
        ["archiveContext", () => b.archiveContext(id)],
        ["deleteContext", () => b.deleteContext(id)],
        ["getState", () => b.getState(id)],
        ["replaceState", () => b.replaceState(id, { stolen: true })],
        ["patchState", () => b.patchState(id, { stolen: true })],
        ["setStateAt", () => b.setStateAt(id, "/stolen", true)],
        ["removeStateAt", () => b.removeStateAt(id, "/n")],
        ["stateAt", () => b.stateAt(id, { version: 1 })],
        ["diff", () => b.diff(id, 1, 2)],
        ["append", () => b.append(id, { type: "message", data: "stolen" })],
        ["readEvents", () => b.readEvents(id)],
        ["countEvents", () => b.countEvents(id)],
        ["lastEvents", () => b.lastEvents(id, 1)],
        ["createSnapshot", () => b.createSnapshot(id, { name: "stolen" })],
        ["listSnapshots", () => b.listSnapshots(id)],
        ["getSnapshot", () => b.getSnapshot(id, "seed")],
        ["restore", () => b.restore(id, { snapshot: "seed" })],
        ["fork", () => b.fork(id)],
        ["acquireLease", () => b.acquireLease(id, { holder: "thief" })],
        ["getLease", () => b.getLease(id)],
        ["activate", () => b.activate("agent", id)],
        ["setDefaultContext", () => b.setDefaultContext("agent", id)],
        ["compact", () => b.compact(id, { beforeSeq: 1 })],
      ];
      for (const [method, attempt] of attempts) {
        const e = await expectError(attempt, "NOT_FOUND").catch((err: unknown) => {
          throw new Error(`${method}: ${err instanceof Error ? err.message : String(err)}`);
        });
        expect(e.code, method).toBe("NOT_FOUND");
      }
      const controller = new AbortController();
      await within(expectError(() => b.watch(id, { afterSeq: 0, signal: controller.signal }).next(), "NOT_FOUND"), s.waitMs, "watch to fail").finally(
        () => controller.abort(),
      );
      expect((await b.listContexts()).items).toEqual([]);
      expect(await b.purgeExpired()).toBe(0);
      expect(await fingerprint(a, id)).toEqual(before);
    });

    s.test("tenancy", "the same id exists independently in two tenants", async () => {
      const [a, b] = tenants();
      const id = randomName("shared");
      const ca = await a.createContext({ id, title: "in a", state: { owner: "a" } });
      const cb = await b.createContext({ id, title: "in b", state: { owner: "b" } });
      expect(ca.tenant).not.toBe(cb.tenant);
      await a.patchState(id, { n: 1 });
      await a.append(id, [{ type: "m" }, { type: "m" }]);
      await b.createSnapshot(id, { name: "only-b" });
      expect(await a.getState(id)).toEqual({ state: { owner: "a", n: 1 }, version: 2 });
      expect(await b.getState(id)).toEqual({ state: { owner: "b" }, version: 1 });
      expect((await a.getContext(id)).title).toBe("in a");
      expect((await b.getContext(id)).title).toBe("in b");
      expect(await a.listSnapshots(id)).toEqual([]);
      expect((await b.listSnapshots(id)).map((x) => x.name)).toEqual(["only-b"]);
      const la = await a.acquireLease(id, { holder: "x", ttlMs: 60_000 });
      const lb = await b.acquireLease(id, { holder: "y", ttlMs: 60_000 });
      expect(la.holder).toBe("x");
      expect(lb.holder).toBe("y");
      await a.deleteContext(id);
      expect((await b.getContext(id)).title).toBe("in b");
    });

    s.test("tenancy", "schemas are per tenant", async () => {
      const [a, b] = tenants();
      await a.setSchema("profile", { type: "object", required: ["name"] });
      expect(await b.getSchema("profile")).toBeNull();
      expect(await b.listSchemas()).toEqual([]);
      const c = await b.createContext({ kind: "profile", state: {} });
      expect(c.kind).toBe("profile");
      await expectError(() => a.createContext({ kind: "profile", state: {} }), "SCHEMA_VIOLATION");
      expect(await b.deleteSchema("profile")).toBe(false);
      expect(await a.getSchema("profile")).not.toBeNull();
    });
  });
}
