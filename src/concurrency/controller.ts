/**
 * The concurrency controller: runs calls (model requests, tool calls, any async work) with a
 * priority queue, a concurrency limit overall and per key, rates per key in requests and
 * tokens per window, retries, timeouts, cancellation and progress.
 *
 * How a call travels: a key with a concurrency limit first waits in that key's queue
 * (`p-queue`, priority order); a key with rates then waits for its gate (one caller per key
 * at a time waits for a rate reservation, so a throttled key holds at most one overall slot
 * while it only waits); then the overall queue (`p-queue`, priority order, the overall
 * concurrency); then the reservation of its cost and the wait until its turn; then the call,
 * under `p-timeout`. A failed attempt that may be retried leaves the overall queue while it
 * backs off (`p-retry`'s loop) and queues again: a reservation is taken per attempt, since
 * every attempt is a request the provider counts.
 */
import PQueue from "p-queue";
import pTimeout from "p-timeout";
import { ContextError, invalidInput } from "../errors.js";
import type { ContextEvent } from "../core/types.js";
import type { Task } from "../agent/task.js";
import type { ModelUsageInput } from "../agent/task-types.js";
import { Gate } from "./gate.js";
import { checkKeyLimits, hasRates, localRateLimiter, type KeyLimits, type RateCost, type RateLimiter, type RateLimits } from "./limits.js";
import { abortReason, retryAfterFirst, retryPolicy, sleep, withRetry, type RetryNotice, type RetryOptions, type RetryPolicy } from "./retry.js";

/** Options of {@link createController}. */
export interface ControllerOptions {
  /** Calls running at once, over all keys. @default Infinity */
  concurrency?: number;
  /** Limits per key (a model, a provider, a tenant): concurrency and rates. Keys not listed have none. */
  limits?: Record<string, KeyLimits>;
  /** Retries of failed attempts; `false` for none. @default { retries: 2 } with backoff 500 ms × 2ⁿ, full jitter, up to 30 s */
  retry?: RetryOptions | false;
  /** Time limit of one attempt; the call's signal fires when it passes. @default none */
  timeoutMs?: number;
  /** Where the rates are kept: this process (the default) or shared, e.g. `redisRateLimiter(…)`. */
  limiter?: RateLimiter;
  /** Called on every change of a call's state (see {@link ProgressEvent}). */
  onProgress?: (event: ProgressEvent) => void;
}

/** Options of one {@link Controller.run}. */
export interface RunOptions {
  /** The key whose limits apply (`"openai:gpt-4o"`, a tenant id…). */
  key?: string;
  /** Higher first; first-in-first-out within a priority. @default 0 */
  priority?: number;
  /** Estimated tokens, debited from the key's tokens-per-minute before the call and corrected by `reportTokens`. @default 0 */
  tokens?: number;
  /** Cancels the call: a queued call leaves the queue, a running one sees its signal fire. */
  signal?: AbortSignal;
  /** Overrides the controller's `timeoutMs` for this call. */
  timeoutMs?: number;
  /** Overrides the controller's `retry` for this call. */
  retry?: RetryOptions | false;
}

/** What a call receives. */
export interface RunContext {
  /** Fires when the call is cancelled or its attempt times out: pass it to the request. */
  signal: AbortSignal;
  /** 1 for the first attempt. */
  attempt: number;
  key: string | undefined;
  /**
   * When the key's rate limiter let this attempt start, on the limiter's clock (Redis's for a
   * shared limiter); `undefined` for a key without rates.
   */
  grantedAt: number | undefined;
  /** The real tokens the attempt spent: the key's token bucket is corrected by the difference from the estimate. */
  reportTokens(tokens: number): void;
  /** Records `model_usage` through `task.trackModel` and reports its input + output tokens. */
  trackModel(task: Task, input: ModelUsageInput): Promise<ContextEvent | null>;
}

/** Calls by state. */
export interface ControllerStats {
  /** Accepted and not running: queued, waiting for a rate reservation, or backing off before a retry. */
  queued: number;
  running: number;
  done: number;
  failed: number;
}

/** A change of a call's state. */
export interface ProgressEvent {
  type: "queued" | "running" | "retrying" | "done" | "failed";
  /** The call's number in this controller, from 1. */
  id: number;
  key: string | undefined;
  priority: number;
  attempt: number;
  /** `failed` and `retrying`: the failure. */
  error?: unknown;
  /** `retrying`: the wait before the next attempt (backoff or `Retry-After`, whichever is longer). */
  delayMs?: number;
  /** The counts after the change. */
  stats: ControllerStats;
}

