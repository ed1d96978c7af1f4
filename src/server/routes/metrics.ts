/**
 * `GET /metrics` (Prometheus text) and `GET /v1/metrics` (the same as JSON, what the
 * client's `store.metrics()` reads). Both need the `metrics` scope (or `admin`) when the
 * server runs with keys: the figures span all tenants, so a tenant's `read` key does not see
 * them, and a scraper's key can read nothing else.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env.js";
import { MetricFamilySchema, MetricsText } from "../api-types.js";
import type { Gate } from "../gate.js";
import { requireServiceScope } from "../gate.js";
import type { ServerMetrics } from "../metrics.js";
import { errorResponses, jsonResponse, requires } from "./common.js";

const tags = ["system"];

/** Registers `/metrics` and `/v1/metrics`. */
export function registerMetricsRoutes(app: OpenAPIHono<AppEnv>, deps: { gate: Gate; metrics: ServerMetrics }): void {
  const { gate, metrics } = deps;
  app.openapi(
    createRoute({
      method: "get",
      path: "/metrics",
      operationId: "prometheusMetrics",
      tags,
      security: requires("metrics"),
      summary: "Prometheus metrics (text format): HTTP, store operations, backends, process",
      responses: {
        200: { description: "The metrics", content: { "text/plain": { schema: MetricsText } } },
        ...errorResponses,
      },
    }),
    async (c) => {
      // Outside /v1, so the gate's middleware did not run: admit here (auth, rate limit).
      const admission = gate.admit(
        (name) => c.req.header(name),
        (seconds) => c.header("Retry-After", String(seconds)),
      );
      requireServiceScope(admission.key, "metrics");
      const text = await metrics.text();
      return c.text(text, 200, { "Content-Type": metrics.contentType });
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/metrics",
      operationId: "metrics",
      tags,
      security: requires("metrics"),
      summary: "The metrics of /metrics as JSON",
      responses: { 200: jsonResponse(z.array(MetricFamilySchema), "The metrics"), ...errorResponses },
    }),
    async (c) => {
      requireServiceScope(c.get("key"), "metrics");
      return c.json((await metrics.json()) as z.infer<typeof MetricFamilySchema>[], 200);
    },
  );
}
