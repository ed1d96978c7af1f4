/** Conformance: appending events and reading history (ranges, types, order, pages, counts). */
import { describe, expect } from "vitest";
import type { BuiltinEventType, ContextEvent, EventInput, EventQuery, JsonValue } from "../core/types.js";
import { allEvents, expectError, fingerprint } from "./harness.js";
import type { Suite } from "./harness.js";
import type { ContextStore } from "../agent/types.js";

const builtinTypes: BuiltinEventType[] = [
  "message",
  "metadata",
  "resource",
  "file_operation",
  "model_usage",
  "tool_call",
  "tool_result",
  "error",
  "state",
  "snapshot",
  "restore",
  "task_start",
  "task_end",
];

// Values that must come back exactly as given (no "\u0000": PostgreSQL jsonb cannot hold it).
const awkwardData: JsonValue = {
  text: "héllo wörld 👋🏽 — 日本語 עברית e\u0301 \n\t\"quoted\" \\ back\\slash </script>",
  emptyString: "",
  numbers: [0, 1, -1, 3.14159, 1e-7, 1.5e300, -2.5e-300, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 0.1],
  booleans: [true, false],
  nothing: null,
  emptyObject: {},
  emptyArray: [],
  "key with spaces/and~tilde": { "": "empty key", "🔑": "emoji key" },
  deep: { l1: { l2: { l3: { l4: { l5: { l6: { l7: { l8: ["bottom"] } } } } } } } },
  mixed: [1, "two", { three: [3] }, [[4]], null, false],
};

