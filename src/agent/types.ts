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
import type { BlockScope, Block } from "../core/block-types.js";
import type { BlockUpdate, ScopedBlocks, UpdateBlockOptions } from "./blocks.js";
import type { PromptWindow } from "./prompt-types.js";
import type { SectionedWindowOptions } from "./prompt-window.js";

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
   * A handle whose methods act on one context. No I/O until a method is called (a missing
   * context is `NOT_FOUND` from the first method that reads or writes it).
   * @throws `INVALID_INPUT` when `id` is not a valid id
   */
  context(id: string): ContextHandle;
  /**
   * Starts a task scope (`await using task = await store.startTask(…)`): continues the
   * context of `chatId` if there is one (one indexed query), else creates one; records
   * `task_start` (one append). See {@link Task}.
   * @throws `INVALID_INPUT` for bad input; `SCHEMA_VIOLATION` for an initial state its kind's
   *   schema refuses; `CLOSED` / `DRIVER_UNAVAILABLE` from the store
   */
  startTask(input?: StartTaskInput): Promise<Task>;
  /**
   * Token and cost totals of `model_usage` events, optionally grouped and filtered. Reads
   * the `model_usage` events of every context that matches (cost grows with them).
   * @throws `INVALID_INPUT` for bad filters
   */
  usage(query?: UsageQuery): Promise<UsageReport>;
  /**
   * Reads a block, asks `fn` for an edit of what it read, and applies it only if the block is
   * still at that version; on `VERSION_CONFLICT` reads again and asks again (see
   * `updateBlock`), so concurrent edits are never lost. Two or more requests per attempt.
   * @throws `NOT_FOUND`; `LIMIT_EXCEEDED`; `INVALID_INPUT`; `VERSION_CONFLICT` after `maxAttempts`
   */
  updateBlock(scope: BlockScope, label: string, fn: BlockUpdate, options?: UpdateBlockOptions): Promise<Block>;
  /**
   * The store's metrics as JSON (prom-client's form: name, help, type and the values with
   * their labels): operations by outcome and duration, appends, state writes, conflicts,
   * leases, watchers, searches, embeddings, model usage, cache and pool figures. Over HTTP,
   * the server's metrics (`GET /v1/metrics`, `metrics` or `admin` scope). `[]` for a store
   * opened with `metrics: false`.
   * @throws `CLOSED` after `close()` (over HTTP); `FORBIDDEN` without the scope
   */
  metrics(options?: CallOptions): Promise<MetricFamily[]>;
}

/** One metric of {@link ContextStore.metrics}. */
export interface MetricFamily {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram" | "summary";
  /** One per label set; a histogram has its `_bucket` (with `le`), `_sum` and `_count` rows (`metricName`). */
  values: { labels: Record<string, string | number>; value: number; metricName?: string }[];
}

/**
 * The methods of {@link ContextStore} that act on one context, bound to its id; each one
 * throws what the store method it calls throws (`NOT_FOUND` when the context does not exist).
 */