/** The controller; see {@link createController}. */
export interface Controller extends AsyncDisposable {
  /**
   * Runs `fn` under the limits and resolves with its result.
   * @throws what the last attempt threw; `ABORTED` when cancelled or timed out (`details.timeout`);
   *   `CLOSED` after `close()`; `INVALID_INPUT` for bad options
   */
  run<T>(fn: (ctx: RunContext) => Promise<T> | T, options?: RunOptions): Promise<T>;
  readonly stats: Readonly<ControllerStats>;
  /** Progress events from now until the controller closes (or the loop breaks). */
  progress(): AsyncIterableIterator<ProgressEvent>;
  /** Stops starting calls (running ones go on). */
  pause(): void;
  resume(): void;
  readonly paused: boolean;
  /** Resolves when no call is queued or running. */
  drain(): Promise<void>;
  /** Refuses new calls, waits for the accepted ones, ends the progress iterators. Safe to call twice. */
  close(): Promise<void>;
}

interface KeyState {
  queue: PQueue | undefined;
  gate: Gate | undefined;
  rates: RateLimits;
}

const RUN_FIELDS = new Set(["key", "priority", "tokens", "signal", "timeoutMs", "retry"]);
const NEVER = new AbortController().signal;
const EMPTY: RunOptions = Object.freeze({});

/** What the end of an attempt of a call without key, timeout or signal means. */
type Ends = typeof RETRY | typeof FIRST | typeof ONLY;
/** An attempt after a failure: the retry loop accounts for its outcome. */
const RETRY = 0;
/** The first attempt of a call that may be retried: a success finishes the call, a failure goes to the retry loop. */
const FIRST = 1;
/** The first and only attempt: its outcome is the call's. */
const ONLY = 2;

function checkRunOptions(o: RunOptions): void {
  if (typeof o !== "object" || o === null) throw invalidInput("options", "must be an object");
  for (const k of Object.keys(o)) if (!RUN_FIELDS.has(k)) throw invalidInput(k, "is not a known option");
  if (o.key !== undefined && (typeof o.key !== "string" || o.key === "")) throw invalidInput("key", "must be a non-empty string");
  if (o.priority !== undefined && (typeof o.priority !== "number" || !Number.isFinite(o.priority))) throw invalidInput("priority", "must be a finite number");
  if (o.tokens !== undefined && (typeof o.tokens !== "number" || !Number.isFinite(o.tokens) || o.tokens < 0)) throw invalidInput("tokens", "must be a number ≥ 0");
  if (o.timeoutMs !== undefined && (typeof o.timeoutMs !== "number" || !(o.timeoutMs > 0))) throw invalidInput("timeoutMs", "must be a number > 0");
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw invalidInput("signal", "must be an AbortSignal");
}

const CONTROLLER_FIELDS = new Set(["concurrency", "limits", "retry", "timeoutMs", "limiter", "onProgress"]);

/**
 * Creates a concurrency controller.
 *
 * @example
 * ```ts
 * const controller = createController({
 *   concurrency: 8,
 *   limits: { "openai:gpt-4o": { concurrency: 4, requestsPerMinute: 500, tokensPerMinute: 30_000 } },
 * });
 * const answer = await controller.run(({ signal }) => callModel(prompt, { signal }), { key: "openai:gpt-4o", tokens: 1200, priority: 1 });
 * ```
 * @throws `INVALID_INPUT` for bad options
 */
