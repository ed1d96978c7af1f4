/**
 * The core's use of a driver's database-side vector search (`MemoryArea.nearest`, PostgreSQL
 * with pgvector): whatever order and similarities it answers with, the hits and scores are
 * those of the in-process index, and a driver that cannot answer (null) or lacks vectors (too
 * few ids) leaves the search to the in-process index.
 */
import { describe, expect, it } from "vitest";
import { createStore } from "../open.js";
import { inMemoryDriver } from "../drivers/in-memory/driver.js";
import { wrapDriver } from "../drivers/wrap.js";
import type { MemoryArea, MemoryNearestQuery } from "../drivers/memory-area.js";
import { testEmbedder } from "../testing/index.js";
import type { ContextStore } from "../index.js";
import type { MemoryHit } from "./memory-types.js";

const TEXTS = [
  "the blue notebook is on the shelf",
  "a red bicycle in the garage",
  "blue paint for the garage door",
  "the notebook has a red cover",
  "shelf of old books in the study",
  "a bicycle ride along the river",
];

async function storeWith(nearest?: MemoryArea["nearest"]): Promise<{ store: ContextStore; asked: MemoryNearestQuery[] }> {
  const inner = inMemoryDriver();
  const asked: MemoryNearestQuery[] = [];
  const area = inner.memory as MemoryArea;
  const driver =
    nearest === undefined
      ? inner
      : wrapDriver(inner, {
          memory: {
            ...area,
            nearest: (tenant, q, call) => {
              asked.push(q);
              return nearest(tenant, q, call);
            },
          },
        });
  const store = await createStore(driver, { embedder: testEmbedder(), now: () => 1_000_000 });
  await store.addMemories(TEXTS.map((text, i) => ({ id: `m${i}`, scope: { userId: i % 2 === 0 ? "a" : "b" }, text })));
  return { store, asked };
}

const view = async (store: ContextStore, mode: "vector" | "hybrid", userId?: string) =>
  (await store.searchMemories({ text: "blue notebook garage", mode, limit: 4, ...(userId === undefined ? {} : { scope: { userId } }) })).map((h: MemoryHit) => [
    h.memory.id,
    h.score,
    h.vectorScore,
  ]);

describe("memory search with a driver's nearest", () => {
  it("asks the driver for the selected ids and ranks its answer with the core's own cosines", async () => {
    const plain = await storeWith();
    // Every id asked for, in the wrong order, with wrong similarities: the core recomputes them.
    const db = await storeWith(async (_t, q) => (q.ids ?? []).slice().reverse().map((id) => ({ id, similarity: 0 })));
    try {
      expect((await view(plain.store, "vector")).length).toBe(4);
      for (const mode of ["vector", "hybrid"] as const) {
        expect(await view(db.store, mode)).toEqual(await view(plain.store, mode));
        expect(await view(db.store, mode, "a")).toEqual(await view(plain.store, mode, "a"));
      }
      // The scope is applied: only user a's memories were sent.
      expect(db.asked.at(-1)?.ids?.slice().sort()).toEqual(["m0", "m2", "m4"]);
    } finally {
      await plain.store.close();
      await db.store.close();
    }
  });

  it("searches its own index when the driver cannot (null) or answers with fewer memories than it knows", async () => {
    const plain = await storeWith();
    const none = await storeWith(async () => null);
    const lagging = await storeWith(async (_t, q) => (q.ids ?? []).slice(0, 1).map((id) => ({ id, similarity: 1 })));
    try {
      for (const s of [none, lagging]) {
        expect(await view(s.store, "vector")).toEqual(await view(plain.store, "vector"));
        expect(s.asked.length).toBeGreaterThan(0);
      }
    } finally {
      await plain.store.close();
      await none.store.close();
      await lagging.store.close();
    }
  });
});
