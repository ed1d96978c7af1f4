/**
 * Long-term memory over HTTP (`/v1/memories`). The client checks only what JSON or a URL would
 * change (a `Float32Array` or `Date` converted, `NaN` silently made `null`, an option name it
 * could not send) and leaves the rest to the server's store, so errors are the embedded
 * store's, field names included. `reindexMemories` runs as a series of bounded requests, one
 * batch each, so it reports progress and resumes where a stopped one left off.
 */
import { invalidInput } from "../errors.js";
import type {
  AddedMemory,
  AddMemoriesOptions,
  GetMemoryOptions,
  ListMemoriesQuery,
  Memory,
  MemoryHit,
  MemorySearchQuery,
  MemoryVersion,
  MemoryWriteOptions,
  PurgeMemoriesOptions,
  ReindexMemoriesOptions,
  ReindexResult,
} from "../core/memory-types.js";
import type { CoreStore, Page } from "../core/types.js";
import { checkId, checkInt, checkOptions } from "../core/validate.js";
import { checkJson, queryTime, wireTime } from "./checks.js";
import type { RequestSpec } from "./transport.js";
import { enc } from "./wire.js";
import type { Query } from "./wire.js";

/** Sends one request of the client (tenant, lifetime and errors handled). */
export type Call = <T>(spec: Omit<RequestSpec, "tenant">) => Promise<T>;

type MemoryMethods = Pick<
  CoreStore,
  "addMemories" | "getMemory" | "updateMemory" | "deleteMemory" | "listMemories" | "searchMemories" | "memoryHistory" | "purgeMemories" | "reindexMemories"
>;

const memoryPath = (id: unknown, rest = ""): string => `/v1/memories/${enc(checkId(id, "id"))}${rest}`;

const isPlain = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

/** A vector as a JSON array (a `Float32Array` converted; anything else left for the store to judge). */
function wireVector(v: unknown): unknown {
  return v instanceof Float32Array ? Array.from(v) : v;
}

/**
 * An object's fields as they go over the wire: undefined dropped, times and vectors converted,
 * JSON checked. Fields are named `${field}.${key}`, or just `key` when `field` is empty (a
 * search query's fields are top-level names in the store's errors).
 */
function wireFields(value: unknown, field: string, times: readonly string[]): unknown {
  if (!isPlain(value)) {
    checkJson(value, field === "" ? "query" : field);
    return value;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined || k === "signal") continue;
    const name = field === "" ? k : `${field}.${k}`;
    const wired = k === "vector" ? wireVector(v) : times.includes(k) && v !== null ? wireTime(v as Date, name) : v;
    // A vector's elements are named as the store names them (`vector[1]: NaN is not a finite number`).
    if (k === "vector" && Array.isArray(wired)) {
      wired.forEach((x: unknown, i) => {
        if (typeof x === "number" && !Number.isFinite(x)) throw invalidInput(`${name}[${i}]`, `${String(x)} is not a finite number`);
      });
    }
    checkJson(wired, name);
    out[k] = wired;
  }
  return out;
}

/** A JSON query parameter. */
function jsonParam(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  checkJson(value, field);
  return JSON.stringify(value);
}

/** An integer option as a query string, or `INVALID_INPUT` as the store words it. */
function intParam(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw invalidInput(field, `must be an integer, got ${typeof value === "number" ? value : typeof value}`);
  }
  return String(value);
}

/** Repeated string query parameters (`tag=a&tag=b`). */
function stringList(value: unknown, field: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw invalidInput(field, "must be an array of strings");
  value.forEach((t, i) => {
    if (typeof t !== "string") throw invalidInput(`${field}[${i}]`, `must be a string, got ${t === null ? "null" : typeof t}`);
  });
  return value as string[];
}

const LIST_OPTIONS = ["scope", "filter", "tags", "since", "until", "order", "limit", "cursor", "signal"];
const SEARCH_TIMES = ["since", "until"];

