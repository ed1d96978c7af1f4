/**
 * The contextd HTTP server: `createApp` (the hono app, for tests and embedding) and
 * `serve` (bound to a port), plus API key management.
 */
export { createApp } from "./app.js";
export type { AppOptions } from "./app.js";
export { serve, isLoopbackHost } from "./serve.js";
export type { RunningServer, ServeOptions, ServerReconfiguration } from "./serve.js";
export { assertConfiguration, checkConfiguration, CONFIG_LEVELS, formatFindings, loadServeConfig, secretBits } from "./config.js";
export type { ConfigFinding, ConfigLevel, LoadServeConfigOptions, ServeConfig, SettingSource } from "./config.js";
export { DEFAULT_SERVER_LIMITS } from "./limits.js";
export type { ServerLimits } from "./limits.js";
export type { AppEnv } from "./app-env.js";
export { ERROR_STATUS, toErrorResponse } from "./error-status.js";
export type { ErrorBody, ErrorResponse } from "./error-status.js";
export {
  API_KEY_SCOPES,
  createApiKey,
  createKeyRing,
  fileKeyRing,
  generateApiKey,
  listApiKeys,
  readKeysFile,
  revokeApiKey,
  writeKeysFile,
} from "./keys.js";
export type { ApiKeyRecord, ApiKeyScope, CreateApiKeyOptions, KeyRing, KeysFile } from "./keys.js";
export { createServerMetrics } from "./metrics.js";
export { HEALTH_CATEGORIES, healthReport } from "./health-report.js";
export type { HealthCategory, HealthCheck, HealthReport, HealthReportOptions } from "./health-report.js";
export { healthReportHtml } from "./health-html.js";
export type { HealthReportHtmlOptions } from "./health-html.js";
export { createHealthHistory, defaultHealthHistoryFile } from "./health-history.js";
export type {
  HealthHistory,
  HealthHistoryOptions,
  HealthHistoryPage,
  HealthTrend,
  RecordedHealthReport,
  ScoreChange,
  TrendDirection,
  TrendedHealthReport,
  TrendLine,
} from "./health-history.js";
export type { ServerMetrics } from "./metrics.js";
export { createRateLimiter } from "./rate-limit.js";
export type { RateLimitOptions, RateLimiter } from "./rate-limit.js";
