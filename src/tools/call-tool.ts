/**
 * Tool calls recorded in a context's history: a `tool_call` event (`data.id`, `name`,
 * `arguments`), then the run (validated input, a timeout through an AbortSignal, retries of
 * retryable failures), then a `tool_result` event with the same id (`data.toolCallId`), the
 * outcome, the attempts and the duration. Windows keep such a pair together (`toolCallId`).
 * A tool that throws never breaks the caller: its error is recorded and returned.
 */
import PQueue from "p-queue";
import pTimeout from "p-timeout";
import { ContextError, invalidInput, isContextError } from "../errors.js";
import { canonicalJson, checkJson } from "../core/json.js";
import { newId } from "../core/ids.js";
import type { ContextEvent, CoreStore, EventInput, JsonObject, JsonValue } from "../core/types.js";
import { Task } from "../agent/task.js";
import { abortReason, withRetry } from "../concurrency/retry.js";
import type { Tool } from "./define-tool.js";

/** Where a call is recorded: a task (its history, its signal, its cache) or a context of a store. */
export type ToolTarget = Task | { store: CoreStore; contextId: string };

/** How a call ended. */
export type ToolOutcome = "ok" | "error" | "timeout" | "aborted";

/** Options of {@link callTool}. */
export interface CallToolOptions {
  /** Cancels the call (outcome `aborted`). A task's own signal always does. */
  signal?: AbortSignal;
  /** The call id, e.g. the one the model gave. @default a new id */
  id?: string;
}

/** What {@link callTool} returns (and, but for `output` past the cap, what `tool_result` holds). */
export interface ToolResult<O = unknown> {
  id: string;
  name: string;
  ok: boolean;
  outcome: ToolOutcome;
  /** The whole output, when `ok`. */
  output?: O;
  /** When not `ok`: the failure's code (a ContextError code, the error's own `code`, or `TOOL_ERROR`), message and, for bad input, the JSON pointer. */
  error?: { code: string; message: string; pointer?: string };
  attempts: number;
  durationMs: number;
  /** Reused from an earlier call of a `cacheable` tool with the same input in the task. */
  cached: boolean;
  /** Set when the output was recorded truncated: its size, what was kept, and the `tool_output` event holding it whole (null when it was too large to store). */
  truncated?: { bytes: number; keptBytes: number; outputSeq: number | null };
  /** The recorded `tool_call` and `tool_result` events. */
  events: { call: ContextEvent; result: ContextEvent };
}

/** One call of {@link callTools}. */
export interface ToolCallRequest {
  tool: Tool<never, unknown> | Tool;
  input: unknown;
  id?: string;
}

const caches = new WeakMap<Task, Map<string, JsonValue>>();
const encoder = new TextEncoder();

function record(target: ToolTarget, events: EventInput[]): Promise<ContextEvent[]> {
  if (target instanceof Task) return Promise.all(events.map((e) => target.record(e.type, e.data ?? null, e.metadata ?? {})));
  return target.store.append(target.contextId, events);
}

function errorOf(e: unknown): { code: string; message: string; pointer?: string } {
  if (isContextError(e)) {
    const out: { code: string; message: string; pointer?: string } = { code: e.code, message: e.message };
    if (typeof e.details["pointer"] === "string") out.pointer = e.details["pointer"];
    return out;
  }
  const code = typeof (e as { code?: unknown })?.code === "string" ? (e as { code: string }).code : "TOOL_ERROR";
  return { code, message: e instanceof Error ? e.message : String(e) };
}

/** A call whose `tool_call` is recorded, ready to run. */
interface Prepared {
  id: string;
  tool: Tool<unknown, unknown>;
  call: ContextEvent;
  input: { ok: true; value: unknown } | { ok: false; error: ContextError };
}

