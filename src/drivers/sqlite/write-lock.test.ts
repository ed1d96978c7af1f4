/**
 * Lock waits of the SQLite driver under real contention: another connection (in a worker
 * thread) holds the write lock while the store appends.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { Worker } from "node:worker_threads";
import { afterAll, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { openStore } from "../../open.js";
import { writeTransaction } from "./write-lock.js";
import type { SeenVersion } from "./write-lock.js";
import type { ContextStore } from "../../index.js";

const dir = mkdtempSync(join(tmpdir(), "contextd-write-lock-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Takes the write lock, says so, waits until the main thread is about to write, then holds
// the lock a little longer (the main thread is blocked in SQLite's busy handler meanwhile).
const HOLDER = `
const { workerData, parentPort } = require("node:worker_threads");
const Database = require("better-sqlite3");
const db = new Database(workerData.path, { timeout: 5000 });
db.exec("BEGIN IMMEDIATE");
db.exec("CREATE TABLE lock_holder (x); DROP TABLE lock_holder"); // a holder writes something
parentPort.postMessage("locked");
const flag = new Int32Array(workerData.flag);
Atomics.wait(flag, 0, 0);
Atomics.wait(flag, 1, 0, 200);
db.exec("COMMIT");
db.close();
`;

async function lockSeries(store: ContextStore): Promise<{ waits: number; seconds: number }> {
  const all = await store.metrics();
  const value = (name: string) => all.find((f) => f.name === name)?.values[0]?.value ?? Number.NaN;
  return { waits: value("contextd_sqlite_lock_waits_total"), seconds: value("contextd_sqlite_lock_wait_seconds_total") };
}

describe("sqlite lock waits", () => {
  it("counts a write that waited for another connection's write lock, in store.metrics()", async () => {
    const path = join(dir, "contended.db");
    await using store = await openStore(`sqlite:${path}`, { embedder: null });
    const c = await store.createContext({ kind: "chat" });
    const before = await lockSeries(store);

    const flag = new SharedArrayBuffer(8);
    const holder = new Worker(HOLDER, { eval: true, workerData: { path, flag } });
    try {
      const [message] = (await once(holder, "message")) as [string];
      expect(message).toBe("locked");
      Atomics.store(new Int32Array(flag), 0, 1);
      Atomics.notify(new Int32Array(flag), 0);
      // Blocks until the holder commits, then succeeds.
      const [appended] = await store.append(c.id, { type: "message", data: "after the lock" });
      expect(appended?.data).toBe("after the lock");
    } finally {
      await holder.terminate();
    }

    const after = await lockSeries(store);
    expect(after.waits - before.waits).toBe(1);
    expect(after.seconds - before.seconds).toBeGreaterThanOrEqual(0.001);
    expect((await store.lastEvents(c.id, 1)).map((e) => e.data)).toEqual(["after the lock"]);
  });

  it("a slow BEGIN counts as a wait only if another connection committed since this one last read data_version", () => {
    const path = join(dir, "seen.db");
    const a = new Database(path);
    const b = new Database(path);
    try {
      a.pragma("journal_mode = WAL");
      a.exec("CREATE TABLE t (x)");
      const waits = { waits: 0, waitMs: 0 };
      const seen: SeenVersion = { value: undefined };
      // Every BEGIN takes 5 ms by this clock: whether it counts is the data_version rule alone.
      let t = 0;
      const write = writeTransaction(a, waits, seen, () => (t += 5));
      const readVersion = () => (seen.value = a.prepare("PRAGMA data_version").pluck().get() as number);
      const insert = a.prepare("INSERT INTO t VALUES (1)");

      b.exec("INSERT INTO t VALUES (0)"); // another connection commits …
      readVersion(); // … and this one reads data_version afterwards (a commit's head check, the change feed)
      write(() => insert.run());
      expect(waits.waits).toBe(0); // nothing committed by another connection since: not a wait

      b.exec("INSERT INTO t VALUES (0)");
      write(() => insert.run());
      expect(waits.waits).toBe(1);
      expect(waits.waitMs).toBe(5);
      write(() => insert.run()); // the slow BEGIN's own check read the new version
      expect(waits.waits).toBe(1);
      expect(a.prepare("SELECT count(*) FROM t").pluck().get()).toBe(5);
    } finally {
      a.close();
      b.close();
    }
  });
});