/** The memory methods of the HTTP client. */
export function memoryMethods(call: Call): MemoryMethods {
  const run = <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return fn();
    } catch (e) {
      return Promise.reject(e);
    }
  };

  return {
    addMemories: (memories, options) =>
      run(async () => {
        const o = checkOptions<AddMemoriesOptions>(options, "options", ["merge", "actor", "signal"]);
        const wired = Array.isArray(memories)
          ? memories.map((m, i) => wireFields(m, `memories[${i}]`, ["expiresAt"]))
          : wireFields(memories, "memory", ["expiresAt"]);
        const body: Record<string, unknown> = { memories: wired };
        if (o.merge !== undefined) body.merge = wireFields(o.merge, "options.merge", []);
        if (o.actor !== undefined) body.actor = wireFields(o.actor, "options.actor", []);
        return (await call<{ items: AddedMemory[] }>({ method: "POST", path: "/v1/memories", body, signal: o.signal })).items;
      }),

    getMemory: (id, options) =>
      run(() => {
        const path = memoryPath(id);
        const o = checkOptions<GetMemoryOptions>(options, "options", ["refresh", "signal"]);
        if (o.refresh !== undefined && typeof o.refresh !== "boolean") throw invalidInput("options.refresh", "must be a boolean");
        return call<Memory>({ method: "GET", path, query: { refresh: o.refresh === true ? "true" : undefined }, signal: o.signal });
      }),

    updateMemory: (id, update, options) =>
      run(() => {
        const path = memoryPath(id);
        const o = checkOptions<MemoryWriteOptions>(options, "options", ["expectedVersion", "actor", "signal"]);
        if (!isPlain(update)) throw invalidInput("update", "must be an object");
        for (const k of ["expectedVersion", "actor"]) {
          if (k in update) throw invalidInput(`update.${k}`, `unknown option (${k} is an option of the call, not a field)`);
        }
        const body = wireFields(update, "update", ["expiresAt"]) as Record<string, unknown>;
        if (o.expectedVersion !== undefined) body.expectedVersion = wireFields(o.expectedVersion, "options.expectedVersion", []);
        if (o.actor !== undefined) body.actor = wireFields(o.actor, "options.actor", []);
        return call<Memory>({ method: "PATCH", path, body, signal: o.signal });
      }),

    deleteMemory: (id, options) =>
      run(async () => {
        const path = memoryPath(id);
        const o = checkOptions<MemoryWriteOptions>(options, "options", ["expectedVersion", "actor", "signal"]);
        if (o.actor !== undefined && typeof o.actor !== "string") throw invalidInput("options.actor", `must be a string, got ${typeof o.actor}`);
        const query: Query = { expectedVersion: intParam(o.expectedVersion, "options.expectedVersion"), actor: o.actor };
        await call<void>({ method: "DELETE", path, query, signal: o.signal });
      }),

    listMemories: (query) =>
      run(() => {
        const q = checkOptions<ListMemoriesQuery>(query, "query", LIST_OPTIONS);
        if (q.order !== undefined && typeof q.order !== "string") throw invalidInput("order", 'must be "asc" or "desc"');
        if (q.cursor !== undefined && typeof q.cursor !== "string") throw invalidInput("cursor", "must be the nextCursor of a previous page");
        return call<Page<Memory>>({
          method: "GET",
          path: "/v1/memories",
          signal: q.signal,
          query: {
            scope: jsonParam(q.scope, "scope"),
            filter: jsonParam(q.filter, "filter"),
            tag: stringList(q.tags, "tags"),
            since: q.since === undefined ? undefined : queryTime(q.since, "since"),
            until: q.until === undefined ? undefined : queryTime(q.until, "until"),
            order: q.order,
            limit: intParam(q.limit, "limit"),
            cursor: q.cursor,
          },
        });
      }),

    searchMemories: (query) =>
      run(async () => {
        if (!isPlain(query)) throw invalidInput("query", "must be an object");
        const signal = checkOptions<MemorySearchQuery>(query, "query", Object.keys(query)).signal;
        const body = wireFields(query, "", SEARCH_TIMES);
        return (await call<{ items: MemoryHit[] }>({ method: "POST", path: "/v1/memories/search", body, signal })).items;
      }),

    memoryHistory: (id, options) =>
      run(async () => {
        const path = memoryPath(id, "/history");
        const o = checkOptions<{ signal?: AbortSignal }>(options, "options", ["signal"]);
        return (await call<{ items: MemoryVersion[] }>({ method: "GET", path, signal: o.signal })).items;
      }),

    purgeMemories: (options) =>
      run(async () => {
        const o = checkOptions<PurgeMemoriesOptions>(options, "options", ["scope", "signal"]);
        const body = o.scope === undefined ? {} : { scope: wireFields(o.scope, "options.scope", []) };
        return (await call<{ removed: number }>({ method: "POST", path: "/v1/memories/purge", body, signal: o.signal })).removed;
      }),

    reindexMemories: (options) =>
      run(async () => {
        const o = checkOptions<ReindexMemoriesOptions>(options, "options", ["batchSize", "limit", "onProgress", "signal"]);
        if (o.onProgress !== undefined && typeof o.onProgress !== "function") throw invalidInput("options.onProgress", "must be a function");
        const batchSize = o.batchSize === undefined ? 32 : checkInt(o.batchSize, "options.batchSize", 1, 1000);
        const limit = o.limit === undefined ? Number.MAX_SAFE_INTEGER : checkInt(o.limit, "options.limit", 1);
        // One batch a request: each is committed on the server, so progress is real and a
        // stopped reindex resumes with the memories still missing a vector.
        let reindexed = 0;
        for (;;) {
          const body = { batchSize, limit: Math.min(batchSize, limit - reindexed) };
          const r = await call<ReindexResult>({ method: "POST", path: "/v1/memories/reindex", body, signal: o.signal });
          reindexed += r.reindexed;
          const left = Math.min(r.remaining, limit - reindexed);
          if (r.reindexed > 0) o.onProgress?.({ done: reindexed, total: reindexed + left });
          // Nothing embedded while some remain means they cannot be (changed meanwhile): stop rather than spin.
          if (left === 0 || r.reindexed === 0) return { reindexed, remaining: r.remaining };
        }
      }),
  };
}
