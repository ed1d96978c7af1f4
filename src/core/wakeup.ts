/**
 * A wait that ends on the first of: a wake-up call, a timeout, the caller's abort signal
 * or the store closing. Used by lease waits and watchers; all listeners are removed after.
 */
import type { Engine } from "./engine.js";

/** Why a {@link Wakeup.wait} ended. */
export type WakeReason = "woken" | "timeout" | "aborted" | "closed";

/** A reusable wait (see module docs). */
export interface Wakeup {
  /** Waits until woken, or `ms` pass (no timeout when undefined). A wake-up before the wait is not lost. */
  wait(ms?: number): Promise<WakeReason>;
  wake(): void;
  dispose(): void;
}

/** Creates a {@link Wakeup} bound to the store's close and to `signal`. */
export function createWakeup(engine: Engine, signal: AbortSignal | undefined): Wakeup {
  let pending = false;
  let resolve: ((r: WakeReason) => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const settle = (r: WakeReason) => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const done = resolve;
    resolve = undefined;
    if (done) done(r);
    else if (r === "woken") pending = true;
  };
  const onAbort = () => settle("aborted");
  const onClose = () => settle("closed");
  signal?.addEventListener("abort", onAbort);
  engine.onClose.add(onClose);
  return {
    wait(ms) {
      if (signal?.aborted) return Promise.resolve("aborted");
      if (engine.closed) return Promise.resolve("closed");
      if (pending) {
        pending = false;
        return Promise.resolve("woken");
      }
      return new Promise<WakeReason>((r) => {
        resolve = r;
        if (ms !== undefined) {
          timer = setTimeout(() => settle("timeout"), Math.max(0, ms));
          timer.unref();
        }
      });
    },
    wake: () => settle("woken"),
    dispose() {
      signal?.removeEventListener("abort", onAbort);
      engine.onClose.delete(onClose);
      if (timer) clearTimeout(timer);
      resolve = undefined;
    },
  };
}
