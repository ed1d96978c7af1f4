/**
 * Task scopes: the context of one task execution (what the Python AIECS `TaskContext`
 * offers), over any {@link CoreStore}: a typed history, file and model tracking,
 * resources released when the task ends, duration and outcome.
 *
 * ```ts
 * await using task = await startTask(store, { userId: "u1", chatId: "c1" });
 * await task.record("message", { role: "user", content: "hi" });
 * task.addResource("db", connection);           // released when the scope ends
 * ```
 */
import { ContextError, invalidInput } from "../errors.js";
import { combineErrors, releaseAll, releaseKind, toReleaser, type Releasable, type Releaser } from "./disposal.js";
import { newId } from "../core/ids.js";
import { isPlainObject } from "../core/json.js";
import { optimize, type OptimizeOptions, type OptimizeResult } from "./optimize.js";
import type { ContextEvent, ContextInfo, CoreStore, EventInput, EventType, JsonObject, JsonValue } from "../core/types.js";
import type { EndTaskOptions, FileTrack, ModelTrack, ModelUsageInput, StartTaskInput, TaskJSON, TaskOutcome } from "./task-types.js";

export type { EndTaskOptions, FileTrack, ModelTrack, ModelUsageInput, StartTaskInput, TaskJSON, TaskOutcome } from "./task-types.js";
import { buildWindow, type ContextWindow, type WindowOptions } from "./window.js";

function errorData(e: unknown): JsonObject {
  if (e instanceof Error) {
    const out: JsonObject = { name: e.name, message: e.message };
    if (e.stack !== undefined) out["stack"] = e.stack;
    if (e instanceof ContextError) out["code"] = e.code;
    return out;
  }
  return { message: String(e) };
}

const seconds = (iso: string): number => Date.parse(iso) / 1000;

function checkName(value: unknown, field: string): string {
  if (typeof value !== "string" || value.length === 0) throw invalidInput(field, "must be a non-empty string");
  return value;
}

/** The scope of one task execution. Make one with {@link startTask} or {@link withTask}. */
export class Task implements AsyncDisposable {
  readonly id: string = newId();
  readonly store: CoreStore;
  readonly context: ContextInfo;
  readonly userId: string | null;
  readonly chatId: string | null;
  readonly agentId: string | null;
  readonly metadata: JsonObject;
  /** Whether the task continued an existing context. */
  readonly continued: boolean;
  readonly startedAt: number = Date.now();
  readonly #controller = new AbortController();
  readonly #history: ContextEvent[] = [];
  readonly #files = new Map<string, FileTrack>();
  readonly #models: ModelTrack[] = [];
  readonly #resources: { name: string; release: Releaser }[] = [];
  #queue: Promise<unknown> = Promise.resolve();
  #failure: { error: unknown } | undefined;
  #ending: Promise<void> | undefined;
  #endedAt: number | undefined;
  #outcome: TaskOutcome | undefined;
  #unlink: (() => void) | undefined;

  /** @internal use {@link startTask} */
  constructor(store: CoreStore, context: ContextInfo, input: StartTaskInput, continued: boolean) {
    this.store = store;
    this.context = context;
    this.userId = input.userId ?? null;
    this.chatId = input.chatId ?? null;
    this.agentId = input.agentId ?? null;
    this.metadata = input.metadata ?? {};
    this.continued = continued;
  }

  get contextId(): string {
    return this.context.id;
  }
  /** Aborted by {@link Task.abort}, by `withTask`'s signal or timeout. Pass it on to the task's work. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }
  /** The file tracker: latest operation per path. */
  get files(): ReadonlyMap<string, FileTrack> {
    return this.#files;
  }
  /** The model tracker, oldest first. */
  get models(): readonly ModelTrack[] {
    return this.#models;
  }
  /** Names of the registered resources, in registration order. */
  get resources(): readonly string[] {
    return this.#resources.map((r) => r.name);
  }
  /** Events recorded by this task (after any loaded with `loadHistory`), oldest first. */
  get history(): readonly ContextEvent[] {
    return this.#history;
  }
  get outcome(): TaskOutcome | undefined {
    return this.#outcome;
  }
  get ended(): boolean {
    return this.#ending !== undefined;
  }

