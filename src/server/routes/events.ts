/**
 * Routes of history: append (one or a batch), read with filters and pagination, count,
 * last N, and the live event stream (Server-Sent Events, resumable by `Last-Event-ID`).
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import type { ServerMetrics } from "../metrics.js";
import { ContextError, invalidInput } from "../../index.js";
import type { ContextStore, EventInput, EventQuery, ContextEvent } from "../../index.js";
import { callOptions, splitTypes, timeParam, writeOptionsFrom } from "../request-options.js";
import type { AppEnv } from "../app-env.js";
import type { ServerLimits } from "../limits.js";
import { toErrorResponse } from "../error-status.js";
import {
  AppendBody,
  ContextEventSchema,
  CountQuerySchema,
  EventPageSchema,
  EventQuerySchema,
  IdParams,
  LastQuerySchema,
  StreamQuerySchema,
} from "../api-types.js";
import { errorResponses, jsonBody, jsonResponse, scope, requires } from "./common.js";

const tags = ["events"];

/** What the event routes need besides the request. */
export interface EventRouteDeps {
  limits: ServerLimits;
  /** Fires when the server shuts down: open streams end. */
  shutdownSignal: AbortSignal;
  /** Counts open streams. */
  metrics?: Pick<ServerMetrics, "sse">;
}

function filters(q: { afterSeq?: number | undefined; beforeSeq?: number | undefined; since?: string | undefined; until?: string | undefined; types?: string | undefined }): EventQuery {
  const query: EventQuery = {};
  if (q.afterSeq !== undefined) query.afterSeq = q.afterSeq;
  if (q.beforeSeq !== undefined) query.beforeSeq = q.beforeSeq;
  if (q.since !== undefined) query.since = timeParam(q.since);
  if (q.until !== undefined) query.until = timeParam(q.until);
  const types = splitTypes(q.types);
  if (types !== undefined) query.types = types;
  return query;
}

/** What `POST /v1/contexts/{id}/events` takes from the request besides its parsed body. */
export interface AppendRequestParts {
  contentLength: string | undefined;
  ifMatch: string | undefined;
  signal: AbortSignal;
}

/**
 * The append route after validation (shared by the hono route and the Node fast path in
 * `fast-append.ts`): batch and event size limits, then `store.append`.
 */
export async function appendRequest(
  store: ContextStore,
  id: string,
  body: z.infer<typeof AppendBody>,
  limits: ServerLimits,
  parts: AppendRequestParts,
): Promise<ContextEvent[]> {
  const { events: list, ...guards } = body;
  if (list.length === 0) throw invalidInput("events", "must hold at least one event");
  if (list.length > limits.maxBatch) {
    throw invalidInput("events", `at most ${limits.maxBatch} events per request`, { limit: limits.maxBatch, got: list.length });
  }
  // Only a body larger than one event's limit can hold an oversized event.
  if (Number(parts.contentLength ?? Infinity) > limits.maxEventBytes) {
    list.forEach((e, i) => {
      let size: number;
      try {
        size = JSON.stringify(e).length;
      } catch {
        throw invalidInput(`events[${i}]`, "nested too deeply");
      }
      if (size > limits.maxEventBytes) {
        throw invalidInput(`events[${i}]`, `larger than ${limits.maxEventBytes} bytes`, { limit: limits.maxEventBytes });
      }
    });
  }
  return store.append(id, list as EventInput[], writeOptionsFrom(guards, parts.ifMatch, parts.signal));
}

