/**
 * Routes of the context window and of usage and cost.
 */
import { createRoute } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { UsageQuery, WindowOptions } from "../../index.js";
import { callOptions } from "../env.js";
import type { AppEnv } from "../env.js";
import { ContextWindowSchema, IdParams, UsageBody, UsageReportSchema, WindowBody } from "../schemas.js";
import { errorResponses, jsonBody, jsonResponse, scope, security } from "./common.js";

/** Registers `POST /v1/usage` and `POST /v1/contexts/{id}/window`. */
export function registerUsageRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/usage",
      tags: ["usage"],
      security,
      summary: "Token and cost totals from model_usage events, optionally grouped",
      middleware: [scope("read")] as const,
      request: { body: jsonBody(UsageBody, false) },
      responses: { 200: jsonResponse(UsageReportSchema, "The report"), ...errorResponses },
    }),
    async (c) => {
      const query = { ...c.req.valid("json"), ...callOptions(c) } as UsageQuery;
      return c.json(await c.get("store").usage(query), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/contexts/{id}/window",
      tags: ["window"],
      security,
      summary: "The history fitted to a token budget for the next model call",
      middleware: [scope("read")] as const,
      request: { params: IdParams, body: jsonBody(WindowBody) },
      responses: { 200: jsonResponse(ContextWindowSchema, "The window"), ...errorResponses },
    }),
    async (c) => {
      const options = { ...c.req.valid("json"), ...callOptions(c) } as WindowOptions;
      const window = await c.get("store").context(c.req.valid("param").id).window(options);
      return c.json(window, 200);
    },
  );
}
