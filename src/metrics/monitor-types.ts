/**
 * The types of the performance monitor, its alert rules and recommendations (one module, so
 * that monitor.ts, alerts.ts and recommendations.ts share them without an import cycle).
 */
import type { OperationSample } from "./metrics.js";

/** What a rule watches. Latencies in seconds; rates as fractions; sizes in bytes. */
export type AlertMetric =
  | "p50_seconds"
  | "p95_seconds"
  | "p99_seconds"
  | "error_rate"
  | "throughput"
  | "cache_hit_rate"
  | "cache_fallback_rate"
  | "rss_bytes"
  | "heap_used_bytes"
  | "cpu"
  | "event_loop_delay_seconds"
  | "wal_bytes"
  | "database_bytes"
  | "pool_waiting";

/** One alert rule (from the configuration file's `monitor.alerts`, or given in code). */
export interface AlertRule {
  /** Unique among the rules. */
  name: string;
  metric: AlertMetric;
  /** For operation metrics: only operations of this layer (`store`, `driver`, `http`, `embedding`) and/or name. */
  labels?: { layer?: string; operation?: string };
  op: ">" | "<";
  threshold: number;
  /** The level at which a firing alert resolves. @default threshold */
  clear?: number;
  /** How long the condition must hold before it fires. @default 0 (at the first window) */
  forMs?: number;
  /** The span each evaluation looks at. @default 60000 */
  windowMs?: number;
  severity: "info" | "warning" | "critical";
}

/** A rule's state and its last evaluated value (`null`: no data). */
export interface AlertState {
  rule: AlertRule;
  state: "inactive" | "pending" | "firing";
  value: number | null;
  /** When it became pending or firing (ISO), else null. */
  since: string | null;
}

/** A transition sent to the sinks. */
export interface AlertEvent {
  rule: AlertRule;
  state: "firing" | "resolved";
  value: number | null;
  at: string;
  /** When the episode began (pending). */
  since: string;
}

/** Where alert events go. */
export interface AlertSink {
  send(event: AlertEvent): void | Promise<void>;
}

/** One recommendation. */
export interface Recommendation {
  code: string;
  severity: "info" | "warning";
  /** What was seen, with the figures. */
  reason: string;
  /** What to do. */
  action: string;
}

/** One operation's figures over a span of windows. */
export interface OperationFigures {
  layer: OperationSample["layer"];
  operation: string;
  count: number;
  errors: number;
  errorRate: number;
  /** Per second over the span. */
  throughput: number;
  /** Seconds (upper bound of the latency bucket the quantile falls in; ≤ 25 % above the truth). */
  p50: number;
  p95: number;
  p99: number;
}

/** The process and the backend at the end of a window. */
export interface ResourceFigures {
  at: string;
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** CPU time over wall time during the window (1 = one core busy). */
  cpu: number;
  /** Event-loop delay during the window, seconds. */
  eventLoopDelayP99: number;
  databaseBytes: number | null;
  walBytes: number | null;
  poolWaiting: number | null;
}

/** What `GET /v1/monitor` answers. */
export interface MonitorReport {
  from: string;
  to: string;
  windowMs: number;
  retentionMs: number;
  operations: OperationFigures[];
  cache: { hits: number; misses: number; fallbacks: number; hitRate: number | null } | null;
  resources: ResourceFigures[];
  alerts: AlertState[];
  recommendations: Recommendation[];
}
