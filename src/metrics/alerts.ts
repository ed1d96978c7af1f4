/**
 * Alert rules of the performance monitor: a metric (optionally narrowed by labels), a
 * threshold, how long the condition must hold (`forMs`) and a severity. A rule goes
 * inactive → pending → firing, and back to inactive once the value crosses its `clear` level
 * (hysteresis: a value hovering at the threshold does not flap). Firing and resolved are
 * each sent once per episode, to every sink: the log, a webhook, a callback.
 */
import { ContextError } from "../errors.js";
import type { AlertEvent, AlertMetric, AlertRule, AlertSink, AlertState, MonitorReport } from "./monitor-types.js";


export const ALERT_METRICS: readonly AlertMetric[] = [
  "p50_seconds", "p95_seconds", "p99_seconds", "error_rate", "throughput", "cache_hit_rate", "cache_fallback_rate",
  "rss_bytes", "heap_used_bytes", "cpu", "event_loop_delay_seconds", "wal_bytes", "database_bytes", "pool_waiting",
];


type Figures = Pick<MonitorReport, "operations" | "cache"> & { resources: MonitorReport["resources"][number] | null };

/** Checks rules given by a user (names unique, metrics known, numbers finite). @throws `INVALID_INPUT` */
export function checkRules(rules: readonly AlertRule[]): void {
  const names = new Set<string>();
  rules.forEach((r, i) => {
    const bad = (m: string) => new ContextError("INVALID_INPUT", `monitor.alerts[${i}] (${String(r.name)}): ${m}`, { details: { field: `monitor.alerts[${i}]` } });
    if (typeof r.name !== "string" || r.name === "") throw bad("name: must be a non-empty string");
    if (names.has(r.name)) throw bad("name: must be unique");
    names.add(r.name);
    if (!ALERT_METRICS.includes(r.metric)) throw bad(`metric: must be one of ${ALERT_METRICS.join(", ")}`);
    if (r.op !== ">" && r.op !== "<") throw bad('op: must be ">" or "<"');
    if (!Number.isFinite(r.threshold)) throw bad("threshold: must be a finite number");
    if (r.clear !== undefined && (!Number.isFinite(r.clear) || (r.op === ">" ? r.clear > r.threshold : r.clear < r.threshold))) {
      throw bad(`clear: must be a number on the resolved side of the threshold (${r.op === ">" ? "≤" : "≥"} ${r.threshold})`);
    }
    for (const f of ["forMs", "windowMs"] as const) {
      const v = r[f];
      if (v !== undefined && (!Number.isFinite(v) || v < 0)) throw bad(`${f}: must be a non-negative number of ms`);
    }
  });
}

/** The rule's metric over the figures, or null without data. */
export function ruleValue(rule: AlertRule, f: Figures): number | null {
  const ops = f.operations.filter(
    (o) => (rule.labels?.layer === undefined || o.layer === rule.labels.layer) && (rule.labels?.operation === undefined || o.operation === rule.labels.operation),
  );
  const count = ops.reduce((n, o) => n + o.count, 0);
  const r = f.resources;
  switch (rule.metric) {
    case "p50_seconds":
    case "p95_seconds":
    case "p99_seconds": {
      if (count === 0) return null;
      const key = rule.metric === "p50_seconds" ? "p50" : rule.metric === "p95_seconds" ? "p95" : "p99";
      return Math.max(...ops.filter((o) => o.count > 0).map((o) => o[key]));
    }
    case "error_rate":
      return count === 0 ? null : ops.reduce((n, o) => n + o.errors, 0) / count;
    case "throughput":
      return ops.reduce((n, o) => n + o.throughput, 0);
    case "cache_hit_rate":
    case "cache_fallback_rate": {
      const c = f.cache;
      const reads = c === null ? 0 : c.hits + c.misses + c.fallbacks;
      if (c === null || reads === 0) return null;
      return (rule.metric === "cache_hit_rate" ? c.hits : c.fallbacks) / reads;
    }
    case "rss_bytes":
      return r?.rssBytes ?? null;
    case "heap_used_bytes":
      return r?.heapUsedBytes ?? null;
    case "cpu":
      return r?.cpu ?? null;
    case "event_loop_delay_seconds":
      return r?.eventLoopDelayP99 ?? null;
    case "wal_bytes":
      return r?.walBytes ?? null;
    case "database_bytes":
      return r?.databaseBytes ?? null;
    case "pool_waiting":
      return r?.poolWaiting ?? null;
  }
}

