/**
 * Routes of state: read (current or past, with an ETag), replace, merge-patch, set and
 * remove at a path, diff between versions.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { invalidInput } from "../../index.js";
import type { JsonObject, JsonValue, StatePath, StateWriteResult } from "../../index.js";
import { callOptions, timeParam, writeOptions } from "../request-options.js";
import type { AppEnv } from "../app-env.js";
import { responseHeader } from "../node-body.js";
import {
  DiffQuery,
  GetStateQuery,
  IdParams,
  PatchOperationSchema,
  PatchStateBody,
  RemoveStateBody,
  ReplaceStateBody,
  SetStateBody,
  StateRecordSchema,
  StateWriteResultSchema,
} from "../api-types.js";
import { errorResponses, jsonBody, jsonResponse, scope, requires } from "./common.js";

const tags = ["state"];
const ifMatch = z.object({
  "if-match": z.string().optional().openapi({ description: 'Expected version, e.g. "7": a stale one gives 409.' }),
});
const written = {
  200: { ...jsonResponse(StateWriteResultSchema, "The new state, version and the seq of its event"), headers: { ETag: { schema: { type: "string" as const } } } },
  ...errorResponses,
};

/** The answer to a state write: its result, with the new version as the `ETag`. */
function writtenResponse(c: Context<AppEnv>, result: StateWriteResult) {
  responseHeader(c, "ETag", `"${result.version}"`);
  return c.json(result, 200);
}

/** Registers the state routes. */
export function registerStateRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/contexts/{id}/state",
      operationId: "getState",
      tags,
      security: requires("read"),
      summary: "Read the state (ETag = version); ?version= or ?at= rebuilds a past state",
      middleware: [scope("read")] as const,
      request: { params: IdParams, query: GetStateQuery },
      responses: {
        200: { ...jsonResponse(StateRecordSchema, "State and version"), headers: { ETag: { schema: { type: "string" } } } },
        304: { description: "Not modified (If-None-Match matched the version)" },
        ...errorResponses,
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { version, at } = c.req.valid("query");
      if (version !== undefined && at !== undefined) throw invalidInput("version", "give version or at, not both");
      const store = c.get("store");
      const record =
        version !== undefined
          ? await store.stateAt(id, { version }, callOptions(c))
          : at !== undefined
            ? await store.stateAt(id, { at: timeParam(at) }, callOptions(c))
            : await store.getState(id, callOptions(c));
      const etag = `"${record.version}"`;
      responseHeader(c, "ETag", etag);
      if (version === undefined && at === undefined && c.req.header("if-none-match") === etag) return c.body(null, 304);
      return c.json(record, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/v1/contexts/{id}/state",
      operationId: "replaceState",
      tags,
      security: requires("write"),
      summary: "Replace the state",
      middleware: [scope("write")] as const,
      request: { params: IdParams, headers: ifMatch, body: jsonBody(ReplaceStateBody) },
      responses: written,
    }),
    async (c) => {
      const { state, ...guards } = c.req.valid("json");
      const result = await c.get("store").replaceState(c.req.valid("param").id, state as JsonObject, writeOptions(c, guards));
      return writtenResponse(c, result);
    },
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/v1/contexts/{id}/state",
      operationId: "patchState",
      tags,
      security: requires("write"),
      summary: "Merge-patch the state (RFC 7396)",
      middleware: [scope("write")] as const,
      request: { params: IdParams, headers: ifMatch, body: jsonBody(PatchStateBody) },
      responses: written,
    }),
    async (c) => {
      const { patch, ...guards } = c.req.valid("json");
      const result = await c.get("store").patchState(c.req.valid("param").id, patch as JsonObject, writeOptions(c, guards));
      return writtenResponse(c, result);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/contexts/{id}/state/set",
      operationId: "setStateAt",
      tags,
      security: requires("write"),
      summary: "Set the value at a path (JSON Pointer or segments)",
      middleware: [scope("write")] as const,
      request: { params: IdParams, headers: ifMatch, body: jsonBody(SetStateBody) },
      responses: written,
    }),
    async (c) => {
      const { path, value, ...guards } = c.req.valid("json");
      if (value === undefined) throw invalidInput("value", "is required");
      const result = await c
        .get("store")
        .setStateAt(c.req.valid("param").id, path as StatePath, value as JsonValue, writeOptions(c, guards));
      return writtenResponse(c, result);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/contexts/{id}/state/remove",
      operationId: "removeStateAt",
      tags,
      security: requires("write"),
      summary: "Remove the value at a path",
      middleware: [scope("write")] as const,
      request: { params: IdParams, headers: ifMatch, body: jsonBody(RemoveStateBody) },
      responses: written,
    }),
    async (c) => {
      const { path, ...guards } = c.req.valid("json");
      const result = await c.get("store").removeStateAt(c.req.valid("param").id, path as StatePath, writeOptions(c, guards));
      return writtenResponse(c, result);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/contexts/{id}/diff",
      operationId: "diff",
      tags,
      security: requires("read"),
      summary: "The JSON Patch (RFC 6902) from version `from` to version `to`",
      middleware: [scope("read")] as const,
      request: { params: IdParams, query: DiffQuery },
      responses: { 200: jsonResponse(z.array(PatchOperationSchema), "JSON Patch operations"), ...errorResponses },
    }),
    async (c) => {
      const { from, to } = c.req.valid("query");
      return c.json(await c.get("store").diff(c.req.valid("param").id, from, to, callOptions(c)), 200);
    },
  );
}