/** Registers the history tests. */
export function historyTests(s: Suite): void {
  async function pages(store: ContextStore, id: string, query: EventQuery): Promise<ContextEvent[][]> {
    const out: ContextEvent[][] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 1000; i++) {
      const page = await store.readEvents(id, { ...query, ...(cursor === undefined ? {} : { cursor }) });
      out.push(page.items);
      if (page.nextCursor === null) return out;
      cursor = page.nextCursor;
    }
    throw new Error("pagination did not end");
  }

  describe("history", () => {
    s.test("history", "append of one event returns it with the next seq, a timestamp, data and defaults", async () => {
      const c = await s.store.createContext();
      const start = c.lastSeq;
      const before = Date.now();
      const [e, ...rest] = await s.store.append(c.id, { type: "message", data: { role: "user", text: "hi" } });
      const after = Date.now();
      expect(rest).toEqual([]);
      expect(e).toEqual({
        contextId: c.id,
        seq: start + 1,
        type: "message",
        timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/) as unknown as string,
        data: { role: "user", text: "hi" },
        metadata: {},
        tokens: null,
        version: null,
      });
      expect(Date.parse(e?.timestamp ?? "")).toBeGreaterThanOrEqual(before);
      expect(Date.parse(e?.timestamp ?? "")).toBeLessThanOrEqual(after);
      expect((await s.store.getContext(c.id)).lastSeq).toBe(start + 1);
      const [noData] = await s.store.append(c.id, { type: "task_start" });
      expect(noData?.data).toBeNull();
    });

    s.test("history", "append of many events gives them consecutive sequence numbers in order", async () => {
      const c = await s.store.createContext();
      const events = await s.store.append(c.id, Array.from({ length: 50 }, (_, i) => ({ type: "message", data: i })));
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => c.lastSeq + 1 + i));
      expect(events.map((e) => e.data)).toEqual(Array.from({ length: 50 }, (_, i) => i));
      const more = await s.store.append(c.id, [{ type: "a" }, { type: "b" }]);
      expect(more.map((e) => e.seq)).toEqual([c.lastSeq + 51, c.lastSeq + 52]);
    });

    s.test("history", "a batch containing one invalid event writes none of it", async () => {
      const c = await s.store.createContext();
      await s.store.append(c.id, { type: "message", data: "kept" });
      const before = await fingerprint(s.store, c.id);
      const bad = [
        { type: "message", data: "first" },
        { type: "", data: "empty type" },
        { type: "message", data: "third" },
      ];
      await expectError(() => s.store.append(c.id, bad), "INVALID_INPUT");
      const badData = [{ type: "message", data: "ok" }, { type: "message", data: { n: Number.NaN } }];
      await expectError(() => s.store.append(c.id, badData), "INVALID_INPUT");
      expect(await fingerprint(s.store, c.id)).toEqual(before);
    });

    s.test("history", "data, metadata, tokens and a given timestamp are kept exactly (unicode, nesting, numbers)", async () => {
      const c = await s.store.createContext();
      const timestamp = "2020-02-29T12:34:56.789Z";
      const input: EventInput = { type: "message", data: awkwardData, metadata: { meta: awkwardData }, tokens: 1234, timestamp };
      const [written] = await s.store.append(c.id, input);
      const [read] = (await s.store.readEvents(c.id, { afterSeq: (written?.seq ?? 1) - 1, limit: 1 })).items;
      for (const e of [written, read]) {
        expect(e?.data).toStrictEqual(awkwardData);
        expect(e?.metadata).toStrictEqual({ meta: awkwardData });
        expect(e?.tokens).toBe(1234);
        expect(e?.timestamp).toBe(timestamp);
      }
      for (const [data, at] of [["scalar", 1_600_000_000_123], [42, new Date(1_600_000_000_456)]] as const) {
        const [e] = await s.store.append(c.id, { type: "x", data, timestamp: at });
        expect(e?.data).toBe(data);
        expect(e?.timestamp).toBe(new Date(at).toISOString());
      }
    });

    s.test("history", "every built-in event type but the engine's own (state, snapshot, restore) and any custom type string can be appended", async () => {
      const c = await s.store.createContext();
      const custom = ["custom", "my.app/thing:v2", "UPPER_case", "ünïcode-type", "aiecs:state"];
      const types = [...builtinTypes.filter((t) => !["state", "snapshot", "restore"].includes(t)), ...custom];
      const written = await s.store.append(c.id, types.map((type) => ({ type, data: { type } })));
      expect(written.map((e) => e.type)).toEqual(types);
      const read = (await s.store.readEvents(c.id, { types })).items;
      expect(read.map((e) => e.type)).toEqual(types);
      for (const type of types) expect(await s.store.countEvents(c.id, { types: [type] })).toBe(1);
    });

    s.test("history", "concurrent appends and state writes get unique, gapless sequence numbers", async () => {
      const c = await s.store.createContext();
      await Promise.all([
        ...Array.from({ length: 30 }, (_, i) => s.store.append(c.id, [{ type: "m", data: i }, { type: "m", data: -i }])),
        ...Array.from({ length: 10 }, (_, i) => s.store.patchState(c.id, { [`k${i}`]: i })),
      ]);
      const seqs = (await allEvents(s.store, c.id)).map((e) => e.seq);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      expect(seqs.length).toBe(c.lastSeq + 70);
      expect((await s.store.getContext(c.id)).lastSeq).toBe(seqs.length);
    });

    s.test("history", "readEvents selects by sequence range with afterSeq and beforeSeq", async () => {
      const c = await s.store.createContext();
      const written = await s.store.append(c.id, Array.from({ length: 10 }, (_, i) => ({ type: "m", data: i })));
      const first = written[0]?.seq ?? 0;
      const seqs = async (q: EventQuery): Promise<number[]> => (await s.store.readEvents(c.id, q)).items.map((e) => e.seq);
      expect(await seqs({ afterSeq: first + 2 })).toEqual([3, 4, 5, 6, 7, 8, 9].map((i) => first + i));
      expect(await seqs({ afterSeq: first - 1, beforeSeq: first + 3 })).toEqual([0, 1, 2].map((i) => first + i));
      expect(await seqs({ afterSeq: first + 2, beforeSeq: first + 5 })).toEqual([first + 3, first + 4]);
      expect(await seqs({ afterSeq: first + 9 })).toEqual([]);
      expect(await seqs({ afterSeq: first + 3, beforeSeq: first + 4 })).toEqual([]);
    });

    s.test("history", "readEvents selects by time range: since and until are inclusive", async () => {
      const c = await s.store.createContext();
      const base = Date.parse("2024-01-01T00:00:00.000Z");
      await s.store.append(c.id, Array.from({ length: 6 }, (_, i) => ({ type: "m", data: i, timestamp: base + i * 1000 })));
      const data = async (q: EventQuery): Promise<JsonValue[]> => (await s.store.readEvents(c.id, q)).items.map((e) => e.data);
      expect(await data({ since: base + 2000, types: ["m"] })).toEqual([2, 3, 4, 5]);
      expect(await data({ until: new Date(base + 2000), types: ["m"] })).toEqual([0, 1, 2]);
      expect(await data({ since: new Date(base + 1000).toISOString(), until: base + 3000, types: ["m"] })).toEqual([1, 2, 3]);
      expect(await data({ since: base + 1500, until: base + 1600, types: ["m"] })).toEqual([]);
      expect(await s.store.countEvents(c.id, { since: base + 1000, until: base + 4000 })).toBe(4);
    });

    s.test("history", "readEvents filters by types and orders oldest- or newest-first", async () => {
      const c = await s.store.createContext();
      await s.store.append(c.id, [
        { type: "message", data: 1 },
        { type: "tool_call", data: 2 },
        { type: "message", data: 3 },
        { type: "error", data: 4 },
        { type: "tool_call", data: 5 },
      ]);
      const data = async (q: EventQuery): Promise<JsonValue[]> => (await s.store.readEvents(c.id, q)).items.map((e) => e.data);
      expect(await data({ types: ["message"] })).toEqual([1, 3]);
      expect(await data({ types: ["tool_call", "error"] })).toEqual([2, 4, 5]);
      expect(await data({ types: ["tool_call", "error"], order: "desc" })).toEqual([5, 4, 2]);
      expect(await data({ types: ["message", "tool_call", "error"], order: "asc" })).toEqual([1, 2, 3, 4, 5]);
      expect(await data({ types: ["nothing"] })).toEqual([]);
      const all = (await s.store.readEvents(c.id, { order: "desc" })).items.map((e) => e.seq);
      expect(all).toEqual([...all].sort((a, b) => b - a));
      expect(await data({ types: ["message", "tool_call", "error"], order: "desc", limit: 2 })).toEqual([5, 4]);
    });

    for (const order of ["asc", "desc"] as const) {
      s.test("history", `readEvents pages with a cursor visit every event exactly once, ${order}`, async () => {
        const c = await s.store.createContext();
        await s.store.append(c.id, Array.from({ length: 23 }, (_, i) => ({ type: i % 3 === 0 ? "odd" : "m", data: i })));
        const all = await pages(s.store, c.id, { order, limit: 4 });
        const seqs = all.flat().map((e) => e.seq);
        const expected = Array.from({ length: c.lastSeq + 23 }, (_, i) => i + 1);
        if (order === "desc") expected.reverse();
        expect(seqs).toEqual(expected);
        expect(all.slice(0, -1).every((p) => p.length === 4)).toBe(true);

        const filtered = (await pages(s.store, c.id, { order, limit: 2, types: ["odd"] })).flat().map((e) => e.data);
        const odd = [0, 3, 6, 9, 12, 15, 18, 21];
        expect(filtered).toEqual(order === "asc" ? odd : [...odd].reverse());
        // Events appended while paging ascending show up at the end, once.
        if (order === "asc") {
          const first = await s.store.readEvents(c.id, { limit: 10 });
          await s.store.append(c.id, { type: "late" });
          const rest = await pages(s.store, c.id, { limit: 10, cursor: first.nextCursor ?? undefined });
          const joined = [...first.items, ...rest.flat()].map((e) => e.seq);
          expect(joined).toEqual(Array.from({ length: c.lastSeq + 24 }, (_, i) => i + 1));
        }
      });
    }

    s.test("history", "readEvents returns at most 100 events by default, with a cursor to the rest", async () => {
      const c = await s.store.createContext();
      await s.store.append(c.id, Array.from({ length: 150 }, (_, i) => ({ type: "m", data: i })));
      const page = await s.store.readEvents(c.id);
      expect(page.items).toHaveLength(100);
      expect(page.nextCursor).not.toBeNull();
    });

    s.test("history", "countEvents counts all events or those matching the filters", async () => {
      const c = await s.store.createContext();
      const base = await s.store.countEvents(c.id);
      expect(base).toBe(c.lastSeq);
      await s.store.append(c.id, [{ type: "a" }, { type: "b" }, { type: "a" }, { type: "c" }]);
      await s.store.patchState(c.id, { x: 1 });
      expect(await s.store.countEvents(c.id)).toBe(base + 5);
      expect(await s.store.countEvents(c.id, { types: ["a"] })).toBe(2);
      expect(await s.store.countEvents(c.id, { types: ["a", "c"] })).toBe(3);
      expect(await s.store.countEvents(c.id, { afterSeq: base + 1, beforeSeq: base + 4 })).toBe(2);
    });

    s.test("history", "lastEvents(n) returns the newest n events, oldest first", async () => {
      const c = await s.store.createContext();
      await s.store.append(c.id, Array.from({ length: 10 }, (_, i) => ({ type: i % 2 === 0 ? "even" : "odd", data: i })));
      expect((await s.store.lastEvents(c.id, 3)).map((e) => e.data)).toEqual([7, 8, 9]);
      expect((await s.store.lastEvents(c.id, 2, { types: ["even"] })).map((e) => e.data)).toEqual([6, 8]);
      const all = await s.store.lastEvents(c.id, 1000);
      expect(all.map((e) => e.seq)).toEqual(Array.from({ length: c.lastSeq + 10 }, (_, i) => i + 1));
    });

    s.test("history", "history reads of an unknown context fail with NOT_FOUND", async () => {
      await expectError(() => s.store.append("missing-context", { type: "m" }), "NOT_FOUND");
      await expectError(() => s.store.readEvents("missing-context"), "NOT_FOUND");
      await expectError(() => s.store.countEvents("missing-context"), "NOT_FOUND");
      await expectError(() => s.store.lastEvents("missing-context", 1), "NOT_FOUND");
    });
  });
}
