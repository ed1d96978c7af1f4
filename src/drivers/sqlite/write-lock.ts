/**
 * SQLite's one write lock, taken with `BEGIN IMMEDIATE`, and how often and how long writes
 * waited for it. A connection of another process (or thread) holding the lock makes SQLite's
 * busy handler sleep — at least 1 ms, then longer, until the busy timeout — inside the
 * synchronous `BEGIN`; better-sqlite3 exposes no busy-handler hook, so the driver times the
 * `BEGIN` instead: one that took 1 ms or more waited for the lock (an uncontended one takes
 * microseconds; a thread descheduled for a millisecond by a busy machine is counted too).
 */
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
  return <T>(fn: () => T): T => {
    const start = performance.now();
    try {
      begin.run();
    } finally {
      // A BEGIN that gave up after the busy timeout waited too.
      const waited = performance.now() - start;
      if (waited >= WAIT_MS) {
        waits.waits++;
        waits.waitMs += waited;
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
