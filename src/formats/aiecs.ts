/**
 * Import of AIECS `TaskContext` history files (`context_history_<chat_id>.json`: a JSON
 * array of `{ timestamp, update_type, data, metadata }`, timestamps in epoch seconds) into
 * one context per chat, so AIECS users move their histories into contextd.
 *
 * Idempotent: entries are appended in chunks of 5000, each chunk atomically with an
 * `aiecs_import` event (`{ file, chatId, count, digest }` of the prefix imported so far), so
 * an import cut short resumes where it stopped. Importing the
 * file again appends only the entries added to it since (AIECS appends to the file); a file
 * whose earlier entries changed (e.g. AIECS `optimize_context` rewrote it) is reported as
 * failed rather than imported twice. A bad file is reported by name; the others still import.
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { ContextError, isContextError } from "../errors.js";
import { canonicalJson, isPlainObject } from "../core/json.js";
import { RESERVED_EVENT_TYPES } from "../core/validate.js";
import { AIECS_IMPORT_EVENT } from "../agent/bookkeeping.js";
import type { CallOptions, ContextInfo, CoreStore, EventInput, JsonObject, JsonValue } from "../core/types.js";

/** The file name pattern; the capture is the chat id. */
export const AIECS_FILE_PATTERN = /^context_history_(.+)\.json$/;

/** Entries appended per call (below the store's batch limit). */
const AIECS_CHUNK = 5000;

export { AIECS_IMPORT_EVENT };

/** Options of {@link importAiecsHistory}. */
export interface AiecsImportOptions extends CallOptions {
  /** Owner of contexts the import creates, and filter when looking for a chat's context. */
  userId?: string;
  /** Kind of contexts the import creates. @default "chat" */
  kind?: string;
}

/** What {@link importAiecsHistory} did, per file. */
export interface AiecsImportResult {
  imported: { file: string; chatId: string; contextId: string; events: number; created: boolean }[];
  unchanged: { file: string; chatId: string; contextId: string }[];
  failed: { file: string; error: ContextError }[];
}

interface Entry {
  timestamp: number | string;
  update_type: string;
  data: JsonValue;
  metadata: JsonObject;
}

function invalidFile(file: string, message: string, cause?: unknown): ContextError {
  return new ContextError("INVALID_INPUT", `${file}: ${message}`, { details: { file }, ...(cause !== undefined && { cause }) });
}

function parseEntries(file: string, text: string): Entry[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw invalidFile(file, `not JSON (${(e as Error).message})`, e);
  }
  if (!Array.isArray(value)) throw invalidFile(file, "must be a JSON array of context updates");
  return value.map((raw: unknown, i): Entry => {
    if (!isPlainObject(raw)) throw invalidFile(file, `entry ${i} is not an object`);
    const { timestamp, update_type: type, data, metadata } = raw;
    if (typeof type !== "string" || type.length === 0 || type.length > 128) throw invalidFile(file, `entry ${i}: update_type must be a non-empty string`);
    const okTime =
      (typeof timestamp === "number" && Number.isFinite(timestamp) && timestamp >= 0) ||
      (typeof timestamp === "string" && !Number.isNaN(Date.parse(timestamp)));
    if (!okTime) throw invalidFile(file, `entry ${i}: timestamp must be epoch seconds or an ISO 8601 string`);
    if (metadata !== undefined && metadata !== null && !isPlainObject(metadata)) throw invalidFile(file, `entry ${i}: metadata must be an object`);
    return {
      timestamp: timestamp as number | string,
      update_type: type,
      data: (data ?? null) as JsonValue,
      metadata: (metadata ?? {}) as JsonObject,
    };
  });
}

function digest(entries: readonly Entry[]): string {
  const hash = createHash("sha256");
  for (const e of entries) hash.update(canonicalJson(e as unknown as JsonValue)).update("\n");
  return hash.digest("hex");
}

/** What an AIECS `update_type` that contextd reserves becomes: this prefix plus the type. */
export const AIECS_RENAMED_PREFIX = "aiecs:";

/**
 * The contextd event type of an AIECS `update_type`: itself, except the engine's reserved
 * types (`state`, `snapshot`, `restore`), the import marker `aiecs_import`, and types that
 * already start with `aiecs:` (so the mapping stays one-to-one), which get the `aiecs:` prefix.
 */
export function aiecsEventType(updateType: string): string {
  const renamed = RESERVED_EVENT_TYPES.includes(updateType) || updateType === AIECS_IMPORT_EVENT || updateType.startsWith(AIECS_RENAMED_PREFIX);
  return renamed ? `${AIECS_RENAMED_PREFIX}${updateType}` : updateType;
}

