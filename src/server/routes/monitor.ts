/**
 * `GET /v1/monitor` (the performance monitor's windows as JSON or CSV) and `GET /v1/alerts`
 * (every alert rule's state), both with the `metrics` scope (or `admin`) like `/metrics`.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Monitor } from "../../index.js";
import type { AppEnv } from "../app-env.js";
import { AlertStateSchema, MonitorQuery, MonitorReportSchema } from "../api-types.js";
import { requireServiceScope } from "../gate.js";
import { errorResponses, jsonResponse, requires } from "./common.js";

const tags = ["system"];

/** Registers `/v1/monitor` and `/v1/alerts`. */
export function registerMonitorRoutes(app: OpenAPIHono<AppEnv>, monitor: Monitor): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/monitor",
      operationId: "monitor",
      tags,
      security: requires("metrics"),
      summary: "Performance monitor: per-operation counts, errors, throughput and p50/p95/p99, cache, resources, alerts, recommendations",
      request: { query: MonitorQuery },
      responses: {
        200: {
          description: "The report (JSON), or one CSV row per window and operation",
          content: { "application/json": { schema: MonitorReportSchema }, "text/csv": { schema: z.string() } },
        },
        ...errorResponses,
      },
    }),
    (c) => {
      requireServiceScope(c.get("key"), "metrics");
      const q = c.req.valid("query");
      const options = q.lastMs === undefined ? {} : { lastMs: q.lastMs };
      if (q.format === "csv") return c.text(monitor.csv(options), 200, { "Content-Type": "text/csv; charset=utf-8" });
      return c.json(monitor.report(options) as z.infer<typeof MonitorReportSchema>, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/alerts",
      operationId: "alerts",
      tags,
      security: requires("metrics"),
      summary: "Every alert rule with its state (inactive, pending, firing) and last value",
      responses: { 200: jsonResponse(z.object({ alerts: z.array(AlertStateSchema) }), "The alert rules"), ...errorResponses },
    }),
    (c) => {
      requireServiceScope(c.get("key"), "metrics");
      return c.json({ alerts: monitor.alerts() as z.infer<typeof AlertStateSchema>[] }, 200);
    },
  );
}