export interface ContextHandle {
  /** The context's id (checked when the handle was made; no I/O). */
  readonly id: string;
  /** The store this handle acts on (no I/O). */
  readonly store: ContextStore;
  /**
   * {@link CoreStore.getContext}: identity, owners, metadata, version and last seq. One indexed read.
   * @throws `NOT_FOUND` when the context does not exist or has expired
   */
  info(options?: CallOptions): Promise<ContextInfo>;
  /**
   * {@link CoreStore.updateContext}: replaces title, metadata, expiry or status; state and
   * version are unchanged. One write.
   * @throws `NOT_FOUND`; `INVALID_INPUT` for bad fields
   */
  update(input: UpdateContextInput, options?: CallOptions): Promise<ContextInfo>;
  /**
   * {@link CoreStore.archiveContext}: status `archived` (still readable and writable). One write.
   * @throws `NOT_FOUND`
   */
  archive(options?: CallOptions): Promise<ContextInfo>;
  /**
   * {@link CoreStore.deleteContext}: the context with its history, snapshots and lease. Cost
   * grows with the size of the history.
   * @throws `NOT_FOUND`
   */
  delete(options?: CallOptions): Promise<void>;
  /**
   * {@link CoreStore.getState}: the current state and version. One read.
   * @throws `NOT_FOUND`
   */
  getState(options?: CallOptions): Promise<StateRecord>;
  /**
   * {@link CoreStore.replaceState}: the whole state, a new version and a `state` event, in one transaction.
   * @throws `NOT_FOUND`; `VERSION_CONFLICT`; `LEASE_LOST`; `SCHEMA_VIOLATION`; `INVALID_INPUT` (size limit)
   */
  replaceState(state: JsonObject, options?: StateWriteOptions): Promise<StateWriteResult>;
  /**
   * {@link CoreStore.patchState}: an RFC 7396 merge patch, one transaction that stores the patch.
   * @throws `NOT_FOUND`; `VERSION_CONFLICT`; `LEASE_LOST`; `SCHEMA_VIOLATION`; `INVALID_INPUT`
   */
  patchState(patch: JsonObject, options?: StateWriteOptions): Promise<StateWriteResult>;
  /**
   * {@link CoreStore.setStateAt}: sets the value at a JSON Pointer, one transaction.
   * @throws as `replaceState`; `INVALID_INPUT` when the path runs through a non-object
   */
  setStateAt(path: StatePath, value: JsonValue, options?: StateWriteOptions): Promise<StateWriteResult>;
  /**
   * {@link CoreStore.removeStateAt}: removes the value at a path, one transaction.
   * @throws as `replaceState`; `NOT_FOUND` when nothing is at the path
   */
  removeStateAt(path: StatePath, options?: StateWriteOptions): Promise<StateWriteResult>;
  /**
   * {@link CoreStore.stateAt}: a past state by version or time. Reads the nearest checkpoint
   * and replays fewer than `checkpointEvery` writes: the cost does not grow with the history.
   * @throws `NOT_FOUND` for a version that never existed; `COMPACTED` for one compacted away
   */
  stateAt(selector: StateSelector, options?: CallOptions): Promise<StateRecord>;
  /**
   * {@link CoreStore.diff}: the RFC 6902 patch between two versions (two `stateAt` rebuilds).
   * @throws as `stateAt`
   */
  diff(from: number, to: number, options?: CallOptions): Promise<JsonPatchOperation[]>;
  /**
   * {@link CoreStore.append}: events, atomically, with consecutive sequence numbers. Writes
   * only the event rows, in one transaction.
   * @throws `NOT_FOUND`; `VERSION_CONFLICT` / `LEASE_LOST` on stale guards; `INVALID_INPUT` for a bad event
   */
  append(events: EventInput | EventInput[], options?: WriteOptions): Promise<ContextEvent[]>;
  /**
   * {@link CoreStore.readEvents}: a page of the history. One index range scan per page.
   * @throws `NOT_FOUND`; `INVALID_INPUT` for a bad query or cursor
   */
  readEvents(query?: EventQuery): Promise<Page<ContextEvent>>;
  /**
   * {@link CoreStore.countEvents}: how many events match. Counts index entries: grows with the number counted.
   * @throws `NOT_FOUND`; `INVALID_INPUT` for a bad query
   */
  countEvents(query?: Omit<EventQuery, "limit" | "cursor" | "order">): Promise<number>;
  /**
   * {@link CoreStore.lastEvents}: the newest `n` (at most 10000), oldest first. One backward index scan.
   * @throws `NOT_FOUND`; `INVALID_INPUT` for a bad `n`
   */
  lastEvents(n: number, query?: Pick<EventQuery, "types" | "signal">): Promise<ContextEvent[]>;
  /**
   * {@link CoreStore.searchEvents} within this context: indexes events appended since the
   * last search, then one index query.
   * @throws `INVALID_INPUT` for a bad query (or `text` / `contextId` in `query`); `NOT_SUPPORTED` without the search area
   */
  search(text: string, query?: Omit<SearchQuery, "text" | "contextId">): Promise<SearchHit[]>;
  /**
   * {@link CoreStore.createSnapshot}: a named recovery point and a `snapshot` event, one transaction.
   * @throws `NOT_FOUND`; `ALREADY_EXISTS` for a taken name
   */
  createSnapshot(input?: CreateSnapshotInput): Promise<Snapshot>;
  /**
   * {@link CoreStore.listSnapshots}: every snapshot, oldest first, with its state (one read; mind the size).
   * @throws `NOT_FOUND`
   */
  listSnapshots(options?: CallOptions): Promise<Snapshot[]>;
  /**
   * {@link CoreStore.restore}: a past state as the new version and a `restore` event; a
   * `stateAt` rebuild for a version or time, then one transaction.
   * @throws as `replaceState`; `NOT_FOUND` / `COMPACTED` for a missing target
   */
  restore(target: RestoreTarget, options?: StateWriteOptions): Promise<StateWriteResult>;
  /**
   * {@link CoreStore.fork}: a new context from this one's current state, a snapshot or a past
   * version (a `stateAt` rebuild for a version), one transaction; the history is not copied.
   * @throws `NOT_FOUND`; `ALREADY_EXISTS` for a taken id; `SCHEMA_VIOLATION`
   */
  fork(input?: ForkInput): Promise<ContextInfo>;
  /**
   * {@link CoreStore.acquireLease}: the exclusive lease, waiting up to `waitMs` for a held one
   * (one write per attempt).
   * @throws `NOT_FOUND`; `LOCK_TIMEOUT` after `waitMs`
   */
  acquireLease(options: AcquireLeaseOptions): Promise<Lease>;
  /**
   * {@link CoreStore.watch}: replays events after `afterSeq` (reads a page at a time), then
   * follows new ones live (a listener per watcher, not a connection). Ends on abort or `close()`.
   * @throws `NOT_FOUND` (on the first `next()`)
   */
  watch(options?: WatchOptions): AsyncIterableIterator<ContextEvent>;
  /**
   * {@link CoreStore.compact}: checkpoints the state, then drops the history before
   * `beforeSeq`; cost grows with the events dropped.
   * @throws `NOT_FOUND`; `INVALID_INPUT` when `beforeSeq` is newer than the newest snapshot
   */
  compact(options: { beforeSeq: number } & CallOptions): Promise<CompactResult>;
  /**
   * The prompt for the next model call, assembled within one token budget (see
   * `assembleWindow` and docs/windows.md): instructions and pinned events, working-memory
   * blocks, long-term memories and recalled history for the query (the last user message by
   * default), the recent conversation with tool outputs capped, and a summary of what was
   * dropped — each section with a priority and optional minimum and maximum, counted with the
   * model's tokenizer and the chat format's per-message overhead. Chosen when the options name
   * a `model` or `sections`. Reads a budget's worth of the newest events, the pinned events,
   * a bounded number of search hits with their neighbours and memories: the cost does not
   * grow with the history.
   * @throws `NOT_FOUND`; `INVALID_INPUT` for bad options (unknown names too) or a model without a known tokenizer
   */
  window(options: SectionedWindowOptions): Promise<PromptWindow>;
  /**
   * The history fitted to a token budget for the next model call (see `buildWindow`): the
   * conversation by default, not bookkeeping events. Reads the newest events backwards a
   * page at a time until the budget is full, plus pinned events: the cost follows the
   * budget, not the length of the history.
   * @throws `NOT_FOUND`; `INVALID_INPUT` for bad options (a budget not positive after `reserveTokens`)
   */
  window(options: WindowOptions): Promise<ContextWindow>;
  /**
   * AIECS `optimize_context` over the history (see `optimize`): drops duplicates keeping the
   * newest, then keeps the newest entries within a size budget. Reads the whole history;
   * with `compact`, also a snapshot, an append and a compaction.
   * @throws `NOT_FOUND`; `INVALID_INPUT` for bad options; `VERSION_CONFLICT` when events arrive during a compacting run
   */
  optimize(options: OptimizeOptions): Promise<OptimizeResult>;
  /**
   * The working-memory blocks of this context (scope `{ contextId: id }`): list, get, put,
   * edit, update (retrying on conflict), delete, history. No I/O until a method is called.
   */
  readonly blocks: ScopedBlocks;
}
