/**
 * Routes of working memory: `/v1/blocks`, the scope in the query (`?contextId=`, `?userId=` or
 * `?agentId=`, exactly one), the label in the path. List, get (ETag = version), put (create or
 * overwrite), edit (append, replace, rewrite), delete and history; compare-and-set with
 * `ifVersion` or `If-Match`. The tenant is the key's: another tenant's block is 404 and absent
 * from every list. What is inside a request the store checks, so bad input gets the same
 * `INVALID_INPUT` (and `details.field`) here as from the embedded store, and a write over a
 * block's limit is 422 `LIMIT_EXCEEDED` on this path as on every other.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { invalidInput } from "../../index.js";
import type { Block, BlockEdit, BlockInput, BlockScope, BlockWriteOptions } from "../../index.js";
import type { AppEnv } from "../app-env.js";
import { responseHeader } from "../node-body.js";
import { callOptions, ifMatchVersion } from "../request-options.js";
import {
  BlockEditSchema,
  BlockHistorySchema,
  BlockListSchema,
  BlockPutSchema,
  BlockSchema,
  BlockHistoryQuery,
  BlockScopeQuery,
  checkedByStore,
  LabelParams,
} from "../api-types.js";
import { errorResponses, jsonBody, jsonResponse, requires, scope } from "./common.js";

const tags = ["blocks"];
const ifMatch = z.object({
  "if-match": z.string().optional().openapi({ description: 'Expected version, e.g. "3": a stale one gives 409 VERSION_CONFLICT.' }),
});
const etagHeader = { ETag: { schema: { type: "string" as const }, description: "The block's version" } };
const blockResponse = { 200: { ...jsonResponse(BlockSchema, "The block (ETag = version)"), headers: etagHeader }, ...errorResponses };
const DeleteQuery = BlockScopeQuery.extend({
  ifVersion: z.string().max(32).optional().openapi({ description: "Fail with 409 unless the block is at this version." }),
  actor: z.string().max(256).optional().openapi({ description: "Who or what deleted it, recorded in the history." }),
});

/** Answers with a block and its version as the ETag. */
function blockAnswer(c: Context<AppEnv>, block: Block) {
  responseHeader(c, "ETag", `"${block.version}"`);
  return c.json(block, 200);
}

/** The scope the query names (the store refuses none or more than one, as it would embedded). */
function scopeOf(q: { contextId?: string | undefined; userId?: string | undefined; agentId?: string | undefined }): BlockScope {
  const out: Record<string, string> = {};
  if (q.contextId !== undefined) out.contextId = q.contextId;
  if (q.userId !== undefined) out.userId = q.userId;
  if (q.agentId !== undefined) out.agentId = q.agentId;
  return out as BlockScope;
}

/** A JSON object, required (the route's body after zod's shape check). */
function bodyObject(value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalidInput("body", "must be a JSON object");
  return value as Record<string, unknown>;
}

/** The write options of a body's `ifVersion` and `actor`, with `If-Match` (they must agree). */
function writeOptions(c: Context<AppEnv>, ifVersion: unknown, actor: unknown): BlockWriteOptions {
  const options: Record<string, unknown> = { signal: c.get("signal") };
  const fromHeader = ifMatchVersion(c.req.header("if-match"));
  if (ifVersion !== undefined && fromHeader !== undefined && ifVersion !== fromHeader) throw invalidInput("ifVersion", "differs from the If-Match header");
  const expected = ifVersion ?? fromHeader;
  if (expected !== undefined) options.ifVersion = expected;
  if (actor !== undefined) options.actor = actor;
  return options as BlockWriteOptions;
}

