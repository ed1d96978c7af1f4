import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, openSync, writeSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { createStore, openStore } from "../../open.js";
import { ContextError, isContextError } from "../../errors.js";
import type { ContextErrorCode } from "../../errors.js";
import { describeConformance, testEmbedder } from "../../testing/index.js";
import type { ContextRecord, Driver, DriverCall, EventRecordInput } from "../driver.js";
import { sqliteDriver } from "./driver.js";
import { APPLICATION_ID, MIGRATIONS_TABLE, SCHEMA_VERSION, migrations } from "./migrations.js";

const dir = mkdtempSync(join(tmpdir(), "contextd-sqlite-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = (name = "db") => join(dir, `${name}-${++files}.db`);

// The file configuration runs in sqlite-file.test.ts (a second vitest worker).
const embedder = testEmbedder();
describeConformance("sqlite :memory:", () => createStore(sqliteDriver({ path: ":memory:" }), { embedder }), {
  openWithClock: (now) => createStore(sqliteDriver({ path: ":memory:" }), { now, embedder }),
  skip: {
    crossProcessWatch: "each :memory: connection is its own database",
    sharedBackend: "each :memory: connection is its own database",
  },
});

/**
 * Undoes migrations 6 ("working memory"), 5 ("forks share history") and 4 ("head in the state row") on a current file: the version goes back to the
 * context row (as contextd ≤ schema 4 kept it), with the row's last_seq.
 */
const HEAD_IN_CONTEXT_ROW = `
  DROP TABLE blocks;
  DROP TABLE block_versions;
  DROP TABLE lineage;
  ALTER TABLE contexts DROP COLUMN parent_seq;
  ALTER TABLE contexts ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE contexts ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;
  UPDATE contexts SET version = (SELECT version FROM states WHERE ctx = pk),
    last_seq = coalesce((SELECT max(seq) FROM events WHERE ctx = pk), 0),
    updated_at = max(updated_at, (SELECT updated_at FROM states WHERE ctx = pk));
  ALTER TABLE states DROP COLUMN version;
  ALTER TABLE states DROP COLUMN updated_at;`;

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

async function expectCode(promise: Promise<unknown>, code: ContextErrorCode): Promise<void> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isContextError(error), `expected ContextError ${code}, got ${String(error)}`).toBe(true);
  expect((error as { code: string }).code).toBe(code);
}

/** A driver call at `now`. */
const at = (now: number): DriverCall => ({ now });

function record(id: string, now: number, tenant = "t"): ContextRecord {
  return {
    id,
    tenant,
    kind: "chat",
    userId: null,
    chatId: null,
    agentId: null,
    title: null,
    metadata: {},
    version: 1,
    lastSeq: 0,
    status: "active",
    createdAt: now,
    updatedAt: now,
    expiresAt: null,
    parentId: null,
    parentVersion: null,
    parentSeq: null,
    firstSeq: 1,
  };
}

function event(n: number, now: number): EventRecordInput {
  return { type: "message", data: JSON.stringify({ n }), metadata: "{}", tokens: null, timestamp: now };
}

async function withDriver<T>(driver: Driver, fn: (d: Driver) => Promise<T>): Promise<T> {
  await driver.open();
  try {
    return await fn(driver);
  } finally {
    await driver.close();
  }
}

