/**
 * Routes of recovery: snapshots (create, list, get), restore, fork, compact.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { invalidInput } from "../../index.js";
import type { CreateSnapshotInput, ForkInput, RestoreTarget, TimeInput } from "../../index.js";
import { callOptions, writeOptions } from "../request-options.js";
import type { AppEnv } from "../app-env.js";
import {
  CompactBody,
  CompactResultSchema,
  ContextInfoSchema,
  CreateSnapshotBody,
  ForkBody,
  IdNameParams,
  IdParams,
  RestoreBody,
  SnapshotSchema,
  StateWriteResultSchema,
} from "../api-types.js";
import { errorResponses, jsonBody, jsonResponse, scope, requires } from "./common.js";

const tags = ["snapshots"];

interface TargetFields {
  snapshot?: string | undefined;
  version?: number | undefined;
  before?: TimeInput | undefined;
  at?: TimeInput | undefined;
}

/** The one restore target named in a body, or `null` when none is. */
function pickTarget(body: TargetFields): RestoreTarget | null {
  const given: RestoreTarget[] = [];
  if (body.snapshot !== undefined) given.push({ snapshot: body.snapshot });
  if (body.version !== undefined) given.push({ version: body.version });
  if (body.before !== undefined) given.push({ before: body.before });
  if (body.at !== undefined) given.push({ at: body.at });
  if (given.length > 1) throw invalidInput("target", "give only one of snapshot, version, before, at");
  return given[0] ?? null;
}

/** Registers the snapshot, restore, fork and compact routes. */
export function registerSnapshotRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/contexts/{id}/snapshots",
      operationId: "createSnapshot",
      tags,
      security: requires("write"),
      summary: "Create a named recovery point",
      middleware: [scope("write")] as const,
      request: { params: IdParams, body: jsonBody(CreateSnapshotBody, false) },
      responses: { 201: jsonResponse(SnapshotSchema, "The snapshot"), ...errorResponses },
    }),
    async (c) => {
      const input: CreateSnapshotInput = { ...(c.req.valid("json") as CreateSnapshotInput), ...callOptions(c) };
      return c.json(await c.get("store").createSnapshot(c.req.valid("param").id, input), 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/contexts/{id}/snapshots",
      operationId: "listSnapshots",
      tags,
      security: requires("read"),
      summary: "List snapshots",
      middleware: [scope("read")] as const,
      request: { params: IdParams },
      responses: { 200: jsonResponse(z.array(SnapshotSchema), "The snapshots"), ...errorResponses },
    }),
    async (c) => c.json(await c.get("store").listSnapshots(c.req.valid("param").id, callOptions(c)), 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/contexts/{id}/snapshots/{name}",
      operationId: "getSnapshot",
      tags,
      security: requires("read"),
      summary: "Get a snapshot",
      middleware: [scope("read")] as const,
      request: { params: IdNameParams },
      responses: { 200: jsonResponse(SnapshotSchema, "The snapshot"), ...errorResponses },
    }),
    async (c) => {
      const { id, name } = c.req.valid("param");
      return c.json(await c.get("store").getSnapshot(id, name, callOptions(c)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/contexts/{id}/restore",
      operationId: "restore",
      tags,
      security: requires("write"),
      summary: "Restore a snapshot, a version, the latest snapshot before a time, or the state at a time",
      middleware: [scope("write")] as const,
      request: { params: IdParams, body: jsonBody(RestoreBody) },
      responses: { 200: jsonResponse(StateWriteResultSchema, "The restored state as a new version"), ...errorResponses },
    }),
    async (c) => {
      const { snapshot, version, before, at, ...guards } = c.req.valid("json");
      const target = pickTarget({ snapshot, version, before, at });
      if (target === null) throw invalidInput("target", "give one of snapshot, version, before, at");
      return c.json(await c.get("store").restore(c.req.valid("param").id, target, writeOptions(c, guards)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/contexts/{id}/fork",
      operationId: "fork",
      tags,
      security: requires("write"),
      summary: "Create a new context from a snapshot or version of this one (default: current state)",
      middleware: [scope("write")] as const,
      request: { params: IdParams, body: jsonBody(ForkBody, false) },
      responses: { 201: jsonResponse(ContextInfoSchema, "The new context"), ...errorResponses },
    }),
    async (c) => {
      const { snapshot, version, before, at, ...rest } = c.req.valid("json");
      const target = pickTarget({ snapshot, version, before, at });
      const input = { ...(target ?? {}), ...rest, ...callOptions(c) } as ForkInput;
      return c.json(await c.get("store").fork(c.req.valid("param").id, input), 201);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/contexts/{id}/compact",
      operationId: "compact",
      tags,
      security: requires("admin"),
      summary: "Drop history before beforeSeq (not newer than the newest snapshot)",
      middleware: [scope("admin")] as const,
      request: { params: IdParams, body: jsonBody(CompactBody) },
      responses: { 200: jsonResponse(CompactResultSchema, "What was removed"), ...errorResponses },
    }),
    async (c) => {
      const { beforeSeq } = c.req.valid("json");
      return c.json(await c.get("store").compact(c.req.valid("param").id, { beforeSeq, ...callOptions(c) }), 200);
    },
  );
}
