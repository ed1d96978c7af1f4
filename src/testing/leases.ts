/** Conformance: leases with fencing tokens. */
import { describe, expect } from "vitest";
import { expectError, fingerprint, waitFor, within } from "./harness.js";
import type { Suite } from "./harness.js";

/** Registers the lease tests. */
export function leasesTests(s: Suite): void {
  describe("leases", () => {
    s.test("leases", "acquireLease returns a lease with a token and expiry; getLease returns it", async () => {
      const c = await s.store.createContext();
      expect(await s.store.getLease(c.id)).toBeNull();
      const before = Date.now();
      const lease = await s.store.acquireLease(c.id, { holder: "worker-1", ttlMs: 60_000 });
      expect(lease).toMatchObject({ contextId: c.id, holder: "worker-1" });
      expect(Number.isSafeInteger(lease.token) && lease.token > 0).toBe(true);
      expect(Date.parse(lease.expiresAt)).toBeGreaterThanOrEqual(before + 60_000);
      expect(await s.store.getLease(c.id)).toEqual(lease);
    });

    s.test("leases", "renewLease and releaseLease accept the Lease object acquireLease returned", async () => {
      const c = await s.store.createContext();
      const lease = await s.store.acquireLease(c.id, { holder: "w1", ttlMs: 60_000 });
      const renewed = await s.store.renewLease(c.id, lease);
      expect(renewed.token).toBe(lease.token);
      await s.store.releaseLease(c.id, renewed);
      expect(await s.store.getLease(c.id)).toBeNull();
      const other = await s.store.createContext();
      const next = await s.store.acquireLease(c.id, { holder: "w1", ttlMs: 60_000 });
      await expectError(() => s.store.releaseLease(other.id, next), "INVALID_INPUT");
      expect((await s.store.getLease(c.id))?.token).toBe(next.token);
    });

    s.test("leases", "a second holder fails at once with LOCK_TIMEOUT when waitMs is 0 (the default)", async () => {
      const c = await s.store.createContext();
      const lease = await s.store.acquireLease(c.id, { holder: "a", ttlMs: 60_000 });
      await expectError(() => s.store.acquireLease(c.id, { holder: "b", waitMs: 0 }), "LOCK_TIMEOUT");
      await expectError(() => s.store.acquireLease(c.id, { holder: "b" }), "LOCK_TIMEOUT");
      expect(await s.store.getLease(c.id)).toEqual(lease);
    });

    s.test("leases", "a waiting holder gets the lease when the holder releases it", async () => {
      const c = await s.store.createContext();
      const a = await s.store.acquireLease(c.id, { holder: "a", ttlMs: 60_000 });
      const waiting = s.store.acquireLease(c.id, { holder: "b", ttlMs: 60_000, waitMs: s.waitMs });
      await s.store.releaseLease(c.id, { holder: "a", token: a.token });
      const b = await within(waiting, s.waitMs + 1000, "the waiting acquire");
      expect(b.holder).toBe("b");
      expect(b.token).toBeGreaterThan(a.token);
      expect(await s.store.getLease(c.id)).toEqual(b);
    });

    s.test("leases", "a waiting holder fails with LOCK_TIMEOUT when the lease is not released within waitMs", async () => {
      const c = await s.store.createContext();
      await s.store.acquireLease(c.id, { holder: "a", ttlMs: 60_000 });
      await expectError(() => s.store.acquireLease(c.id, { holder: "b", waitMs: 50 }), "LOCK_TIMEOUT");
    });

    s.test("leases", "tokens strictly increase with every grant", async () => {
      const c = await s.store.createContext();
      const tokens: number[] = [];
      for (const holder of ["a", "b", "a", "c", "b"]) {
        const lease = await s.store.acquireLease(c.id, { holder, ttlMs: 60_000 });
        tokens.push(lease.token);
        await s.store.releaseLease(c.id, { holder, token: lease.token });
      }
      for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1] as number);
    });

    s.test("leases", "renewLease extends the lease and keeps its token", async () => {
      const c = await s.store.createContext();
      const lease = await s.store.acquireLease(c.id, { holder: "a", ttlMs: 1000 });
      const renewed = await s.store.renewLease(c.id, { holder: "a", token: lease.token, ttlMs: 120_000 });
      expect(renewed.token).toBe(lease.token);
      expect(renewed.holder).toBe("a");
      expect(Date.parse(renewed.expiresAt)).toBeGreaterThan(Date.parse(lease.expiresAt));
      expect(await s.store.getLease(c.id)).toEqual(renewed);
    });

    s.test("leases", "renewLease with a wrong token or holder, or after release, fails with LEASE_LOST", async () => {
      const c = await s.store.createContext();
      const lease = await s.store.acquireLease(c.id, { holder: "a", ttlMs: 60_000 });
      await expectError(() => s.store.renewLease(c.id, { holder: "a", token: lease.token + 1 }), "LEASE_LOST");
      await expectError(() => s.store.renewLease(c.id, { holder: "b", token: lease.token }), "LEASE_LOST");
      await s.store.releaseLease(c.id, { holder: "a", token: lease.token });
      await expectError(() => s.store.renewLease(c.id, { holder: "a", token: lease.token }), "LEASE_LOST");
      expect(await s.store.getLease(c.id)).toBeNull();
    });

    s.test("leases", "releasing with a stale token does not release the current holder's lease", async () => {
      const c = await s.store.createContext();
      const a = await s.store.acquireLease(c.id, { holder: "a" });
      await s.store.releaseLease(c.id, { holder: "a", token: a.token });
      const b = await s.store.acquireLease(c.id, { holder: "b", ttlMs: 60_000 });
      // Either a quiet no-op or LEASE_LOST is acceptable; b's lease must survive.
      await s.store.releaseLease(c.id, { holder: "a", token: a.token }).catch((e: unknown) => {
        expect((e as { code?: unknown }).code).toBe("LEASE_LOST");
      });
      expect(await s.store.getLease(c.id)).toEqual(b);
    });

    s.test("leases", "writes with the current fencing token pass; with an old token after another grant they fail with LEASE_LOST", async () => {
      const c = await s.store.createContext({ state: { n: 0 } });
      const a = await s.store.acquireLease(c.id, { holder: "a", ttlMs: 60_000 });
      await s.store.replaceState(c.id, { n: 1 }, { fencingToken: a.token });
      await s.store.append(c.id, { type: "message" }, { fencingToken: a.token });
      await s.store.releaseLease(c.id, { holder: "a", token: a.token });
      const b = await s.store.acquireLease(c.id, { holder: "b", ttlMs: 60_000 });
      const before = await fingerprint(s.store, c.id);
      await expectError(() => s.store.replaceState(c.id, { n: 2 }, { fencingToken: a.token }), "LEASE_LOST");
      await expectError(() => s.store.patchState(c.id, { n: 2 }, { fencingToken: a.token }), "LEASE_LOST");
      await expectError(() => s.store.setStateAt(c.id, "/n", 2, { fencingToken: a.token }), "LEASE_LOST");
      await expectError(() => s.store.append(c.id, { type: "message" }, { fencingToken: a.token }), "LEASE_LOST");
      await expectError(() => s.store.restore(c.id, { version: 1 }, { fencingToken: a.token }), "LEASE_LOST");
      expect(await fingerprint(s.store, c.id)).toEqual(before);
      const ok = await s.store.patchState(c.id, { n: 3 }, { fencingToken: b.token });
      expect(ok.state).toEqual({ n: 3 });
    });

    s.test("leases", "a write with a fencing token when no lease is held fails with LEASE_LOST", async () => {
      const c = await s.store.createContext();
      const a = await s.store.acquireLease(c.id, { holder: "a" });
      await s.store.releaseLease(c.id, { holder: "a", token: a.token });
      await expectError(() => s.store.patchState(c.id, { x: 1 }, { fencingToken: a.token }), "LEASE_LOST");
      expect((await s.store.getState(c.id)).version).toBe(1);
    });

    s.test("leases", "an expired lease lets another holder take it, and the old token's writes fail with LEASE_LOST", async () => {
      const c = await s.store.createContext();
      const a = await s.store.acquireLease(c.id, { holder: "a", ttlMs: 50 });
      await waitFor(async () => (await s.store.getLease(c.id)) === null, s.waitMs, "the lease to expire");
      await expectError(() => s.store.patchState(c.id, { x: 1 }, { fencingToken: a.token }), "LEASE_LOST");
      await expectError(() => s.store.renewLease(c.id, { holder: "a", token: a.token }), "LEASE_LOST");
      const b = await s.store.acquireLease(c.id, { holder: "b", waitMs: 0, ttlMs: 60_000 });
      expect(b.token).toBeGreaterThan(a.token);
    });

    s.test("leases", "a waiting acquire gets the lease when the holder's lease expires", async () => {
      const c = await s.store.createContext();
      const a = await s.store.acquireLease(c.id, { holder: "a", ttlMs: 50 });
      const b = await s.store.acquireLease(c.id, { holder: "b", waitMs: s.waitMs, ttlMs: 60_000 });
      expect(b.token).toBeGreaterThan(a.token);
      expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(a.expiresAt));
    });

    s.test("leases", "an AbortSignal cancels a waiting acquire with ABORTED", async () => {
      const c = await s.store.createContext();
      const a = await s.store.acquireLease(c.id, { holder: "a", ttlMs: 60_000 });
      const controller = new AbortController();
      const waiting = s.store.acquireLease(c.id, { holder: "b", waitMs: 60_000, signal: controller.signal });
      controller.abort();
      await within(expectError(() => waiting, "ABORTED"), s.waitMs, "the aborted acquire to settle");
      await expectError(() => s.store.acquireLease(c.id, { holder: "b", waitMs: 60_000, signal: AbortSignal.abort() }), "ABORTED");
      expect(await s.store.getLease(c.id)).toEqual(a);
    });

    s.test("leases", "of many concurrent acquires, exactly one is granted", async () => {
      const c = await s.store.createContext();
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => s.store.acquireLease(c.id, { holder: `h${i}`, ttlMs: 60_000 })),
      );
      const granted = results.filter((r) => r.status === "fulfilled");
      expect(granted).toHaveLength(1);
      for (const r of results) if (r.status === "rejected") expect((r.reason as { code?: unknown }).code).toBe("LOCK_TIMEOUT");
      expect((await s.store.getLease(c.id))?.holder).toBe(granted[0]?.status === "fulfilled" ? granted[0].value.holder : "?");
    });

    s.test("leases", "several waiting holders each get the lease in turn, with increasing tokens", async () => {
      const c = await s.store.createContext();
      const first = await s.store.acquireLease(c.id, { holder: "h0", ttlMs: 60_000 });
      const holders = ["h1", "h2", "h3"];
      const order: string[] = [];
      const tokens: number[] = [first.token];
      // Each waiter, once granted, records itself and releases, letting the next one in.
      const waiters = holders.map(async (holder) => {
        const lease = await s.store.acquireLease(c.id, { holder, ttlMs: 60_000, waitMs: s.waitMs });
        order.push(holder);
        tokens.push(lease.token);
        await s.store.releaseLease(c.id, { holder, token: lease.token });
      });
      await s.store.releaseLease(c.id, { holder: "h0", token: first.token });
      await within(Promise.all(waiters), s.waitMs * 2, "every waiter to get the lease");
      expect([...order].sort()).toEqual(holders);
      for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1] as number);
      expect(await s.store.getLease(c.id)).toBeNull();
    });

    s.test("leases", "a lease on one context does not block another context", async () => {
      const a = await s.store.createContext();
      const b = await s.store.createContext();
      await s.store.acquireLease(a.id, { holder: "x", ttlMs: 60_000 });
      const other = await s.store.acquireLease(b.id, { holder: "y", waitMs: 0 });
      expect(other.contextId).toBe(b.id);
    });

    s.test("leases", "leases of an unknown context fail with NOT_FOUND", async () => {
      await expectError(() => s.store.acquireLease("missing-context", { holder: "a" }), "NOT_FOUND");
      await expectError(() => s.store.getLease("missing-context"), "NOT_FOUND");
    });
  });
}
