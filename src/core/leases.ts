/**
 * Leases: exclusive, expiring rights to act on a context, with fencing tokens.
 * Waiting for a lease held elsewhere re-checks on every change notice for the context,
 * and at least every `leasePollMs` (a holder in another process may just let it expire).
 */
import { ContextError, contextNotFound, invalidInput } from "../errors.js";
import type { DriverCall, LeaseRecord } from "../drivers/driver.js";
import type { Engine } from "./engine.js";
import { abortError, checkInt, checkOptions, checkText, iso } from "./validate.js";
import { createWakeup } from "./wakeup.js";
import type { AcquireLeaseOptions, Lease, LeaseRef } from "./types.js";

const MAX_TTL = 24 * 60 * 60 * 1000;

/** The public form of a lease row. */
export function toLease(contextId: string, l: LeaseRecord): Lease {
  return { contextId, holder: l.holder, token: l.token, expiresAt: iso(l.expiresAt) };
}

/** Acquires the lease on `id`, waiting up to `waitMs`. */
export async function acquireLease(engine: Engine, tenant: string, id: string, input: AcquireLeaseOptions): Promise<Lease> {
  const o = checkOptions<AcquireLeaseOptions>(input, "options", ["holder", "ttlMs", "waitMs", "signal"]);
  const holder = checkText(o.holder, "holder");
  const ttlMs = o.ttlMs === undefined ? 30_000 : checkInt(o.ttlMs, "ttlMs", 1, MAX_TTL);
  const waitMs = o.waitMs === undefined ? 0 : checkInt(o.waitMs, "waitMs", 0, MAX_TTL);
  const signal = o.signal;
  const d = engine.driver;
  const deadline = engine.now() + waitMs;
  const wakeup = createWakeup(engine, signal);
  const unsubscribe = d.subscribe((n) => {
    if (n.contextId === undefined || (n.contextId === id && n.tenant === tenant)) wakeup.wake();
  });
  try {
    for (;;) {
      // Each attempt reads the clock anew: a lease held elsewhere may have expired meanwhile.
      const call: DriverCall = { now: engine.now(), signal };
      const r = await engine.run(() => d.tryAcquireLease(tenant, id, holder, ttlMs, call));
      if (r.granted) return toLease(id, r.lease);
      const left = deadline - engine.now();
      if (left <= 0) {
        throw new ContextError("LOCK_TIMEOUT", `the lease on context ${id} is held by ${r.lease.holder} until ${iso(r.lease.expiresAt)}`, {
          details: { contextId: id, holder: r.lease.holder, expiresAt: iso(r.lease.expiresAt), waitedMs: waitMs },
        });
      }
      const untilExpiry = Math.max(1, r.lease.expiresAt - engine.now());
      const reason = await wakeup.wait(Math.min(left, untilExpiry, engine.leasePollMs));
      if (reason === "aborted" && signal) throw abortError(signal);
      if (reason === "closed") throw new ContextError("CLOSED", "the store closed while waiting for a lease");
    }
  } finally {
    unsubscribe();
    wakeup.dispose();
  }
}

function checkRef(id: string, input: LeaseRef): { holder: string; token: number; ttlMs: number } {
  // A `Lease` as acquireLease returned it is a valid reference: its contextId and expiresAt come along.
  const o = checkOptions<LeaseRef & { contextId?: unknown; expiresAt?: unknown }>(input, "lease", [
    "holder", "token", "ttlMs", "signal", "contextId", "expiresAt",
  ]);
  if (o.contextId !== undefined && o.contextId !== id) {
    throw invalidInput("lease.contextId", `is the lease of another context (${String(o.contextId)}), not of ${id}`);
  }
  return {
    holder: checkText(o.holder, "holder"),
    token: checkInt(o.token, "token", 1),
    ttlMs: o.ttlMs === undefined ? 30_000 : checkInt(o.ttlMs, "ttlMs", 1, MAX_TTL),
  };
}

/** Extends a lease the caller still holds. */
export async function renewLease(engine: Engine, tenant: string, id: string, input: LeaseRef): Promise<Lease> {
  const { holder, token, ttlMs } = checkRef(id, input);
  const call = engine.begin(input);
  return toLease(id, await engine.run(() => engine.driver.renewLease(tenant, id, holder, token, ttlMs, call)));
}

/** Releases a lease; releasing a lease that was already lost is not an error. */
export async function releaseLease(engine: Engine, tenant: string, id: string, input: LeaseRef): Promise<void> {
  const { holder, token } = checkRef(id, input);
  const call = engine.begin(input);
  const released = await engine.run(() => engine.driver.releaseLease(tenant, id, holder, token, call));
  if (!released && (await engine.run(() => engine.driver.getContext(tenant, id, call))) === null) throw contextNotFound(id);
}
