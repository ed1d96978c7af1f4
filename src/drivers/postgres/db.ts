/**
 * The connection pool of the PostgreSQL driver: lazy connect, timeouts, error wrapping,
 * and transactions that always give their connection back.
 */
import { ContextError, abortedError } from "../../errors.js";
import { isConnectionError, wrapNative } from "./errors.js";
import type { ChangeNotice, DriverCall } from "../driver.js";
import type { PgConfig, PgModule, PgPool, PgPoolClient, PgQueryable, PgResult } from "./pg-module.js";

/** What the method groups of the driver (history, leases, active contexts, state schemas) share. */
export interface DriverScope {
  /** The quoted schema name. */
  s: string;
  /** Runs one statement (a write: not started once `call.signal` fired, never abandoned once started). */
  q(operation: string, text: string, values: unknown[], call: DriverCall): Promise<PgResult>;
  /** Runs one read-only statement (retried once on a dead pooled connection; the caller's signal ends the wait). */
  read(operation: string, text: string, values: unknown[], call: DriverCall): Promise<PgResult>;
  /** Runs `fn` in a transaction; the caller's signal rolls back one not yet committed. */
  tx<T>(operation: string, fn: (client: PgQueryable) => Promise<T>, call: DriverCall): Promise<T>;
  /** Tells this process's listeners and the other nodes about a change. */
  announce(notice: ChangeNotice): void;
  /** The surrogate key of a visible context as a SQL expression on $1 (tenant), $2 (id), $3 (now). */
  pkOf: string;
  /** Throws `NOT_FOUND` unless the context is visible at `call.now`. */
  exists(tenant: string, id: string, call: DriverCall): Promise<void>;
}

/** What the driver asks of the pool. */
export interface Db {
  /**
   * Runs one statement (its own transaction). Reads pass `retry` to survive one dead pooled
   * connection, and stop waiting when `signal` fires (the statement itself finishes unseen);
   * a write is only checked before it starts: once sent it may commit, so it is never abandoned.
   */
  query(operation: string, text: string, values?: unknown[], retry?: boolean, signal?: AbortSignal): Promise<PgResult>;
  /**
   * Runs `fn` inside BEGIN … COMMIT; rolls back and rethrows on any error. `signal` is checked
   * before and after taking a pooled connection and before COMMIT (a fired signal rolls back).
   */
  tx<T>(operation: string, fn: (client: PgQueryable) => Promise<T>, signal?: AbortSignal): Promise<T>;
  readonly pool: PgPool;
  close(): Promise<void>;
}

/** Creates the pool; it connects lazily on the first query. */
export function createDb(pg: PgModule, config: PgConfig, onPoolError: (e: Error) => void): Db {
  const pool = new pg.Pool(config);
  // An idle client whose server went away emits here; without a listener it would crash the process.
  pool.on("error", onPoolError);
  let closed = false;

  const closedError = () => new ContextError("CLOSED", "the PostgreSQL driver is closed");

  async function run(operation: string, text: string, values: unknown[] | undefined, retry: boolean): Promise<PgResult> {
    try {
      return await pool.query(text, values);
    } catch (e) {
      if (retry && !closed && isConnectionError(e)) {
        try {
          return await pool.query(text, values);
        } catch (e2) {
          throw wrapNative(e2, operation);
        }
      }
      throw wrapNative(e, operation);
    }
  }

  function query(operation: string, text: string, values?: unknown[], retry = false, signal?: AbortSignal): Promise<PgResult> {
    if (closed) return Promise.reject(closedError());
    if (signal?.aborted === true) return Promise.reject(abortedError(signal));
    const pending = run(operation, text, values, retry);
    return retry && signal !== undefined ? untilAborted(pending, signal) : pending;
  }

  async function tx<T>(operation: string, fn: (client: PgQueryable) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (closed) throw closedError();
    // A function, not a narrowed property: the signal may fire during each await below.
    const checkSignal = () => {
      if (signal?.aborted === true) throw abortedError(signal);
    };
    checkSignal();
    let client: PgPoolClient;
    try {
      client = await pool.connect();
    } catch (e) {
      throw wrapNative(e, operation);
    }
    let broken = false;
    try {
      checkSignal();
      await client.query("BEGIN");
      const out = await fn(client);
      // The last moment to give up: after COMMIT is sent the write may be durable.
      checkSignal();
      await client.query("COMMIT");
      return out;
    } catch (e) {
      if (isConnectionError(e)) broken = true;
      else {
        try {
          await client.query("ROLLBACK");
        } catch {
          broken = true;
        }
      }
      throw wrapNative(e, operation);
    } finally {
      client.release(broken);
    }
  }

  return {
    query,
    tx,
    pool,
    async close() {
      if (closed) return;
      closed = true;
      await pool.end().catch(() => undefined);
    },
  };
}

/** Settles like `pending`, or rejects with `ABORTED` as soon as `signal` fires (for reads only). */
function untilAborted<T>(pending: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortedError(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    pending.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e as Error);
      },
    );
  });
}