describe("sqlite driver: files and migrations", () => {
  it("with create: false a missing file is NOT_FOUND naming the path, and neither the file nor its directory is made", async () => {
    const file = join(dir, "not-made", "sub", "x.db");
    const e = await openStore({ url: `sqlite:${file}`, create: false }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(isContextError(e, "NOT_FOUND")).toBe(true);
    expect((e as ContextError).details).toMatchObject({ path: file });
    expect((e as Error).message).toContain(file);
    expect(existsSync(join(dir, "not-made"))).toBe(false);
    // An existing store opens as usual.
    await (await openStore(`sqlite:${file}`)).close();
    await (await openStore({ url: `sqlite:${file}`, create: false })).close();
  });

  it("creates the parent directory and records every migration with the header marker", async () => {
    const path = join(dir, "nested", "deeper", "store.db");
    await withDriver(sqliteDriver({ path }), async () => {});
    const db = new Database(path, { readonly: true });
    try {
      const rows = db.prepare(`SELECT version, name FROM ${MIGRATIONS_TABLE} ORDER BY version`).all();
      expect(rows).toEqual(migrations.map((m, version) => ({ version, name: m.name })));
      expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
      expect(db.pragma("application_id", { simple: true })).toBe(APPLICATION_ID);
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    } finally {
      db.close();
    }
  });

  it("keeps contexts, state and history across a reopen, and migrates only once", async () => {
    const path = freshPath();
    const now = Date.now();
    await withDriver(sqliteDriver({ path }), async (d) => {
      await d.insertContext(record("c1", now), JSON.stringify({ a: 1 }), [], at(Date.now()));
      await d.commit("t", "c1", { events: [event(1, now), event(2, now)] }, at(now));
    });
    await withDriver(sqliteDriver({ path }), async (d) => {
      const head = await d.readHead("t", "c1", at(Date.now()));
      expect(head?.state).toEqual({ a: 1 });
      expect(head?.record.lastSeq).toBe(2);
      const events = await d.readEvents("t", "c1", { order: "asc", limit: 10 }, at(Date.now()));
      expect(events.map((e) => e.data)).toEqual([{ n: 1 }, { n: 2 }]);
    });
    const db = new Database(path, { readonly: true });
    try {
      expect(db.prepare(`SELECT count(*) FROM ${MIGRATIONS_TABLE}`).pluck().get()).toBe(migrations.length);
    } finally {
      db.close();
    }
  });

  it("upgrades a file of schema version 1 (before the search index) on open, and search finds its old events", async () => {
    const path = freshPath("v1");
    const now = Date.now();
    await withDriver(sqliteDriver({ path }), async (d) => {
      await d.insertContext(record("c1", now), "{}", [], at(Date.now()));
      await d.commit("t", "c1", { events: [{ ...event(1, now), data: JSON.stringify({ text: "Legacy Needle" }) }] }, at(now));
    });
    // Make it a version-1 file, as an older contextd left it.
    const old = new Database(path);
    old.exec(`${HEAD_IN_CONTEXT_ROW}
      DROP TABLE memories; DROP TABLE memory_vectors; DROP TABLE memory_versions; DROP TABLE memory_revs;
      DROP TABLE search_fts; DROP TABLE search_progress; ALTER TABLE active_contexts RENAME TO bindings;
      DELETE FROM ${MIGRATIONS_TABLE} WHERE version >= 1`);
    old.pragma("user_version = 1");
    old.close();
    const store = await createStore(sqliteDriver({ path }));
    try {
      const hits = await store.withTenant("t").searchEvents({ text: "needle legacy" });
      expect(hits.map((h) => [h.contextId, h.event.seq, h.event.data])).toEqual([["c1", 1, { text: "Legacy Needle" }]]);
    } finally {
      await store.close();
    }
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
      const rows = db.prepare(`SELECT version, name FROM ${MIGRATIONS_TABLE} ORDER BY version`).all();
      expect(rows).toEqual(migrations.map((m, version) => ({ version, name: m.name })));
    } finally {
      db.close();
    }
  });

  it("upgrades a file of schema version 4 (head in the context row): versions, times and history carry over", async () => {
    const path = freshPath("v4");
    const created = Date.parse("2024-01-01T00:00:00Z");
    const before = await (async () => {
      const store = await createStore(sqliteDriver({ path }), { now: () => created });
      try {
        const ctx = await store.createContext({ id: "c1", state: { n: 0 } });
        await store.patchState(ctx.id, { n: 1 }, { events: [{ type: "message", data: "one" }] });
        await store.patchState(ctx.id, { n: 2 }, { expectedVersion: 2 });
        await store.append(ctx.id, { type: "message", data: "two" });
        return store.getContext(ctx.id);
      } finally {
        await store.close();
      }
    })();
    expect(before.version).toBe(3);
    // Make it a version-4 file, as an older contextd left it.
    const old = new Database(path);
    old.exec(`${HEAD_IN_CONTEXT_ROW} DELETE FROM ${MIGRATIONS_TABLE} WHERE version >= 4`);
    old.pragma("user_version = 4");
    old.close();
    const store = await createStore(sqliteDriver({ path }));
    try {
      expect(await store.getContext("c1")).toEqual(before);
      expect((await store.getState("c1")).state).toEqual({ n: 2 });
      const next = await store.patchState("c1", { n: 3 }, { expectedVersion: 3 });
      expect(next.version).toBe(4);
      await expectCode(store.patchState("c1", { n: 4 }, { expectedVersion: 3 }), "VERSION_CONFLICT");
      expect((await store.readEvents("c1")).items.map((e) => e.version)).toEqual([2, null, 3, null, 4]);
    } finally {
      await store.close();
    }
  });

  it("refuses a SQLite database of another program with STORE_INCOMPATIBLE and leaves it intact", async () => {
    const path = freshPath("foreign");
    const foreign = new Database(path);
    foreign.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('ada');");
    foreign.close();
    const before = sha256(path);
    await expectCode(sqliteDriver({ path }).open(), "STORE_INCOMPATIBLE");
    await expectCode(createStore(sqliteDriver({ path })), "STORE_INCOMPATIBLE");
    expect(sha256(path)).toBe(before);
    expect(existsSync(`${path}-wal`)).toBe(false);
  });

  it("refuses a foreign database in WAL mode without checkpointing or changing it", async () => {
    const path = freshPath("foreign-wal");
    const foreign = new Database(path);
    foreign.pragma("journal_mode = WAL");
    foreign.exec("CREATE TABLE notes (body TEXT)");
    foreign.close();
    const before = sha256(path);
    await expectCode(sqliteDriver({ path }).open(), "STORE_INCOMPATIBLE");
    expect(sha256(path)).toBe(before);
  });

  it("refuses a contextd database from a newer schema version and leaves it intact", async () => {
    const path = freshPath("newer");
    await withDriver(sqliteDriver({ path }), async (d) => {
      await d.insertContext(record("c1", Date.now()), "{}", [], at(Date.now()));
    });
    const db = new Database(path);
    db.exec(`INSERT INTO ${MIGRATIONS_TABLE} (version, name, applied_at) VALUES (${SCHEMA_VERSION}, 'from the future', 0)`);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const before = sha256(path);
    await expectCode(sqliteDriver({ path }).open(), "STORE_INCOMPATIBLE");
    expect(sha256(path)).toBe(before);
  });

  it("refuses a file that is not SQLite with CORRUPT and leaves it intact", async () => {
    const path = freshPath("text");
    writeFileSync(path, "this is a text file, not a database\n".repeat(50));
    const before = sha256(path);
    await expectCode(sqliteDriver({ path }).open(), "CORRUPT");
    expect(sha256(path)).toBe(before);
    expect(existsSync(`${path}-wal`)).toBe(false);
  });

  it("refuses a damaged contextd database with CORRUPT and leaves it intact", async () => {
    const path = freshPath("damaged");
    await withDriver(sqliteDriver({ path }), async (d) => {
      await d.insertContext(record("c1", Date.now()), "{}", [], at(Date.now()));
    });
    // Overwrite the schema table on page 1, after the 100-byte file header.
    const fd = openSync(path, "r+");
    writeSync(fd, Buffer.alloc(400, 0xa5), 0, 400, 100);
    closeSync(fd);
    const before = sha256(path);
    await expectCode(sqliteDriver({ path }).open(), "CORRUPT");
    expect(sha256(path)).toBe(before);
  });

  it("refuses a truncated contextd database with CORRUPT", async () => {
    const path = freshPath("truncated");
    await withDriver(sqliteDriver({ path }), async (d) => {
      await d.insertContext(record("c1", Date.now()), "{}", [], at(Date.now()));
    });
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, bytes.length - 4096));
    const before = sha256(path);
    // A truncation is believed only once it outlasts the busy timeout (it could be another
    // process's checkpoint caught half-way).
    await expectCode(sqliteDriver({ path, busyTimeoutMs: 100 }).open(), "CORRUPT");
    expect(sha256(path)).toBe(before);
  });

  it("applies the synchronous option: NORMAL by default, FULL when asked", async () => {
    for (const [synchronous, expected] of [
      [undefined, 1],
      ["FULL", 2],
    ] as const) {
      const path = freshPath("sync");
      await withDriver(sqliteDriver({ path, ...(synchronous && { synchronous }) }), async (d) => {
        const info = await d.ping(at(Date.now()));
        expect(info.synchronous).toBe(synchronous ?? "NORMAL");
        // The pragma is per connection: read it through the driver's own connection.
        expect(info.synchronousLevel).toBe(expected);
      });
    }
  });

  it("reports durability by path", () => {
    expect(sqliteDriver({ path: ":memory:" }).capabilities).toEqual({ crossProcessWatch: true, durable: false, search: true, memory: true, blocks: true });
    expect(sqliteDriver({ path: freshPath() }).capabilities).toEqual({ crossProcessWatch: true, durable: true, search: true, memory: true, blocks: true });
  });
});

