/**
 * contextd: context management for AI applications and agents.
 * @packageDocumentation
 */
export { createStore, openStore, driverFromUrl, defaultStorePath, storeMetrics } from "./open.js";
export type { CreateStoreOptions, OpenStoreOptions } from "./open.js";
export type { MetricsOptions, OperationLayer, OperationSample, OperationTimings, StoreMetrics } from "./metrics/metrics.js";
export { createMonitor } from "./metrics/monitor.js";
export { FastHistogram } from "./metrics/fast-histogram.js";
export type { HistogramSeries } from "./metrics/fast-histogram.js";
export type { Monitor, MonitorOptions } from "./metrics/monitor.js";
export { ALERT_METRICS, callbackSink, logSink, webhookSink } from "./metrics/alerts.js";
export type { WebhookSinkOptions } from "./metrics/alerts.js";
export type {
  AlertEvent,
  AlertMetric,
  AlertRule,
  AlertSink,
  AlertState,
  MonitorReport,
  OperationFigures,
  Recommendation,
  ResourceFigures,
} from "./metrics/monitor-types.js";
export { createCoreStore } from "./core/store.js";
export { contextStore } from "./agent/store.js";
export type { ContextHandle, ContextStore, MetricFamily } from "./agent/types.js";
export type { StoreOptions, TokenCounter } from "./core/engine.js";
export { contextHandle } from "./agent/handle.js";
export { exportContexts, importContexts } from "./formats/jsonl.js";
export type { ExportFilter, ImportOptions, ImportResult, ImportSource } from "./formats/jsonl.js";
export { startTask } from "./agent/task.js";
export type { Task } from "./agent/task.js";
export type {
  EndTaskOptions,
  FileTrack,
  ModelTrack,
  ModelUsageInput,
  StartTaskInput,
  TaskJSON,
  TaskOutcome,
} from "./agent/task-types.js";
export { withTask } from "./agent/with-task.js";
export type { WithTaskOptions } from "./agent/with-task.js";
export { WINDOW_EXCLUDED_TYPES, buildWindow, toolCallId, windowMessages } from "./agent/window.js";
export type { ChatMessage, ContextWindow, WindowOptions, WindowStrategy, WindowSummary } from "./agent/window.js";
export { assembleWindow, isSectionedWindow } from "./agent/prompt-window.js";
export type { SectionedWindowOptions } from "./agent/prompt-window.js";
export { IN_PROCESS_WINDOW_OPTIONS, inProcessWindowOption } from "./agent/prompt-options.js";
export type {
  BlockLoader,
  MemoriesSection,
  PinnedSection,
  PromptMessage,
  PromptToolCall,
  PromptWindow,
  PromptWindowOptions,
  RecallSection,
  RecentSection,
  SectionLimits,
  SummarySection,
  ToolOutputsSection,
  WindowSectionName,
  WindowSectionReport,
  WindowSections,
  WorkingMemoryBlock,
  WorkingMemorySection,
} from "./agent/prompt-types.js";
export { toAnthropicMessages, toModelMessages, toOpenAIMessages } from "./agent/prompt-formats.js";
export type { AISDKModelMessage, AnthropicContentBlock, AnthropicMessage, AnthropicPrompt, OpenAIChatMessage } from "./agent/prompt-formats.js";
export { REPLY_PRIMING_TOKENS, TOKENS_PER_MESSAGE, TOKENS_PER_NAME, countChatMessage, countChatMessages, encodingForModel } from "./agent/chat-tokens.js";
export { DATA_TAG, dataBlock, neutralize } from "./agent/safe-text.js";
export { optimize } from "./agent/optimize.js";
export type { OptimizeBudget, OptimizeOptions, OptimizeResult } from "./agent/optimize.js";
export { readModelCall, usage } from "./agent/usage.js";
export type { ModelCall, UsageGroup, UsageQuery, UsageReport, UsageRow, UsageTotals } from "./agent/usage.js";
export { DEFAULT_PRICES, findPrice, priceCall } from "./agent/prices.js";
export type { ModelPrice, PriceTable, TokenUsage } from "./agent/prices.js";
export {
  DEFAULT_ENCODING,
  TOKEN_ENCODINGS,
  countTokens,
  createTokenizer,
  defaultTokenCounter,
  eventText,
  loadTokenizer,
  tokenizerFor,
} from "./agent/tokens.js";
export type { TokenEncoding, Tokenizer } from "./agent/tokens.js";
export { extractiveSummary } from "./agent/summarize.js";
export type { SummarizeInput, Summarizer } from "./agent/summarize.js";
export { AIECS_FILE_PATTERN, AIECS_RENAMED_PREFIX, aiecsEventType, importAiecsHistory } from "./formats/aiecs.js";
export type { AiecsImportOptions, AiecsImportResult } from "./formats/aiecs.js";
export { callTool, callTools, defineTool, toAnthropicTool, toMcpTool, toOpenAIResponsesTool, toOpenAITool, unknownTool } from "./tools/index.js";
export type {
  AnthropicTool,
  CallToolOptions,
  CallToolsOptions,
  Checked,
  JsonSchema,
  McpTool,
  OpenAIChatTool,
  OpenAIResponsesTool,
  Tool,
  ToolCallRequest,
  ToolDefinition,
  ToolOutcome,
  ToolResult,
  ToolRunContext,
  ToolTarget,
} from "./tools/index.js";
export { backoffMs, createController, isRetryable, localRateLimiter, redisRateLimiter, retryAfterMs } from "./concurrency/index.js";
export type {
  Controller,
  ControllerOptions,
  ControllerStats,
  KeyLimits,
  LimiterLogger,
  LocalRateLimiterOptions,
  ProgressEvent,
  RateCost,
  RateLimiter,
  RateLimits,
  RedisRateLimiter,
  RedisRateLimiterOptions,
  Reservation,
  RetryOptions,
  RunContext,
  RunOptions,
} from "./concurrency/index.js";
export { CONFIG_VARIABLES, loadConfig, unknownVariables } from "./agent/config.js";
export { configSections, META_SETTINGS, parseSetting, registerConfigSection, SETTINGS, settingsTable } from "./agent/settings.js";
export type { ConfigSection, Setting, SettingKind, SettingParse } from "./agent/settings.js";
export type { ContextdConfig, LogLevel } from "./agent/config.js";
export { createSuppressedError, isSuppressedError } from "./agent/disposal.js";
export type { Releasable, SuppressedErrorLike } from "./agent/disposal.js";
export { newId } from "./core/ids.js";
export { canonicalJson, diffJson, jsonEqual, mergePatch } from "./core/json.js";
export { DEFAULT_LIMITS, RESERVED_EVENT_TYPES } from "./core/validate.js";
export type { StoreLimits } from "./core/validate.js";
export type { SchemaViolation } from "./core/state-validator.js";
export { inMemoryDriver } from "./drivers/in-memory/driver.js";
export type { InMemoryDriverOptions } from "./drivers/in-memory/driver.js";
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
  ContextInfo,
  ContextStatus,
  CoreStore,
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
  HistorySearchProgress,
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
  StoreCapabilities,
  StoreHealth,
  TimeInput,
  UpdateContextInput,
  WatchOptions,
  WriteOptions,
} from "./core/types.js";
export { DRIVER_METHODS, OPTIONAL_DRIVER_METHODS, wrapDriver } from "./drivers/wrap.js";
export type { DriverOverrides } from "./drivers/wrap.js";
export { circuitBreaker } from "./drivers/circuit-breaker.js";
export type { CircuitBreakerOptions } from "./drivers/circuit-breaker.js";
export { circuitSnapshots, createCircuit, onCircuitTransition } from "./core/circuit.js";
export type { Circuit, CircuitCounters, CircuitOptions, CircuitSnapshot, CircuitState, CircuitTransition } from "./core/circuit.js";
export type { Embedder, EmbedOptions } from "./core/embedder.js";
export {
  cachedEmbedder,
  circuitEmbedder,
  createEmbedder,
  DEFAULT_EMBEDDER,
  defaultEmbedder,
  EmbeddingCache,
  hashingEmbedder,
  openAIEmbedder,
  USE_MODEL,
  useEmbedder,
} from "./embeddings/index.js";
export type {
  CachedEmbedder,
  CircuitEmbedderOptions,
  CreateEmbedderOptions,
  EmbedderSpec,
  EmbeddingCacheOptions,
  HashingEmbedderOptions,
  OpenAIEmbedderOptions,
  UseEmbedder,
  UseEmbedderOptions,
} from "./embeddings/index.js";
export { textTerms } from "./core/text-terms.js";
export { BM25_B, BM25_K1, HYBRID_VECTOR_WEIGHT } from "./core/memory-rank.js";
export type {
  AddedMemory,
  AddMemoriesOptions,
  GetMemoryOptions,
  ListMemoriesQuery,
  Memory,
  MemoryBoosts,
  MemoryHit,
  MemoryInput,
  MemoryScope,
  MemorySearchQuery,
  MemorySelection,
  MemorySource,
  MemoryUpdate,
  MemoryVersion,
  MemoryWriteOptions,
  MetadataCondition,
  MetadataFilter,
  PurgeMemoriesOptions,
  ReindexMemoriesOptions,
  ReindexResult,
  StoredMemoryScope,
} from "./core/memory-types.js";
export type { MemoryAdd, MemoryArea, MemoryChange, MemoryContent, MemoryNearestQuery, MemoryRecord, MemoryVersionRecord } from "./drivers/memory-area.js";
export type { Block, BlockEdit, BlockHistoryOptions, BlockInput, BlockLimit, BlockScope, BlockVersion, BlockWriteOptions } from "./core/block-types.js";
export { MAX_BLOCK_HISTORY_PAGE } from "./core/block-types.js";
export type { BlockArea, BlockChange, BlockContent, BlockKey, BlockRecord, BlockVersionRecord } from "./drivers/block-area.js";
export { blockConflict } from "./drivers/block-area.js";
export { blocksOf, blockTools, updateBlock } from "./agent/blocks.js";
export type { BlockTool, BlockUpdate, ScopedBlocks, UpdateBlockOptions } from "./agent/blocks.js";
export { BLOCK_TOKEN_ENCODING, countBlockTokens } from "./core/block-tokens.js";
export { MAX_BLOCK_CHARS, MAX_BLOCK_TOKENS, RESERVED_BLOCK_LABELS } from "./core/block-input.js";
export type {
  ActiveSlot,
  ChangeNotice,
  CommitResult,
  ContextPatch,
  ContextQuery,
  ContextRecord,
  Driver,
  DriverCall,
  DriverCapabilities,
  DriverFactory,
  EventRecord,
  EventRecordInput,
  EventRecordQuery,
  EventSearch,
  EventSearchArea,
  EventSearchHit,
  Head,
  LeaseRecord,
  Mutation,
  SchemaRecord,
  SnapshotRecord,
  StateUpdate,
} from "./drivers/driver.js";