export function createController(options: ControllerOptions = {}): Controller {
  if (typeof options !== "object" || options === null) throw invalidInput("options", "must be an object");
  for (const k of Object.keys(options)) if (!CONTROLLER_FIELDS.has(k)) throw invalidInput(k, "is not a known option");
  const concurrency = options.concurrency ?? Infinity;
  if (concurrency !== Infinity && (!Number.isInteger(concurrency) || concurrency < 1)) throw invalidInput("concurrency", "must be an integer ≥ 1");
  if (options.timeoutMs !== undefined && (typeof options.timeoutMs !== "number" || !(options.timeoutMs > 0))) throw invalidInput("timeoutMs", "must be a number > 0");
  const basePolicy = retryPolicy(options.retry);
  const limiter = options.limiter ?? localRateLimiter();
  const keys = new Map<string, KeyState>();
  for (const [key, l] of Object.entries(options.limits ?? {})) {
    const { concurrency: c, rates } = checkKeyLimits(key, l);
    keys.set(key, { queue: c === Infinity ? undefined : new PQueue({ concurrency: c }), gate: hasRates(rates) ? new Gate() : undefined, rates });
  }
  const overall = new PQueue({ concurrency });
  const stats: ControllerStats = { queued: 0, running: 0, done: 0, failed: 0 };
  const listeners = new Set<(e: ProgressEvent) => void>();
  if (options.onProgress !== undefined) listeners.add(options.onProgress);
  let nextId = 0;
  let active = 0;
  let closing: Promise<void> | undefined;
  let drained: (() => void)[] = [];
  const endIterators = new Set<() => void>();

  const emit = (type: ProgressEvent["type"], id: number, o: RunOptions, attempt: number, extra?: { error?: unknown; delayMs?: number }): void => {
    if (listeners.size === 0) return;
    const event: ProgressEvent = { type, id, key: o.key, priority: o.priority ?? 0, attempt, ...extra, stats: { ...stats } };
    for (const l of listeners) l(event);
  };

  /** One attempt: the overall queue, the rate reservation, the call under its timeout. */
  async function attempt<T>(fn: (ctx: RunContext) => Promise<T> | T, id: number, o: RunOptions, n: number, ks: KeyState | undefined, timeoutMs: number | undefined): Promise<T> {
    const signal = o.signal;
    const gate = ks?.gate;
    if (gate !== undefined) await gate.enter(signal);
    let inGate = gate !== undefined;
    const leave = () => {
      if (inGate) gate!.leave();
      inGate = false;
    };
    try {
      const add = { priority: o.priority ?? 0, ...(signal !== undefined && { signal }) };
      return await overall.add(async () => {
        let grantedAt: number | undefined;
        const cost: RateCost = { requests: 1, tokens: o.tokens ?? 0 };
        if (ks !== undefined && gate !== undefined) {
          const r = await limiter.reserve(o.key!, cost, ks.rates);
          grantedAt = r.at + r.waitMs;
          try {
            await sleep(r.waitMs, signal);
            // A timer can fire a little before its time by the wall clock (Node times it from the
            // event loop's cached clock): wait out the rest, at most the wait again (the limiter's
            // clock may be another machine's).
            const rest = Math.min(r.waitMs, grantedAt - Date.now());
            if (rest > 0) await sleep(Math.ceil(rest), signal);
          } catch (e) {
            // Cancelled before its turn: the reserved cost goes back.
            await limiter.adjust(o.key!, cost, ks.rates).catch(() => undefined);
            throw e;
          }
          leave();
        }
        stats.queued--;
        stats.running++;
        emit("running", id, o, n);
        try {
          return await call(fn, o, n, ks, grantedAt, cost, timeoutMs);
        } finally {
          stats.running--;
          stats.queued++;
        }
      }, add);
    } catch (e) {
      if (signal?.aborted) throw abortReason(signal);
      throw e;
    } finally {
      leave();
    }
  }

  async function call<T>(
    fn: (ctx: RunContext) => Promise<T> | T,
    o: RunOptions,
    n: number,
    ks: KeyState | undefined,
    grantedAt: number | undefined,
    cost: RateCost,
    timeoutMs: number | undefined,
  ): Promise<T> {
    const outer = o.signal;
    let inner: AbortController | undefined;
    let unlink: (() => void) | undefined;
    if (timeoutMs !== undefined) {
      inner = new AbortController();
      if (outer !== undefined) {
        const onAbort = () => inner!.abort(outer.reason);
        outer.addEventListener("abort", onAbort, { once: true });
        unlink = () => outer.removeEventListener("abort", onAbort);
      }
    }
    const signal = inner?.signal ?? outer ?? NEVER;
    const ctx = new CallContext(signal, n, o.key, grantedAt, (actual) => {
      if (ks === undefined || ks.rates.tokens === null || actual === cost.tokens) return;
      const delta = cost.tokens - actual;
      cost.tokens = actual;
      void limiter.adjust(o.key!, { requests: 0, tokens: delta }, ks.rates).catch(() => undefined);
    });
    try {
      const running = Promise.resolve().then(() => fn(ctx));
      if (timeoutMs === undefined && outer === undefined) return await running;
      const timeout = new ContextError("ABORTED", `the call timed out after ${timeoutMs} ms`, { details: { timeoutMs, timeout: true } });
      return await pTimeout(running, {
        milliseconds: timeoutMs ?? Infinity,
        message: timeout,
        ...(outer !== undefined && { signal: outer }),
      }).catch((e: unknown) => {
        if (e === timeout) inner?.abort(timeout);
        if (outer?.aborted) throw abortReason(outer);
        throw e;
      });
    } finally {
      unlink?.();
    }
  }

  /**
   * One attempt of a call without key, timeout or signal, in its overall slot. A synchronous
   * `fn` allocates nothing here but its {@link CallContext}.
   */
  function plain<T>(fn: (ctx: RunContext) => Promise<T> | T, id: number, o: RunOptions, n: number, ends: Ends): Promise<T> | T {
    stats.queued--;
    stats.running++;
    emit("running", id, o, n);
    let r: Promise<T> | T;
    try {
      r = fn(new CallContext(NEVER, n, undefined, undefined, undefined));
    } catch (e) {
      return failed(id, o, e, ends);
    }
    if (r !== null && typeof r === "object" && typeof (r as { then?: unknown }).then === "function") {
      return (r as Promise<T>).then(
        (v) => succeeded(id, o, v, ends),
        (e: unknown) => failed(id, o, e, ends),
      );
    }
    return succeeded(id, o, r, ends);
  }

  function succeeded<T>(id: number, o: RunOptions, value: T, ends: Ends): T {
    stats.running--;
    stats.queued++;
    return ends === RETRY ? value : finish(id, o, value);
  }

  function failed(id: number, o: RunOptions, e: unknown, ends: Ends): never {
    stats.running--;
    stats.queued++;
    if (ends === ONLY) fail(id, o, e);
    throw e;
  }

  function settle(): void {
    if (--active === 0 && drained.length > 0) {
      const waiting = drained;
      drained = [];
      for (const resolve of waiting) resolve();
    }
  }

  /** The call succeeded: counts, the `done` event, the drain. */
  function finish<T>(id: number, o: RunOptions, value: T): T {
    stats.queued--;
    stats.done++;
    emit("done", id, o, 0);
    settle();
    return value;
  }

  /** The call failed for good: counts, the `failed` event, the drain; rethrows. */
  function fail(id: number, o: RunOptions, e: unknown): never {
    stats.queued--;
    stats.failed++;
    emit("failed", id, o, 0, { error: e });
    settle();
    throw e;
  }

  const notify = (id: number, o: RunOptions) => (r: RetryNotice) => emit("retrying", id, o, r.attempt, { error: r.error, delayMs: r.delayMs });

  function run<T>(fn: (ctx: RunContext) => Promise<T> | T, o: RunOptions = EMPTY): Promise<T> {
    let policy: RetryPolicy;
    try {
      if (closing !== undefined) throw new ContextError("CLOSED", "the controller is closed");
      if (typeof fn !== "function") throw invalidInput("fn", "must be a function");
      if (o !== EMPTY) checkRunOptions(o);
      if (o.signal?.aborted) throw abortReason(o.signal);
      policy = o.retry === undefined ? basePolicy : retryPolicy(o.retry, basePolicy);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    const timeoutMs = o.timeoutMs ?? options.timeoutMs;
    const ks = o.key === undefined ? undefined : keys.get(o.key);
    const id = ++nextId;
    active++;
    stats.queued++;
    emit("queued", id, o, 0);
    // The common case (no key limits, no timeout, no signal) keeps no closure of its own while
    // it waits but the one p-queue runs: no AbortController, no p-timeout, and the retry loop
    // (with its hook) is entered only after a failure.
    if (ks === undefined && timeoutMs === undefined && o.signal === undefined) return runPlain(fn, id, o, policy);
    return runLimited(fn, id, o, policy, ks, timeoutMs);
  }

  /**
   * A call without key, timeout or signal: while it waits it holds the closure p-queue runs and,
   * when it may be retried, one `catch`. A success of the first attempt is counted in its slot.
   */
  function runPlain<T>(fn: (ctx: RunContext) => Promise<T> | T, id: number, o: RunOptions, policy: RetryPolicy): Promise<T> {
    const add = o.priority === undefined ? undefined : { priority: o.priority };
    if (policy.retries === 0) return overall.add(() => plain(fn, id, o, 1, ONLY), add) as Promise<T>;
    const first = overall.add(() => plain(fn, id, o, 1, FIRST), add) as Promise<T>;
    return first.catch((e: unknown) => retryPlain(e, fn, id, o, policy));
  }

  function retryPlain<T>(first: unknown, fn: (ctx: RunContext) => Promise<T> | T, id: number, o: RunOptions, policy: RetryPolicy): Promise<T> {
    const add = o.priority === undefined ? undefined : { priority: o.priority };
    const once = (n: number) => overall.add(() => plain(fn, id, o, n, RETRY), add) as Promise<T>;
    return retryAfterFirst(first, once, policy, undefined, notify(id, o)).then(
      (value) => finish(id, o, value),
      (e: unknown) => fail(id, o, e),
    );
  }

  function runLimited<T>(fn: (ctx: RunContext) => Promise<T> | T, id: number, o: RunOptions, policy: RetryPolicy, ks: KeyState | undefined, timeoutMs: number | undefined): Promise<T> {
    const attempts = () => withRetry((n) => attempt(fn, id, o, n, ks, timeoutMs), policy, o.signal, notify(id, o));
    const queued =
      ks?.queue !== undefined
        ? ks.queue.add(attempts, { priority: o.priority ?? 0, ...(o.signal !== undefined && { signal: o.signal }) }).catch((e: unknown) => {
            if (o.signal?.aborted) throw abortReason(o.signal);
            throw e;
          })
        : attempts();
    return queued.then(
      (value) => finish(id, o, value),
      (e: unknown) => fail(id, o, e),
    );
  }

  const drain = (): Promise<void> => (active === 0 ? Promise.resolve() : new Promise((resolve) => drained.push(resolve)));

  return {
    run,
    get stats() {
      return stats;
    },
    progress() {
      const buffer: ProgressEvent[] = [];
      let wake: ((r: IteratorResult<ProgressEvent>) => void) | undefined;
      let ended = closing !== undefined;
      const listener = (e: ProgressEvent) => {
        if (wake !== undefined) {
          const w = wake;
          wake = undefined;
          w({ value: e, done: false });
        } else buffer.push(e);
      };
      const end = () => {
        ended = true;
        listeners.delete(listener);
        endIterators.delete(end);
        if (wake !== undefined) {
          const w = wake;
          wake = undefined;
          w({ value: undefined, done: true });
        }
      };
      if (!ended) {
        listeners.add(listener);
        endIterators.add(end);
      }
      return {
        next() {
          const e = buffer.shift();
          if (e !== undefined) return Promise.resolve({ value: e, done: false });
          if (ended) return Promise.resolve({ value: undefined, done: true });
          return new Promise((resolve) => (wake = resolve));
        },
        return() {
          end();
          return Promise.resolve({ value: undefined, done: true });
        },
        [Symbol.asyncIterator]() {
          return this;
        },
      };
    },
    pause() {
      overall.pause();
    },
    resume() {
      overall.start();
    },
    get paused() {
      return overall.isPaused;
    },
    drain,
    close() {
      closing ??= drain().then(() => {
        for (const end of [...endIterators]) end();
      });
      return closing;
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
}


/**
 * The {@link RunContext} of one attempt. `reportTokens` and `trackModel` are getters that
 * bind on access, so a call that never uses them (most) allocates no closure for them.
 */
class CallContext implements RunContext {
  readonly signal: AbortSignal;
  readonly attempt: number;
  readonly key: string | undefined;
  readonly grantedAt: number | undefined;
  readonly #correct: ((actual: number) => void) | undefined;

  constructor(signal: AbortSignal, attempt: number, key: string | undefined, grantedAt: number | undefined, correct: ((actual: number) => void) | undefined) {
    this.signal = signal;
    this.attempt = attempt;
    this.key = key;
    this.grantedAt = grantedAt;
    this.#correct = correct;
  }

  get reportTokens(): (tokens: number) => void {
    return (actual: number) => {
      if (typeof actual !== "number" || !Number.isFinite(actual) || actual < 0) throw invalidInput("tokens", "must be a number ≥ 0");
      this.#correct?.(actual);
    };
  }

  get trackModel(): (task: Task, input: ModelUsageInput) => Promise<ContextEvent | null> {
    return async (task, input) => {
      const event = await task.trackModel(input);
      if (input.inputTokens !== undefined || input.outputTokens !== undefined) this.reportTokens((input.inputTokens ?? 0) + (input.outputTokens ?? 0));
      return event;
    };
  }
}
