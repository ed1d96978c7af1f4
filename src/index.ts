/**
 * contextd: context management for AI applications and agents.
 * @packageDocumentation
 */
export { openStore, driverFromUrl, defaultStorePath } from "./open.js";
export type { OpenStoreOptions } from "./open.js";
export { createStore } from "./core/store.js";
export type { StoreOptions, TokenCounter } from "./core/engine.js";
export { contextHandle } from "./core/handle.js";
export { newId } from "./core/ids.js";
export { canonicalJson, diffJson, jsonEqual, mergePatch } from "./core/json.js";
export { DEFAULT_LIMITS } from "./core/validate.js";
export type { StoreLimits } from "./core/validate.js";
export type { SchemaViolation } from "./core/schemas.js";
export { memoryDriver } from "./drivers/memory.js";
export type { MemoryDriverOptions } from "./drivers/memory.js";
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
  Snapshot,
  StateRecord,
  StatePath,
  StateSchema,
  StateSelector,
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
