/**
 * The configuration file of `contextd serve --config FILE` (or `CONTEXTD_CONFIG`): JSON, checked
 * by one zod schema, unknown keys refused. Today it holds the performance monitor and its
 * alert rules:
 *
 * ```json
 * { "monitor": { "windowMs": 10000, "retentionMs": 3600000,
 *     "alerts": [{ "name": "slow appends", "metric": "p99_seconds", "labels": { "layer": "store", "operation": "append" },
 *                  "op": ">", "threshold": 0.05, "clear": 0.03, "forMs": 60000, "severity": "warning" }],
 *     "webhooks": [{ "url": "https://alerts.example/hook", "retries": 3 }] } }
 * ```
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { ALERT_METRICS, ContextError } from "../index.js";
import type { AlertRule, WebhookSinkOptions } from "../index.js";

const ms = z.number().int().positive();
const Rule = z.strictObject({
  name: z.string().min(1),
  metric: z.enum(ALERT_METRICS as [string, ...string[]]),
  labels: z.strictObject({ layer: z.enum(["store", "driver", "embedding", "http"]).optional(), operation: z.string().min(1).optional() }).optional(),
  op: z.enum([">", "<"]),
  threshold: z.number(),
  clear: z.number().optional(),
  forMs: z.number().int().nonnegative().optional(),
  windowMs: ms.optional(),
  severity: z.enum(["info", "warning", "critical"]),
});
const Webhook = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  headers: z.record(z.string(), z.string()).optional(),
  retries: z.number().int().min(0).max(10).optional(),
  backoffMs: z.number().int().nonnegative().optional(),
  timeoutMs: ms.optional(),
});

/** The `monitor` section of the configuration file (registered with the settings: docs/configuration.md). */
export const MonitorSection = z.strictObject({
  windowMs: ms.optional(),
  retentionMs: ms.optional(),
  alerts: z.array(Rule).optional(),
  webhooks: z.array(Webhook).optional(),
});

/** The configuration file's schema, as far as the monitor is concerned. */
export const ConfigFile = z.strictObject({
  monitor: MonitorSection.optional(),
});

/** A checked configuration file. */
export interface ServeConfig {
  monitor?: { windowMs?: number; retentionMs?: number; alerts: AlertRule[]; webhooks: WebhookSinkOptions[] };
}

/**
 * Reads and checks `path`; every problem at once in the message and `details.issues`.
 * @throws `NOT_FOUND` for a missing file; `INVALID_INPUT` for bad JSON or settings
 */
export function readConfigFile(path: string): ServeConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ContextError("NOT_FOUND", `configuration file ${path} cannot be read: ${(e as Error).message}`, { cause: e, details: { path } });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ContextError("INVALID_INPUT", `configuration file ${path} is not JSON: ${(e as Error).message}`, { cause: e, details: { path } });
  }
  const parsed = ConfigFile.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(file)"}: ${i.message}`);
    throw new ContextError("INVALID_INPUT", `configuration file ${path}:\n  ${issues.join("\n  ")}`, { details: { path, issues } });
  }
  const m = parsed.data.monitor;
  return m === undefined ? {} : { monitor: monitorSettings(m) };
}

/** The monitor's settings from a checked `monitor` section (none: defaults, no rules). */
export function monitorSettings(section: unknown): NonNullable<ServeConfig["monitor"]> {
  const m = (section ?? {}) as z.infer<typeof MonitorSection>;
  return {
    ...(m.windowMs !== undefined && { windowMs: m.windowMs }),
    ...(m.retentionMs !== undefined && { retentionMs: m.retentionMs }),
    alerts: (m.alerts ?? []) as AlertRule[],
    webhooks: (m.webhooks ?? []) as WebhookSinkOptions[],
  };
}
