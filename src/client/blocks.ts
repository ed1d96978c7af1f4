/**
 * Working-memory blocks over HTTP (`/v1/blocks`; the scope is the query: `contextId`,
 * `userId` or `agentId`). The client checks only what JSON or a URL would change (a value
 * that is not JSON, a scope field that is not a string, an option it could not send) and
 * leaves the rest to the server's store, so errors are the embedded store's.
 */
import { invalidInput } from "../errors.js";
import { MAX_BLOCK_HISTORY_PAGE } from "../core/block-types.js";
import type { Block, BlockVersion, BlockWriteOptions } from "../core/block-types.js";
import type { CoreStore } from "../core/types.js";
import { isPlainObject } from "../core/json.js";
import { checkInt, checkOptions as checkKeys } from "../core/validate.js";
import { checkJson, checkOptions } from "./checks.js";
import type { Call } from "./memories.js";
import { enc } from "./wire.js";
import type { Query } from "./wire.js";

type BlockMethods = Pick<CoreStore, "listBlocks" | "getBlock" | "putBlock" | "editBlock" | "deleteBlock" | "blockHistory">;

const SCOPE_FIELDS = ["contextId", "userId", "agentId"] as const;

/** The scope as query parameters (the server's store checks that exactly one is given). */
function scopeQuery(scope: unknown): Query {
  if (!isPlainObject(scope)) throw invalidInput("scope", "must be an object with exactly one of contextId, userId, agentId");
  const o = checkKeys<Record<string, unknown>>(scope, "scope", SCOPE_FIELDS);
  const q: Query = {};
  for (const k of SCOPE_FIELDS) {
    const v = o[k];
    if (v === undefined) continue;
    if (typeof v !== "string") throw invalidInput(`scope.${k}`, `must be a string, got ${v === null ? "null" : typeof v}`);
    q[k] = v;
  }
  return q;
}

/** The path of a block (a label that is not a string cannot be part of a URL). */
function blockPath(label: unknown, rest = "", field = "label"): string {
  if (typeof label !== "string") throw invalidInput(field, `must be a string, got ${label === null ? "null" : typeof label}`);
  if (label.length === 0) throw invalidInput(field, '"" is not a valid label (1–64 characters of A–Z a–z 0–9 _ - ., starting with a letter)');
  return `/v1/blocks/${enc(label)}${rest}`;
}

/** The guard and actor of a write, as body fields. */
function writeFields(options: unknown): { fields: Record<string, unknown>; signal: AbortSignal | undefined } {
  const o = checkKeys<BlockWriteOptions>(options, "options", ["ifVersion", "actor", "signal"]);
  const fields: Record<string, unknown> = {};
  if (o.ifVersion !== undefined) fields.ifVersion = o.ifVersion;
  if (o.actor !== undefined) fields.actor = o.actor;
  checkJson(fields, "options");
  return { fields, signal: o.signal };
}

/** The block methods of the HTTP client. */
export function blockMethods(call: Call): BlockMethods {
  const run = <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return fn();
    } catch (e) {
      return Promise.reject(e);
    }
  };
  const signalOf = (o: unknown) => checkOptions<{ signal?: AbortSignal }>(o).signal;

  return {
    listBlocks: (scope, options) =>
      run(async () => {
        const query = scopeQuery(scope);
        return (await call<{ items: Block[] }>({ method: "GET", path: "/v1/blocks", query, signal: signalOf(options) })).items;
      }),

    getBlock: (scope, label, options) =>
      run(() => {
        const query = scopeQuery(scope);
        return call<Block>({ method: "GET", path: blockPath(label), query, signal: signalOf(options) });
      }),

    putBlock: (scope, input, options) =>
      run(() => {
        const query = scopeQuery(scope);
        if (!isPlainObject(input)) throw invalidInput("block", "must be a block object with label, value and limit");
        const { label, ...given } = input as unknown as Record<string, unknown>;
        const path = blockPath(label, "", "block.label");
        // An undefined field is an absent one (as to the embedded store), not a JSON error.
        const rest = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
        for (const [k, v] of Object.entries(rest)) checkJson(v, `block.${k}`);
        const { fields, signal } = writeFields(options);
        return call<Block>({ method: "PUT", path, query, body: { ...rest, ...fields }, signal });
      }),

    editBlock: (scope, label, edit, options) =>
      run(() => {
        const query = scopeQuery(scope);
        const path = blockPath(label, "/edit");
        checkJson(edit, "edit");
        const { fields, signal } = writeFields(options);
        return call<Block>({ method: "POST", path, query, body: { edit, ...fields }, signal });
      }),

    deleteBlock: (scope, label, options) =>
      run(async () => {
        const query = scopeQuery(scope);
        const path = blockPath(label);
        const { fields, signal } = writeFields(options);
        if (fields.ifVersion !== undefined) {
          if (typeof fields.ifVersion !== "number" || !Number.isSafeInteger(fields.ifVersion)) {
            throw invalidInput("options.ifVersion", `must be an integer, got ${typeof fields.ifVersion === "number" ? fields.ifVersion : typeof fields.ifVersion}`);
          }
          query.ifVersion = String(fields.ifVersion);
        }
        if (fields.actor !== undefined) {
          if (typeof fields.actor !== "string") throw invalidInput("options.actor", `must be a string, got ${typeof fields.actor}`);
          query.actor = fields.actor;
        }
        await call<void>({ method: "DELETE", path, query, signal });
      }),

    blockHistory: (scope, label, options) =>
      run(async () => {
        const query = scopeQuery(scope);
        const fields = (options ?? {}) as Record<string, unknown>;
        // Checked here as the embedded store checks them (a query string cannot carry the type).
        if (fields.afterVersion !== undefined) query.afterVersion = String(checkInt(fields.afterVersion, "options.afterVersion", 0));
        if (fields.limit !== undefined) query.limit = String(checkInt(fields.limit, "options.limit", 1, MAX_BLOCK_HISTORY_PAGE));
        const path = blockPath(label, "/history");
        return (await call<{ items: BlockVersion[] }>({ method: "GET", path, query, signal: signalOf(options) })).items;
      }),
  };
}
