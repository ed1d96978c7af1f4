/**
 * The metrics tiers, loaded by `createStore` with a dynamic import when metrics are on (so
 * `import "contextd"` does not load prom-client and the OpenTelemetry API).
 */
export { createStoreMetrics, outcomeOf, OPERATION_BUCKETS, MAX_MODEL_SERIES } from "./metrics.js";
export type { MetricsOptions, OperationLayer, OperationSample, OperationTimings, StoreMetrics } from "./metrics.js";
export { meteredDriver } from "./metered-driver.js";
export { meteredStore } from "./metered-store.js";
export { meteredEmbedder } from "./metered-embedder.js";