async function prepare(target: ToolTarget, request: ToolCallRequest): Promise<Prepared> {
  const tool = request.tool as Tool<unknown, unknown>;
  const id = request.id ?? newId();
  if (typeof id !== "string" || id === "") throw invalidInput("id", "must be a non-empty string");
  let args: JsonValue;
  const data: JsonObject = { id, name: tool.name };
  try {
    checkJson(request.input, "arguments");
    args = request.input as JsonValue;
  } catch (e) {
    args = null;
    data["argumentsError"] = (e as Error).message;
  }
  data["arguments"] = args;
  const [call] = await record(target, [{ type: "tool_call", data }]);
  const input = data["argumentsError"] === undefined ? tool.parseInput(request.input) : { ok: false as const, error: invalidInput("arguments", String(data["argumentsError"])) };
  return { id, tool, call: call!, input };
}

interface Ran {
  outcome: ToolOutcome;
  output?: unknown;
  error?: { code: string; message: string; pointer?: string };
  attempts: number;
  durationMs: number;
  cached: boolean;
}

async function execute(target: ToolTarget, p: Prepared, signal: AbortSignal | undefined): Promise<Ran> {
  const started = Date.now();
  const { tool } = p;
  if (!p.input.ok) return { outcome: "error", error: errorOf(p.input.error), attempts: 0, durationMs: 0, cached: false };
  const task = target instanceof Task ? target : undefined;
  const cacheKey = tool.cacheable && task !== undefined ? `${tool.name}\0${canonicalJson(p.input.value as JsonValue)}` : undefined;
  const cache = task === undefined ? undefined : caches.get(task);
  if (cacheKey !== undefined && cache?.has(cacheKey)) return { outcome: "ok", output: cache.get(cacheKey), attempts: 0, durationMs: 0, cached: true };
  const signals = [signal, task?.signal].filter((s): s is AbortSignal => s !== undefined);
  const outer = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
  let attempts = 0;
  try {
    const output = await withRetry(
      async (attempt) => {
        attempts = attempt;
        const inner = new AbortController();
        const onAbort = () => inner.abort(outer!.reason);
        outer?.addEventListener("abort", onAbort, { once: true });
        if (outer?.aborted) onAbort();
        const timeout = new ContextError("ABORTED", `tool ${tool.name} timed out after ${tool.timeoutMs} ms`, { details: { timeoutMs: tool.timeoutMs, timeout: true } });
        try {
          const ctx = { signal: inner.signal, task, store: task?.store ?? (target as { store: CoreStore }).store, contextId: p.call.contextId, callId: p.id, attempt };
          const running = Promise.resolve().then(() => tool.run(p.input.ok ? p.input.value : undefined, ctx));
          const out = await pTimeout(running, { milliseconds: tool.timeoutMs, message: timeout, ...(outer !== undefined && { signal: outer }) }).catch((e: unknown) => {
            if (e === timeout) inner.abort(timeout);
            if (outer?.aborted) throw abortReason(outer);
            throw e;
          });
          const checked = tool.parseOutput(out);
          if (!checked.ok) throw new ContextError("INVALID_INPUT", `tool ${tool.name} returned an output its schema refuses: ${checked.error.message}`, { details: { ...checked.error.details, field: "output" } });
          return checked.value;
        } finally {
          outer?.removeEventListener("abort", onAbort);
        }
      },
      tool.retry,
      outer,
    );
    if (output !== undefined) checkJson(output, "output");
    if (cacheKey !== undefined && task !== undefined) {
      let c = caches.get(task);
      if (c === undefined) caches.set(task, (c = new Map()));
      c.set(cacheKey, (output ?? null) as JsonValue);
    }
    return { outcome: "ok", output, attempts, durationMs: Date.now() - started, cached: false };
  } catch (e) {
    const outcome: ToolOutcome = outer?.aborted ? "aborted" : isContextError(e, "ABORTED") && e.details["timeout"] === true ? "timeout" : "error";
    return { outcome, error: errorOf(e), attempts, durationMs: Date.now() - started, cached: false };
  }
}

/** Cuts UTF-8 text to at most `max` bytes without splitting a character. */
function cut(text: string, max: number): string {
  const bytes = encoder.encode(text);
  if (bytes.length <= max) return text;
  let end = max;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return new TextDecoder().decode(bytes.subarray(0, end));
}

