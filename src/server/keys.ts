/**
 * API keys: each bound to one tenant and a set of scopes, stored hashed (sha256) in a JSON
 * keys file, compared in constant time. Created, listed and revoked by the CLI.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { readFileSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { ContextError } from "../index.js";

/**
 * What a key may do: `read` (GET), `write` (mutations), `admin` (everything, plus schemas,
 * purge, compact), `metrics` (only `/metrics`, `/v1/metrics`, `/v1/monitor`, `/v1/alerts`:
 * figures over all tenants, no data — the key for a Prometheus scraper).
 */
export type ApiKeyScope = "read" | "write" | "admin" | "metrics";

/** All scopes. */
export const API_KEY_SCOPES: readonly ApiKeyScope[] = ["read", "write", "admin", "metrics"];

/** A key as stored: never the secret, only its hash. */
export interface ApiKeyRecord {
  /** Public id; the key itself starts with `ctxd_<id>_`. */
  id: string;
  /** The tenant every request with this key acts in. `*` (admin only) may pick any tenant per request. */
  tenant: string;
  scopes: ApiKeyScope[];
  /** sha256 of the whole key, hex. */
  hash: string;
  label: string | null;
  createdAt: string;
  revokedAt: string | null;
}

/** The keys file. */
export interface KeysFile {
  version: 1;
  keys: ApiKeyRecord[];
}

/** The keys a server accepts. */
export interface KeyRing {
  /** The record of a valid, unrevoked key, else `null`. Constant-time in the secret. */
  verify(token: string): ApiKeyRecord | null;
  /** How many unrevoked keys there are; 0 means the server runs without auth. */
  readonly size: number;
}

const KEY_PATTERN = /^ctxd_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** A key ring over a list of records (e.g. from a keys file, or built in tests). */
export function createKeyRing(records: readonly ApiKeyRecord[]): KeyRing {
  const byId = new Map<string, { record: ApiKeyRecord; hash: Buffer }>();
  for (const record of records) {
    if (record.revokedAt !== null) continue;
    byId.set(record.id, { record, hash: Buffer.from(record.hash, "hex") });
  }
  // Compared against when the id is unknown, so an unknown id costs the same as a wrong secret.
  const decoy = sha256("contextd-decoy");
  return {
    size: byId.size,
    verify(token) {
      const match = KEY_PATTERN.exec(token);
      const entry = match ? byId.get(match[1] ?? "") : undefined;
      const given = sha256(token);
      const expected = entry?.hash ?? decoy;
      const equal = expected.length === given.length && timingSafeEqual(expected, given);
      return equal && entry && match ? entry.record : null;
    },
  };
}

function parseKeysFile(text: string, path: string): KeysFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new ContextError("INVALID_INPUT", `keys file ${path} is not valid JSON`, { cause, details: { path } });
  }
  const file = data as Partial<KeysFile> | null;
  if (typeof file !== "object" || file === null || file.version !== 1 || !Array.isArray(file.keys)) {
    throw new ContextError("INVALID_INPUT", `keys file ${path} is not a contextd keys file (expected { "version": 1, "keys": [...] })`, {
      details: { path },
    });
  }
  for (const k of file.keys) {
    if (typeof k?.id !== "string" || typeof k.tenant !== "string" || typeof k.hash !== "string" || !Array.isArray(k.scopes)) {
      throw new ContextError("INVALID_INPUT", `keys file ${path} holds a malformed key entry`, { details: { path } });
    }
  }
  return file as KeysFile;
}

/** Reads a keys file; a missing file is an empty one. */
export async function readKeysFile(path: string): Promise<KeysFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { version: 1, keys: [] };
    throw e;
  }
  return parseKeysFile(text, path);
}

