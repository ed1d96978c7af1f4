/**
 * Validation of long-term memory input: memories, scopes, updates and selections. Everything
 * is checked before any I/O, so bad input is `INVALID_INPUT` naming the field and writes
 * nothing.
 */
import { createHash } from "node:crypto";
import { invalidInput } from "../errors.js";
import type { MemoryAdd, MemoryContent, MemoryRecord } from "../drivers/memory-area.js";
import { encodeJson, encodeJsonObject, isPlainObject } from "./json.js";
import type { JsonObject } from "./json-types.js";
import { compileMetadataFilter, type MetadataPredicate } from "./memory-filter.js";
import type { MemoryInput, MemoryScope, MemorySelection, MemoryUpdate, StoredMemoryScope } from "./memory-types.js";
import { checkId, checkInt, checkOptions, checkText, checkTime, type StoreLimits } from "./validate.js";

/** Longest memory text, in characters. */
export const MAX_MEMORY_TEXT = 32_768;
/** Most memories in one `addMemories`. */
export const MAX_MEMORY_BATCH = 1000;
/** The namespace root LangGraph reserves; refused so a LangGraph store can sit on contextd. */
export const RESERVED_NAMESPACE_ROOT = "langgraph";
/**
 * The namespace root of the memories the store keeps for itself: the embedded history of
 * `searchEvents` in vector and hybrid mode (`history-search.ts`). Reserved: no caller can add,
 * list, search, purge or address them.
 */
export const HISTORY_NAMESPACE_ROOT = "contextd";

/** Whether a stored memory is one the store keeps for itself (never shown to callers). */
export const isInternalMemory = (r: { namespace: readonly string[] }): boolean => r.namespace[0] === HISTORY_NAMESPACE_ROOT;
const MAX_TAGS = 64;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const MAX_NAMESPACE_DEPTH = 16;

/** The fields of a memory input. */
export const MEMORY_INPUT_FIELDS = [
  "id", "scope", "text", "value", "metadata", "tags", "importance", "source", "expiresAt", "ttlMs", "vector",
] as const;
const SCOPE_FIELDS = ["userId", "agentId", "contextId", "namespace"] as const;

/** A scope filter of a query: the given fields. */
export interface ScopeFilter {
  userId?: string | null;
  agentId?: string | null;
  contextId?: string | null;
  namespace?: string[];
}

/** Checks memory text: 1 to 32768 characters of well-formed Unicode. */
export function checkMemoryText(value: unknown, field: string, max = MAX_MEMORY_TEXT): string {
  if (typeof value !== "string") throw invalidInput(field, `must be a string, got ${value === null ? "null" : typeof value}`);
  if (value.trim().length === 0) throw invalidInput(field, "must not be empty");
  if (value.length > max) throw invalidInput(field, `has ${value.length} characters; at most ${max}`, { limit: max });
  if (LONE_SURROGATE.test(value)) throw invalidInput(field, "is not well-formed Unicode (a lone surrogate)");
  return value;
}

function checkNamespace(value: unknown, field: string): string[] {
  if (!Array.isArray(value)) throw invalidInput(field, "must be an array of labels");
  if (value.length > MAX_NAMESPACE_DEPTH) throw invalidInput(field, `has ${value.length} labels; at most ${MAX_NAMESPACE_DEPTH}`);
  const labels = value.map((v, i) => checkText(v, `${field}[${i}]`, 128));
  if (labels[0] === RESERVED_NAMESPACE_ROOT || labels[0] === HISTORY_NAMESPACE_ROOT) {
    throw invalidInput(`${field}[0]`, `"${labels[0]}" is a reserved namespace root`);
  }
  return labels;
}

/** Checks a scope; `stored` requires at least one field (a memory's scope). */
export function checkScope(value: unknown, field: string): ScopeFilter {
  const o = checkOptions<MemoryScope>(value, field, SCOPE_FIELDS);
  if (!isPlainObject(value)) throw invalidInput(field, "must be an object with userId, agentId, contextId or namespace");
  const out: ScopeFilter = {};
  if (o.userId !== undefined) out.userId = o.userId === null ? null : checkText(o.userId, `${field}.userId`);
  if (o.agentId !== undefined) out.agentId = o.agentId === null ? null : checkText(o.agentId, `${field}.agentId`);
  if (o.contextId !== undefined) out.contextId = o.contextId === null ? null : checkId(o.contextId, `${field}.contextId`);
  if (o.namespace !== undefined) out.namespace = checkNamespace(o.namespace, `${field}.namespace`);
  const given = SCOPE_FIELDS.filter((k) => (k === "namespace" ? (out.namespace?.length ?? 0) > 0 : out[k] != null));
  if (given.length === 0) throw invalidInput(field, "names no one: give userId, agentId, contextId or a namespace");
  return out;
}