async function finish(target: ToolTarget, p: Prepared, r: Ran): Promise<ToolResult> {
  const data: JsonObject = { toolCallId: p.id, name: p.tool.name, outcome: r.outcome, attempts: r.attempts, durationMs: r.durationMs };
  if (r.cached) data["cached"] = true;
  if (r.error !== undefined) data["error"] = r.error;
  let truncated: ToolResult["truncated"];
  if (r.outcome === "ok") {
    const value = (r.output ?? null) as JsonValue;
    const text = JSON.stringify(value);
    const bytes = encoder.encode(text).length;
    if (bytes > p.tool.maxOutputBytes) {
      let outputSeq: number | null = null;
      try {
        const [whole] = await record(target, [{ type: "tool_output", data: { toolCallId: p.id, output: value } }]);
        outputSeq = whole!.seq;
      } catch (e) {
        if (!isContextError(e, "INVALID_INPUT")) throw e;
      }
      const kept = cut(text, p.tool.maxOutputBytes);
      truncated = { bytes, keptBytes: encoder.encode(kept).length, outputSeq };
      data["output"] = `${kept}…[truncated: ${truncated.keptBytes} of ${bytes} bytes]`;
      data["truncated"] = truncated;
    } else data["output"] = value;
  }
  const [result] = await record(target, [{ type: "tool_result", data }]);
  const out: ToolResult = { id: p.id, name: p.tool.name, ok: r.outcome === "ok", outcome: r.outcome, attempts: r.attempts, durationMs: r.durationMs, cached: r.cached, events: { call: p.call, result: result! } };
  if (r.outcome === "ok") out.output = r.output;
  if (r.error !== undefined) out.error = r.error;
  if (truncated !== undefined) out.truncated = truncated;
  return out;
}

/**
 * Calls a tool and records the call and its result in the target's history. Resolves with the
 * result whatever the tool did (bad input, a throw, a timeout: `ok: false` and the error).
 *
 * @example
 * ```ts
 * const result = await callTool(task, weather, { city: "Paris" });
 * if (result.ok) console.log(result.output);
 * ```
 * @throws only what recording throws (`CLOSED` after the task ended, `DRIVER_UNAVAILABLE`, …)
 */
export async function callTool<I, O>(target: ToolTarget, tool: Tool<I, O>, input: unknown, options: CallToolOptions = {}): Promise<ToolResult<O>> {
  const p = await prepare(target, { tool: tool as Tool, input, ...(options.id !== undefined && { id: options.id }) });
  return (await finish(target, p, await execute(target, p, options.signal))) as ToolResult<O>;
}

/** Options of {@link callTools}. */
export interface CallToolsOptions {
  /** Calls running at once. @default 4 */
  concurrency?: number;
  signal?: AbortSignal;
}

/**
 * Calls several tools in parallel (at most `concurrency` at once), as a model asking for
 * several tool calls in one turn wants. The `tool_call` events are recorded first, in call
 * order; the `tool_result` events too, in call order, whichever call finishes first.
 *
 * @example
 * ```ts
 * const results = await callTools(task, [{ tool: weather, input: { city: "Paris" } }, { tool: weather, input: { city: "Oslo" } }]);
 * ```
 */
export async function callTools(target: ToolTarget, calls: ToolCallRequest[], options: CallToolsOptions = {}): Promise<ToolResult[]> {
  if (!Array.isArray(calls)) throw invalidInput("calls", "must be an array");
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw invalidInput("concurrency", "must be an integer ≥ 1");
  const prepared: Prepared[] = [];
  for (const c of calls) prepared.push(await prepare(target, c));
  const queue = new PQueue({ concurrency });
  const ran = prepared.map((p) => queue.add(() => execute(target, p, options.signal)) as Promise<Ran>);
  const results: ToolResult[] = [];
  for (const [i, p] of prepared.entries()) results.push(await finish(target, p, await ran[i]!));
  return results;
}