function toEvent(e: Entry): EventInput {
  return {
    type: aiecsEventType(e.update_type),
    data: e.data,
    metadata: e.metadata,
    timestamp: typeof e.timestamp === "number" ? Math.round(e.timestamp * 1000) : e.timestamp,
  };
}

async function chatContext(store: CoreStore, chatId: string, o: AiecsImportOptions): Promise<{ context: ContextInfo; created: boolean }> {
  const page = await store.listContexts({
    chatId,
    ...(o.userId !== undefined && { userId: o.userId }),
    order: "desc",
    limit: 1,
    signal: o.signal,
  });
  const found = page.items[0];
  if (found !== undefined) return { context: found, created: false };
  const context = await store.createContext(
    { kind: o.kind ?? "chat", chatId, userId: o.userId ?? null, metadata: { source: "aiecs" } },
    { signal: o.signal },
  );
  return { context, created: true };
}

async function filesOf(input: string | readonly string[]): Promise<string[]> {
  if (typeof input !== "string") return [...input];
  const names = await readdir(input);
  return names.filter((n) => AIECS_FILE_PATTERN.test(n)).sort().map((n) => join(input, n));
}

/**
 * Imports AIECS history files: a directory (every `context_history_*.json` in it) or a list
 * of file paths.
 *
 * @example
 * ```ts
 * const r = await importAiecsHistory(store, "./tasks");
 * for (const f of r.failed) console.error(f.file, f.error.message);
 * ```
 */
export async function importAiecsHistory(
  store: CoreStore,
  input: string | readonly string[],
  options: AiecsImportOptions = {},
): Promise<AiecsImportResult> {
  const result: AiecsImportResult = { imported: [], unchanged: [], failed: [] };
  for (const path of await filesOf(input)) {
    const file = basename(path);
    try {
      const match = AIECS_FILE_PATTERN.exec(file);
      if (match === null) throw invalidFile(file, "the name is not context_history_<chat_id>.json");
      const chatId = match[1]!;
      let bytes: Uint8Array;
      let text: string;
      try {
        bytes = await readFile(path);
      } catch (e) {
        throw invalidFile(file, `cannot be read (${(e as Error).message})`, e);
      }
      try {
        // fatal: bytes that are not UTF-8 are an error, not U+FFFD written into the history.
        text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
      } catch (e) {
        throw invalidFile(file, "is not valid UTF-8", e);
      }
      const entries = parseEntries(file, text);
      const { context, created } = await chatContext(store, chatId, options);
      let done = 0;
      if (!created) {
        const marks = await store.readEvents(context.id, { types: [AIECS_IMPORT_EVENT], order: "desc", limit: 100, signal: options.signal });
        const mark = marks.items.find((e) => isPlainObject(e.data) && (e.data as JsonObject)["file"] === file);
        if (mark !== undefined) {
          const m = mark.data as { count?: unknown; digest?: unknown };
          const count = typeof m.count === "number" ? m.count : 0;
          if (count > entries.length || digest(entries.slice(0, count)) !== m.digest) {
            throw invalidFile(file, `changed since it was imported into context ${context.id} (its first ${count} entries differ); not imported again`);
          }
          done = count;
        }
      }
      if (done === entries.length && !created) {
        result.unchanged.push({ file, chatId, contextId: context.id });
        continue;
      }
      // Large files go in chunks; each chunk lands atomically with a marker of the prefix it
      // completes, so an import cut short resumes where it stopped and never appends twice.
      const hash = createHash("sha256");
      for (const e of entries.slice(0, done)) hash.update(canonicalJson(e as unknown as JsonValue)).update("\n");
      for (let from = done; from < entries.length; from += AIECS_CHUNK) {
        const chunk = entries.slice(from, from + AIECS_CHUNK);
        for (const e of chunk) hash.update(canonicalJson(e as unknown as JsonValue)).update("\n");
        const count = from + chunk.length;
        const events = chunk.map(toEvent);
        events.push({ type: AIECS_IMPORT_EVENT, data: { file, chatId, count, digest: hash.copy().digest("hex") } });
        await store.append(context.id, events, { signal: options.signal });
      }
      result.imported.push({ file, chatId, contextId: context.id, events: entries.length - done, created });
    } catch (e) {
      if (isContextError(e, "ABORTED") || isContextError(e, "CLOSED")) throw e;
      const error =
        isContextError(e) && e.message.startsWith(`${file}:`)
          ? e
          : new ContextError(isContextError(e) ? e.code : "INTERNAL", `${file}: ${(e as Error)?.message ?? String(e)}`, {
              cause: e,
              details: { file, ...(isContextError(e) ? e.details : {}) },
            });
      result.failed.push({ file, error });
    }
  }
  return result;
}
