/**
 * SQLite's one write lock, taken with `BEGIN IMMEDIATE`, and how often and how long writes
 * waited for it. A connection of another process (or thread) holding the lock makes SQLite's
 * busy handler sleep — at least 1 ms, then longer, until the busy timeout — inside the
 * synchronous `BEGIN`; better-sqlite3 exposes no busy-handler hook, so the driver times the
 * `BEGIN` instead. One that took 1 ms or more waited for the lock if another connection has
 * committed since the last such check (`PRAGMA data_version` moved: a holder of the write lock
 * commits what it wrote); otherwise the thread was only descheduled by a busy machine. The
 * check runs only after a slow `BEGIN`: an uncontended write pays two clock reads.
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

/** Runs `fn` in a `BEGIN IMMEDIATE` transaction: committed when it returns, rolled back when it throws. */
export type WriteTransaction = <T>(fn: () => T) => T;

/**
 * A write transaction on `db` that adds its lock waits to `waits`. Inside it, better-sqlite3's
 * `db.transaction()` nests as a savepoint, as in any transaction.
 */
export function writeTransaction(db: Database.Database, waits: LockWaits): WriteTransaction {
  const begin = db.prepare("BEGIN IMMEDIATE");
  const commit = db.prepare("COMMIT");
  const rollback = db.prepare("ROLLBACK");
  const dataVersion = db.prepare("PRAGMA data_version").pluck();
  let seen = dataVersion.get();
  return <T>(fn: () => T): T => {
    const start = performance.now();
    let begun = false;
    try {
      begin.run();
      begun = true;
    } finally {
      const waited = performance.now() - start;
      if (waited >= WAIT_MS) {
        // A BEGIN that gave up after the busy timeout waited for the lock in any case.
        const now = begun ? dataVersion.get() : undefined;
        if (!begun || now !== seen) {
          seen = now ?? seen;
          waits.waits++;
          waits.waitMs += waited;
        }
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
