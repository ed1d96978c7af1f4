import { mkdtempSync, rmSync } from "node:fs";
import Database from "better-sqlite3";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrations as MIGRATIONS } from "../src/drivers/sqlite/migrations.js";
import { openStore } from "../src/index.js";
import { allEvents } from "../src/testing/harness.js";
import { allMemories } from "../src/testing/memory.js";
import { buildSources } from "./fixtures/build-sources.js";
import { type Child, killFixtures, startFixture } from "./fixtures/processes.js";

const PROCESSES = 4;
const INCREMENTS = 500;

let dir: string;
let sources: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "contextd-multi-"));
  sources = await buildSources();
});
afterAll(() => {
  killFixtures();
  rmSync(dir, { recursive: true, force: true });
});

describe("several processes on one SQLite file", () => {
  it(`${PROCESSES} processes × ${INCREMENTS} compare-and-set increments end at exactly ${PROCESSES * INCREMENTS}, gapless`, async () => {
    const file = join(dir, "counter.db");
    const setup = await openStore(`sqlite:${file}`);
    const { id } = await setup.createContext({ kind: "counter", state: { counter: 0 } });
    await setup.close();

    const children = Array.from({ length: PROCESSES }, () =>
      startFixture("counter-worker.mjs", [sources, file, id, String(INCREMENTS)]),
    );
    const exits = await Promise.all(children.map((c) => c.exited(50_000)));
    for (const exit of exits) expect(exit, exit.stderr).toMatchObject({ code: 0, signal: null });
    const conflicts = children.map((c) => (JSON.parse(c.lines.at(-1) ?? "{}") as { conflicts: number }).conflicts);

    const store = await openStore(`sqlite:${file}`);
    try {
      const total = PROCESSES * INCREMENTS;
      const { state, version } = await store.getState(id);
      expect(state).toEqual({ counter: total });
      expect(version).toBe(total + 1);

      const events = await allEvents(store, id);
      expect(events).toHaveLength(total);
      expect(events.every((e) => e.type === "state")).toBe(true);
      expect(await store.countEvents(id, { types: ["state"] })).toBe(total);
      // Sequence numbers 1…total without gaps, versions 2…total+1 in the same order.
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      expect(events.map((e) => e.version)).toEqual(Array.from({ length: total }, (_, i) => i + 2));
      expect((await store.getContext(id)).lastSeq).toBe(total);
      // The processes really raced (otherwise this test proves little).
      expect(conflicts.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  }, 60_000);

  it("memories added by two processes at once are all seen by a third that lists while they write", async () => {
    const file = join(dir, "memories.db");
    const reader = await openStore(`sqlite:${file}`);
    try {
      const acked = new Map<string, string>();
      const writers: Child[] = [0, 1_000_000].map((first) => {
        const child = startFixture("memory-writer.mjs", [sources, file, "NORMAL"]);
        child.onLine((line) => {
          if (line === "loaded") child.send(`go ${first}`);
          const [kind, i, ...ids] = line.split(" ");
          if (kind !== "batch") return;
          ids.forEach((id, k) => acked.set(id, `memory ${i} ${k}`));
        });
        return child;
      });
      // The reader's index catches up again and again while both write; stop the writers once each did 60 batches.
      const batches = (c: Child) => c.lines.filter((l) => l.startsWith("batch ")).length;
      while (writers.some((w) => batches(w) < 60)) {
        const dead = writers.find((w) => w.process.exitCode !== null);
        if (dead !== undefined) throw new Error(`a writer exited early: ${(await dead.exited(1000)).stderr}`);
        await reader.listMemories({ limit: 1 });
        // SQLite reads settle as microtasks: let the children's output in between.
        await new Promise((resolve) => setImmediate(resolve));
      }
      for (const w of writers) w.process.kill("SIGKILL");
      for (const w of writers) await w.exited(20_000);
      const seen = new Map((await allMemories(reader)).map((m) => [m.id, m.text]));
      for (const [id, text] of acked) expect(seen.get(id), `acknowledged ${text}`).toBe(text);
    } finally {
      await reader.close();
    }
  }, 60_000);

  it(`${PROCESSES} processes opening a new file at once migrate it exactly once and all work`, async () => {
    const file = join(dir, "fresh", "opened-at-once.db");
    const children = Array.from({ length: PROCESSES }, () => startFixture("open-worker.mjs", [sources, file]));
    const exits = await Promise.all(children.map((c) => c.exited(30_000)));
    for (const exit of exits) expect(exit, exit.stderr).toMatchObject({ code: 0, signal: null });
    const ids = children.map((c) => c.lines[0]);

    const db = new Database(file, { readonly: true });
    try {
      const migrations = db.prepare("SELECT version FROM contextd_migrations ORDER BY version").pluck().all();
      expect(migrations).toEqual(MIGRATIONS.map((_, version) => version));
    } finally {
      db.close();
    }
    const store = await openStore(`sqlite:${file}`);
    try {
      const listed = (await store.listContexts()).items.map((c) => c.id);
      expect(listed.sort()).toEqual([...ids].sort());
    } finally {
      await store.close();
    }
  }, 40_000);
});
