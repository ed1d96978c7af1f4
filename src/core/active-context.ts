/**
 * The active context: per holder (an agent or a client), the context it works in now, and a
 * default to fall back on. Deleted or expired contexts in either slot are skipped.
 */
import type { DriverCall } from "../drivers/driver.js";
import { requireContext, toContextInfo, type Engine } from "./engine.js";
import type { ContextInfo } from "./types.js";

/** Makes `contextId` the active context of `holder`; returns the previously active one. */
export async function switchContext(
  engine: Engine,
  tenant: string,
  call: DriverCall,
  holder: string,
  contextId: string,
): Promise<string | null> {
  await requireContext(engine, tenant, contextId, call);
  return engine.run(() => engine.driver.setActiveContext(tenant, holder, "active", contextId, call));
}

/** Clears the active context of `holder`; returns the one that was active. */
export function deactivate(engine: Engine, tenant: string, call: DriverCall, holder: string): Promise<string | null> {
  return engine.run(() => engine.driver.setActiveContext(tenant, holder, "active", null, call));
}

/** The active context of `holder`, else its default, else `null`. */
export async function currentContext(engine: Engine, tenant: string, call: DriverCall, holder: string): Promise<ContextInfo | null> {
  const d = engine.driver;
  for (const slot of ["active", "default"] as const) {
    const id = await engine.run(() => d.getActiveContext(tenant, holder, slot, call));
    if (id === null) continue;
    const r = await engine.run(() => d.getContext(tenant, id, call));
    if (r !== null) return toContextInfo(r);
  }
  return null;
}

/** Sets (or with `null` clears) the default context of `holder`. */
export async function setDefaultContext(
  engine: Engine,
  tenant: string,
  call: DriverCall,
  holder: string,
  contextId: string | null,
): Promise<void> {
  if (contextId !== null) await requireContext(engine, tenant, contextId, call);
  await engine.run(() => engine.driver.setActiveContext(tenant, holder, "default", contextId, call));
}
