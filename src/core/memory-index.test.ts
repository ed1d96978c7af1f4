import { describe, expect, it } from "vitest";
import type { MemoryRecord } from "../drivers/memory-area.js";
import { HISTORY_NAMESPACE_ROOT, inScope, isInternalMemory, type ScopeFilter } from "./memory-input.js";
import { MemoryIndex } from "./memory-index.js";
import { prng as random } from "../../test/helpers/prng.js";

const pick = <T,>(rnd: () => number, items: readonly T[]): T => items[Math.floor(rnd() * items.length)] as T;
const USERS = [null, "u1", "u2", "u3"] as const;
const AGENTS = [null, "a1", "a2"] as const;
const CONTEXTS = [null, "c1", "c2"] as const;
const NAMESPACES = [[], ["prefs"], ["prefs", "food"], ["notes"], [HISTORY_NAMESPACE_ROOT, "history"]] as const;

function record(rnd: () => number, i: number, rev: number): MemoryRecord {
  return {
    id: `m${i}`,
    tenant: "t",
    userId: pick(rnd, USERS),
    agentId: pick(rnd, AGENTS),
    contextId: pick(rnd, CONTEXTS),
    namespace: [...pick(rnd, NAMESPACES)],
    text: `memory ${i} about ${pick(rnd, ["tea", "coffee", "trains"])}`,
    value: null,
    metadata: { i },
    tags: [],
    importance: 0,
    sourceContextId: null,
    sourceSeq: null,
    createdAt: 1000 + i,
    updatedAt: 1000 + i,
    expiresAt: rnd() < 0.2 ? 2000 + Math.floor(rnd() * 100) : null,
    ttlMs: null,
    version: 1,
    rev,
    deleted: false,
    model: null,
    vector: null,
  };
}

describe("MemoryIndex.select", () => {
  it("selects what the scope, expiry, internal flag and further conditions select, after updates and deletes", async () => {
    const rnd = random(11);
    const index = new MemoryIndex("t", null, null);
    const feed: MemoryRecord[] = [];
    const live = new Map<string, MemoryRecord>();
    let rev = 0;
    for (let i = 0; i < 400; i++) {
      const r = record(rnd, i, ++rev);
      feed.push(r);
      live.set(r.id, r);
    }
    // Moves between scopes (an update) and deletes (tombstones), so slots are freed and reused.
    for (let i = 0; i < 150; i++) {
      const id = `m${Math.floor(rnd() * 400)}`;
      if (rnd() < 0.5) {
        const r = { ...record(rnd, Number(id.slice(1)), ++rev), version: 2 };
        feed.push(r);
        live.set(id, r);
      } else {
        const old = live.get(id);
        if (old === undefined) continue;
        feed.push({ ...old, rev: ++rev, deleted: true });
        live.delete(id);
      }
    }
    for (let i = 400; i < 450; i++) {
      const r = record(rnd, i, ++rev);
      feed.push(r);
      live.set(r.id, r);
    }
    await index.catchUp(async (after, limit) => feed.filter((r) => r.rev > after).slice(0, limit));

    const scopes: (ScopeFilter | undefined)[] = [undefined, { userId: "never-seen" }, { userId: null, agentId: "a1" }];
    for (const u of USERS) for (const a of [undefined, ...AGENTS]) for (const c of [undefined, "c1"]) scopes.push({ userId: u, ...(a !== undefined && { agentId: a }), ...(c !== undefined && { contextId: c }) });
    for (const ns of NAMESPACES) scopes.push({ namespace: [...ns] }, { userId: "u2", namespace: [...ns] });
    const odd = (r: MemoryRecord) => ((r.metadata as { i: number }).i & 1) === 1;
    for (const now of [1500, 2050]) {
      for (const scope of scopes) {
        for (const internal of ["exclude", "only"] as const) {
          for (const accept of [undefined, odd]) {
            const want = [...live.values()].filter(
              (r) =>
                isInternalMemory(r) === (internal === "only") &&
                (r.expiresAt === null || r.expiresAt > now) &&
                (scope === undefined || inScope(r, scope)) &&
                (accept === undefined || accept(r)),
            );
            const got = index.select(scope, now, { internal, accept });
            const ids = [...got.selected.keys()].filter((slot) => got.selected[slot] === 1).map((slot) => index.at(slot)?.record.id);
            expect(ids.sort()).toEqual(want.map((r) => r.id).sort());
            expect(got.n).toBe(want.length);
            expect(got.totalLength).toBe(want.reduce((sum, r) => sum + (index.get(r.id)?.length ?? 0), 0));
          }
        }
      }
    }
  });
});