/** Registers the block routes and the components their bodies refer to. */
export function registerBlockRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.register("BlockPut", BlockPutSchema);
  app.openAPIRegistry.register("BlockEdit", BlockEditSchema);

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/blocks",
      operationId: "listBlocks",
      tags,
      security: requires("read"),
      summary: "The working-memory blocks of a scope (?contextId=, ?userId= or ?agentId=), by label",
      middleware: [scope("read")] as const,
      request: { query: BlockScopeQuery },
      responses: { 200: jsonResponse(BlockListSchema, "The blocks"), ...errorResponses },
    }),
    async (c) => c.json({ items: await c.get("store").listBlocks(scopeOf(c.req.valid("query")), callOptions(c)) }, 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/blocks/{label}",
      operationId: "getBlock",
      tags,
      security: requires("read"),
      summary: "Get a block (ETag = version)",
      middleware: [scope("read")] as const,
      request: { params: LabelParams, query: BlockScopeQuery },
      responses: blockResponse,
    }),
    async (c) => blockAnswer(c, await c.get("store").getBlock(scopeOf(c.req.valid("query")), c.req.valid("param").label, callOptions(c))),
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/v1/blocks/{label}",
      operationId: "putBlock",
      tags,
      security: requires("write"),
      summary: "Create or overwrite a block (description, value, schema, limit) as a new version",
      description: "A value over the limit is 422 LIMIT_EXCEEDED (details: limit, unit, size, over); nothing is written.",
      middleware: [scope("write")] as const,
      request: { params: LabelParams, query: BlockScopeQuery, headers: ifMatch, body: jsonBody(checkedByStore("BlockPut", "The block, with the optional guard and actor.")) },
      responses: blockResponse,
    }),
    async (c) => {
      const { ifVersion, actor, label, ...input } = bodyObject(c.req.valid("json"));
      const pathLabel = c.req.valid("param").label;
      if (label !== undefined && label !== pathLabel) throw invalidInput("block.label", "differs from the label in the path");
      const block = await c.get("store").putBlock(scopeOf(c.req.valid("query")), { ...input, label: pathLabel } as BlockInput, writeOptions(c, ifVersion, actor));
      return blockAnswer(c, block);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/blocks/{label}/edit",
      operationId: "editBlock",
      tags,
      security: requires("write"),
      summary: "Edit a block: append, replace (a unique occurrence) or rewrite, as a new version",
      description:
        "Applied to the block as stored: without a guard, concurrent edits all land. A result over the limit is 422 LIMIT_EXCEEDED; " +
        "an `old` that is missing or not unique is 400 (details.occurrences).",
      middleware: [scope("write")] as const,
      request: { params: LabelParams, query: BlockScopeQuery, headers: ifMatch, body: jsonBody(checkedByStore("BlockEdit", "The edit, with the optional guard and actor.")) },
      responses: blockResponse,
    }),
    async (c) => {
      const { edit, ifVersion, actor, ...rest } = bodyObject(c.req.valid("json"));
      const unknown = Object.keys(rest)[0];
      if (unknown !== undefined) throw invalidInput(unknown, "unknown field (allowed: edit, ifVersion, actor)");
      const block = await c.get("store").editBlock(scopeOf(c.req.valid("query")), c.req.valid("param").label, edit as BlockEdit, writeOptions(c, ifVersion, actor));
      return blockAnswer(c, block);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/v1/blocks/{label}",
      operationId: "deleteBlock",
      tags,
      security: requires("write"),
      summary: "Delete a block (its history keeps a delete version); compare-and-set with ?ifVersion= or If-Match",
      middleware: [scope("write")] as const,
      request: { params: LabelParams, headers: ifMatch, query: DeleteQuery },
      responses: { 204: { description: "Deleted" }, ...errorResponses },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const ifVersion = q.ifVersion === undefined ? undefined : /^\d{1,15}$/.test(q.ifVersion) ? Number(q.ifVersion) : q.ifVersion;
      await c.get("store").deleteBlock(scopeOf(q), c.req.valid("param").label, writeOptions(c, ifVersion, q.actor));
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/blocks/{label}/history",
      operationId: "blockHistory",
      tags,
      security: requires("read"),
      summary: "Every version of a block, oldest first (with its operation, actor and time)",
      middleware: [scope("read")] as const,
      request: { params: LabelParams, query: BlockHistoryQuery },
      responses: { 200: jsonResponse(BlockHistorySchema, "The versions"), ...errorResponses },
    }),
    async (c) => {
      const { afterVersion, limit, ...scopeQuery } = c.req.valid("query");
      const page = { ...(afterVersion !== undefined && { afterVersion }), ...(limit !== undefined && { limit }) };
      return c.json({ items: await c.get("store").blockHistory(scopeOf(scopeQuery), c.req.valid("param").label, { ...page, ...callOptions(c) }) }, 200);
    },
  );
}
