/**
 * Routes of long-term memory: add (one or many, atomically), list, get, update (compare-and-set
 * on the version, `If-Match` too), delete, history, search, purge and reindex. The tenant is the
 * key's, as for contexts: another tenant's memory is 404 by id and absent from every list,
 * search and count. What is inside a memory, a selection or a search the store checks, so bad
 * input gets the same `INVALID_INPUT` (and `details.field`) here as from the embedded store.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { invalidInput } from "../../index.js";
import type {
  AddMemoriesOptions,
  GetMemoryOptions,
  ListMemoriesQuery,
  Memory,
  MemoryInput,
  MemorySearchQuery,
  MemoryUpdate,
  MemoryWriteOptions,
  PurgeMemoriesOptions,
  ReindexMemoriesOptions,
} from "../../index.js";
import type { AppEnv } from "../app-env.js";
import { responseHeader } from "../node-body.js";
import { callOptions, ifMatchVersion, timeParam } from "../request-options.js";
import {
  AddedMemoriesSchema,
  AddMemoriesBody,
  IdParams,
  ListMemoriesQuerySchema,
  MemoryHistorySchema,
  MemoryHitsSchema,
  MemoryInputSchema,
  MemoryPageSchema,
  MemorySchema,
  MemoryScopeSchema,
  MemorySearchSchema,
  MemoryUpdateSchema,
  PurgeMemoriesBody,
  ReindexMemoriesBody,
  SearchMemoriesBody,
  UpdateMemoryBody,
} from "../api-types.js";
import { errorResponses, jsonBody, jsonResponse, requires, scope } from "./common.js";

const tags = ["memories"];
const ifMatch = z.object({
  "if-match": z.string().optional().openapi({ description: 'Expected version, e.g. "3": a stale one gives 409 VERSION_CONFLICT.' }),
});
const etagHeader = { ETag: { schema: { type: "string" as const }, description: "The memory's version" } };
const memoryResponse = { 200: { ...jsonResponse(MemorySchema, "The memory (ETag = version)"), headers: etagHeader }, ...errorResponses };

/** Answers with a memory and its version as the ETag. */
function memoryAnswer(c: Context<AppEnv>, memory: Memory) {
  responseHeader(c, "ETag", `"${memory.version}"`);
  return c.json(memory, 200);
}

/** A JSON object, required (the route's body after zod's shape check). */
function bodyObject(value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalidInput("body", "must be a JSON object");
  return value as Record<string, unknown>;
}

/** `expectedVersion` from the body or query and `If-Match` (they must agree). */
function expectedVersion(given: unknown, header: string | undefined): unknown {
  const fromHeader = ifMatchVersion(header);
  if (given !== undefined && fromHeader !== undefined && given !== fromHeader) {
    throw invalidInput("expectedVersion", "differs from the If-Match header");
  }
  return given ?? fromHeader;
}

/** A JSON query parameter. */
function parseJsonParam(value: string, field: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw invalidInput(field, "must be JSON (URL-encoded)");
  }
}

/** A number query parameter: digits become a number; anything else goes to the store, which refuses it. */
function numberParam(value: string): number | string {
  return /^-?\d{1,16}$/.test(value) ? Number(value) : value;
}

const list = (v: string | string[] | undefined): string[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);

/** The list query of `GET /v1/memories` as the store's query. */
function listQuery(c: Context<AppEnv>, q: z.infer<typeof ListMemoriesQuerySchema>): ListMemoriesQuery {
  const query: Record<string, unknown> = { signal: c.get("signal") };
  const namespace = list(q.namespace);
  const fields = { userId: q.userId, agentId: q.agentId, contextId: q.contextId, namespace };
  const given = Object.entries(fields).filter(([, v]) => v !== undefined);
  if (q.scope !== undefined) {
    if (given.length > 0) throw invalidInput("scope", `give scope or ${given.map(([k]) => k).join(", ")}, not both`);
    query.scope = parseJsonParam(q.scope, "scope");
  } else if (given.length > 0) {
    query.scope = Object.fromEntries(given);
  }
  if (q.filter !== undefined) query.filter = parseJsonParam(q.filter, "filter");
  const tagList = list(q.tag);
  if (tagList !== undefined) query.tags = tagList;
  if (q.since !== undefined) query.since = timeParam(q.since);
  if (q.until !== undefined) query.until = timeParam(q.until);
  if (q.order !== undefined) query.order = q.order;
  if (q.limit !== undefined) query.limit = numberParam(q.limit);
  if (q.cursor !== undefined) query.cursor = q.cursor;
  return query as ListMemoriesQuery;
}

