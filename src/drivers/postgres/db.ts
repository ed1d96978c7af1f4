/**
 * The connection pool of the PostgreSQL driver: lazy connect, timeouts, error wrapping,
 * and transactions that always give their connection back.
 */
import { ContextError } from "../../errors.js";
import { isConnectionError, wrapNative } from "./errors.js";
import type { ChangeNotice } from "../driver.js";
import type { PgConfig, PgModule, PgPool, PgPoolClient, PgQueryable, PgResult } from "./pg-module.js";

/** What the method groups of the driver (history, leases, active contexts, state schemas) share. */
export interface DriverScope {
  /** The quoted schema name. */
  s: string;
  /** Runs one statement. */
  q(operation: string, text: string, values?: unknown[]): Promise<PgResult>;
  /** Runs one read-only statement (retried once on a dead pooled connection). */
  read(operation: string, text: string, values?: unknown[]): Promise<PgResult>;
  tx<T>(operation: string, fn: (client: PgQueryable) => Promise<T>): Promise<T>;
  /** Tells this process's listeners and the other nodes about a change. */
  announce(notice: ChangeNotice): void;
  /** The surrogate key of a visible context as a SQL expression on $1 (tenant), $2 (id), $3 (now). */
  pkOf: string;
  /** Throws `NOT_FOUND` unless the context is visible now. */
  exists(tenant: string, id: string): Promise<void>;
}

/** What the driver asks of the pool. */
export interface Db {
  /** Runs one statement (its own transaction). Reads pass `retry` to survive one dead pooled connection. */
  query(operation: string, text: string, values?: unknown[], retry?: boolean): Promise<PgResult>;
  /** Runs `fn` inside BEGIN … COMMIT; rolls back and rethrows on any error. */
  tx<T>(operation: string, fn: (client: PgQueryable) => Promise<T>): Promise<T>;
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

  async function query(operation: string, text: string, values?: unknown[], retry = false): Promise<PgResult> {
    if (closed) throw closedError();
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

  async function tx<T>(operation: string, fn: (client: PgQueryable) => Promise<T>): Promise<T> {
    if (closed) throw closedError();
    let client: PgPoolClient;
    try {
      client = await pool.connect();
    } catch (e) {
      throw wrapNative(e, operation);
    }
    let broken = false;
    try {
      await client.query("BEGIN");
      const out = await fn(client);
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
