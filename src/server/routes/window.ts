/**
 * The route of the context window: the history fitted to a token budget, or — when the
 * options name a `model` or `sections` — the sectioned window of docs/windows.md. Both run the
 * agent layer's code on the server's store (the tenant's view), so the window is the one the
 * embedded store builds. The sectioned options are checked by that code, not by zod: bad input
 * gets the same `INVALID_INPUT` and `details.field` as embedded.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { inProcessWindowOption, invalidInput, isSectionedWindow } from "../../index.js";
import type { SectionedWindowOptions, WindowOptions } from "../../index.js";
import { callOptions } from "../request-options.js";
import type { AppEnv } from "../app-env.js";
import { ContextWindowSchema, IdParams, PromptWindowSchema, SectionedWindowOptionsSchema, WindowBody } from "../api-types.js";
import { validationError } from "../error-status.js";
import { errorResponses, jsonBody, jsonResponse, scope, requires } from "./common.js";

const WindowRequest = z.unknown().openapi({
  anyOf: [{ $ref: "#/components/schemas/SectionedWindowOptions" }, { $ref: "#/components/schemas/WindowOptions" }],
  description: "The sectioned window's options (they name `model` or `sections`), or the history window's.",
});

/** Registers `POST /v1/contexts/{id}/window`. */
export function registerWindowRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.register("SectionedWindowOptions", SectionedWindowOptionsSchema);
  app.openAPIRegistry.register("WindowOptions", WindowBody);
  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/contexts/{id}/window",
      operationId: "buildWindow",
      tags: ["window"],
      security: requires("read"),
      summary: "The prompt for the next model call within a token budget: a sectioned window, or the history window",
      description:
        "With `model` or `sections`: the sectioned window (docs/windows.md) — instructions, pinned events, working memory, " +
        "memories, recalled history, recent turns and a summary in one budget — as a PromptWindow. Otherwise the history " +
        "fitted to the budget, as a ContextWindow.",
      middleware: [scope("read")] as const,
      request: { params: IdParams, body: jsonBody(WindowRequest) },
      responses: { 200: jsonResponse(z.union([PromptWindowSchema, ContextWindowSchema]), "The window"), ...errorResponses },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const context = c.get("store").context(c.req.valid("param").id);
      if (isSectionedWindow(body)) {
        const local = inProcessWindowOption(body);
        if (local !== undefined) throw invalidInput(local, "is code or a live object: it cannot be sent over HTTP (build such a window embedded)");
        return c.json(await context.window({ ...(body as SectionedWindowOptions), ...callOptions(c) }), 200);
      }
      const parsed = WindowBody.safeParse(body);
      if (!parsed.success) throw validationError(parsed.error.issues, "json");
      return c.json(await context.window({ ...parsed.data, ...callOptions(c) } as WindowOptions), 200);
    },
  );
}
