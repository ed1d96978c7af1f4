/**
 * Liveness, readiness, store health and the caller's identity.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { circuitSnapshots } from "../../index.js";
import type { ContextStore } from "../../index.js";
import { callOptions } from "../request-options.js";
import type { AppEnv } from "../app-env.js";
import { HealthSchema } from "../api-types.js";
import { errorResponses, jsonResponse, scope, security, requires } from "./common.js";

const tags = ["system"];

/** Registers `/healthz`, `/readyz`, `/v1/health` and `/v1/whoami`. */
export function registerSystemRoutes(app: OpenAPIHono<AppEnv>, store: ContextStore): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/healthz",
      operationId: "liveness",
      tags,
      // Open to all, like /readyz: probes carry no key.
      security: [],
      summary: "Liveness: the process answers",
      responses: { 200: jsonResponse(z.object({ ok: z.literal(true) }), "Alive") },
    }),
    (c) => c.json({ ok: true as const }, 200),
  );

  const readiness = z.object({
    ok: z.boolean(),
    driver: z.string(),
    latencyMs: z.number(),
    circuits: z
      .array(z.object({ name: z.string(), backend: z.string(), state: z.enum(["closed", "open", "half-open"]) }))
      .openapi({ description: "The circuit breakers of this process (PostgreSQL, Redis, the embedder); an open one fails calls fast until its probe succeeds" }),
    backends: z
      .object({ database: z.boolean(), cache: z.boolean().nullable().openapi({ description: "The Redis tier answers (null: none); down is degraded, still ready" }) })
      .openapi({ description: "Whether each backend answered" }),
  });
  // Names and states only: /readyz carries no key, so no error text or address is shown.
  const circuits = () => circuitSnapshots().map((c) => ({ name: c.name, backend: c.backend, state: c.state }));
  app.openapi(
    createRoute({
      method: "get",
      path: "/readyz",
      operationId: "readiness",
      tags,
      security: [],
      summary: "Readiness: the store answers",
      responses: { 200: jsonResponse(readiness, "Ready"), 503: jsonResponse(readiness, "The store does not answer") },
    }),
    async (c) => {
      try {
        const h = await store.health({ signal: AbortSignal.timeout(5000) });
        const cache = h.details["cache"] as { up?: unknown } | undefined;
        const backends = { database: h.ok, cache: cache === undefined ? null : cache.up === true };
        return c.json({ ok: h.ok, driver: h.driver, latencyMs: h.latencyMs, backends, circuits: circuits() }, h.ok ? 200 : 503);
      } catch {
        return c.json({ ok: false, driver: "unknown", latencyMs: -1, backends: { database: false, cache: null }, circuits: circuits() }, 503);
      }
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/health",
      operationId: "health",
      tags,
      security: requires("read"),
      summary: "Health of the store's backend",
      middleware: [scope("read")] as const,
      responses: { 200: jsonResponse(HealthSchema, "Health"), ...errorResponses },
    }),
    async (c) => c.json(await c.get("store").health(callOptions(c)), 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/whoami",
      operationId: "whoami",
      tags,
      security,
      summary: "The tenant, key id and scopes of this request",
      responses: {
        200: jsonResponse(
          z.object({ tenant: z.string(), keyId: z.string().nullable(), scopes: z.array(z.string()), auth: z.boolean() }),
          "Identity",
        ),
        ...errorResponses,
      },
    }),
    (c) => {
      const key = c.get("key");
      return c.json(
        { tenant: c.get("tenant"), keyId: key?.id ?? null, scopes: key?.scopes ?? ["read", "write", "admin"], auth: key !== null },
        200,
      );
    },
  );
}
