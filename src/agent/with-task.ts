/**
 * `withTask`: runs a function inside a task scope that ends however the function ends.
 */
import { ContextError, invalidInput } from "../errors.js";
import { combineErrors } from "./disposal.js";
import { startTask, type Task } from "./task.js";
import type { StartTaskInput, TaskOutcome } from "./task-types.js";
import type { CoreStore } from "../core/types.js";

/** Options of {@link withTask}. */
export interface WithTaskOptions {
  /** Aborts the task: its `signal` fires, `withTask` rejects with `ABORTED`, outcome `aborted`. */
  signal?: AbortSignal;
  /** Aborts the task after this long (outcome `aborted`). */
  timeoutMs?: number;
}

/**
 * Runs `fn(task)` inside a task scope: the task ends however `fn` ends, resources are
 * released, and the outcome is recorded (`ok`, `error`, or `aborted` on the signal or the
 * timeout). When `fn` fails and a release fails too, the rejection is a `SuppressedError`
 * (`error`: the release failure, `suppressed`: `fn`'s error), as with `await using`.
 * On abort `withTask` stops waiting for `fn`; pass `task.signal` on so its work stops too.
 *
 * @example
 * ```ts
 * const summary = await withTask(store, { userId, chatId }, async (task) => {
 *   await task.trackFile("input.pdf", "read");
 *   return extract(task.signal);
 * }, { timeoutMs: 30_000 });
 * ```
 */
export async function withTask<T>(
  store: CoreStore,
  input: Omit<StartTaskInput, "signal">,
  fn: (task: Task) => Promise<T> | T,
  options: WithTaskOptions = {},
): Promise<T> {
  const { signal, timeoutMs } = options;
  if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs <= 0)) throw invalidInput("timeoutMs", "must be a number > 0");
  if (signal?.aborted) throw new ContextError("ABORTED", "the operation was aborted", { cause: signal.reason });
  const task = await startTask(store, { ...input, ...(signal !== undefined && { signal }) });
  let timer: NodeJS.Timeout | undefined;
  if (timeoutMs !== undefined) {
    timer = setTimeout(() => task.abort(new ContextError("ABORTED", `task timed out after ${timeoutMs} ms`, { details: { timeoutMs } })), timeoutMs);
    timer.unref();
  }
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      const reason: unknown = task.signal.reason;
      reject(reason instanceof ContextError ? reason : new ContextError("ABORTED", "the task was aborted", { cause: reason }));
    };
    if (task.signal.aborted) onAbort();
    else task.signal.addEventListener("abort", onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  let value: T | undefined;
  let failed = false;
  let bodyError: unknown;
  try {
    value = await Promise.race([Promise.resolve().then(() => fn(task)), aborted]);
  } catch (e) {
    failed = true;
    bodyError = e;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    if (onAbort !== undefined) task.signal.removeEventListener("abort", onAbort);
  }
  const outcome: TaskOutcome = task.signal.aborted ? "aborted" : failed ? "error" : "ok";
  try {
    await task.end({ outcome, ...(failed && { error: bodyError }) });
  } catch (releaseFailure) {
    throw failed ? combineErrors(true, bodyError, [{ name: "resources", error: releaseFailure }]) : releaseFailure;
  }
  if (failed) throw bodyError;
  return value as T;
}
