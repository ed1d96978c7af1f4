/**
 * The store users hold: the engine's {@link CoreStore} plus the agent layer — handles bound
 * to one context (with windows and `optimize`), task scopes and usage reports. The embedded
 * store (`openStore`, `createStore`) and the HTTP client (`createClient`) are both this
 * interface, so code written against one runs against the other.
 */
import type {
  AcquireLeaseOptions,
  CallOptions,
  CompactResult,
  ContextEvent,
  ContextInfo,
  CoreStore,
  CreateSnapshotInput,
  EventInput,
  EventQuery,
  ForkInput,
  JsonObject,
  JsonPatchOperation,
  JsonValue,
  Lease,
  Page,
  RestoreTarget,
  SearchHit,
  SearchQuery,
  Snapshot,
  StatePath,
  StateRecord,
  StateSelector,
  StateWriteOptions,
  StateWriteResult,
  UpdateContextInput,
  WatchOptions,
  WriteOptions,
} from "../core/types.js";
import type { OptimizeOptions, OptimizeResult } from "./optimize.js";
import type { StartTaskInput } from "./task-types.js";
import type { Task } from "./task.js";
import type { UsageQuery, UsageReport } from "./usage.js";
import type { ContextWindow, WindowOptions } from "./window.js";

/**
 * The store: the engine's operations ({@link CoreStore}: contexts, state, history,
 * snapshots, leases, watch, search) plus handles, tasks and usage. One interface for the
 * embedded store (`openStore`) and the HTTP client (`createClient`).
 */
export interface ContextStore extends Omit<CoreStore, "withTenant"> {
  /**
   * The same store seen from another tenant (no I/O; shares connections with this view).
   * @throws `INVALID_INPUT` when `tenant` is not a valid id
   */
  withTenant(tenant: string): ContextStore;
  /**
   * A handle whose methods act on one context. No I/O until a method is called.
   * @throws `INVALID_INPUT` when `id` is not a valid id
   */
  context(id: string): ContextHandle;
  /**
   * Starts a task scope (`await using task = await store.startTask(…)`): continues the
   * context of `chatId` if there is one (one indexed query), else creates one; records
   * `task_start`. See {@link Task}.
   * @throws `INVALID_INPUT` for bad input; the store's errors
   */
  startTask(input?: StartTaskInput): Promise<Task>;
  /**
   * Token and cost totals of `model_usage` events, optionally grouped and filtered. Reads
   * the `model_usage` events of every context that matches (cost grows with them).
   * @throws `INVALID_INPUT` for bad filters
   */
  usage(query?: UsageQuery): Promise<UsageReport>;
}

/**
 * The methods of {@link ContextStore} that act on one context, bound to its id; each one
 * throws what the store method it calls throws (`NOT_FOUND` when the context does not exist).
 */
export interface ContextHandle {
  /** The context's id. */
  readonly id: string;
  /** The store this handle acts on. */
  readonly store: ContextStore;
  /** {@link CoreStore.getContext}: identity, owners, metadata, version and last seq. */
  info(options?: CallOptions): Promise<ContextInfo>;
  /** {@link CoreStore.updateContext}: replaces title, metadata, expiry or status. */
  update(input: UpdateContextInput, options?: CallOptions): Promise<ContextInfo>;
  /** {@link CoreStore.archiveContext}. */
  archive(options?: CallOptions): Promise<ContextInfo>;
  /** {@link CoreStore.deleteContext}: the context and everything of it. */
  delete(options?: CallOptions): Promise<void>;
  /** {@link CoreStore.getState}: the current state and version. */
  getState(options?: CallOptions): Promise<StateRecord>;
  /** {@link CoreStore.replaceState}. @throws `VERSION_CONFLICT`, `LEASE_LOST`, `SCHEMA_VIOLATION` */
  replaceState(state: JsonObject, options?: StateWriteOptions): Promise<StateWriteResult>;
  /** {@link CoreStore.patchState}: RFC 7396 merge patch. @throws `VERSION_CONFLICT`, `LEASE_LOST`, `SCHEMA_VIOLATION` */
  patchState(patch: JsonObject, options?: StateWriteOptions): Promise<StateWriteResult>;
  /** {@link CoreStore.setStateAt}: sets the value at a JSON Pointer. */
  setStateAt(path: StatePath, value: JsonValue, options?: StateWriteOptions): Promise<StateWriteResult>;
  /** {@link CoreStore.removeStateAt}. @throws `NOT_FOUND` when nothing is at the path */
  removeStateAt(path: StatePath, options?: StateWriteOptions): Promise<StateWriteResult>;
  /** {@link CoreStore.stateAt}: a past state by version or time. @throws `COMPACTED` */
  stateAt(selector: StateSelector, options?: CallOptions): Promise<StateRecord>;
  /** {@link CoreStore.diff}: the RFC 6902 patch between two versions. */
  diff(from: number, to: number, options?: CallOptions): Promise<JsonPatchOperation[]>;
  /** {@link CoreStore.append}: events, atomically, with consecutive sequence numbers. */
  append(events: EventInput | EventInput[], options?: WriteOptions): Promise<ContextEvent[]>;
  /** {@link CoreStore.readEvents}: a page of the history. */
  readEvents(query?: EventQuery): Promise<Page<ContextEvent>>;
  /** {@link CoreStore.countEvents}. */
  countEvents(query?: Omit<EventQuery, "limit" | "cursor" | "order">): Promise<number>;
  /** {@link CoreStore.lastEvents}: the newest `n`, oldest first. */
  lastEvents(n: number, query?: Pick<EventQuery, "types" | "signal">): Promise<ContextEvent[]>;
  /** {@link CoreStore.searchEvents} within this context. @throws `INVALID_INPUT` for `text` or `contextId` in `query` */
  search(text: string, query?: Omit<SearchQuery, "text" | "contextId">): Promise<SearchHit[]>;
  /** {@link CoreStore.createSnapshot}. @throws `ALREADY_EXISTS` for a taken name */
  createSnapshot(input?: CreateSnapshotInput): Promise<Snapshot>;
  /** {@link CoreStore.listSnapshots}. */
  listSnapshots(options?: CallOptions): Promise<Snapshot[]>;
  /** {@link CoreStore.restore}: a past state as the new version. */
  restore(target: RestoreTarget, options?: StateWriteOptions): Promise<StateWriteResult>;
  /** {@link CoreStore.fork}: a new context from this one. */
  fork(input?: ForkInput): Promise<ContextInfo>;
  /** {@link CoreStore.acquireLease}. @throws `LOCK_TIMEOUT` */
  acquireLease(options: AcquireLeaseOptions): Promise<Lease>;
  /** {@link CoreStore.watch}: replay, then live. */
  watch(options?: WatchOptions): AsyncIterableIterator<ContextEvent>;
  /** {@link CoreStore.compact}: drops history before `beforeSeq`. */
  compact(options: { beforeSeq: number } & CallOptions): Promise<CompactResult>;
  /**
   * The history fitted to a token budget for the next model call (see `buildWindow`). Reads
   * the newest events backwards until the budget is full, plus pinned events.
   * @throws `INVALID_INPUT` for bad options
   */
  window(options: WindowOptions): Promise<ContextWindow>;
  /**
   * AIECS `optimize_context` over the history (see `optimize`): drops duplicates keeping the
   * newest, then keeps the newest entries within a size budget. Reads the whole history.
   * @throws `INVALID_INPUT` for bad options
   */
  optimize(options: OptimizeOptions): Promise<OptimizeResult>;
}