/** Writes a keys file atomically (temp file + rename), readable by the owner only. */
export async function writeKeysFile(path: string, file: KeysFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

/** Options of {@link createApiKey}. */
export interface CreateApiKeyOptions {
  tenant: string;
  scopes: ApiKeyScope[];
  label?: string | null;
}

/** Makes a new key and its record (nothing stored). @throws `INVALID_INPUT` for a bad tenant or scope */
export function generateApiKey(options: CreateApiKeyOptions): { key: string; record: ApiKeyRecord } {
  if (!/^(\*|[A-Za-z0-9][A-Za-z0-9._:@+=-]{0,199})$/.test(options.tenant)) {
    throw new ContextError("INVALID_INPUT", "tenant: must be 1-200 of A-Z a-z 0-9 . _ : @ + = - starting alphanumeric (or '*' for an admin key)", {
      details: { field: "tenant" },
    });
  }
  if (options.scopes.length === 0 || options.scopes.some((s) => !API_KEY_SCOPES.includes(s))) {
    throw new ContextError("INVALID_INPUT", `scope: must be a comma-separated list of ${API_KEY_SCOPES.join(", ")}`, {
      details: { field: "scope" },
    });
  }
  if (options.tenant === "*" && !options.scopes.includes("admin")) {
    throw new ContextError("INVALID_INPUT", "tenant: '*' (any tenant) requires the admin scope", { details: { field: "tenant" } });
  }
  const id = randomBytes(8).toString("hex");
  const key = `ctxd_${id}_${randomBytes(32).toString("base64url")}`;
  const record: ApiKeyRecord = {
    id,
    tenant: options.tenant,
    scopes: [...new Set(options.scopes)],
    hash: sha256(key).toString("hex"),
    label: options.label ?? null,
    createdAt: new Date().toISOString(),
    revokedAt: null,
  };
  return { key, record };
}

/** Creates a key, stores its hash in the keys file and returns the secret key (shown once). */
export async function createApiKey(path: string, options: CreateApiKeyOptions): Promise<{ key: string; record: ApiKeyRecord }> {
  const made = generateApiKey(options);
  const file = await readKeysFile(path);
  file.keys.push(made.record);
  await writeKeysFile(path, file);
  return made;
}

/** Revokes a key by id (or by the key itself). @throws `NOT_FOUND` */
export async function revokeApiKey(path: string, idOrKey: string): Promise<ApiKeyRecord> {
  const file = await readKeysFile(path);
  const id = KEY_PATTERN.exec(idOrKey)?.[1] ?? idOrKey;
  const record = file.keys.find((k) => k.id === id);
  if (!record) throw new ContextError("NOT_FOUND", `no key with id ${id} in ${path}`, { details: { id, path } });
  record.revokedAt ??= new Date().toISOString();
  await writeKeysFile(path, file);
  return record;
}

/** The key records of a keys file (hashes included, secrets never). */
export async function listApiKeys(path: string): Promise<ApiKeyRecord[]> {
  return (await readKeysFile(path)).keys;
}

/**
 * A key ring backed by a keys file that picks up changes (a key created or revoked by the
 * CLI while the server runs) on the next request after the file's mtime changes.
 */
export function fileKeyRing(path: string): KeyRing & { reload(): void } {
  let ring = createKeyRing([]);
  let stamp = "";
  let checkedAt = 0;
  const reload = (): void => {
    let stat;
    try {
      stat = statSync(path);
    } catch {
      ring = createKeyRing([]);
      stamp = "";
      return;
    }
    const next = `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
    if (next === stamp) return;
    ring = createKeyRing(parseKeysFile(readFileSync(path, "utf8"), path).keys);
    stamp = next;
  };
  reload();
  const maybeReload = (): void => {
    const now = Date.now();
    if (now - checkedAt < 1000) return;
    checkedAt = now;
    try {
      reload();
    } catch {
      // A half-written or broken file keeps the last good keys.
    }
  };
  return {
    get size() {
      maybeReload();
      return ring.size;
    },
    verify(token) {
      maybeReload();
      return ring.verify(token);
    },
    reload,
  };
}
