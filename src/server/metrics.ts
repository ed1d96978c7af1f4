/**
 * The server's metrics: HTTP requests (both ways a request is served — hono and the fast
 * append path — record through the gate's request log), HTTP errors by code, open event
 * streams, and the process's defaults; exposed at `/metrics` together with the store's own
 * (`storeMetrics(store)`).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import { FastHistogram, storeMetrics } from "../index.js";
import type { ContextStore, HistogramSeries, OperationTimings, StoreMetrics } from "../index.js";

/** HTTP durations: 100 µs to 30 s. */
const HTTP_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** What the app records and exposes. */
export interface ServerMetrics {
  /** The server's own registry (HTTP, SSE, process). */
  readonly registry: Registry;
  /** The store's metrics, when the store has them. */
  readonly store: StoreMetrics | undefined;
  /** Records one request (route template, method, status, error code when it failed). */
  request(route: string, method: string, status: number, seconds: number, errorCode: string | undefined): void;
  /** An event stream opened (+1) or ended (-1). */
  sse(delta: 1 | -1): void;
  /** The Prometheus text of the server's and the store's metrics. */
  text(): Promise<string>;
  /** The same as JSON (prom-client's form). */
  json(): Promise<unknown[]>;
  readonly contentType: string;
}

const METHODS = new Set(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]);
/** The series of one route and method, bound on first use. */
interface RouteSeries {
  /** The method label (`OTHER` for a method not in {@link METHODS}). */
  readonly method: string;
  /** By status class (index = status / 100). */
  readonly classes: (HistogramSeries | undefined)[];
  /** The performance monitor's totals of `METHOD route` (undefined without store metrics). */
  readonly timings: OperationTimings | undefined;
}

/**
 * Makes the metrics of one app. Process metrics (`process_*`, `nodejs_*`) keep the standard
 * names every Node dashboard expects; `processMetrics: false` leaves them out (an app that
 * embeds contextd's server next to its own prom-client defaults).
 */
export function createServerMetrics(store: ContextStore, options: { processMetrics?: boolean } = {}): ServerMetrics {
  const registry = new Registry();
  const registers = [registry];
  if (options.processMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    // Gauges named like counters (promtool: "non-counter metrics should not have _total");
    // the same figures by type stay as nodejs_active_handles / _requests / _resources.
    for (const name of ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"]) registry.removeSingleMetric(name);
  }
  // contextd's own histogram: prom-client's hashes the labels on every observation (~1.5 µs).
  const requests = new FastHistogram({
    name: "contextd_http_request_duration_seconds",
    help: "HTTP requests by route template, method and status class (2xx, 4xx, 5xx).",
    buckets: HTTP_BUCKETS,
    registers,
  });
  const errors = new Counter({
    name: "contextd_http_errors_total",
    help: "HTTP requests answered with an error, by error code.",
    labelNames: ["code"],
    registers,
  });
  const streams = new Gauge({ name: "contextd_sse_connections", help: "Open server-sent event streams (watch).", registers });
  const own = storeMetrics(store);
  let exposed: Registry | undefined;
  const all = (): Registry => (exposed ??= own === undefined ? registry : Registry.merge([registry, own.registry]));
  // Route → method → series: the route templates and methods are the same few strings on
  // every request, so each lookup reuses their cached hashes (no key string is built per request).
  const routes = new Map<string, Map<string, RouteSeries>>();
  const seriesOf = (route: string, method: string): RouteSeries => {
    let methods = routes.get(route);
    if (methods === undefined) routes.set(route, (methods = new Map()));
    let s = methods.get(method);
    if (s === undefined) methods.set(method, (s = { method, classes: [], timings: own?.timings("http", `${method} ${route}`) }));
    return s;
  };
  // The last route and method asked for, and their series: the fast append path passes the same
  // two constant strings on every request, so most requests skip the set and the maps.
  let lastRoute = "";
  let lastMethod = "";
  let last: RouteSeries | undefined;
  return {
    registry,
    store: own,
    request(route, method, status, seconds, errorCode) {
      let s: RouteSeries;
      if (route === lastRoute && method === lastMethod && last !== undefined) s = last;
      else {
        s = seriesOf(route, METHODS.has(method) ? method : "OTHER");
        lastRoute = route;
        lastMethod = method;
        last = s;
      }
      const c = Math.floor(status / 100);
      (s.classes[c] ??= requests.series({ route, method: s.method, status: `${c}xx` })).observe(seconds);
      if (errorCode !== undefined) errors.inc({ code: errorCode });
      s.timings?.observe(seconds, errorCode ?? "ok");
    },
    sse(delta) {
      streams.inc(delta);
    },
    text: () => all().metrics(),
    json: async () => (await all().getMetricsAsJSON()) as unknown[],
    contentType: registry.contentType,
  };
}
