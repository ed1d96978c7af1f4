/**
 * Routes of the active context of a holder: per holder (an agent or client id), activate,
 * deactivate, switch, current, default.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { callOptions } from "../request-options.js";
import type { AppEnv } from "../app-env.js";
import { ContextIdBody, ContextInfoSchema, HolderParams, NullableContextIdBody } from "../api-types.js";
import { errorResponses, jsonBody, jsonResponse, scope, requires } from "./common.js";

const tags = ["active context"];
const previous = jsonResponse(z.object({ previous: z.string().nullable() }), "The context that was active before");

/** Registers the active-context routes. */
export function registerActiveContextRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/holders/{holder}/current",
      operationId: "currentContext",
      tags,
      security: requires("read"),
      summary: "The active context of the holder, else its default, else null",
      middleware: [scope("read")] as const,
      request: { params: HolderParams },
      responses: { 200: jsonResponse(ContextInfoSchema.nullable(), "The context or null"), ...errorResponses },
    }),
    async (c) => c.json(await c.get("store").currentContext(c.req.valid("param").holder, callOptions(c)), 200),
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/v1/holders/{holder}/active",
      operationId: "activate",
      tags,
      security: requires("write"),
      summary: "Activate a context for the holder",
      middleware: [scope("write")] as const,
      request: { params: HolderParams, body: jsonBody(ContextIdBody) },
      responses: { 204: { description: "Activated" }, ...errorResponses },
    }),
    async (c) => {
      await c.get("store").activate(c.req.valid("param").holder, c.req.valid("json").contextId, callOptions(c));
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/v1/holders/{holder}/active",
      operationId: "deactivate",
      tags,
      security: requires("write"),
      summary: "Deactivate the holder's active context",
      middleware: [scope("write")] as const,
      request: { params: HolderParams },
      responses: { 200: previous, ...errorResponses },
    }),
    async (c) => c.json({ previous: await c.get("store").deactivate(c.req.valid("param").holder, callOptions(c)) }, 200),
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/holders/{holder}/switch",
      operationId: "switchContext",
      tags,
      security: requires("write"),
      summary: "Activate a context and return the previously active one",
      middleware: [scope("write")] as const,
      request: { params: HolderParams, body: jsonBody(ContextIdBody) },
      responses: { 200: previous, ...errorResponses },
    }),
    async (c) => {
      const { holder } = c.req.valid("param");
      const prior = await c.get("store").switchContext(holder, c.req.valid("json").contextId, callOptions(c));
      return c.json({ previous: prior }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/v1/holders/{holder}/default",
      operationId: "setDefaultContext",
      tags,
      security: requires("write"),
      summary: "Set (or with null clear) the holder's default context",
      middleware: [scope("write")] as const,
      request: { params: HolderParams, body: jsonBody(NullableContextIdBody) },
      responses: { 204: { description: "Set" }, ...errorResponses },
    }),
    async (c) => {
      await c.get("store").setDefaultContext(c.req.valid("param").holder, c.req.valid("json").contextId, callOptions(c));
      return c.body(null, 204);
    },
  );
}
