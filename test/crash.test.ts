import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../src/index.js";
import { allEvents } from "../src/testing/harness.js";
import { allMemories } from "../src/testing/memory.js";
import { buildSources } from "./fixtures/build-sources.js";
import { type Child, killFixtures, startFixture } from "./fixtures/processes.js";

const KILLS = 20;
/** The writer is killed after a random number of acknowledged writes in [1, MAX_ACKS]. */
const MAX_ACKS = 120;

let dir: string;
let sources: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "contextd-crash-"));
  sources = await buildSources();
});
afterAll(() => {
  killFixtures();
  rmSync(dir, { recursive: true, force: true });
});

function integrityCheck(file: string): string[] {
  const db = new Database(file, { fileMustExist: true });
  try {
    return db.prepare("PRAGMA integrity_check").pluck().all() as string[];
  } finally {
    db.close();
  }
}

/** Resolves when the child printed `line`. */
function printed(child: Child, line: string): Promise<void> {
  return new Promise((resolve) => child.onLine((l) => l === line && resolve()));
}

describe("a writer killed with SIGKILL", () => {
  it(`loses no acknowledged write over ${KILLS} kills at random moments, and the file stays intact`, async () => {
    const file = join(dir, "crash.db");
    const setup = await openStore(`sqlite:${file}`);
    const { id } = await setup.createContext({ kind: "crash", state: {} });
    await setup.close();

    // Most runs use the default NORMAL (in WAL mode an acknowledged commit survives a crash
    // of the process); every fourth uses FULL.
    const synchronousOf = (run: number) => (run % 4 === 3 ? "FULL" : "NORMAL");
    const spawnWriter = (run: number) => startFixture("crash-writer.mjs", [sources, file, id, synchronousOf(run)]);

    /** Acknowledged writes of every run so far: event i → seq, state i → version. */
    const ackedEvents = new Map<number, number>();
    const ackedStates = new Map<number, number>();
    let next = 0;
    // Each writer is started one run ahead: loading contextd takes about as long as a run.
    const writers = [spawnWriter(0)];
    for (let run = 0; run < KILLS; run++) {
      const target = 1 + Math.floor(Math.random() * MAX_ACKS);
      const first = next;
      let acks = 0;
      const child = writers[run] as Child;
      child.onLine((line) => {
        const [kind, i, n] = line.split(" ");
        if (kind === "event") ackedEvents.set(Number(i), Number(n));
        else if (kind === "state") ackedStates.set(Number(i), Number(n));
        else return;
        next = Math.max(next, Number(i) + 1);
        if (++acks === target) child.process.kill("SIGKILL");
      });
      await printed(child, "loaded");
      child.send(`go ${first}`);
      // A later writer loads its modules meanwhile; it writes only after its own "go".
      if (run + 1 < KILLS) writers.push(spawnWriter(run + 1));
      const exit = await child.exited(20_000);
      expect(exit.signal, `run ${run} should die by SIGKILL; stderr: ${exit.stderr}`).toBe("SIGKILL");
      expect(acks).toBeGreaterThanOrEqual(target);

      expect(integrityCheck(file)).toEqual(["ok"]);
      const store = await openStore(`sqlite:${file}`);
      try {
        const events = await allEvents(store, id);
        expect(events.map((e) => e.seq)).toEqual(Array.from({ length: events.length }, (_, k) => k + 1));
        const bySeq = new Map(events.map((e) => [e.seq, e]));
        for (const [i, seq] of ackedEvents) {
          expect(bySeq.get(seq), `acknowledged event ${i} at seq ${seq}`).toMatchObject({ type: "message", data: { i } });
        }
        const byVersion = new Map(events.filter((e) => e.version !== null).map((e) => [e.version, e]));
        for (const [i, version] of ackedStates) {
          expect(byVersion.get(version), `acknowledged state ${i} at version ${version}`).toMatchObject({ type: "state" });
        }
        // The content of the newest states acknowledged in this run, rebuilt from the history.
        const recent = [...ackedStates].filter(([i]) => i >= first).slice(-10);
        for (const [i, version] of recent) expect((await store.stateAt(id, { version })).state).toEqual({ i });
        const { version } = await store.getState(id);
        expect(version).toBeGreaterThanOrEqual(Math.max(1, ...ackedStates.values()));
      } finally {
        await store.close();
      }
    }
    expect(ackedEvents.size + ackedStates.size).toBeGreaterThanOrEqual(KILLS);
  }, 60_000);
});

describe("a memory writer killed with SIGKILL", () => {
  const RUNS = 10;
  it(`loses no acknowledged memory over ${RUNS} kills at random moments; every batch is whole or absent`, async () => {
    const file = join(dir, "memory-crash.db");
    const spawnWriter = (run: number) => startFixture("memory-writer.mjs", [sources, file, run % 4 === 3 ? "FULL" : "NORMAL"]);
    /** Acknowledged batches of every run so far: batch i → its ids. */
    const acked = new Map<number, string[]>();
    let next = 0;
    const writers = [spawnWriter(0)];
    for (let run = 0; run < RUNS; run++) {
      const target = 1 + Math.floor(Math.random() * MAX_ACKS);
      let acks = 0;
      const child = writers[run] as Child;
      child.onLine((line) => {
        const [kind, i, ...ids] = line.split(" ");
        if (kind !== "batch") return;
        acked.set(Number(i), ids);
        next = Math.max(next, Number(i) + 1);
        if (++acks === target) child.process.kill("SIGKILL");
      });
      await printed(child, "loaded");
      child.send(`go ${next}`);
      if (run + 1 < RUNS) writers.push(spawnWriter(run + 1));
      const exit = await child.exited(20_000);
      expect(exit.signal, `run ${run} should die by SIGKILL; stderr: ${exit.stderr}`).toBe("SIGKILL");

      expect(integrityCheck(file)).toEqual(["ok"]);
      const store = await openStore(`sqlite:${file}`);
      try {
        const all = await allMemories(store);
        const byId = new Map(all.map((m) => [m.id, m]));
        for (const [i, ids] of acked) {
          ids.forEach((id, k) => expect(byId.get(id)?.text, `acknowledged memory ${k} of batch ${i}`).toBe(`memory ${i} ${k}`));
        }
        // A batch committed but not acknowledged (the kill came between) is whole too.
        const batches = new Map<number, number>();
        for (const m of all) {
          const i = Number(m.text.split(" ")[1]);
          batches.set(i, (batches.get(i) ?? 0) + 1);
        }
        for (const [i, n] of batches) expect(n, `memories of batch ${i}`).toBe(1 + (i % 3));
        // The idempotency of adds survives too: re-adding the newest acknowledged text finds it.
        const newest = Math.max(...acked.keys());
        const [again] = await store.addMemories({ scope: { userId: "crash" }, text: `memory ${newest} 0` });
        expect(again?.outcome).toBe("existing");
        expect(again?.memory.id).toBe(acked.get(newest)?.[0]);
      } finally {
        await store.close();
      }
    }
    expect(acked.size).toBeGreaterThanOrEqual(RUNS);
  }, 60_000);
});
