/**
 * `meteredDriver(inner, metrics)`: a tier (built with `wrapDriver`) that times every call of
 * the driver contract by call and outcome. The engine is unchanged; the backend's own latency
 * (a commit, a head read) shows apart from the store operation that made the call.
 */
import { performance } from "node:perf_hooks";
import { DRIVER_METHODS, OPTIONAL_DRIVER_METHODS, wrapDriver } from "../drivers/wrap.js";
import type { DriverOverrides } from "../drivers/wrap.js";
import type { Driver } from "../drivers/driver.js";
import { outcomeOf } from "./metrics.js";
import type { StoreMetrics } from "./metrics.js";

/** Calls not timed: lifecycle and the change feed (a subscription, not a call). */
const UNTIMED = new Set<string>(["open", "close", "subscribe"]);

/** Wraps `inner` so that each call is recorded in `metrics`. */
export function meteredDriver(inner: Driver, metrics: StoreMetrics): Driver {
  const overrides: Record<string, unknown> = {};
  for (const m of [...DRIVER_METHODS, ...OPTIONAL_DRIVER_METHODS]) {
    if (UNTIMED.has(m)) continue;
    const fn = inner[m] as ((...a: unknown[]) => Promise<unknown>) | undefined;
    if (fn === undefined) continue;
    const ok = metrics.driverCallOk(m);
    overrides[m] = (...args: unknown[]): Promise<unknown> => {
      const start = performance.now();
      let p: Promise<unknown>;
      try {
        p = fn.apply(inner, args);
      } catch (e) {
        p = Promise.reject(e as Error);
      }
      return p.then(
        (v) => {
          ok((performance.now() - start) / 1000);
          return v;
        },
        (e: unknown) => {
          metrics.driverCall(m, outcomeOf(e), (performance.now() - start) / 1000);
          throw e;
        },
      );
    };
  }
  return wrapDriver(inner, overrides as DriverOverrides);
}
