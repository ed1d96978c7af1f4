/**
 * SQLite's one write lock, taken with `BEGIN IMMEDIATE`, and how often and how long writes
 * waited for it. A connection of another process (or thread) holding the lock makes SQLite's
 * busy handler sleep — at least 1 ms, then longer, until the busy timeout — inside the
 * synchronous `BEGIN`; better-sqlite3 exposes no busy-handler hook, so the driver times the
 * `BEGIN` instead. One that took 1 ms or more waited for the lock if another connection has
 * committed since this connection last read `PRAGMA data_version` (it moved: a holder of the
 * write lock commits what it wrote); otherwise the thread was only descheduled by a busy
 * machine. Every read of it counts ({@link SeenVersion}: a commit's head check reads it inside
 * each write, the change feed polls it), so a commit long before the `BEGIN` is not taken for
 * one during it. The check runs only after a slow `BEGIN`: an uncontended write pays two clock
 * reads.
 */
import { performance } from "node:perf_hooks";
import type Database from "better-sqlite3";

/** SQLite's default busy handler sleeps at least this long on its first retry. */
const WAIT_MS = 1;

/** Writes that waited for the write lock since open, and the milliseconds they waited. */
export interface LockWaits {
  waits: number;
  waitMs: number;
}

/** The `PRAGMA data_version` this connection read last, whoever read it (see the module comment). */
export interface SeenVersion {
  value: number | undefined;
}

/** Runs `fn` in a `BEGIN IMMEDIATE` transaction: committed when it returns, rolled back when it throws. */
export type WriteTransaction = <T>(fn: () => T) => T;

/**
 * A write transaction on `db` that adds its lock waits to `waits`. Inside it, better-sqlite3's
 * `db.transaction()` nests as a savepoint, as in any transaction. `seen`: shared with the
 * connection's other reads of `PRAGMA data_version`; `clock` (tests): milliseconds.
 */
export function writeTransaction(
  db: Database.Database,
  waits: LockWaits,
  seen: SeenVersion = { value: undefined },
  clock: () => number = () => performance.now(),
): WriteTransaction {
  const begin = db.prepare("BEGIN IMMEDIATE");
  const commit = db.prepare("COMMIT");
  const rollback = db.prepare("ROLLBACK");
  const dataVersion = db.prepare("PRAGMA data_version").pluck();
  seen.value = dataVersion.get() as number;
  return <T>(fn: () => T): T => {
    const start = clock();
    let begun = false;
    try {
      begin.run();
      begun = true;
    } finally {
      const waited = clock() - start;
      if (waited >= WAIT_MS) {
        // A BEGIN that gave up after the busy timeout waited for the lock in any case.
        const now = begun ? (dataVersion.get() as number) : undefined;
        if (!begun || now !== seen.value) {
          waits.waits++;
          waits.waitMs += waited;
        }
        if (now !== undefined) seen.value = now;
      }
    }
    try {
      const result = fn();
      commit.run();
      return result;
    } catch (e) {
      // SQLite may have rolled back already (e.g. after SQLITE_FULL).
      if (db.inTransaction) rollback.run();
      throw e;
    }
  };
}
