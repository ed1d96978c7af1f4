/**
 * Property: export followed by import reproduces every context the public API can produce.
 * Random operation sequences (seeded, so a failure replays) run on a store; its export is
 * imported into an empty store, and both must agree on contexts, states, histories, snapshots
 * and past states.
 */
import { describe, expect, it } from "vitest";
import { createStore } from "../open.js";
import type { ContextStore } from "../agent/types.js";
import { inMemoryDriver } from "../drivers/in-memory/driver.js";
import { isContextError } from "../errors.js";
import type { JsonObject, JsonValue } from "../core/types.js";
import { exportContexts, importContexts } from "./jsonl.js";
import { prng } from "../../test/helpers/prng.js";

const KEYS = ["a", "b", "__proto__", "constructor", "x/y", "~t", "é"];
const TYPES = ["state", "snapshot", "restore", "message", "tool_call", "tool_result", "task_start", "task_end", "aiecs_import", "note", "summary", "model_usage"];

async function dump(store: ContextStore): Promise<string> {
  let out = "";
  for await (const l of exportContexts(store)) out += l;
  return out;
}

/**
 * What an import must reproduce. A fork is imported on its own with the history it shared
 * (`parentSeq` null): its parent's snapshots up to the fork point, which the fork reads as
 * events, become its own; `cuts` (the source's fork points) leaves those out of the comparison.
 */
async function view(store: ContextStore, cuts: Map<string, number>): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const c of (await store.listContexts({ limit: 1000 })).items) {
    const { createdAt: _c, updatedAt: _u, parentSeq, ...context } = c;
    if (parentSeq !== null) cuts.set(c.id, parentSeq);
    const events = (await store.readEvents(c.id, { limit: 10_000 })).items.map((e) => ({
      ...e,
      // State writes are replayed, so they happen again at import time.
      timestamp: e.version === null && e.type !== "snapshot" ? e.timestamp : 0,
    }));
    const snapshots = (await store.listSnapshots(c.id)).filter((s) => s.seq > (cuts.get(c.id) ?? 0)).map(({ createdAt: _t, ...s }) => s);
    const past: unknown[] = [];
    for (const e of events) if (e.version !== null) past.push(JSON.stringify((await store.stateAt(c.id, { version: e.version })).state));
    out.push({ context, state: JSON.stringify((await store.getState(c.id)).state), events: JSON.stringify(events), snapshots: JSON.stringify(snapshots), past });
  }
  return out;
}

describe("export → import round trip", () => {
  for (let seed = 1; seed <= 30; seed++) {
    it(`reproduces every context of random operation sequence #${seed}`, async () => {
      const rnd = prng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
      const value = (depth = 0): JsonValue => {
        const r = rnd();
        if (r < 0.2) return Math.floor(rnd() * 100);
        if (r < 0.4) return pick(["", "hi", "x".repeat(20), "😀", "a\u0000b"]);
        if (r < 0.5) return null;
        if (r < 0.6) return rnd() < 0.5;
        if (depth > 2) return "leaf";
        if (r < 0.8) return Array.from({ length: Math.floor(rnd() * 3) }, () => value(depth + 1));
        return object(depth + 1);
      };
      const object = (depth = 0): JsonObject => {
        const o: JsonObject = {};
        for (let i = Math.floor(rnd() * 3); i > 0; i--) Object.defineProperty(o, pick(KEYS), { value: value(depth), enumerable: true, writable: true, configurable: true });
        return o;
      };
      await using source = await createStore(inMemoryDriver());
      const ids: string[] = [];
      const snaps = new Map<string, string[]>();
      for (let step = 0; step < 40; step++) {
        const r = rnd();
        try {
          if (ids.length === 0 || r < 0.08) {
            const c = await source.createContext({ state: object(), metadata: object(), ...(rnd() < 0.5 && { title: "t", userId: "u" }) });
            ids.push(c.id);
            continue;
          }
          const id = pick(ids);
          if (r < 0.3) await source.append(id, Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => ({ type: pick(TYPES), data: value(), metadata: object(), ...(rnd() < 0.3 && { tokens: 5 }) })));
          else if (r < 0.4) await source.patchState(id, object(), rnd() < 0.3 ? { metadata: object(), events: [{ type: "message", data: value() }] } : {});
          else if (r < 0.48) await source.replaceState(id, object());
          else if (r < 0.58) await source.setStateAt(id, [pick(KEYS)], value());
          else if (r < 0.63) await source.removeStateAt(id, [pick(KEYS)]);
          else if (r < 0.7) {
            const s = await source.createSnapshot(id, { ...(rnd() < 0.5 && { name: `s${step}` }), label: rnd() < 0.5 ? "l" : null, metadata: object() });
            snaps.set(id, [...(snaps.get(id) ?? []), s.name]);
          } else if (r < 0.76 && (snaps.get(id)?.length ?? 0) > 0) await source.restore(id, { snapshot: pick(snaps.get(id)!) });
          else if (r < 0.82) {
            const { version } = await source.getState(id);
            await source.restore(id, { version: 1 + Math.floor(rnd() * version) });
          } else if (r < 0.86) await source.updateContext(id, { metadata: object(), title: pick(["a", null]) });
          else if (r < 0.9) ids.push((await source.fork(id, { title: "fork" })).id);
          else if (r < 0.93) await source.archiveContext(id);
          else await source.append(id, { type: "message", data: value() });
        } catch (e) {
          // Random operations may be refused (nothing at a path, an archived context…); a
          // refusal writes nothing and is part of what the API can produce.
          if (!isContextError(e)) throw e;
        }
      }
      const text = await dump(source);
      await using target = await createStore(inMemoryDriver());
      await importContexts(target, text);
      const cuts = new Map<string, number>();
      const expected = await view(source, cuts);
      expect(await view(target, cuts)).toEqual(expected);
    });
  }
});
