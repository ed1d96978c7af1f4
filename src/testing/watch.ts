/** Conformance: watching a context's history (replay, then live, with no gap or duplicate). */
import { describe, expect } from "vitest";
import type { ContextEvent } from "../core/types.js";
import { delay, expectError, take, within } from "./harness.js";
import type { Suite } from "./harness.js";
import type { ContextStore } from "../agent/types.js";

/** Registers the watch tests. */
export function watchTests(s: Suite): void {
  // Appends until the watcher has received something, so a watcher that goes live
  // asynchronously is not raced; returns what it appended.
  async function appendUntil(store: ContextStore, id: string, received: () => boolean, timeoutMs: number): Promise<number[]> {
    const seqs: number[] = [];
    const deadline = Date.now() + timeoutMs;
    while (!received() && Date.now() < deadline) {
      const [e] = await store.append(id, { type: "tick", data: seqs.length });
      seqs.push(e?.seq ?? -1);
      await delay(10);
    }
    return seqs;
  }

  describe("watch", () => {
    s.test("watch", "watch replays the events after afterSeq, then continues live", async () => {
      const c = await s.store.createContext();
      const first = await s.store.append(c.id, Array.from({ length: 5 }, (_, i) => ({ type: "m", data: i })));
      const from = first[1]?.seq ?? 0;
      const controller = new AbortController();
      const iter = s.store.watch(c.id, { afterSeq: from, signal: controller.signal });
      try {
        const replayed = await take(iter, 3, s.waitMs);
        expect(replayed.map((e) => e.data)).toEqual([2, 3, 4]);
        expect(replayed.map((e) => e.seq)).toEqual([from + 1, from + 2, from + 3]);
        const pending = take(iter, 3, s.waitMs);
        // Events of another context are not delivered.
        const other = await s.store.createContext();
        await s.store.append(other.id, { type: "elsewhere" });
        await s.store.append(c.id, { type: "m", data: 5 });
        await s.store.patchState(c.id, { live: true });
        await s.store.append(c.id, { type: "m", data: 6 });
        const live = await pending;
        expect(live.map((e) => e.seq)).toEqual([from + 4, from + 5, from + 6]);
        expect(live.map((e) => e.type)).toEqual(["m", "state", "m"]);
        expect(live[1]).toMatchObject({ contextId: c.id, version: 2 });
        // Events arrive as readEvents returns them.
        const stored = (await s.store.readEvents(c.id, { afterSeq: from })).items;
        expect([...replayed, ...live]).toEqual(stored);
      } finally {
        controller.abort();
      }
    });

    s.test("watch", "several watchers of one context each receive every event", async () => {
      const c = await s.store.createContext();
      const controller = new AbortController();
      const iters = [0, 1, 2].map(() => s.store.watch(c.id, { afterSeq: c.lastSeq, signal: controller.signal }));
      const pending = iters.map((it) => take(it, 10, s.waitMs));
      for (let i = 0; i < 5; i++) await s.store.append(c.id, [{ type: "m", data: i }, { type: "m", data: -i }]);
      const got = await Promise.all(pending);
      controller.abort();
      const expected = Array.from({ length: 10 }, (_, i) => c.lastSeq + 1 + i);
      for (const events of got) expect(events.map((e) => e.seq)).toEqual(expected);
    });

    s.test("watch", "watch with afterSeq 0 replays the whole history", async () => {
      const c = await s.store.createContext();
      await s.store.append(c.id, [{ type: "a" }, { type: "b" }]);
      const controller = new AbortController();
      const iter = s.store.watch(c.id, { afterSeq: 0, signal: controller.signal });
      const got = await take(iter, c.lastSeq + 2, s.waitMs);
      controller.abort();
      expect(got.map((e) => e.seq)).toEqual(Array.from({ length: c.lastSeq + 2 }, (_, i) => i + 1));
    });

    s.test("watch", "no gap and no duplicate while events are appended during the switch from replay to live", async () => {
      const c = await s.store.createContext();
      const total = 400;
      // The writer starts before the watcher and keeps going while it replays and goes live.
      const writer = (async () => {
        for (let i = 0; i < total; i++) {
          if (i % 7 === 0) await s.store.patchState(c.id, { i });
          else if (i % 10 === 0) await s.store.append(c.id, [{ type: "m", data: i }, { type: "m", data: -i }]);
          else await s.store.append(c.id, { type: "m", data: i });
          if (i % 25 === 0) await delay(0);
        }
      })();
      await s.store.append(c.id, { type: "m", data: "before the watcher" });
      const controller = new AbortController();
      const received: number[] = [];
      const reader = (async () => {
        for await (const e of s.store.watch(c.id, { afterSeq: 0, signal: controller.signal })) {
          received.push(e.seq);
          if (e.type === "end") break;
        }
      })();
      await writer;
      const [end] = await s.store.append(c.id, { type: "end" });
      await within(reader, s.waitMs * 3, `the watcher to reach seq ${end?.seq ?? "?"}`).finally(() => controller.abort());
      expect(received).toEqual(Array.from({ length: end?.seq ?? 0 }, (_, i) => i + 1));
    }, 120_000);

    s.test("watch", "without afterSeq, watch only delivers events written after it started", async () => {
      const c = await s.store.createContext();
      await s.store.append(c.id, [{ type: "old" }, { type: "old" }, { type: "old" }]);
      const oldLast = c.lastSeq + 3;
      const controller = new AbortController();
      const iter = s.store.watch(c.id, { signal: controller.signal });
      let first: ContextEvent | undefined;
      const firstPromise = iter.next().then((r) => {
        if (r.done !== true) first = r.value;
        return r;
      });
      const appended = await appendUntil(s.store, c.id, () => first !== undefined, s.waitMs);
      await within(firstPromise, s.waitMs, "the first live event");
      const more = take(iter, 2, s.waitMs);
      const extra = await s.store.append(c.id, [{ type: "new" }, { type: "new" }]);
      const next = await more;
      controller.abort();
      expect(first?.seq).toBeGreaterThan(oldLast);
      expect(first?.type).toBe("tick");
      expect(appended).toContain(first?.seq);
      // From the first live event on, nothing is skipped.
      const after = [first?.seq ?? 0, ...next.map((e) => e.seq)];
      const lastExpected = extra[1]?.seq ?? 0;
      expect(after.at(-1)).toBeLessThanOrEqual(lastExpected);
      for (let i = 1; i < after.length; i++) expect(after[i]).toBe((after[i - 1] as number) + 1);
    });

    s.test("watch", "watch ends when its signal aborts", async () => {
      const c = await s.store.createContext();
      const controller = new AbortController();
      const iter = s.store.watch(c.id, { afterSeq: 0, signal: controller.signal });
      await take(iter, c.lastSeq, s.waitMs);
      const pending = iter.next();
      controller.abort();
      const r = await within(pending, s.waitMs, "the watcher to end after abort");
      expect(r.done).toBe(true);
      expect((await within(iter.next(), s.waitMs, "next after the end")).done).toBe(true);
    });

    s.test("watch", "a for-await loop that breaks stops the watcher", async () => {
      const c = await s.store.createContext();
      await s.store.append(c.id, [{ type: "a" }, { type: "b" }, { type: "c" }]);
      const got: number[] = [];
      for await (const e of s.store.watch(c.id, { afterSeq: 0 })) {
        got.push(e.seq);
        if (got.length === 2) break;
      }
      expect(got).toEqual([1, 2]);
      // The store is still usable and closes without waiting for the abandoned watcher.
      await s.store.append(c.id, { type: "d" });
    });

    s.test("watch", "watch ends when the store closes", async () => {
      const store = await s.makeStore();
      const c = await store.createContext();
      const iter = store.watch(c.id, { afterSeq: 0 });
      await take(iter, c.lastSeq, s.waitMs);
      const pending = iter.next();
      await store.close();
      const r = await within(pending, s.waitMs, "the watcher to end after close");
      expect(r.done).toBe(true);
    });

    s.test("watch", "watch of an unknown context fails with NOT_FOUND", async () => {
      const controller = new AbortController();
      try {
        await within(
          expectError(() => s.store.watch("missing-context", { signal: controller.signal }).next(), "NOT_FOUND"),
          s.waitMs,
          "watch of an unknown context to fail",
        );
      } finally {
        controller.abort();
      }
    });

    s.test(["watch", "crossProcessWatch"], "a watcher sees events committed through another store on the same backend", async () => {
      const peer = await s.openPeer();
      const c = await s.store.createContext();
      const controller = new AbortController();
      const iter = s.store.watch(c.id, { afterSeq: c.lastSeq, signal: controller.signal });
      const pending = take(iter, 20, s.waitMs);
      for (let i = 0; i < 10; i++) await peer.append(c.id, [{ type: "remote", data: i }, { type: "remote", data: -i }]);
      const got = await pending;
      controller.abort();
      expect(got.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => c.lastSeq + 1 + i));
    });
  });
}
