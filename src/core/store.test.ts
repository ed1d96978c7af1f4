import { describe, expect, it } from "vitest";
import { ContextError, isContextError } from "../errors.js";
import { inMemoryDriver } from "../drivers/in-memory/driver.js";
import type { Driver, DriverCall, EventSearchArea } from "../drivers/driver.js";
import { DRIVER_METHODS, wrapDriver, type DriverOverrides } from "../drivers/wrap.js";
import { createStore } from "../open.js";
import type { Embedder } from "./embedder.js";
import { testEmbedder } from "../testing/test-embedder.js";

/** Wraps a driver to count how many events each readEvents call returns. */
function countingDriver(inner: Driver): { driver: Driver; reads: number[] } {
  const reads: number[] = [];
  const driver = wrapDriver(inner, {
    async readEvents(tenant, id, q, call) {
      const rows = await inner.readEvents(tenant, id, q, call);
      reads.push(rows.length);
      return rows;
    },
  });
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
    const driver = wrapDriver(inner, {
      async readEvents(tenant, id, q, call) {
        if (failuresLeft > 0) {
          failuresLeft--;
          failed++;
          throw new ContextError("DRIVER_UNAVAILABLE", "backend gone");
        }
        return inner.readEvents(tenant, id, q, call);
      },
    });
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

  it("passes the store's clock and the caller's signal to every driver call it makes", async () => {
    const inner = inMemoryDriver();
    const seen: { method: string; call: DriverCall }[] = [];
    const overrides: Record<string, unknown> = {};
    for (const m of DRIVER_METHODS) {
      if (m === "open" || m === "close" || m === "subscribe") continue;
      const fn = (inner[m] as (...a: unknown[]) => Promise<unknown>).bind(inner);
      overrides[m] = (...args: unknown[]) => {
        seen.push({ method: m, call: args[args.length - 1] as DriverCall });
        return fn(...args);
      };
    }
    const search: EventSearchArea = {
      searchEvents: (tenant, q, call) => {
        seen.push({ method: "search.searchEvents", call });
        return (inner.search as EventSearchArea).searchEvents(tenant, q, call);
      },
    };
    const now = Date.UTC(2031, 5, 1);
    const store = await createStore(wrapDriver(inner, { ...(overrides as DriverOverrides), search }), { now: () => now });
    const signal = new AbortController().signal;
    const o = { signal };
    const c = await store.createContext({ id: "c" }, o);
    await store.getContext("c", o);
    await store.listContexts({ signal });
    await store.updateContext("c", { title: "t" }, o);
    await store.getState("c", o);
    await store.patchState("c", { a: 1 }, o);
    await store.append("c", { type: "message", data: "hi there" }, o);
    await store.readEvents("c", o);
    await store.countEvents("c", o);
    await store.searchEvents({ text: "hi", signal });
    await store.stateAt("c", { version: 1 }, o);
    await store.createSnapshot("c", { name: "s", signal });
    await store.listSnapshots("c", o);
    await store.getSnapshot("c", "s", o);
    await store.restore("c", { before: now }, o);
    await store.compact("c", { beforeSeq: 2, signal });
    await store.fork("c", { id: "f", signal });
    await store.switchContext("h", "c", o);
    await store.currentContext("h", o);
    await store.setDefaultContext("h", "c", o);
    const lease = await store.acquireLease("c", { holder: "x", signal });
    await store.renewLease("c", { ...lease, signal });
    await store.getLease("c", o);
    await store.releaseLease("c", { ...lease, signal });
    await store.setSchema("k", { type: "object" }, o);
    await store.getSchema("k", o);
    await store.listSchemas(o);
    await store.deleteSchema("k", o);
    // The fork reads c's history: it goes first (else HAS_FORKS).
    await store.deleteContext("f", o);
    await store.deleteContext(c.id, o);
    await store.purgeExpired(o);
    await store.health(o);
    await store.close();
    const wrong = seen.filter((s) => s.call.signal !== signal || s.call.now !== now).map((s) => s.method);
    expect(wrong).toEqual([]);
    const called = new Set(seen.map((s) => s.method));
    const never = DRIVER_METHODS.filter((m) => !["open", "close", "subscribe"].includes(m) && !called.has(m));
    expect(never).toEqual([]);
  });

  it("answers NOT_SUPPORTED for search on a driver without the search area, and says so in health", async () => {
    const inner = inMemoryDriver();
    const store = await createStore(wrapDriver(inner, { capabilities: { ...inner.capabilities, search: false }, search: undefined }));
    const c = await store.createContext();
    await store.append(c.id, { type: "message", data: "hello" });
    const e = await store.searchEvents({ text: "hello" }).catch((x: unknown) => x);
    expect(isContextError(e, "NOT_SUPPORTED")).toBe(true);
    expect((await store.health()).capabilities.search).toBe(false);
    await store.close();
  });

  it("refuses a driver whose capabilities do not match its areas", async () => {
    const inner = inMemoryDriver();
    const e = await createStore(wrapDriver(inner, { search: undefined })).catch((x: unknown) => x);
    expect(isContextError(e, "INVALID_INPUT")).toBe(true);
  });

  describe("long-term memory and the embedding model", () => {
    const failing = (): Embedder => ({
      model: "broken",
      dimensions: 64,
      embed: () => Promise.reject(new Error("model crashed")),
    });

    it("an embedder that fails gives EMBEDDING_FAILED and writes nothing", async () => {
      const store = await createStore(inMemoryDriver(), { embedder: failing() });
      const e = await store.addMemories({ scope: { userId: "u" }, text: "hello" }).catch((x: unknown) => x);
      expect(isContextError(e, "EMBEDDING_FAILED")).toBe(true);
      expect((e as Error).message).toContain("model crashed");
      expect((await store.listMemories()).items).toEqual([]);
      await store.close();
    });

    it("an embedder that returns vectors of the wrong length gives EMBEDDING_FAILED and writes nothing", async () => {
      const short: Embedder = { model: "short", dimensions: 64, embed: async (t) => t.map(() => new Float32Array(3).fill(1)) };
      const store = await createStore(inMemoryDriver(), { embedder: short });
      const e = await store.addMemories({ scope: { userId: "u" }, text: "hello" }).catch((x: unknown) => x);
      expect(isContextError(e, "EMBEDDING_FAILED")).toBe(true);
      expect((await store.listMemories()).items).toEqual([]);
      await store.close();
    });

    it("without an embedding model: text and hybrid search work on words, vector search is NOT_SUPPORTED", async () => {
      const store = await createStore(inMemoryDriver(), { embedder: null });
      await store.addMemories({ scope: { userId: "u" }, text: "the red kite flies high" });
      const [hit] = await store.searchMemories({ text: "kite" });
      expect(hit?.vectorScore).toBeNull();
      expect(hit?.memory.embedding).toBeNull();
      const e = await store.searchMemories({ text: "kite", mode: "vector" }).catch((x: unknown) => x);
      expect(isContextError(e, "NOT_SUPPORTED")).toBe(true);
      await store.close();
    });

    it("vectors of another model are MODEL_MISMATCH until reindexMemories re-embeds them, in batches with progress", async () => {
      const driver = inMemoryDriver();
      const first = await createStore(driver, { embedder: testEmbedder() });
      for (let i = 0; i < 5; i++) await first.addMemories({ scope: { userId: "u" }, text: `fact number ${i} about kites` });
      const other: Embedder = { ...testEmbedder(), model: "another-model" };
      const second = await createStore(driver, { embedder: other });
      const e = await second.searchMemories({ text: "kites" }).catch((x: unknown) => x);
      expect(isContextError(e, "MODEL_MISMATCH")).toBe(true);
      expect((e as Error).message).toContain("reindex");
      expect((await second.searchMemories({ text: "kites", mode: "text" })).length).toBe(5);
      const progress: number[] = [];
      expect(await second.reindexMemories({ batchSize: 2, onProgress: (p) => progress.push(p.done) })).toEqual({ reindexed: 5, remaining: 0 });
      expect(progress).toEqual([2, 4, 5]);
      const hits = await second.searchMemories({ text: "kites" });
      expect(hits).toHaveLength(5);
      expect(hits.every((h) => h.memory.embedding?.model === "another-model")).toBe(true);
      expect(await second.reindexMemories()).toEqual({ reindexed: 0, remaining: 0 });
      await second.close();
    });

    it("reindexMemories with a limit embeds that many and says how many remain; the next call resumes", async () => {
      const driver = inMemoryDriver();
      const first = await createStore(driver, { embedder: testEmbedder() });
      for (let i = 0; i < 5; i++) await first.addMemories({ scope: { userId: "u" }, text: `kite fact ${i}` });
      const second = await createStore(driver, { embedder: { ...testEmbedder(), model: "another-model" } });
      expect(await second.reindexMemories({ limit: 3, batchSize: 2 })).toEqual({ reindexed: 3, remaining: 2 });
      expect(await second.reindexMemories({ limit: 3 })).toEqual({ reindexed: 2, remaining: 0 });
      expect((await second.searchMemories({ text: "kite" })).every((h) => h.memory.embedding?.model === "another-model")).toBe(true);
      await expect(second.reindexMemories({ limit: 0 })).rejects.toMatchObject({ code: "INVALID_INPUT" });
      await second.close();
    });
  });
});