/** The scope as stored, and its canonical key (idempotency is per scope key). */
export function storedScope(s: ScopeFilter): { scope: StoredMemoryScope; key: string } {
  const scope = { userId: s.userId ?? null, agentId: s.agentId ?? null, contextId: s.contextId ?? null, namespace: s.namespace ?? [] };
  return { scope, key: JSON.stringify([scope.userId, scope.agentId, scope.contextId, scope.namespace]) };
}

/** Whether a stored memory is in the scope a query names. */
export function inScope(r: Pick<MemoryRecord, "userId" | "agentId" | "contextId" | "namespace">, s: ScopeFilter): boolean {
  if (s.userId !== undefined && r.userId !== s.userId) return false;
  if (s.agentId !== undefined && r.agentId !== s.agentId) return false;
  if (s.contextId !== undefined && r.contextId !== s.contextId) return false;
  if (s.namespace !== undefined) {
    if (r.namespace.length < s.namespace.length) return false;
    for (let i = 0; i < s.namespace.length; i++) if (r.namespace[i] !== s.namespace[i]) return false;
  }
  return true;
}

/** SHA-256 (hex) of the NFC text: the same text in the same scope is one memory. */
export function textHash(text: string): string {
  return createHash("sha256").update(text.normalize("NFC")).digest("hex");
}

function checkTags(value: unknown, field: string): string[] {
  if (!Array.isArray(value)) throw invalidInput(field, "must be an array of strings");
  if (value.length > MAX_TAGS) throw invalidInput(field, `has ${value.length} tags; at most ${MAX_TAGS}`);
  return [...new Set(value.map((t, i) => checkText(t, `${field}[${i}]`, 128)))];
}

function checkImportance(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > 1) {
    throw invalidInput(field, `must be a number from 0 to 1, got ${String(value)}`);
  }
  return value;
}

/** `expiresAt` / `ttlMs` of an input, as epoch ms and ms. */
function checkExpiry(o: { expiresAt?: unknown; ttlMs?: unknown }, field: string, now: number): { expiresAt: number | null; ttlMs: number | null } {
  const ttlMs = o.ttlMs === undefined || o.ttlMs === null ? null : checkInt(o.ttlMs, `${field}.ttlMs`, 1, 100 * 365 * 86_400_000);
  if (o.expiresAt !== undefined && o.expiresAt !== null && ttlMs !== null) {
    throw invalidInput(`${field}.expiresAt`, "give expiresAt or ttlMs, not both");
  }
  const expiresAt = o.expiresAt === undefined || o.expiresAt === null ? (ttlMs === null ? null : now + ttlMs) : checkTime(o.expiresAt, `${field}.expiresAt`);
  return { expiresAt, ttlMs };
}

/** Checks a caller's vector against the model's dimensions. */
export function checkVector(value: unknown, field: string, dimensions: number | null): Float32Array {
  if (dimensions === null) throw invalidInput(field, "this store has no embedding model, so it keeps no vectors");
  if (!Array.isArray(value) && !(value instanceof Float32Array)) throw invalidInput(field, "must be an array of numbers");
  if (value.length !== dimensions) throw invalidInput(field, `has ${value.length} dimensions; the store's model has ${dimensions}`);
  const v = new Float32Array(dimensions);
  let norm = 0;
  for (let i = 0; i < dimensions; i++) {
    const x: unknown = value[i];
    if (typeof x !== "number" || !Number.isFinite(x)) throw invalidInput(`${field}[${i}]`, `${String(x)} is not a finite number`);
    v[i] = x;
    norm += x * x;
  }
  if (norm === 0) throw invalidInput(field, "is all zeros (it has no direction)");
  return v;
}

/** A checked memory input: what the driver adds (vector filled in by the caller) and whether it brought one. */
export interface CheckedMemory {
  add: MemoryAdd;
  /** The caller's vector, if given (the store then does not embed the text). */
  vector: Float32Array | null;
}