/** Registers the event routes. */
export function registerEventRoutes(app: OpenAPIHono<AppEnv>, deps: EventRouteDeps): void {
  const { limits } = deps;

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/contexts/{id}/events",
      operationId: "appendEvents",
      tags,
      security: requires("write"),
      summary: "Append one event or a batch, atomically",
      middleware: [scope("write")] as const,
      request: { params: IdParams, body: jsonBody(AppendBody) },
      responses: { 201: jsonResponse(z.array(ContextEventSchema), "The appended events with their seq"), ...errorResponses },
    }),
    async (c) => {
      const written = await appendRequest(c.get("store"), c.req.valid("param").id, c.req.valid("json"), limits, {
        contentLength: c.req.header("content-length"),
        ifMatch: c.req.header("if-match"),
        signal: c.get("signal"),
      });
      return c.json(written, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/contexts/{id}/events",
      operationId: "readEvents",
      tags,
      security: requires("read"),
      summary: "Read events by seq range, time range and type, paginated",
      middleware: [scope("read")] as const,
      request: { params: IdParams, query: EventQuerySchema },
      responses: { 200: jsonResponse(EventPageSchema, "A page of events"), ...errorResponses },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const query: EventQuery = { ...filters(q), signal: c.get("signal") };
      if (q.order !== undefined) query.order = q.order;
      if (q.limit !== undefined) query.limit = q.limit;
      if (q.cursor !== undefined) query.cursor = q.cursor;
      return c.json(await c.get("store").readEvents(c.req.valid("param").id, query), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/contexts/{id}/events/count",
      operationId: "countEvents",
      tags,
      security: requires("read"),
      summary: "Count events matching the filters",
      middleware: [scope("read")] as const,
      request: { params: IdParams, query: CountQuerySchema },
      responses: { 200: jsonResponse(z.object({ count: z.number().int() }), "The count"), ...errorResponses },
    }),
    async (c) => {
      const query = { ...filters(c.req.valid("query")), signal: c.get("signal") };
      return c.json({ count: await c.get("store").countEvents(c.req.valid("param").id, query) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/contexts/{id}/events/last",
      operationId: "lastEvents",
      tags,
      security: requires("read"),
      summary: "The newest n events, oldest first",
      middleware: [scope("read")] as const,
      request: { params: IdParams, query: LastQuerySchema },
      responses: { 200: jsonResponse(z.array(ContextEventSchema), "The events"), ...errorResponses },
    }),
    async (c) => {
      const { n, types } = c.req.valid("query");
      const list = splitTypes(types);
      const query = list === undefined ? callOptions(c) : { types: list, ...callOptions(c) };
      return c.json(await c.get("store").lastEvents(c.req.valid("param").id, n, query), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/contexts/{id}/events/stream",
      operationId: "streamEvents",
      tags,
      security: requires("read"),
      summary: "Watch: replay after Last-Event-ID (or ?afterSeq=), then live events, as Server-Sent Events",
      description:
        "First `event: ready` with `{ afterSeq }` (where the replay starts); then each event is `event: event`, `id: <seq>`, `data: <Event JSON>`. Comments are heartbeats. " +
        "Reconnect with `Last-Event-ID` to resume without gap or duplicate. A failure ends the stream with `event: error` and an Error body.",
      middleware: [scope("read")] as const,
      request: {
        params: IdParams,
        query: StreamQuerySchema,
        headers: z.object({ "last-event-id": z.string().optional() }),
      },
      responses: {
        200: { description: "An event stream", content: { "text/event-stream": { schema: z.string() } } },
        ...errorResponses,
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const header = c.req.header("last-event-id");
      let afterSeq = c.req.valid("query").afterSeq;
      if (header !== undefined && header.trim() !== "") {
        if (!/^\d{1,15}$/.test(header.trim())) throw invalidInput("Last-Event-ID", "must be a sequence number");
        afterSeq = Number(header.trim());
      }
      const store = c.get("store");
      // Fail with a proper status (404, 403) before the stream starts.
      const info = await store.getContext(id, callOptions(c));
      const from = afterSeq ?? info.lastSeq;
      c.header("X-Accel-Buffering", "no");
      return streamSSE(c, async (stream) => {
        const stop = new AbortController();
        const abort = (): void => stop.abort(new ContextError("ABORTED", "stream closed"));
        stream.onAbort(abort);
        c.req.raw.signal.addEventListener("abort", abort, { once: true });
        deps.shutdownSignal.addEventListener("abort", abort, { once: true });
        const heartbeat = setInterval(() => {
          stream.write(": keepalive\n\n").catch(abort);
        }, limits.heartbeatMs);
        heartbeat.unref();
        deps.metrics?.sse(1);
        try {
          await stream.writeSSE({ event: "ready", data: JSON.stringify({ afterSeq: from }), retry: 1000 });
          for await (const event of store.watch(id, { afterSeq: from, signal: stop.signal }) as AsyncIterable<ContextEvent>) {
            if (stream.aborted || stream.closed) break;
            await stream.writeSSE({ id: String(event.seq), event: "event", data: JSON.stringify(event) });
          }
        } catch (err) {
          if (!stop.signal.aborted && !stream.aborted) {
            await stream.writeSSE({ event: "error", data: JSON.stringify(toErrorResponse(err).body) }).catch(() => undefined);
          }
        } finally {
          deps.metrics?.sse(-1);
          clearInterval(heartbeat);
          deps.shutdownSignal.removeEventListener("abort", abort);
          c.req.raw.signal.removeEventListener("abort", abort);
          stop.abort();
        }
      });
    },
  );
}
