/**
 * Shared by the integration tests that need the real PostgreSQL and Redis: where they are,
 * whether they answer, and fresh schemas that are dropped after use.
 *
 * Under CI (`process.env.CI` set) an unreachable service FAILS the suite; locally it is
 * skipped with the reason in the test name.
 */
import { randomBytes } from "node:crypto";
import { createConnection } from "node:net";
import { describe, it } from "vitest";
import type { ContextStore } from "../src/index.js";

/** The test database. */
export const PG_URL = process.env.CONTEXTD_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
/** The test Redis. */
export const REDIS_URL = process.env.CONTEXTD_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

interface PgClientLike {
  connect(): Promise<void>;
  query(text: string): Promise<unknown>;
  end(): Promise<void>;
  on(event: "error", listener: (e: Error) => void): unknown;
}
type PgLike = { Client: new (config: { connectionString: string; connectionTimeoutMillis?: number }) => PgClientLike };

/** The `pg` module (a dev dependency of the tests). */
export async function pgModule(): Promise<PgLike> {
  const specifier = "pg";
  const m = (await import(specifier)) as { default?: PgLike } & Partial<PgLike>;
  return (m.Client !== undefined ? m : m.default) as PgLike;
}

/** Runs one SQL text on the test database with a fresh connection. */
export async function adminQuery(sql: string): Promise<unknown> {
  const { Client } = await pgModule();
  const c = new Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  c.on("error", () => undefined);
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

/** Null when PostgreSQL answers, else why not. */
export async function probePostgres(): Promise<string | null> {
  try {
    await adminQuery("SELECT 1");
    return null;
  } catch (e) {
    return `PostgreSQL at ${PG_URL} is unreachable: ${(e as Error).message}`;
  }
}

/** Null when Redis answers PING, else why not. */
export async function probeRedis(): Promise<string | null> {
  const url = new URL(REDIS_URL);
  return new Promise((resolve) => {
    const socket = createConnection({ host: url.hostname, port: Number(url.port || 6379) });
    const done = (reason: string | null) => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(2000, () => done(`Redis at ${REDIS_URL} did not answer in 2 s`));
    socket.on("error", (e) => done(`Redis at ${REDIS_URL} is unreachable: ${e.message}`));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (d) => done(d.toString().startsWith("+PONG") ? null : `Redis at ${REDIS_URL} answered ${d.toString().trim()}`));
  });
}

/**
 * Registers `body` when every service is up. Otherwise: under CI, a failing test naming the
 * missing service; locally, a skipped suite whose name states the reason.
 */
export function describeWithServices(name: string, reasons: (string | null)[], body: () => void): void {
  const down = reasons.filter((r): r is string => r !== null);
  if (down.length === 0) {
    describe(name, body);
    return;
  }
  if (process.env.CI) {
    describe(name, () => {
      it("has its services (PostgreSQL/Redis) reachable", () => {
        throw new Error(`${down.join("; ")} — CI must run these tests, not skip them`);
      });
    });
    return;
  }
  describe.skip(`${name} (skipped: ${down.join("; ")})`, body);
}

/** A fresh schema name for one store. */
export function randomSchema(prefix = "cdt"): string {
  return `${prefix}_${randomBytes(6).toString("hex")}`;
}

/** Drops a schema made by a test, with everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`refusing to drop odd schema name ${schema}`);
  await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

/** Deletes every Redis key under `prefix` (a test's cache keys, epoch included). */
export async function dropRedisPrefix(prefix: string): Promise<void> {
  if (!/^[A-Za-z0-9_:]+$/.test(prefix)) throw new Error(`refusing to drop odd prefix ${prefix}`);
  const specifier = "redis";
  const m = (await import(specifier)) as {
    createClient(o: { url: string }): {
      connect(): Promise<unknown>;
      sendCommand(args: string[]): Promise<unknown>;
      on(e: "error", l: () => void): unknown;
      destroy(): void;
    };
  };
  const c = m.createClient({ url: REDIS_URL });
  c.on("error", () => undefined);
  await c.connect();
  try {
    let cursor = "0";
    do {
      const [next, keys] = (await c.sendCommand(["SCAN", cursor, "MATCH", `${prefix}:*`, "COUNT", "1000"])) as [string, string[]];
      cursor = next;
      if (keys.length > 0) await c.sendCommand(["DEL", ...keys]);
    } while (cursor !== "0");
  } finally {
    c.destroy();
  }
}

/**
 * `store`, whose `close` (and `[Symbol.asyncDispose]`) also runs `cleanup` once the store is
 * closed: dropping a test's schema or cache prefix when the conformance suite closes its store.
 */
export function withCleanup(store: ContextStore, cleanup: () => Promise<void>): ContextStore {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === "close" || prop === Symbol.asyncDispose) {
        return async () => {
          await target.close();
          await cleanup();
        };
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
