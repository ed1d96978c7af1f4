/**
 * Routes of contexts: create, list, get, update, archive, delete, purge expired.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { CreateContextInput, ListContextsQuery as ListQuery, UpdateContextInput } from "../../index.js";
import { callOptions, timeParam } from "../request-options.js";
import type { AppEnv } from "../app-env.js";
import { ContextInfoSchema, ContextPageSchema, CreateContextBody, IdParams, ListContextsQuery, UpdateContextBody } from "../api-types.js";
import { errorResponses, jsonBody, jsonResponse, scope, requires } from "./common.js";

const tags = ["contexts"];

/** Registers the context routes. */
export function registerContextRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/contexts",
      operationId: "createContext",
      tags,
      security: requires("write"),
      summary: "Create a context",
      middleware: [scope("write")] as const,
      request: { body: jsonBody(CreateContextBody, false) },
      responses: { 201: jsonResponse(ContextInfoSchema, "The new context"), ...errorResponses },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const info = await c.get("store").createContext(body as CreateContextInput, callOptions(c));
      return c.json(info, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/contexts",
      operationId: "listContexts",
      tags,
      security: requires("read"),
      summary: "List contexts (filters, cursor pagination)",
      middleware: [scope("read")] as const,
      request: { query: ListContextsQuery },
      responses: { 200: jsonResponse(ContextPageSchema, "A page of contexts"), ...errorResponses },
    }),
    async (c) => {
      const { updatedSince, ...rest } = c.req.valid("query");
      const query: ListQuery = { ...rest, signal: c.get("signal") };
      if (updatedSince !== undefined) query.updatedSince = timeParam(updatedSince);
      return c.json(await c.get("store").listContexts(query), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/contexts/{id}",
      operationId: "getContext",
      tags,
      security: requires("read"),
      summary: "Get a context",
      middleware: [scope("read")] as const,
      request: { params: IdParams },
      responses: { 200: jsonResponse(ContextInfoSchema, "The context"), ...errorResponses },
    }),
    async (c) => c.json(await c.get("store").getContext(c.req.valid("param").id, callOptions(c)), 200),
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/v1/contexts/{id}",
      operationId: "updateContext",
      tags,
      security: requires("write"),
      summary: "Update title, metadata, expiry or status",
      middleware: [scope("write")] as const,
      request: { params: IdParams, body: jsonBody(UpdateContextBody) },
      responses: { 200: jsonResponse(ContextInfoSchema, "The updated context"), ...errorResponses },
    }),
    async (c) => {
      const input = c.req.valid("json") as UpdateContextInput;
      return c.json(await c.get("store").updateContext(c.req.valid("param").id, input, callOptions(c)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/contexts/{id}/archive",
      operationId: "archiveContext",
      tags,
      security: requires("write"),
      summary: "Archive a context",
      middleware: [scope("write")] as const,
      request: { params: IdParams },
      responses: { 200: jsonResponse(ContextInfoSchema, "The archived context"), ...errorResponses },
    }),
    async (c) => c.json(await c.get("store").archiveContext(c.req.valid("param").id, callOptions(c)), 200),
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/v1/contexts/{id}",
      operationId: "deleteContext",
      tags,
      security: requires("write"),
      summary: "Delete a context with its history, snapshots and lease",
      middleware: [scope("write")] as const,
      request: { params: IdParams },
      responses: { 204: { description: "Deleted" }, ...errorResponses },
    }),
    async (c) => {
      await c.get("store").deleteContext(c.req.valid("param").id, callOptions(c));
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/purge-expired",
      operationId: "purgeExpired",
      tags,
      security: requires("admin"),
      summary: "Delete every expired context of the tenant",
      middleware: [scope("admin")] as const,
      responses: { 200: jsonResponse(z.object({ removed: z.number().int() }), "How many were removed"), ...errorResponses },
    }),
    async (c) => c.json({ removed: await c.get("store").purgeExpired(callOptions(c)) }, 200),
  );
}