/** Registers the memory routes and the components their bodies refer to. */
export function registerMemoryRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.register("MemoryScope", MemoryScopeSchema);
  app.openAPIRegistry.register("MemoryInput", MemoryInputSchema);
  app.openAPIRegistry.register("MemoryUpdate", MemoryUpdateSchema);
  app.openAPIRegistry.register("MemorySearch", MemorySearchSchema);

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/memories",
      operationId: "addMemories",
      tags,
      security: requires("write"),
      summary: "Add memories (one or many, atomically; the same text in the same scope returns the existing memory)",
      description:
        "Each text is embedded by the store's model unless a vector is given. Bad input, a taken id or a failing model write nothing. " +
        "`items[i].outcome` says what happened to `memories[i]`.",
      middleware: [scope("write")] as const,
      request: { body: jsonBody(AddMemoriesBody) },
      responses: { 200: jsonResponse(AddedMemoriesSchema, "One item per input, in order"), ...errorResponses },
    }),
    async (c) => {
      const { memories, merge, actor } = c.req.valid("json");
      if (memories === undefined) throw invalidInput("memories", "is required: a memory or an array of memories");
      const options: AddMemoriesOptions = { signal: c.get("signal") };
      if (merge !== undefined) options.merge = merge as { threshold: number };
      if (actor !== undefined) options.actor = actor as string;
      const items = await c.get("store").addMemories(memories as MemoryInput | MemoryInput[], options);
      return c.json({ items }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/memories",
      operationId: "listMemories",
      tags,
      security: requires("read"),
      summary: "List memories (scope, metadata filter, tags, time; by creation time; cursor pagination)",
      middleware: [scope("read")] as const,
      request: { query: ListMemoriesQuerySchema },
      responses: { 200: jsonResponse(MemoryPageSchema, "A page of memories"), ...errorResponses },
    }),
    async (c) => c.json(await c.get("store").listMemories(listQuery(c, c.req.valid("query"))), 200),
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/memories/search",
      operationId: "searchMemories",
      tags,
      security: requires("read"),
      summary: "Search memories by text (BM25), meaning (cosine) or both (hybrid, the default); best first",
      description: "The same hits in the same order as the embedded store (docs/memory.md). `mode: vector` without an embedding model is 501.",
      middleware: [scope("read")] as const,
      request: { body: jsonBody(SearchMemoriesBody) },
      responses: { 200: jsonResponse(MemoryHitsSchema, "The hits"), ...errorResponses },
    }),
    async (c) => {
      const query = { ...bodyObject(c.req.valid("json")), signal: c.get("signal") } as MemorySearchQuery;
      return c.json({ items: await c.get("store").searchMemories(query) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/memories/purge",
      operationId: "purgeMemories",
      tags,
      security: requires("admin"),
      summary: "Delete for good, with their history, the expired memories — or every memory of a scope",
      middleware: [scope("admin")] as const,
      request: { body: jsonBody(PurgeMemoriesBody, false) },
      responses: { 200: jsonResponse(z.object({ removed: z.number().int() }), "How many were deleted"), ...errorResponses },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const options: PurgeMemoriesOptions = { signal: c.get("signal") };
      if (body.scope !== undefined) options.scope = body.scope as PurgeMemoriesOptions["scope"] & object;
      return c.json({ removed: await c.get("store").purgeMemories(options) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/memories/reindex",
      operationId: "reindexMemories",
      tags,
      security: requires("write"),
      summary: "Embed the memories without a vector of the store's model (after a change of model), in committed batches",
      description:
        "Resumable: each batch is committed, so a call cut short (or one stopped by `limit`) leaves the rest for the next call. " +
        "Call again while `remaining` > 0 to show progress. 400 without an embedding model.",
      middleware: [scope("write")] as const,
      request: { body: jsonBody(ReindexMemoriesBody, false) },
      responses: {
        200: jsonResponse(z.object({ reindexed: z.number().int(), remaining: z.number().int() }).openapi("ReindexResult"), "What was embedded and what is left"),
        ...errorResponses,
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const options: ReindexMemoriesOptions = { signal: c.get("signal") };
      if (body.batchSize !== undefined) options.batchSize = body.batchSize as number;
      if (body.limit !== undefined) options.limit = body.limit as number;
      return c.json(await c.get("store").reindexMemories(options), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/memories/{id}",
      operationId: "getMemory",
      tags,
      security: requires("read"),
      summary: "Get a memory (ETag = version); ?refresh=true moves its expiry to now + ttlMs",
      middleware: [scope("read")] as const,
      request: {
        params: IdParams,
        query: z.strictObject({ refresh: z.enum(["true", "false"]).optional().openapi({ description: "Extend the expiry of a memory with a ttlMs." }) }),
      },
      responses: memoryResponse,
    }),
    async (c) => {
      const options: GetMemoryOptions = callOptions(c);
      if (c.req.valid("query").refresh === "true") options.refresh = true;
      return memoryAnswer(c, await c.get("store").getMemory(c.req.valid("param").id, options));
    },
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/v1/memories/{id}",
      operationId: "updateMemory",
      tags,
      security: requires("write"),
      summary: "Update a memory: the given fields, as a new version (compare-and-set with expectedVersion or If-Match)",
      description: "A new text is embedded again. Without a guard the update still never overwrites a change made while it was embedding.",
      middleware: [scope("write")] as const,
      request: { params: IdParams, headers: ifMatch, body: jsonBody(UpdateMemoryBody) },
      responses: memoryResponse,
    }),
    async (c) => {
      const { expectedVersion: given, actor, ...update } = bodyObject(c.req.valid("json"));
      const options: Record<string, unknown> = { signal: c.get("signal") };
      const expected = expectedVersion(given, c.req.header("if-match"));
      if (expected !== undefined) options.expectedVersion = expected;
      if (actor !== undefined) options.actor = actor;
      const memory = await c.get("store").updateMemory(c.req.valid("param").id, update as MemoryUpdate, options as MemoryWriteOptions);
      return memoryAnswer(c, memory);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/v1/memories/{id}",
      operationId: "deleteMemory",
      tags,
      security: requires("write"),
      summary: "Delete a memory (its history keeps a delete version); compare-and-set with ?expectedVersion= or If-Match",
      middleware: [scope("write")] as const,
      request: {
        params: IdParams,
        headers: ifMatch,
        query: z.strictObject({
          expectedVersion: z.string().max(32).optional().openapi({ description: "Fail with 409 unless the memory is at this version." }),
          actor: z.string().max(256).optional().openapi({ description: "Who or what deleted it, recorded in the history." }),
        }),
      },
      responses: { 204: { description: "Deleted" }, ...errorResponses },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const options: Record<string, unknown> = { signal: c.get("signal") };
      const expected = expectedVersion(q.expectedVersion === undefined ? undefined : numberParam(q.expectedVersion), c.req.header("if-match"));
      if (expected !== undefined) options.expectedVersion = expected;
      if (q.actor !== undefined) options.actor = q.actor;
      await c.get("store").deleteMemory(c.req.valid("param").id, options as MemoryWriteOptions);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/memories/{id}/history",
      operationId: "memoryHistory",
      tags,
      security: requires("read"),
      summary: "Every version of a memory, oldest first (with its operation, actor and time)",
      middleware: [scope("read")] as const,
      request: { params: IdParams },
      responses: { 200: jsonResponse(MemoryHistorySchema, "The versions"), ...errorResponses },
    }),
    async (c) => c.json({ items: await c.get("store").memoryHistory(c.req.valid("param").id, callOptions(c)) }, 200),
  );
}