describe("sqlite driver: commits", () => {
  it("keeps sequence numbers gapless and rolls back every part of a failed commit", async () => {
    await withDriver(sqliteDriver({ path: ":memory:" }), async (d) => {
      const now = Date.now();
      await d.insertContext(record("c", now), JSON.stringify({ n: 0 }), [event(0, now)], at(Date.now()));
      const boom = new Error("update failed");
      await expect(
        d.commit("t", "c", { events: [event(1, now)],
          snapshot: { name: "s", label: null, metadata: "{}" },
          update: () => {
            throw boom;
          },
        }, at(now)),
      ).rejects.toThrow();
      const violation = new ContextError("SCHEMA_VIOLATION", "no");
      const thrown: unknown = await d
        .commit("t", "c", { events: [event(1, now)],
          update: () => {
            throw violation;
          },
        }, at(now))
        .catch((e: unknown) => e);
      expect(thrown).toBe(violation);
      await expectCode(d.commit("t", "c", { expectedVersion: 7, events: [event(1, now)] }, at(now)), "VERSION_CONFLICT");
      await expectCode(d.commit("t", "c", { fencingToken: 1, events: [event(1, now)] }, at(now)), "LEASE_LOST");
      const result = await d.commit("t", "c", { expectedVersion: 1,
        events: [event(1, now)],
        update: ({ state }) => ({
          state: { n: (state.n as number) + 1 },
          stateJson: JSON.stringify({ n: (state.n as number) + 1 }),
          event: { type: "state", data: "{}", metadata: "{}", tokens: null, timestamp: now },
          checkpoint: true,
        }),
      }, at(now));
      expect(result.events.map((e) => [e.seq, e.version])).toEqual([
        [2, 2],
        [3, null],
      ]);
      expect((await d.readHead("t", "c", at(now)))?.state).toEqual({ n: 1 });
      expect(await d.listSnapshots("t", "c", at(Date.now()))).toEqual([]);
      expect(await d.readCheckpoint("t", "c", 5, at(Date.now()))).toEqual({ version: 2, state: { n: 1 } });
    });
  });

  it("notifies in-process listeners after a commit and other connections through polling", async () => {
    const path = freshPath("watch");
    const writer = sqliteDriver({ path });
    const watcher = sqliteDriver({ path, pollIntervalMs: 5 });
    await writer.open();
    await watcher.open();
    try {
      const now = Date.now();
      await writer.insertContext(record("c", now), "{}", [], at(Date.now()));
      const local: unknown[] = [];
      const offLocal = writer.subscribe((n) => local.push(n));
      const remote = new Promise((resolve) => {
        const off = watcher.subscribe((n) => {
          off();
          resolve(n);
        });
      });
      await writer.commit("t", "c", { events: [event(1, now)] }, at(now));
      expect(local).toEqual([{ tenant: "t", contextId: "c", lastSeq: 1 }]);
      expect(await remote).toEqual({});
      offLocal();
    } finally {
      await writer.close();
      await watcher.close();
    }
  });

  it("sees updates and re-creations made through another connection (no stale cached rows)", async () => {
    const path = freshPath("peers");
    const a = sqliteDriver({ path });
    const b = sqliteDriver({ path });
    await a.open();
    await b.open();
    try {
      const now = Date.now();
      await a.insertContext(record("c", now), JSON.stringify({ v: 1 }), [], at(Date.now()));
      expect((await a.readHead("t", "c", at(now)))?.record.title).toBeNull();
      expect((await a.getContext("t", "c", at(now)))?.title).toBeNull();
      await b.updateContext("t", "c", { title: "renamed", metadata: JSON.stringify({ k: 1 }) }, at(now));
      expect((await a.readHead("t", "c", at(now)))?.record).toMatchObject({ title: "renamed", metadata: { k: 1 } });
      expect(await a.getContext("t", "c", at(now))).toMatchObject({ title: "renamed", metadata: { k: 1 } });
      await b.commit("t", "c", { events: [event(1, now)] }, at(now));
      expect((await a.commit("t", "c", { events: [event(2, now)] }, at(now))).record).toMatchObject({ title: "renamed", lastSeq: 2 });

      expect(await b.deleteContext("t", "c", at(now))).toBe(true);
      await b.insertContext({ ...record("c", now), kind: "other" }, JSON.stringify({ v: 2 }), [], at(Date.now()));
      const head = await a.readHead("t", "c", at(now));
      expect(head?.record).toMatchObject({ kind: "other", title: null, lastSeq: 0 });
      expect(head?.state).toEqual({ v: 2 });
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("a state write after another connection's commits builds on them (no stale head reused)", async () => {
    const path = freshPath("steps");
    const a = await createStore(sqliteDriver({ path }));
    const b = await createStore(sqliteDriver({ path }));
    try {
      const { id } = await a.createContext({ state: { n: 0 } });
      let v = 1;
      // Steps in a row on one connection (the later ones reuse the head it wrote).
      for (let n = 1; n <= 3; n++) v = (await a.patchState(id, { n }, { expectedVersion: v, events: [{ type: "message", data: n }] })).version;
      await b.patchState(id, { b: true }, { expectedVersion: 4, events: [{ type: "message", data: "b" }] });
      await b.append(id, { type: "message", data: "b2" });
      await expectCode(a.patchState(id, { n: 4 }, { expectedVersion: 4 }), "VERSION_CONFLICT");
      const next = await a.patchState(id, { n: 4 }, { expectedVersion: 5, events: [{ type: "message", data: 4 }] });
      expect(next).toMatchObject({ version: 6, state: { n: 4, b: true }, seq: 10 });
      expect((await b.readEvents(id)).items.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      expect(await b.getContext(id)).toMatchObject({ version: 6, lastSeq: 11 });
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("a state write after this connection's own delete, expiry, compaction or schema sees them", async () => {
    let now = Date.parse("2024-05-01T00:00:00Z");
    const store = await createStore(sqliteDriver({ path: freshPath("own") }), { now: () => now });
    try {
      const step = (id: string, n: number, v: number) => store.patchState(id, { n }, { expectedVersion: v, events: [{ type: "message", data: n }] });
      await store.createContext({ id: "c", kind: "k", state: { n: 0 } });
      await step("c", 1, 1);
      await step("c", 2, 2);
      await store.deleteContext("c");
      await store.createContext({ id: "c", kind: "k", state: { fresh: true } });
      expect(await step("c", 1, 1)).toMatchObject({ version: 2, state: { fresh: true, n: 1 }, seq: 1 });
      await step("c", 2, 2);
      await store.createSnapshot("c", { name: "s" });
      await store.compact("c", { beforeSeq: 5 });
      await step("c", 3, 3);
      expect(await store.getContext("c")).toMatchObject({ lastSeq: 7, version: 4 });
      expect((await store.readEvents("c")).items.map((e) => e.seq)).toEqual([5, 6, 7]);
      await store.setSchema("k", { type: "object", properties: { n: { type: "integer", maximum: 3 } } });
      await expectCode(step("c", 4, 4), "SCHEMA_VIOLATION");
      await store.updateContext("c", { expiresAt: now + 1000 });
      await step("c", 3, 4);
      now += 2000;
      await expectCode(step("c", 3, 5), "NOT_FOUND");
    } finally {
      await store.close();
    }
  });

  it("gives DRIVER_UNAVAILABLE when another connection holds the write lock past the busy timeout", async () => {
    const path = freshPath("busy");
    const d = sqliteDriver({ path, busyTimeoutMs: 50 });
    await d.open();
    const now = Date.now();
    await d.insertContext(record("c", now), "{}", [], at(Date.now()));
    const locker = new Database(path);
    locker.exec("BEGIN IMMEDIATE");
    try {
      await expectCode(d.commit("t", "c", { events: [event(1, now)] }, at(now)), "DRIVER_UNAVAILABLE");
    } finally {
      locker.exec("ROLLBACK");
      locker.close();
    }
    expect((await d.commit("t", "c", { events: [event(1, now)] }, at(now))).events[0]?.seq).toBe(1);
    await d.close();
  });

  it("gives DRIVER_UNAVAILABLE when the directory cannot be created", async () => {
    const blocker = freshPath("blocker");
    writeFileSync(blocker, "a file where a directory should be");
    await expectCode(sqliteDriver({ path: join(blocker, "sub", "x.db") }).open(), "DRIVER_UNAVAILABLE");
  });

  it("fails with CLOSED after close, and closing twice is safe", async () => {
    const d = sqliteDriver({ path: ":memory:" });
    await d.open();
    await d.close();
    await d.close();
    await expectCode(d.getContext("t", "x", at(Date.now())), "CLOSED");
  });
});
