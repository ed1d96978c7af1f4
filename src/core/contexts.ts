/**
 * Context records: creating (ids, owners, expiry), listing with filters and cursors, and
 * updating identity fields. Input is validated here before the driver is called.
 */
import { contextNotFound, invalidInput } from "../errors.js";
import type { ContextPatch, ContextRecord, DriverCall } from "../drivers/driver.js";
import { toContextInfo, type Engine } from "./engine.js";
import { newId } from "./ids.js";
import { encodeJsonObject, isPlainObject } from "./json.js";
import {
  checkId,
  checkInt,
  checkOptionalText,
  checkOptions,
  checkText,
  checkTime,
  decodeCursor,
  encodeCursor,
} from "./validate.js";
import type { ContextInfo, CreateContextInput, JsonObject, ListContextsQuery, Page, UpdateContextInput } from "./types.js";

/** The fields `createContext` accepts. */
export const CREATE_FIELDS = ["id", "kind", "userId", "chatId", "agentId", "title", "metadata", "state", "expiresAt", "ttlMs", "parent"];

/** The `parent` of `createContext`: `null`, or the id and version a context was made from. */
export function checkParent(value: unknown): { id: string; version: number } | null {
  if (value === undefined || value === null) return null;
  if (!isPlainObject(value)) throw invalidInput("parent", "must be { id, version } or null");
  for (const key of Object.keys(value)) if (key !== "id" && key !== "version") throw invalidInput(`parent.${key}`, "unknown field (allowed: id, version)");
  return { id: checkId(value.id, "parent.id"), version: checkInt(value.version, "parent.version", 1) };
}

/** Validates creation input into a new record at version 1. */
export function newRecord(
  engine: Engine,
  tenant: string,
  i: Partial<CreateContextInput>,
  now: number,
  parentId: string | null,
  parentVersion: number | null,
): ContextRecord {
  const id = i.id === undefined ? newId(now) : checkId(i.id, "id");
  let expiresAt: number | null = null;
  if (i.expiresAt !== undefined && i.expiresAt !== null) expiresAt = checkTime(i.expiresAt, "expiresAt");
  if (i.ttlMs !== undefined) {
    if (i.expiresAt !== undefined && i.expiresAt !== null) throw invalidInput("ttlMs", "give ttlMs or expiresAt, not both");
    expiresAt = now + checkInt(i.ttlMs, "ttlMs", 1);
  }
  const metadataJson = encodeJsonObject(i.metadata ?? {}, "metadata", engine.limits.maxMetadataChars);
  return {
    id,
    tenant,
    kind: i.kind === undefined ? "default" : checkId(i.kind, "kind"),
    userId: checkOptionalText(i.userId, "userId"),
    chatId: checkOptionalText(i.chatId, "chatId"),
    agentId: checkOptionalText(i.agentId, "agentId"),
    title: checkOptionalText(i.title, "title", 1000),
    metadata: JSON.parse(metadataJson) as JsonObject,
    version: 1,
    lastSeq: 0,
    status: "active",
    createdAt: now,
    updatedAt: now,
    expiresAt,
    parentId,
    parentVersion,
    parentSeq: null,
    firstSeq: 1,
  };
}

/** One page of contexts, filtered, in id order. */
export async function listContexts(engine: Engine, tenant: string, query: ListContextsQuery): Promise<Page<ContextInfo>> {
  const q = checkOptions<ListContextsQuery>(query, "query", [
    "kind", "userId", "chatId", "agentId", "status", "updatedSince", "order", "limit", "cursor", "signal",
  ]);
  const order = q.order ?? "asc";
  if (order !== "asc" && order !== "desc") throw invalidInput("order", 'must be "asc" or "desc"');
  if (q.status !== undefined && q.status !== "active" && q.status !== "archived") {
    throw invalidInput("status", 'must be "active" or "archived"');
  }
  const limit = q.limit === undefined ? 100 : checkInt(q.limit, "limit", 1, 1000);
  const filters = {
    ...(q.kind !== undefined && { kind: checkId(q.kind, "kind") }),
    ...(q.userId !== undefined && { userId: checkText(q.userId, "userId") }),
    ...(q.chatId !== undefined && { chatId: checkText(q.chatId, "chatId") }),
    ...(q.agentId !== undefined && { agentId: checkText(q.agentId, "agentId") }),
    ...(q.status !== undefined && { status: q.status }),
    ...(q.updatedSince !== undefined && { updatedSince: checkTime(q.updatedSince, "updatedSince") }),
    ...(q.cursor !== undefined && { afterId: checkId(decodeCursor(q.cursor), "cursor") }),
  };
  const call = engine.begin(q);
  const rows = await engine.run(() => engine.driver.listContexts(tenant, { order, limit: limit + 1, ...filters }, call));
  const items = rows.slice(0, limit).map(toContextInfo);
  const lastItem = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && lastItem ? encodeCursor(lastItem.id) : null };
}

/** Validates an update of title, metadata, expiry or status. */
export function parseContextPatch(engine: Engine, input: UpdateContextInput): ContextPatch {
  const i = checkOptions<UpdateContextInput>(input, "input", ["title", "metadata", "expiresAt", "status"]);
  if (Object.keys(i).length === 0) throw invalidInput("input", "nothing to update (title, metadata, expiresAt, status)");
  if (i.status !== undefined && i.status !== "active" && i.status !== "archived") {
    throw invalidInput("status", 'must be "active" or "archived"');
  }
  return {
    ...(i.title !== undefined && { title: checkOptionalText(i.title, "title", 1000) }),
    ...(i.metadata !== undefined && { metadata: encodeJsonObject(i.metadata, "metadata", engine.limits.maxMetadataChars) }),
    ...(i.expiresAt !== undefined && { expiresAt: i.expiresAt === null ? null : checkTime(i.expiresAt, "expiresAt") }),
    ...(i.status !== undefined && { status: i.status }),
  };
}

/** Applies a validated patch. @throws `NOT_FOUND` */
export async function updateContext(engine: Engine, tenant: string, call: DriverCall, id: string, patch: ContextPatch): Promise<ContextInfo> {
  const r = await engine.run(() => engine.driver.updateContext(tenant, id, patch, call));
  if (r === null) throw contextNotFound(id);
  return toContextInfo(r);
}
