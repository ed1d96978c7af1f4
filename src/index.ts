/**
 * contextd: context management for AI applications and agents.
 * @packageDocumentation
 */
export { openStore, driverFromUrl, defaultStorePath } from "./open.js";
export type { OpenStoreOptions } from "./open.js";
export { createStore } from "./core/store.js";
export type { StoreOptions, TokenCounter } from "./core/engine.js";
export { contextHandle } from "./core/handle.js";
export { exportContexts, importContexts } from "./core/transfer.js";
export type { ExportFilter, ImportOptions, ImportResult, ImportSource } from "./core/transfer.js";
export { startTask } from "./core/task.js";
export type { Task } from "./core/task.js";
export type {
  EndTaskOptions,
  FileTrack,
  ModelTrack,
  ModelUsageInput,
  StartTaskInput,
  TaskJSON,
  TaskOutcome,
} from "./core/task-types.js";
export { withTask } from "./core/with-task.js";
export type { WithTaskOptions } from "./core/with-task.js";
export { buildWindow, toolCallId, windowMessages } from "./core/window.js";
export type { ChatMessage, ContextWindow, WindowOptions, WindowStrategy, WindowSummary } from "./core/window.js";
export { optimize } from "./core/optimize.js";
export type { OptimizeBudget, OptimizeOptions, OptimizeResult } from "./core/optimize.js";
export { readModelCall, usage } from "./core/usage.js";
export type { ModelCall, UsageGroup, UsageQuery, UsageReport, UsageRow, UsageTotals } from "./core/usage.js";
export { DEFAULT_PRICES, findPrice, priceCall } from "./core/prices.js";
export type { ModelPrice, PriceTable, TokenUsage } from "./core/prices.js";
export {
  DEFAULT_ENCODING,
  TOKEN_ENCODINGS,
  countTokens,
  createTokenizer,
  defaultTokenCounter,
  eventText,
  tokenizerFor,
} from "./core/tokens.js";
export type { TokenEncoding, Tokenizer } from "./core/tokens.js";
export { extractiveSummary } from "./core/summarize.js";
export type { SummarizeInput, Summarizer } from "./core/summarize.js";
export { AIECS_FILE_PATTERN, importAiecsHistory } from "./core/aiecs.js";
export type { AiecsImportOptions, AiecsImportResult } from "./core/aiecs.js";
export { CONFIG_VARIABLES, loadConfig } from "./core/config.js";
export type { ContextdConfig, LogLevel } from "./core/config.js";
export { createSuppressedError, isSuppressedError } from "./core/disposal.js";
export type { Releasable, SuppressedErrorLike } from "./core/disposal.js";
export { newId } from "./core/ids.js";
export { canonicalJson, diffJson, jsonEqual, mergePatch } from "./core/json.js";
export { DEFAULT_LIMITS } from "./core/validate.js";
export type { StoreLimits } from "./core/validate.js";
export type { SchemaViolation } from "./core/schemas.js";
export { memoryDriver } from "./drivers/memory.js";
export type { MemoryDriverOptions } from "./drivers/memory.js";
export { sqliteDriver } from "./drivers/sqlite/driver.js";
export type { SqliteDriverOptions } from "./drivers/sqlite/driver.js";
// pg and redis load only when these drivers open, so importing contextd never needs them.
export { postgresDriver } from "./drivers/postgres/driver.js";
export type { PostgresDriverOptions } from "./drivers/postgres/driver.js";
export { redisCache } from "./drivers/redis/cache.js";
export type { RedisCacheOptions } from "./drivers/redis/cache.js";
export {
  CONTEXT_ERROR_CODES,
  ContextError,
  VersionConflictError,
  contextNotFound,
  invalidInput,
  isContextError,
} from "./errors.js";
export type { ContextErrorCode, ContextErrorOptions } from "./errors.js";
export type {
  AcquireLeaseOptions,
  BuiltinEventType,
  CallOptions,
  CompactResult,
  ContextEvent,
  ContextHandle,
  ContextInfo,
  ContextStatus,
  ContextStore,
  CreateContextInput,
  CreateSnapshotInput,
  EventInput,
  EventQuery,
  EventType,
  ForkInput,
  JsonObject,
  JsonPatchOperation,
  JsonPrimitive,
  JsonValue,
  Lease,
  LeaseRef,
  ListContextsQuery,
  Page,
  RestoreTarget,
  SearchHit,
  SearchQuery,
  Snapshot,
  StateRecord,
  StatePath,
  StateSchema,
  StateSelector,
  StateWriteOptions,
  StateWriteResult,
  StoreHealth,
  TimeInput,
  UpdateContextInput,
  WatchOptions,
  WriteOptions,
} from "./core/types.js";
export type {
  BindingSlot,
  ChangeNotice,
  CommitResult,
  ContextPatch,
  ContextQuery,
  ContextRecord,
  Driver,
  DriverCapabilities,
  DriverFactory,
  EventRecord,
  EventRecordInput,
  EventRecordQuery,
  Head,
  LeaseRecord,
  Mutation,
  SchemaRecord,
  SnapshotRecord,
  StateUpdate,
} from "./drivers/driver.js";