/** Moves every rule's state on one evaluation; returns the transitions to send. */
export function evaluateRules(
  rules: readonly AlertRule[],
  states: Map<string, AlertState>,
  at: number,
  figures: (lastMs: number) => Figures,
): AlertEvent[] {
  const events: AlertEvent[] = [];
  const iso = new Date(at).toISOString();
  for (const rule of rules) {
    const value = ruleValue(rule, figures(rule.windowMs ?? 60_000));
    const prev = states.get(rule.name) ?? { rule, state: "inactive" as const, value: null, since: null };
    const breached = value !== null && (rule.op === ">" ? value > rule.threshold : value < rule.threshold);
    const clear = rule.clear ?? rule.threshold;
    const cleared = value === null || (rule.op === ">" ? value <= clear : value >= clear);
    let next: AlertState;
    if (prev.state === "firing") {
      if (cleared) {
        events.push({ rule, state: "resolved", value, at: iso, since: prev.since ?? iso });
        next = { rule, state: "inactive", value, since: null };
      } else next = { ...prev, value };
    } else if (breached) {
      const since = prev.state === "pending" ? (prev.since ?? iso) : iso;
      if (at - Date.parse(since) >= (rule.forMs ?? 0)) {
        events.push({ rule, state: "firing", value, at: iso, since });
        next = { rule, state: "firing", value, since };
      } else next = { rule, state: "pending", value, since };
    } else next = { rule, state: "inactive", value, since: null };
    states.set(rule.name, next);
  }
  return events;
}

/** Alert events as log lines: firing at the rule's severity (warn for info/warning, error for critical), resolved at info. */
export function logSink(logger: { warn(o: object, msg: string): void; error(o: object, msg: string): void; info(o: object, msg: string): void }): AlertSink {
  return {
    send(e) {
      const line = { alert: e.rule.name, severity: e.rule.severity, metric: e.rule.metric, value: e.value, threshold: e.rule.threshold, since: e.since };
      if (e.state === "resolved") logger.info(line, `alert resolved: ${e.rule.name}`);
      else if (e.rule.severity === "critical") logger.error(line, `alert firing: ${e.rule.name}`);
      else logger.warn(line, `alert firing: ${e.rule.name}`);
    },
  };
}

/** Options of {@link webhookSink}. */
export interface WebhookSinkOptions {
  url: string;
  /** Extra headers (e.g. an authorization). */
  headers?: Record<string, string>;
  /** Attempts after the first, on a network error, a 429 or a 5xx. @default 3 */
  retries?: number;
  /** Wait before retry n: backoffMs × 2^(n-1). @default 500 */
  backoffMs?: number;
  /** Per attempt. @default 5000 */
  timeoutMs?: number;
}

/** Alert events POSTed as JSON (`{ alert, state, severity, metric, value, threshold, at, since, labels }`), with retries. */
export function webhookSink(o: WebhookSinkOptions): AlertSink {
  const retries = o.retries ?? 3;
  const backoff = o.backoffMs ?? 500;
  return {
    async send(e) {
      const body = JSON.stringify({
        alert: e.rule.name,
        state: e.state,
        severity: e.rule.severity,
        metric: e.rule.metric,
        labels: e.rule.labels ?? {},
        value: e.value,
        threshold: e.rule.threshold,
        at: e.at,
        since: e.since,
      });
      let lastError: unknown;
      for (let attempt = 0; attempt <= retries; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, backoff * 2 ** (attempt - 1)));
        try {
          const res = await fetch(o.url, {
            method: "POST",
            headers: { "content-type": "application/json", ...o.headers },
            body,
            signal: AbortSignal.timeout(o.timeoutMs ?? 5000),
          });
          await res.arrayBuffer().catch(() => undefined);
          if (res.ok) return;
          lastError = new Error(`webhook answered ${res.status}`);
          if (res.status !== 429 && res.status < 500) break;
        } catch (err) {
          lastError = err;
        }
      }
      throw new ContextError("DRIVER_UNAVAILABLE", `alert webhook ${o.url} failed after ${retries + 1} attempts`, { cause: lastError });
    },
  };
}

/** Alert events passed to a function of the application. */
export function callbackSink(onAlert: (event: AlertEvent) => void | Promise<void>): AlertSink {
  return { send: onAlert };
}
