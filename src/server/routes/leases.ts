/**
 * Routes of leases: acquire (optionally waiting), renew, release, get.
 */
import { createRoute } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { invalidInput } from "../../index.js";
import type { AcquireLeaseOptions, LeaseRef } from "../../index.js";
import { callOptions } from "../request-options.js";
import type { AppEnv } from "../app-env.js";
import type { ServerLimits } from "../limits.js";
import { AcquireLeaseBody, IdParams, LeaseRefBody, LeaseSchema } from "../api-types.js";
import { errorResponses, jsonBody, jsonResponse, scope, requires } from "./common.js";

const tags = ["leases"];

/** Registers the lease routes. */
export function registerLeaseRoutes(app: OpenAPIHono<AppEnv>, limits: ServerLimits): void {
  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/contexts/{id}/lease",
      operationId: "acquireLease",
      tags,
      security: requires("write"),
      summary: "Acquire the lease (fencing token increases with every grant); 423 LOCK_TIMEOUT after waitMs",
      middleware: [scope("write")] as const,
      request: { params: IdParams, body: jsonBody(AcquireLeaseBody) },
      responses: { 200: jsonResponse(LeaseSchema, "The lease"), ...errorResponses },
    }),
    async (c) => {
      const body = c.req.valid("json");
      if (body.waitMs !== undefined && body.waitMs >= limits.requestTimeoutMs) {
        throw invalidInput("waitMs", `must be below the server's request timeout (${limits.requestTimeoutMs} ms)`, {
          limit: limits.requestTimeoutMs,
        });
      }
      const options: AcquireLeaseOptions = { ...body, ...callOptions(c) };
      return c.json(await c.get("store").acquireLease(c.req.valid("param").id, options), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/contexts/{id}/lease/renew",
      operationId: "renewLease",
      tags,
      security: requires("write"),
      summary: "Renew the lease; 423 LEASE_LOST when it is no longer this holder's",
      middleware: [scope("write")] as const,
      request: { params: IdParams, body: jsonBody(LeaseRefBody) },
      responses: { 200: jsonResponse(LeaseSchema, "The renewed lease"), ...errorResponses },
    }),
    async (c) => {
      const ref: LeaseRef = { ...c.req.valid("json"), ...callOptions(c) };
      return c.json(await c.get("store").renewLease(c.req.valid("param").id, ref), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/contexts/{id}/lease/release",
      operationId: "releaseLease",
      tags,
      security: requires("write"),
      summary: "Release the lease",
      middleware: [scope("write")] as const,
      request: { params: IdParams, body: jsonBody(LeaseRefBody) },
      responses: { 204: { description: "Released" }, ...errorResponses },
    }),
    async (c) => {
      const ref: LeaseRef = { ...c.req.valid("json"), ...callOptions(c) };
      await c.get("store").releaseLease(c.req.valid("param").id, ref);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/contexts/{id}/lease",
      operationId: "getLease",
      tags,
      security: requires("read"),
      summary: "The current lease, or null",
      middleware: [scope("read")] as const,
      request: { params: IdParams },
      responses: { 200: jsonResponse(LeaseSchema.nullable(), "The lease or null"), ...errorResponses },
    }),
    async (c) => c.json(await c.get("store").getLease(c.req.valid("param").id, callOptions(c)), 200),
  );
}
