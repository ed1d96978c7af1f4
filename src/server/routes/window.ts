/**
 * The route of the context window: the history fitted to a token budget.
 */
import { createRoute } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { WindowOptions } from "../../index.js";
import { callOptions } from "../request-options.js";
import type { AppEnv } from "../app-env.js";
import { ContextWindowSchema, IdParams, WindowBody } from "../api-types.js";
import { errorResponses, jsonBody, jsonResponse, scope, requires } from "./common.js";

/** Registers `POST /v1/contexts/{id}/window`. */
export function registerWindowRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/contexts/{id}/window",
      operationId: "buildWindow",
      tags: ["window"],
      security: requires("read"),
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
