import { describe, expect, it } from "vitest";
import { ContextError, isContextError } from "../errors.js";
import { inMemoryDriver } from "../drivers/in-memory.js";
import type { Driver, EventRecordQuery } from "../drivers/driver.js";
import { createStore } from "../open.js";

/** Wraps a driver to count how many events each readEvents call returns. */
function countingDriver(inner: Driver): { driver: Driver; reads: number[] } {
  const reads: number[] = [];
  const driver: Driver = {
    ...inner,
    async readEvents(tenant: string, id: string, q: EventRecordQuery) {
      const rows = await inner.readEvents(tenant, id, q);
      reads.push(rows.length);
      return rows;
    },
  };
  return { driver, reads };
}

describe("embedded store (core behaviour beyond the conformance suite)", () => {
  it("rebuilds any version from the nearest checkpoint, replaying fewer writes than checkpointEvery", async () => {
    const { driver, reads } = countingDriver(inMemoryDriver());
    const store = await createStore(driver, { checkpointEvery: 16 });
    const ctx = await store.createContext({ state: { n: 0 } });
    for (let i = 1; i <= 300; i++) await store.patchState(ctx.id, { n: i });
    for (const v of [2, 17, 150, 299]) {
      reads.length = 0;
      const r = await store.stateAt(ctx.id, { version: v });
      expect(r.state).toEqual({ n: v - 1 });
      expect(Math.max(...reads)).toBeLessThan(16);
    }
    await store.close();
  });

  it("fills event token counts with the configured counter unless the caller gives one", async () => {
    const store = await createStore(inMemoryDriver(), { tokenCounter: (e) => JSON.stringify(e.data).length });
    const ctx = await store.createContext();
    const [a, b] = await store.append(ctx.id, [{ type: "message", data: "abc" }, { type: "message", data: "x", tokens: 42 }]);
    expect(a?.tokens).toBe(5);
    expect(b?.tokens).toBe(42);
    await store.close();
  });

  it("refuses unknown option names instead of ignoring a typo", async () => {
    const store = await createStore(inMemoryDriver());
    const ctx = await store.createContext();
    await expect(
      store.replaceState(ctx.id, { a: 1 }, { expectedVerison: 1 } as unknown as { expectedVersion: number }),
    ).rejects.toSatisfy((e) => isContextError(e, "INVALID_INPUT"));
    expect((await store.getState(ctx.id)).version).toBe(1);
    await store.close();
  });

  it("wakes a waiting watcher and lease waiter with CLOSED/end when the store closes", async () => {
    const store = await createStore(inMemoryDriver());
    const ctx = await store.createContext();
    await store.acquireLease(ctx.id, { holder: "a", ttlMs: 60_000 });
    const waiting = store.acquireLease(ctx.id, { holder: "b", waitMs: 60_000 });
    const it = store.watch(ctx.id);
    const next = it.next();
    await store.close();
    await expect(waiting).rejects.toSatisfy((e) => isContextError(e, "CLOSED"));
    await expect(next).resolves.toEqual({ done: true, value: undefined });
  });

  it("keeps a watch going through a backend outage and resumes from the last delivered seq", async () => {
    const inner = inMemoryDriver();
    let failuresLeft = 0;
    let failed = 0;
    const driver: Driver = {
      ...inner,
      async readEvents(tenant: string, id: string, q: EventRecordQuery) {
        if (failuresLeft > 0) {
          failuresLeft--;
          failed++;
          throw new ContextError("DRIVER_UNAVAILABLE", "backend gone");
        }
        return inner.readEvents(tenant, id, q);
      },
    };
    const store = await createStore(driver);
    const ctx = await store.createContext();
    await store.append(ctx.id, [{ type: "a" }, { type: "b" }]);
    const it = store.watch(ctx.id, { afterSeq: 0 });
    expect((await it.next()).value?.seq).toBe(1);
    expect((await it.next()).value?.seq).toBe(2);
    failuresLeft = 3;
    const next = it.next();
    await store.append(ctx.id, { type: "c" });
    expect((await next).value?.seq).toBe(3);
    expect(failed).toBe(3);
    await store.close();
  });
});