/** Checks one memory input. */
export function checkMemoryInput(
  value: unknown,
  field: string,
  ctx: { limits: StoreLimits; now: number; dimensions: number | null; newId: () => string },
): CheckedMemory {
  const o = checkOptions<MemoryInput>(value, field, MEMORY_INPUT_FIELDS);
  if (!isPlainObject(value)) throw invalidInput(field, "must be a memory object with scope and text");
  if (o.scope === undefined) throw invalidInput(`${field}.scope`, "is required");
  const { scope, key } = storedScope(checkScope(o.scope, `${field}.scope`));
  const text = checkMemoryText(o.text, `${field}.text`);
  let source: { contextId: string; seq: number | null } | null = null;
  if (o.source !== undefined) {
    const src = checkOptions<{ contextId: string; seq: number | null }>(o.source, `${field}.source`, ["contextId", "seq"]);
    source = {
      contextId: checkId(src.contextId, `${field}.source.contextId`),
      seq: src.seq === undefined || src.seq === null ? null : checkInt(src.seq, `${field}.source.seq`, 1),
    };
  }
  const vector = o.vector === undefined ? null : checkVector(o.vector, `${field}.vector`, ctx.dimensions);
  return {
    vector,
    add: {
      id: o.id === undefined ? ctx.newId() : checkId(o.id, `${field}.id`),
      ...scope,
      scopeKey: key,
      sourceContextId: source?.contextId ?? null,
      sourceSeq: source?.seq ?? null,
      text,
      textHash: textHash(text),
      valueJson: o.value === undefined ? "null" : encodeJson(o.value, `${field}.value`, ctx.limits.maxEventChars),
      metadataJson: encodeJsonObject(o.metadata ?? {}, `${field}.metadata`, ctx.limits.maxMetadataChars),
      tags: o.tags === undefined ? [] : checkTags(o.tags, `${field}.tags`),
      importance: o.importance === undefined ? 0.5 : checkImportance(o.importance, `${field}.importance`),
      ...checkExpiry(o, field, ctx.now),
      model: null,
      vector: null,
    },
  };
}

/** Checks an update and merges it into the current content (the text hash and vector follow the text). */
export function mergeMemoryUpdate(
  current: MemoryRecord,
  value: unknown,
  ctx: { limits: StoreLimits; now: number },
): { content: MemoryContent; textChanged: boolean } {
  const o = checkOptions<MemoryUpdate>(value, "update", ["text", "value", "metadata", "tags", "importance", "expiresAt", "ttlMs"]);
  if (Object.keys(o).length === 0) throw invalidInput("update", "nothing to update (text, value, metadata, tags, importance, expiresAt, ttlMs)");
  const text = o.text === undefined ? current.text : checkMemoryText(o.text, "update.text");
  const textChanged = text !== current.text;
  const expiry =
    o.expiresAt === undefined && o.ttlMs === undefined
      ? { expiresAt: current.expiresAt, ttlMs: current.ttlMs }
      : checkExpiry({ expiresAt: o.expiresAt, ttlMs: o.ttlMs }, "update", ctx.now);
  return {
    textChanged,
    content: {
      text,
      textHash: textHash(text),
      valueJson: encodeJson(o.value === undefined ? current.value : o.value, "update.value", ctx.limits.maxEventChars),
      metadataJson: encodeJsonObject(o.metadata ?? current.metadata, "update.metadata", ctx.limits.maxMetadataChars),
      tags: o.tags === undefined ? current.tags : checkTags(o.tags, "update.tags"),
      importance: o.importance === undefined ? current.importance : checkImportance(o.importance, "update.importance"),
      ...expiry,
      model: textChanged ? null : current.model,
      vector: textChanged ? null : current.vector,
    },
  };
}

/** A checked selection: a predicate over stored memories (expiry excluded). */
export interface Selection {
  scope: ScopeFilter | undefined;
  matches: (r: MemoryRecord) => boolean;
  /** The conditions besides the scope (metadata, tags, time), or undefined when there are none. */
  rest: ((r: MemoryRecord) => boolean) | undefined;
}

/** The fields of a selection. */
export const SELECTION_FIELDS = ["scope", "filter", "tags", "since", "until"] as const;

/** Checks the selection part of a list or search query. */
export function checkSelection(o: MemorySelection): Selection {
  const scope = o.scope === undefined ? undefined : checkScope(o.scope, "scope");
  const metadata: MetadataPredicate = compileMetadataFilter(o.filter === undefined ? undefined : JSON.parse(encodeJson(o.filter, "filter", 1 << 16)));
  const tags = o.tags === undefined ? [] : checkTags(o.tags, "tags");
  const since = o.since === undefined ? undefined : checkTime(o.since, "since");
  const until = o.until === undefined ? undefined : checkTime(o.until, "until");
  const rest =
    o.filter === undefined && tags.length === 0 && since === undefined && until === undefined
      ? undefined
      : (r: MemoryRecord) =>
          (since === undefined || r.createdAt >= since) &&
          (until === undefined || r.createdAt <= until) &&
          tags.every((t) => r.tags.includes(t)) &&
          metadata(r.metadata as JsonObject);
  return {
    scope,
    matches: (r) => !isInternalMemory(r) && (scope === undefined || inScope(r, scope)) && (rest === undefined || rest(r)),
    rest,
  };
}
