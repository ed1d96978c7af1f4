/**
 * The health report and its history, all admin (of tenant `*`: the report is about the
 * service, every tenant's): `GET /v1/health/report` takes a report, records it in the history
 * and answers it with its trend; `GET /v1/health/history` pages through past reports;
 * `POST /v1/health/baseline` marks the baseline the trend compares with.
 */
import { createRoute } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env.js";
import { HealthBaselineBody, HealthHistoryPageSchema, HealthHistoryQuery, HealthReportSchema, RecordedHealthReportSchema } from "../api-types.js";
import { requireServiceScope } from "../gate.js";
import { healthReport } from "../health-report.js";
import type { HealthReportOptions } from "../health-report.js";
import type { HealthHistory } from "../health-history.js";
import { errorResponses, jsonBody, jsonResponse, requires } from "./common.js";

const tags = ["system"];

/** The service's admin scope before any body is read. */
const serviceAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  requireServiceScope(c.get("key"), "admin");
  return c.get("readBody")(c, next);
};

/** Registers `/v1/health/report`, `/v1/health/history` and `/v1/health/baseline`. */
export function registerHealthRoutes(app: OpenAPIHono<AppEnv>, options: HealthReportOptions & { history: HealthHistory }): void {
  const { history, ...reportOptions } = options;
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/health/report",
      operationId: "healthReport",
      tags,
      security: requires("admin"),
      summary: "Health checks by category (system, memory, storage, backends, performance, configuration, security), each with status, score, details and fix",
      description:
        "Each request takes a report and records it in the health history; `trend` compares its scores, overall and per category, with the baseline and the report before it.",
      middleware: [serviceAdmin] as const,
      responses: { 200: jsonResponse(HealthReportSchema, "The report"), ...errorResponses },
    }),
    // The server's store, not the tenant's view: the report is about the service.
    async (c) => c.json(history.record(await healthReport(reportOptions)), 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/health/history",
      operationId: "healthHistory",
      tags,
      security: requires("admin"),
      summary: "Past health reports, newest first, a page at a time (`before`: the previous page's `next`)",
      middleware: [serviceAdmin] as const,
      request: { query: HealthHistoryQuery },
      responses: { 200: jsonResponse(HealthHistoryPageSchema, "A page of the history"), ...errorResponses },
    }),
    (c) => {
      const q = c.req.valid("query");
      const page = history.list({ limit: q.limit, before: q.before });
      return c.json({ ...page, baseline: history.baseline()?.seq ?? null, maxReports: history.maxReports }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/health/baseline",
      operationId: "setHealthBaseline",
      tags,
      security: requires("admin"),
      summary: "Marks the baseline of the health trend: report `seq` of the history, or (without) a new report",
      middleware: [serviceAdmin] as const,
      request: { body: jsonBody(HealthBaselineBody, false) },
      responses: { 200: jsonResponse(RecordedHealthReportSchema, "The baseline"), ...errorResponses },
    }),
    async (c) => {
      const seq = c.req.valid("json")?.seq;
      const target = seq ?? history.record(await healthReport(reportOptions)).seq;
      return c.json(history.setBaseline(target), 200);
    },
  );
}
