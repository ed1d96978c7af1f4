import { describe, expect, it } from "vitest";
import { createStore } from "../open.js";
import { ContextError, isContextError } from "../errors.js";
import { circuitBreaker } from "./circuit-breaker.js";
import { inMemoryDriver } from "./in-memory/driver.js";
import { wrapDriver } from "./wrap.js";

/** An in-memory driver whose backend can be made unreachable, counting the calls that reach it. */
function flakyDriver() {
  const inner = inMemoryDriver();
  const s = { down: false, reached: 0 };
  const driver = wrapDriver(inner, {
    readHead: (tenant, id, call) => {
      s.reached++;
      if (s.down) return Promise.reject(new ContextError("DRIVER_UNAVAILABLE", "connection refused"));
      return inner.readHead(tenant, id, call);
    },
    ping: (call) => {
      s.reached++;
      if (s.down) return Promise.reject(new ContextError("DRIVER_UNAVAILABLE", "connection refused"));
      return inner.ping(call);
    },
  });
  return { driver, s };
}

describe("circuitBreaker (driver tier)", () => {
  it("fails fast after the threshold without reaching the backend, probes after openMs and recovers", async () => {
    let t = 1_000;
    const { driver, s } = flakyDriver();
    const breaker = circuitBreaker(driver, { name: "flaky", failureThreshold: 2, openMs: 500, now: () => t });
    const store = await createStore(breaker, { embedder: null });
    try {
      const ctx = await store.createContext({ state: { n: 1 } });
      s.down = true;
      for (let i = 0; i < 2; i++) expect(isContextError(await store.getState(ctx.id).catch((e: unknown) => e), "DRIVER_UNAVAILABLE")).toBe(true);
      const reached = s.reached;
      const fast = await store.getState(ctx.id).catch((e: unknown) => e);
      expect(isContextError(fast, "DRIVER_UNAVAILABLE")).toBe(true);
      expect((fast as ContextError).details).toMatchObject({ circuit: "flaky", state: "open", retryInMs: 500 });
      expect((fast as ContextError).cause).toBeInstanceOf(ContextError);
      expect(s.reached).toBe(reached);
      // Health shows the open circuit without reaching the backend either.
      const health = await store.health();
      expect(health.ok).toBe(false);
      expect(health.details).toMatchObject({ code: "DRIVER_UNAVAILABLE", circuit: { circuit: "flaky", state: "open" } });
      expect(s.reached).toBe(reached);

      s.down = false;
      t += 500;
      expect((await store.getState(ctx.id)).state).toEqual({ n: 1 });
      expect(breaker.circuit.state).toBe("closed");
      expect((await store.health()).details).toMatchObject({ circuit: { state: "closed", counters: { opened: 1, halfOpened: 1, closed: 1 } } });
    } finally {
      await store.close();
    }
  });

  it("answers from the backend other than DRIVER_UNAVAILABLE (NOT_FOUND, VERSION_CONFLICT) never open it", async () => {
    const breaker = circuitBreaker(inMemoryDriver(), { name: "answers", failureThreshold: 1 });
    const store = await createStore(breaker, { embedder: null });
    try {
      const ctx = await store.createContext({ state: {} });
      for (let i = 0; i < 3; i++) {
        await expect(store.getState("missing")).rejects.toMatchObject({ code: "NOT_FOUND" });
        await expect(store.replaceState(ctx.id, { a: i }, { expectedVersion: 99 })).rejects.toMatchObject({ code: "VERSION_CONFLICT" });
      }
      expect(breaker.circuit.state).toBe("closed");
    } finally {
      await store.close();
    }
  });
});