  /**
   * Appends events in call order (even when the caller does not await each call). `events`
   * may be a function, called at the call's turn, after the earlier calls have been recorded
   * in the trackers; it may return no events.
   */
  #append(events: EventInput[] | (() => EventInput[])): Promise<ContextEvent[]> {
    const run = this.#queue.then(async () => {
      const list = typeof events === "function" ? events() : events;
      if (list.length === 0) return [];
      const written = await this.store.append(this.context.id, list);
      for (const e of written) this.#absorb(e);
      return written;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Updates the trackers from an event (recorded now, or loaded from earlier history). */
  #absorb(e: ContextEvent): void {
    this.#history.push(e);
    const d = isPlainObject(e.data) ? (e.data as JsonObject) : undefined;
    if (e.type === "file_operation" && d && typeof d["path"] === "string" && typeof d["operation"] === "string") {
      const source = typeof e.metadata["source"] === "string" ? e.metadata["source"] : "task";
      const state = d["operation"] === "delete" ? "deleted" : "active";
      this.#files.set(d["path"], { operation: d["operation"], source, timestamp: e.timestamp, state });
    } else if (e.type === "model_usage" && d) {
      const modelId = d["modelId"] ?? d["model_id"];
      const provider = d["provider"] ?? d["provider_id"];
      if (typeof modelId === "string" && typeof provider === "string") {
        const track: ModelTrack = { modelId, provider, mode: typeof d["mode"] === "string" ? d["mode"] : "chat", timestamp: e.timestamp };
        for (const k of ["inputTokens", "outputTokens", "cachedTokens", "costUsd", "latencyMs"] as const) {
          if (typeof d[k] === "number") track[k] = d[k];
        }
        this.#models.push(track);
      }
    }
  }

  #checkOpen(): void {
    if (this.#ending !== undefined) throw new ContextError("CLOSED", `task ${this.id} has ended`);
  }

  /**
   * Appends an event to the task's context (AIECS `add_context_update`).
   * @throws `CLOSED` after the task ended; whatever the store throws for bad input
   */
  async record(type: EventType, data: JsonValue = null, metadata: JsonObject = {}): Promise<ContextEvent> {
    this.#checkOpen();
    const [event] = await this.#append([{ type, data, metadata }]);
    return event!;
  }

  /** Records a `file_operation` and updates the per-path tracker (AIECS `track_file_operation`). */
  async trackFile(path: string, operation: string, source = "task"): Promise<ContextEvent> {
    this.#checkOpen();
    checkName(path, "path");
    checkName(operation, "operation");
    checkName(source, "source");
    const [event] = await this.#append([{ type: "file_operation", data: { path, operation }, metadata: { source } }]);
    return event!;
  }

  /**
   * Records a `model_usage` event; an entry identical to the previous one is not recorded
   * again (AIECS behaviour) and `null` is returned.
   */
  async trackModel(input: ModelUsageInput): Promise<ContextEvent | null> {
    this.#checkOpen();
    const data: JsonObject = { modelId: checkName(input.modelId, "modelId"), provider: checkName(input.provider, "provider"), mode: input.mode ?? "chat" };
    for (const k of ["inputTokens", "outputTokens", "cachedTokens", "costUsd", "latencyMs"] as const) {
      const v = input[k];
      if (v === undefined) continue;
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw invalidInput(k, `must be a number ≥ 0, got ${String(v)}`);
      data[k] = v;
    }
    // Compared when its turn in the queue comes, after every earlier call has been recorded:
    // in call order, even when the caller does not await each call.
    const [event] = await this.#append(() => {
      const last = this.#models[this.#models.length - 1];
      if (last !== undefined) {
        const { timestamp: _t, ...previous } = last;
        if (JSON.stringify(Object.entries(previous).sort()) === JSON.stringify(Object.entries(data).sort())) return [];
      }
      return [{ type: "model_usage", data }];
    });
    return event ?? null;
  }

  /**
   * Registers a resource to release when the task ends (reverse order, async awaited) and
   * records a `resource` event. Accepts `[Symbol.asyncDispose]`, `[Symbol.dispose]`,
   * `close()` (sync or async) or a cleanup function.
   */
  async addResource<T extends Releasable>(name: string, resource: T): Promise<T> {
    this.#checkOpen();
    checkName(name, "name");
    const release = toReleaser(resource);
    this.#resources.push({ name, release });
    const type = typeof resource === "function" ? "function" : ((resource as object).constructor?.name ?? "Object");
    await this.#append([{ type: "resource", data: { name }, metadata: { type, release: releaseKind(resource) } }]);
    return resource;
  }

  /** Marks the task failed: when it ends, its outcome is `error` with this error. */
  fail(error: unknown): void {
    this.#failure = { error };
  }

  /** Aborts the task's signal; when it ends, its outcome is `aborted`. */
  abort(reason?: unknown): void {
    this.#controller.abort(reason ?? new ContextError("ABORTED", `task ${this.id} was aborted`));
  }

  /** The window of the task's context. */
  window(options: WindowOptions): Promise<ContextWindow> {
    return buildWindow(this.store, this.context.id, options);
  }

  /** `optimize` on the task's context (AIECS `optimize_context`). */
  optimize(options: OptimizeOptions): Promise<OptimizeResult> {
    return optimize(this.store, this.context.id, options);
  }

  /**
   * Ends the task: releases resources in reverse order (each failure recorded as an `error`
   * event), then records `task_end` with the duration and outcome. Safe to call twice.
   *
   * @throws the release failure (an `AggregateError` when several resources failed)
   */
  end(options: EndTaskOptions = {}): Promise<void> {
    this.#ending ??= this.#end(options);
    return this.#ending;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.end();
  }

  async #end(options: EndTaskOptions): Promise<void> {
    await this.#queue;
    this.#unlink?.();
    const failures = await releaseAll(this.#resources);
    const outcome: TaskOutcome = options.outcome ?? (this.#failure ? "error" : this.signal.aborted ? "aborted" : "ok");
    const error = options.error ?? this.#failure?.error ?? (outcome === "aborted" ? this.signal.reason : undefined);
    this.#endedAt = Date.now();
    this.#outcome = outcome;
    const events: EventInput[] = failures.map((f) => ({
      type: "error",
      data: { ...errorData(f.error), resource: f.name },
      metadata: { phase: "release", taskId: this.id },
    }));
    const end: JsonObject = {
      taskId: this.id,
      outcome,
      durationMs: this.#endedAt - this.startedAt,
      resources: this.#resources.length,
      releaseFailures: failures.map((f) => f.name),
    };
    if (outcome !== "ok" && error !== undefined) end["error"] = errorData(error);
    events.push({ type: "task_end", data: end });
    try {
      const written = await this.store.append(this.context.id, events);
      for (const e of written) this.#absorb(e);
    } catch (e) {
      // The end could not be recorded (store closed, backend down): the caller hears of it.
      failures.push({ name: "task_end", error: e });
    }
    const thrown = combineErrors(false, undefined, failures);
    if (thrown !== undefined) throw thrown;
  }

  /** The task in AIECS `to_dict()` form plus contextd fields; see {@link TaskJSON}. */
  toJSON(): TaskJSON {
    // fromEntries defines keys: a file path `__proto__` stays a key instead of becoming the prototype.
    const files: TaskJSON["file_tracker"] = Object.fromEntries([...this.#files].map(([path, f]) => [path, { ...f, timestamp: seconds(f.timestamp) }]));
    return {
      user_id: this.userId ?? "anonymous",
      chat_id: this.chatId ?? "none",
      metadata: this.metadata,
      context_history: this.#history.map((e) => ({
        timestamp: seconds(e.timestamp),
        update_type: e.type,
        data: e.data,
        metadata: e.metadata,
        seq: e.seq,
      })),
      file_tracker: files,
      model_tracker: this.#models.map((m) => {
        const out: TaskJSON["model_tracker"][number] = { model_id: m.modelId, provider_id: m.provider, mode: m.mode, timestamp: seconds(m.timestamp) };
        if (m.inputTokens !== undefined) out.input_tokens = m.inputTokens;
        if (m.outputTokens !== undefined) out.output_tokens = m.outputTokens;
        if (m.cachedTokens !== undefined) out.cached_tokens = m.cachedTokens;
        if (m.costUsd !== undefined) out.cost_usd = m.costUsd;
        if (m.latencyMs !== undefined) out.latency_ms = m.latencyMs;
        return out;
      }),
      resources: [...this.resources],
      task_id: this.id,
      context_id: this.context.id,
      agent_id: this.agentId,
      started_at: new Date(this.startedAt).toISOString(),
      ended_at: this.#endedAt === undefined ? null : new Date(this.#endedAt).toISOString(),
      duration_ms: this.#endedAt === undefined ? null : this.#endedAt - this.startedAt,
      outcome: this.#outcome ?? null,
    };
  }

  /** @internal records `task_start`. */
  async begin(signal: AbortSignal | undefined): Promise<ContextEvent> {
    const data: JsonObject = {
      taskId: this.id,
      userId: this.userId,
      chatId: this.chatId,
      agentId: this.agentId,
      metadata: this.metadata,
      continued: this.continued,
    };
    const [start] = await this.store.append(this.context.id, { type: "task_start", data }, { signal });
    this.#absorb(start!);
    return start!;
  }

  /** @internal aborts the task when `signal` fires, until the task ends. */
  link(signal: AbortSignal): void {
    if (signal.aborted) {
      this.abort(signal.reason);
      return;
    }
    const onAbort = () => this.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    this.#unlink = () => signal.removeEventListener("abort", onAbort);
  }

  /** @internal loads earlier history (before `task_start`) into the history and trackers. */
  async load(limit: number | undefined, beforeSeq: number, signal: AbortSignal | undefined): Promise<void> {
    const loaded: ContextEvent[] = [];
    let cursor: string | undefined;
    do {
      const want = limit === undefined ? 1000 : Math.min(1000, limit - loaded.length);
      if (want <= 0) break;
      const page = await this.store.readEvents(this.context.id, { order: "desc", beforeSeq, limit: want, cursor, signal });
      loaded.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    const start = this.#history.splice(0);
    for (const e of loaded.reverse()) this.#absorb(e);
    for (const e of start) this.#absorb(e);
  }
}

