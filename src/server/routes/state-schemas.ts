/**
 * Routes of state schemas: the JSON Schema every state of a context kind must match.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { JsonObject } from "../../index.js";
import { callOptions } from "../request-options.js";
import type { AppEnv } from "../app-env.js";
import { KindParams, SchemaBody, StateSchemaSchema } from "../api-types.js";
import { errorResponses, jsonBody, jsonResponse, scope, requires } from "./common.js";

const tags = ["schemas"];

/** Registers the schema routes. */
export function registerStateSchemaRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/schemas",
      operationId: "listSchemas",
      tags,
      security: requires("read"),
      summary: "List registered state schemas",
      middleware: [scope("read")] as const,
      responses: { 200: jsonResponse(z.array(StateSchemaSchema), "The schemas"), ...errorResponses },
    }),
    async (c) => c.json(await c.get("store").listSchemas(callOptions(c)), 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/schemas/{kind}",
      operationId: "getSchema",
      tags,
      security: requires("read"),
      summary: "The schema of a kind, or null",
      middleware: [scope("read")] as const,
      request: { params: KindParams },
      responses: { 200: jsonResponse(StateSchemaSchema.nullable(), "The schema or null"), ...errorResponses },
    }),
    async (c) => c.json(await c.get("store").getSchema(c.req.valid("param").kind, callOptions(c)), 200),
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/v1/schemas/{kind}",
      operationId: "setSchema",
      tags,
      security: requires("admin"),
      summary: "Register the JSON Schema of a kind",
      middleware: [scope("admin")] as const,
      request: { params: KindParams, body: jsonBody(SchemaBody) },
      responses: { 200: jsonResponse(StateSchemaSchema, "The registered schema"), ...errorResponses },
    }),
    async (c) => {
      const { schema } = c.req.valid("json");
      return c.json(await c.get("store").setSchema(c.req.valid("param").kind, schema as JsonObject, callOptions(c)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/v1/schemas/{kind}",
      operationId: "deleteSchema",
      tags,
      security: requires("admin"),
      summary: "Remove the schema of a kind",
      middleware: [scope("admin")] as const,
      request: { params: KindParams },
      responses: { 200: jsonResponse(z.object({ deleted: z.boolean() }), "Whether there was one"), ...errorResponses },
    }),
    async (c) => c.json({ deleted: await c.get("store").deleteSchema(c.req.valid("param").kind, callOptions(c)) }, 200),
  );
}
