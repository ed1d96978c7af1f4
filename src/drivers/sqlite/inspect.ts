/**
 * Looks at a database file before the driver changes anything in it (not even the
 * journal mode): a file that is not SQLite or is damaged, a foreign SQLite database and
 * a contextd database from a newer version are refused and left byte-for-byte intact.
 */
import { closeSync, openSync, readSync, statSync } from "node:fs";
import Database from "better-sqlite3";
import { ContextError } from "../../errors.js";
import { wrapNative } from "./errors.js";
import { APPLICATION_ID, MIGRATIONS_TABLE, SCHEMA_VERSION, foreignDatabase, newerSchema, userTables } from "./migrations.js";

const MAGIC = "SQLite format 3\0";
const HEADER_SIZE = 100;

function corrupt(path: string, reason: string, cause?: unknown): ContextError {
  return new ContextError("CORRUPT", `${path} is not a usable SQLite database: ${reason}`, {
    cause,
    details: { path, reason },
  });
}

function readHeader(path: string): Buffer {
  const header = Buffer.alloc(HEADER_SIZE);
  const fd = openSync(path, "r");
  try {
    const n = readSync(fd, header, 0, HEADER_SIZE, 0);
    return header.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** The size of a file, 0 when it does not exist (e.g. a WAL another process just removed). */
function fileSize(path: string): number {
  return statSync(path, { throwIfNoEntry: false })?.size ?? 0;
}

/** Checks the 100-byte header (file format §1.3) without SQLite. */
function checkHeader(path: string, size: number): void {
  const header = readHeader(path);
  if (header.length < HEADER_SIZE || header.toString("latin1", 0, 16) !== MAGIC) {
    throw corrupt(path, "the file does not start with the SQLite header");
  }
  const rawPageSize = header.readUInt16BE(16);
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
    throw corrupt(path, `invalid page size ${rawPageSize}`);
  }
  const writeVersion = header[18];
  const readVersion = header[19];
  if ((writeVersion !== 1 && writeVersion !== 2) || (readVersion !== 1 && readVersion !== 2)) {
    throw corrupt(path, "invalid file format version");
  }
  // The in-header page count is valid when the change counter matches "version-valid-for".
  const pages = header.readUInt32BE(28);
  const valid = header.readUInt32BE(24) === header.readUInt32BE(92);
  // A WAL file may hold pages the main file has not received yet.
  if (valid && pages > 0 && fileSize(`${path}-wal`) === 0 && size < pages * pageSize) {
    // Read without SQLite's locks, this can also be a checkpoint of another process caught
    // half-way (header written, file not yet extended, WAL already gone by the time we
    // look): `open` retries such a finding until its busy timeout before believing it.
    const error = corrupt(path, `the file is truncated (${size} bytes, header says ${pages} pages of ${pageSize})`);
    error.details.retryable = true;
    throw error;
  }
}

/** What {@link inspectDatabaseFile} found. */
export type FileKind = "new" | "contextd";

/**
 * Decides whether the driver may open `path` read-write.
 * @throws `CORRUPT` for a file that is not SQLite or is damaged,
 *   `STORE_INCOMPATIBLE` for a foreign database or a newer contextd schema.
 */
export function inspectDatabaseFile(path: string): FileKind {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) return "new";
  if (!stat.isFile()) throw corrupt(path, "it is not a regular file");
  if (stat.size === 0) return "new";
  checkHeader(path, stat.size);

  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw wrapNative(e, "open", path);
  }
  try {
    const tables = userTables(db);
    if (tables.length === 0) return "new";
    const appId = db.pragma("application_id", { simple: true }) as number;
    if (appId !== APPLICATION_ID || !tables.includes(MIGRATIONS_TABLE)) throw foreignDatabase(path, tables);
    const userVersion = db.pragma("user_version", { simple: true }) as number;
    const recorded = db.prepare(`SELECT max(version) FROM ${MIGRATIONS_TABLE}`).pluck().get() as number | null;
    const version = Math.max(userVersion, recorded === null ? 0 : recorded + 1);
    if (version > SCHEMA_VERSION) throw newerSchema(path, version);
    return "contextd";
  } catch (e) {
    const wrapped = wrapNative(e, "inspect", path);
    if (wrapped.code === "INTERNAL") throw corrupt(path, wrapped.message, e);
    throw wrapped;
  } finally {
    db.close();
  }
}
