/**
 * Lease rows: one per context, keeping its last token after a release so that the next
 * grant gets a larger one. Each function runs inside the caller's transaction.
 */
import { ContextError, contextNotFound } from "../../errors.js";
import type { LeaseRecord } from "../driver.js";
import type { LeaseRow } from "./rows.js";
import type { Statements } from "./statements.js";

function visiblePk(s: Statements, tenant: string, id: string, now: number): number | undefined {
  return s.visiblePk.get(tenant, id, now) as number | undefined;
}

/** Grants the lease unless another holder has an unexpired one. */
export function acquireLease(
  s: Statements,
  tenant: string,
  id: string,
  holder: string,
  ttlMs: number,
  now: number,
): { granted: boolean; lease: LeaseRecord } {
  const pk = visiblePk(s, tenant, id, now);
  if (pk === undefined) throw contextNotFound(id);
  const row = s.getLease.get(pk) as LeaseRow | undefined;
  if (row !== undefined && row.holder !== null && row.holder !== holder && row.expires_at > now) {
    return { granted: false, lease: { holder: row.holder, token: row.token, expiresAt: row.expires_at } };
  }
  const lease = { holder, token: (row?.token ?? 0) + 1, expiresAt: now + ttlMs };
  s.putLease.run(pk, holder, lease.token, lease.expiresAt);
  return { granted: true, lease };
}

/** Extends the lease if `token` is current and unexpired; `LEASE_LOST` otherwise. */
export function renewLease(
  s: Statements,
  tenant: string,
  id: string,
  holder: string,
  token: number,
  ttlMs: number,
  now: number,
): LeaseRecord {
  const pk = visiblePk(s, tenant, id, now);
  if (pk === undefined) throw contextNotFound(id);
  const row = s.getLease.get(pk) as LeaseRow | undefined;
  if (row === undefined || row.holder !== holder || row.token !== token || row.expires_at <= now) {
    throw new ContextError("LEASE_LOST", `the lease with token ${token} on context ${id} is no longer held by ${holder}`, {
      details: { contextId: id, token, currentToken: row?.token ?? null },
    });
  }
  s.renewLease.run(now + ttlMs, pk);
  return { holder, token, expiresAt: now + ttlMs };
}

/** Releases the lease if `token` is current; false otherwise. */
export function releaseLease(s: Statements, tenant: string, id: string, holder: string, token: number, now: number): boolean {
  const pk = visiblePk(s, tenant, id, now);
  if (pk === undefined) return false;
  const row = s.getLease.get(pk) as LeaseRow | undefined;
  if (row === undefined || row.holder !== holder || row.token !== token) return false;
  s.releaseLease.run(pk);
  return true;
}

/** The held, unexpired lease, if any. */
export function readLease(s: Statements, tenant: string, id: string, now: number): LeaseRecord | null {
  const pk = visiblePk(s, tenant, id, now);
  if (pk === undefined) return null;
  const row = s.getLease.get(pk) as LeaseRow | undefined;
  return row === undefined || row.holder === null || row.expires_at <= now
    ? null
    : { holder: row.holder, token: row.token, expiresAt: row.expires_at };
}
