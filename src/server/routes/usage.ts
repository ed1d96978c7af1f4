/**
 * The route of usage and cost.
 */
import { createRoute } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { UsageQuery } from "../../index.js";
import { callOptions } from "../request-options.js";
import type { AppEnv } from "../app-env.js";
import { UsageBody, UsageReportSchema } from "../api-types.js";
import { errorResponses, jsonBody, jsonResponse, scope, requires } from "./common.js";

/** Registers `POST /v1/usage`. */
export function registerUsageRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/usage",
      operationId: "usage",
      tags: ["usage"],
      security: requires("read"),
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
}