async function findChatContext(store: CoreStore, input: StartTaskInput): Promise<ContextInfo | undefined> {
  if (input.chatId === undefined || input.chatId === null) return undefined;
  const query = { chatId: input.chatId, order: "desc" as const, limit: 1, signal: input.signal };
  const page = await store.listContexts(input.userId == null ? query : { ...query, userId: input.userId });
  return page.items[0];
}

/**
 * Starts a task scope and records `task_start`. Without `contextId`, the newest context of
 * the same `userId` + `chatId` (in the store's tenant) is continued, so a restarted process
 * picks up the same history; otherwise a context is created. Two processes starting the
 * first task of a chat at the same moment may each create one; the newer one is continued
 * afterwards.
 *
 * @example
 * ```ts
 * await using task = await startTask(store, { userId: "u1", chatId: "c1", metadata: { lang: "en" } });
 * await task.record("message", { role: "user", content: "Hello" });
 * ```
 */
export async function startTask(store: CoreStore, input: StartTaskInput = {}): Promise<Task> {
  if (typeof input !== "object" || input === null) throw invalidInput("input", "must be an object");
  const { signal } = input;
  let context: ContextInfo | undefined;
  let continued: boolean;
  if (input.contextId !== undefined) {
    context = await store.getContext(input.contextId, { signal });
    continued = true;
  } else {
    context = await findChatContext(store, input);
    continued = context !== undefined;
    context ??= await store.createContext(
      {
        kind: input.kind ?? "task",
        userId: input.userId ?? null,
        chatId: input.chatId ?? null,
        agentId: input.agentId ?? null,
        title: input.title ?? null,
        metadata: input.metadata ?? {},
      },
      { signal },
    );
  }
  const task = new Task(store, context, input, continued);
  if (signal !== undefined) task.link(signal);
  const start = await task.begin(signal);
  if (input.loadHistory !== undefined && input.loadHistory !== false) {
    await task.load(input.loadHistory === true ? undefined : input.loadHistory, start.seq, signal);
  }
  return task;
}
