/**
 * A one-holder gate with a FIFO of waiters that leave when their signal fires: per rate-limited
 * key, only the gate's holder waits for a rate reservation while holding a slot of the overall
 * concurrency, so a throttled key never fills every slot with calls that only wait.
 */
import { abortReason } from "./retry.js";

export class Gate {
  #held = false;
  readonly #waiters: { grant: () => void }[] = [];

  /** Resolves when the caller holds the gate; rejects with `ABORTED` (and leaves the line) when `signal` fires first. */
  enter(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        grant: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(abortReason(signal!));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Hands the gate to the next waiter, or opens it. */
  leave(): void {
    const next = this.#waiters.shift();
    if (next === undefined) this.#held = false;
    else next.grant();
  }
}
