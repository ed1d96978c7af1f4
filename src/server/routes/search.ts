/**
 * Search over the history (full-text, vector or hybrid, `mode`): `GET /v1/search` across the tenant's contexts (or one,
 * with `contextId`), and `GET /v1/contexts/{id}/search` within one context (404 when it does
 * not exist, like every route on a context). Validation beyond the query's shape (words,
 * limits, ids) is the store's, so the answers match the embedded store's exactly.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { SearchQuery } from "../../index.js";
import type { AppEnv } from "../app-env.js";
import { ContextEventSchema, IdParams, queryLimit } from "../api-types.js";
import { jsonResponse, optionalAreaResponses, scope, requires } from "./common.js";

const tags = ["search"];

const textParam = z
  .string()
  .min(1)
  .max(1000)
  .openapi({
    description:
      "The words to find (1 to 1000 characters). Words are runs of letters and digits, compared case-insensitively; " +
      "an event matches when every word occurs among the words of the string values of its data.",
    example: "refund invoice",
  });
const typeParam = z
  .union([z.string().min(1).max(256), z.array(z.string().min(1).max(256)).max(100)])
  .optional()
  .openapi({ description: "Only events of this type; repeat for several (`type=message&type=tool_result`).", example: "message" });
const limitParam = queryLimit(1000).optional().openapi({ description: "At most this many hits (default 20, at most 1000).", example: 20 });

const modeParam = z
  .enum(["text", "vector", "hybrid"])
  .optional()
  .openapi({
    description:
      "`text` (default): every word must match, scored by occurrences. `vector`: events ranked by the cosine of their " +
      "embeddings to the text's (501 without an embedding model). `hybrid`: BM25 and cosine fused, as memory search ranks. " +
      "Vector and hybrid search message, summary, tool_call and tool_result events, embedding those not embedded yet first " +
      "(the first such search of a long history embeds it all).",
    example: "hybrid",
  });
const minScoreParam = z.coerce
  .number()
  .optional()
  .openapi({ description: "Only hits scoring at least this (in the mode's score).", example: 0.5 });

/** Query of `GET /v1/search`. */
const SearchQuerySchema = z.strictObject({
  text: textParam,
  mode: modeParam,
  contextId: z
    .string()
    .min(1)
    .max(256)
    .optional()
    .openapi({ description: "Only this context (another tenant's context finds nothing, as a missing one does)." }),
  type: typeParam,
  limit: limitParam,
  minScore: minScoreParam,
});
/** Query of `GET /v1/contexts/{id}/search`. */
const ContextSearchQuerySchema = z.strictObject({ text: textParam, mode: modeParam, type: typeParam, limit: limitParam, minScore: minScoreParam });

/** One hit. */
const SearchHitSchema = z
  .object({
    contextId: z.string(),
    event: ContextEventSchema,
    score: z.number().openapi({ description: "Relevance, higher first; comparable only within one result." }),
  })
  .openapi("SearchHit");
/** The hits, best first (then newest first). */
const SearchResultSchema = z.object({ items: z.array(SearchHitSchema) }).openapi("SearchResult");

function searchQuery(
  c: Context<AppEnv>,
  q: {
    text: string;
    mode?: SearchQuery["mode"] | undefined;
    type?: string | string[] | undefined;
    limit?: number | undefined;
    minScore?: number | undefined;
  },
  contextId: string | undefined,
): SearchQuery {
  const query: SearchQuery = { text: q.text, signal: c.get("signal") };
  if (contextId !== undefined) query.contextId = contextId;
  if (q.type !== undefined) query.types = typeof q.type === "string" ? [q.type] : q.type;
  if (q.limit !== undefined) query.limit = q.limit;
  if (q.mode !== undefined) query.mode = q.mode;
  if (q.minScore !== undefined) query.minScore = q.minScore;
  return query;
}

/** Registers the search routes. */
export function registerSearchRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/search",
      operationId: "searchEvents",
      tags,
      security: requires("read"),
      summary: "Search the history of the tenant's contexts: by words, by meaning, or both",
      description: "Best matches first, then newest first. Expired contexts are not searched.",
      middleware: [scope("read")] as const,
      request: { query: SearchQuerySchema },
      responses: { 200: jsonResponse(SearchResultSchema, "The hits"), ...optionalAreaResponses },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const items = await c.get("store").searchEvents(searchQuery(c, q, q.contextId));
      return c.json({ items }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/contexts/{id}/search",
      operationId: "searchContextEvents",
      tags,
      security: requires("read"),
      summary: "Search one context's history: by words, by meaning, or both",
      description: "As `GET /v1/search?contextId=`, but 404 when the context does not exist.",
      middleware: [scope("read")] as const,
      request: { params: IdParams, query: ContextSearchQuerySchema },
      responses: { 200: jsonResponse(SearchResultSchema, "The hits"), ...optionalAreaResponses },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const store = c.get("store");
      const query = searchQuery(c, c.req.valid("query"), id);
      // A missing context (or another tenant's) is 404, as on every route of a context; bad
      // input is 400 first, whether the context exists or not (as in the store).
      const [hits, info] = await Promise.allSettled([store.searchEvents(query), store.getContext(id, { signal: c.get("signal") })]);
      if (hits.status === "rejected") throw hits.reason;
      if (info.status === "rejected") throw info.reason;
      return c.json({ items: hits.value }, 200);
    },
  );
}
