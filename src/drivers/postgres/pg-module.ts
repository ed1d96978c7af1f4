/**
 * The part of the `pg` package this driver uses, typed here so that `pg` stays an optional
 * dependency loaded with dynamic `import()` only when a PostgreSQL store is opened.
 */
import { ContextError } from "../../errors.js";

/** A query result. */
export interface PgResult {
  rows: Record<string, unknown>[];
  rowCount: number | null;
}

/** Anything that runs a query. */
export interface PgQueryable {
  query(text: string, values?: unknown[]): Promise<PgResult>;
}

/** A client borrowed from the pool. */
export interface PgPoolClient extends PgQueryable {
  release(destroy?: boolean | Error): void;
}

/** A notification received by a listening client. */
export interface PgNotification {
  channel: string;
  payload?: string;
}

/** A standalone client (used for LISTEN). */
export interface PgClient extends PgQueryable {
  connect(): Promise<void>;
  end(): Promise<void>;
  on(event: "notification", listener: (n: PgNotification) => void): unknown;
  on(event: "error", listener: (e: Error) => void): unknown;
  on(event: "end", listener: () => void): unknown;
  removeAllListeners(event?: string): unknown;
}

/** The connection pool. */
export interface PgPool extends PgQueryable {
  connect(): Promise<PgPoolClient>;
  end(): Promise<void>;
  on(event: "error", listener: (e: Error) => void): unknown;
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
}

/** Type parsers handed to `pg` (bigint → number). */
export interface PgTypes {
  getTypeParser(oid: number, format?: string): (value: string) => unknown;
}

/** Connection settings shared by the pool and the listening client. */
export interface PgConfig {
  connectionString?: string;
  application_name?: string;
  /** Server settings for the session, e.g. `-c synchronous_commit=off`. */
  options?: string;
  statement_timeout?: number;
  query_timeout?: number;
  connectionTimeoutMillis?: number;
  keepAlive?: boolean;
  ssl?: unknown;
  types?: PgTypes;
  max?: number;
  idleTimeoutMillis?: number;
}

/** The `pg` module. */
export interface PgModule {
  Pool: new (config: PgConfig) => PgPool;
  Client: new (config: PgConfig) => PgClient;
  types: PgTypes;
}

let loading: Promise<PgModule> | undefined;

/**
 * Loads `pg` once.
 * @throws `DRIVER_UNAVAILABLE` naming the package to install when it is missing
 */
export function loadPg(): Promise<PgModule> {
  // A variable specifier keeps TypeScript from requiring pg's types at build time.
  const specifier = "pg";
  loading ??= (import(specifier) as Promise<unknown>).then(
    (mod: unknown) => {
      const m = mod as { default?: PgModule } & Partial<PgModule>;
      const pg = m.Pool !== undefined ? (m as PgModule) : m.default;
      if (pg === undefined) throw new Error("the pg module has no Pool export");
      return pg;
    },
    (e: unknown) => {
      loading = undefined;
      throw new ContextError(
        "DRIVER_UNAVAILABLE",
        'the PostgreSQL driver needs the "pg" package: run `npm install pg@^8.23`',
        { cause: e, details: { driver: "postgres", missing: "pg" } },
      );
    },
  );
  return loading;
}

/** Type parsers that return int8 (bigint) columns as numbers; contextd's counters fit in 2^53. */
export function numericTypes(pg: PgModule): PgTypes {
  return {
    getTypeParser(oid: number, format?: string) {
      if (oid === 20) return (v: string) => Number(v);
      return pg.types.getTypeParser(oid, format);
    },
  };
}
