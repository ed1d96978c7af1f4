/**
 * `wrapDriver(inner, overrides)`: a driver that is `inner` except for what a wrapping tier
 * changes (a cache, metrics, a circuit breaker). Part of the contract: any driver may use it.
 */
import type { Driver, DriverCapabilities, DriverStats, EventSearchArea } from "./driver.js";
import type { MemoryArea } from "./memory-area.js";
import type { BlockArea } from "./block-area.js";

/** The methods of the driver contract (each passed to `inner` unless overridden). */
export const DRIVER_METHODS = [
  "open", "close", "ping", "insertContext", "getContext", "listContexts", "updateContext", "deleteContext",
  "readHead", "commit", "readEvents", "countEvents", "readCheckpoint", "listSnapshots", "getSnapshot",
  "latestSnapshotBefore", "compact", "purgeExpired", "tryAcquireLease", "renewLease", "releaseLease", "getLease",
  "getActiveContext", "setActiveContext", "putSchema", "getSchema", "listSchemas", "deleteSchema", "subscribe",
] as const satisfies readonly (keyof Driver)[];

/** Methods a driver may leave out (the store then does without them). */
export const OPTIONAL_DRIVER_METHODS = ["readState"] as const satisfies readonly (keyof Driver)[];

type Method = (typeof DRIVER_METHODS)[number];
type OptionalMethod = (typeof OPTIONAL_DRIVER_METHODS)[number];
// A method added to the contract must be listed above: this fails to compile otherwise.
type Unlisted = Exclude<keyof Driver, Method | OptionalMethod | "name" | "capabilities" | "search" | "memory" | "blocks" | "stats">;
const everyMethodListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyMethodListed;

/** What a wrapper replaces: any method, an optional area, the name or the capabilities. */
export type DriverOverrides = Partial<Pick<Driver, Method>> & {
  /** Replaces an optional method (`undefined` removes it; leave the key out to keep `inner`'s). */
  readState?: Driver["readState"] | undefined;
  name?: string;
  capabilities?: DriverCapabilities;
  /** Replaces the search area (`undefined` removes it; leave the key out to keep `inner`'s). */
  search?: EventSearchArea | undefined;
  /** Replaces the memory area (`undefined` removes it; leave the key out to keep `inner`'s). */
  memory?: MemoryArea | undefined;
  /** Replaces the block area (`undefined` removes it; leave the key out to keep `inner`'s). */
  blocks?: BlockArea | undefined;
  /** Replaces the stats (a tier merges its own into `inner.stats?.()`). */
  stats?: () => DriverStats;
};

/**
 * A driver that calls `inner` for everything `overrides` does not replace. Methods are
 * called on `inner` (class-based drivers keep their `this`); optional areas pass through
 * whole unless overridden; capabilities are `inner`'s unless overridden.
 * @example
 * ```ts
 * const counted = wrapDriver(inner, {
 *   commit: (tenant, id, mutation, call) => {
 *     commits++;
 *     return inner.commit(tenant, id, mutation, call);
 *   },
 * });
 * ```
 */
export function wrapDriver(inner: Driver, overrides: DriverOverrides): Driver {
  const out: Record<string, unknown> = {
    name: overrides.name ?? inner.name,
    capabilities: overrides.capabilities ?? inner.capabilities,
    search: "search" in overrides ? overrides.search : inner.search,
    memory: "memory" in overrides ? overrides.memory : inner.memory,
    blocks: "blocks" in overrides ? overrides.blocks : inner.blocks,
  };
  const stats = overrides.stats ?? inner.stats?.bind(inner);
  if (stats !== undefined) out["stats"] = stats;
  for (const m of OPTIONAL_DRIVER_METHODS) {
    const own = m in overrides ? overrides[m] : (inner[m] as ((...a: unknown[]) => unknown) | undefined)?.bind(inner);
    if (own !== undefined) out[m] = own;
  }
  for (const m of DRIVER_METHODS) {
    const own = overrides[m];
    out[m] = own ?? (inner[m] as (...a: unknown[]) => unknown).bind(inner);
  }
  return out as unknown as Driver;
}
