/**
 * Tool definitions: a name, a description, an input schema (zod or JSON Schema), the function
 * that runs it and how it runs (timeout, retries, caching, output cap). The input schema is
 * validated here and exported as JSON Schema (`tool-formats.ts`) for the model providers.
 */
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { z } from "zod";
import { ContextError, invalidInput } from "../errors.js";
import type { CoreStore, JsonObject } from "../core/types.js";
import type { Task } from "../agent/task.js";
import { retryPolicy, type RetryOptions, type RetryPolicy } from "../concurrency/retry.js";

/** A JSON Schema object. */
export type JsonSchema = JsonObject;

/** What a tool's `run` receives besides its input. */
export interface ToolRunContext {
  /** Fires on the call's timeout, the caller's signal or the task's abort: pass it on. */
  signal: AbortSignal;
  /** The task the call is made in (undefined for a call on a context). */
  task: Task | undefined;
  store: CoreStore;
  contextId: string;
  /** The call's id (`tool_call.data.id`). */
  callId: string;
  /** 1 for the first attempt. */
  attempt: number;
}

/** Input of {@link defineTool}. */
export interface ToolDefinition<I, O> {
  /** 1–64 letters, digits, `_` or `-` (what OpenAI, Anthropic and MCP all accept). */
  name: string;
  description: string;
  /** A zod schema, or a JSON Schema of an object. */
  input: z.ZodType<I> | JsonSchema;
  /** When given, the output is checked against it (a failing output is an error result). */
  output?: z.ZodType<O> | JsonSchema;
  run(input: I, ctx: ToolRunContext): Promise<O> | O;
  /** Time limit of one attempt. @default 60000 */
  timeoutMs?: number;
  /** Retries of retryable failures (timeouts, 429/5xx, network errors). @default false (none) */
  retry?: RetryOptions | false;
  /** The result is reused for the same canonical input within a task. @default false */
  cacheable?: boolean;
  /** Results longer than this (as JSON text, UTF-8) are recorded truncated; the whole output is kept in a `tool_output` event. @default 16384 */
  maxOutputBytes?: number;
}

/** The outcome of validating a value. */
export type Checked<T> = { ok: true; value: T } | { ok: false; error: ContextError };

/** A defined tool; see {@link defineTool}. */
export interface Tool<I = unknown, O = unknown> {
  readonly name: string;
  readonly description: string;
  /** The input's JSON Schema (`type: "object"`), without `$schema`. */
  readonly inputSchema: JsonSchema;
  readonly outputSchema: JsonSchema | undefined;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly cacheable: boolean;
  readonly maxOutputBytes: number;
  /** Checks an input; a failure is `INVALID_INPUT` with `details.pointer` (a JSON pointer). */
  parseInput(input: unknown): Checked<I>;
  parseOutput(output: unknown): Checked<O>;
  run(input: I, ctx: ToolRunContext): Promise<O> | O;
}

// ajv-formats is CommonJS: its default export arrives wrapped under NodeNext.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const FIELDS = new Set(["name", "description", "input", "output", "run", "timeoutMs", "retry", "cacheable", "maxOutputBytes"]);
let ajv: Ajv | undefined;

const pointer = (path: readonly PropertyKey[]): string => path.map((p) => `/${String(p).replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");

const isZod = (s: unknown): s is z.ZodType => typeof s === "object" && s !== null && "_zod" in s;

function compile<T>(schema: z.ZodType<T> | JsonSchema, field: string): { json: JsonSchema; check: (v: unknown) => Checked<T> } {
  if (isZod(schema)) {
    let json: JsonSchema;
    try {
      json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema;
    } catch (e) {
      throw invalidInput(field, `cannot be expressed as JSON Schema: ${(e as Error).message}`);
    }
    delete json["$schema"];
    return {
      json,
      check(v) {
        const r = schema.safeParse(v);
        if (r.success) return { ok: true, value: r.data };
        const issue = r.error.issues[0]!;
        const at = pointer(issue.path);
        return { ok: false, error: invalidInput(`${field}${at}`, issue.message, { pointer: at }) };
      },
    };
  }
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) throw invalidInput(field, "must be a zod schema or a JSON Schema object");
  ajv ??= addFormats(new Ajv({ strict: false, allErrors: false }));
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(schema);
  } catch (e) {
    throw invalidInput(field, `is not a valid JSON Schema: ${(e as Error).message}`);
  }
  const { $schema: _drop, ...json } = schema;
  return {
    json,
    check(v) {
      if (validate(v)) return { ok: true, value: v as T };
      const err = validate.errors?.[0];
      const at = err?.instancePath ?? "";
      return { ok: false, error: invalidInput(`${field}${at}`, err?.message ?? "does not match the schema", { pointer: at }) };
    },
  };
}

/**
 * Defines a tool. Its input is validated before every run and its JSON Schema is what
 * {@link toOpenAITool}, {@link toAnthropicTool} and {@link toMcpTool} export.
 *
 * @example
 * ```ts
 * const weather = defineTool({
 *   name: "weather",
 *   description: "Current weather of a city",
 *   input: z.object({ city: z.string() }),
 *   run: async ({ city }, { signal }) => fetchWeather(city, { signal }),
 *   timeoutMs: 5_000,
 *   cacheable: true,
 * });
 * ```
 * @throws `INVALID_INPUT` for a bad name, a schema that is not of an object, bad options
 */
export function defineTool<I, O>(definition: ToolDefinition<I, O>): Tool<I, O> {
  if (typeof definition !== "object" || definition === null) throw invalidInput("definition", "must be an object");
  for (const k of Object.keys(definition)) if (!FIELDS.has(k)) throw invalidInput(k, "is not a known field of a tool");
  const { name, description } = definition;
  if (typeof name !== "string" || !NAME.test(name)) throw invalidInput("name", "must be 1–64 letters, digits, _ or -");
  if (typeof description !== "string") throw invalidInput("description", "must be a string");
  if (typeof definition.run !== "function") throw invalidInput("run", "must be a function");
  const input = compile(definition.input, "input");
  if (input.json["type"] !== "object") throw invalidInput("input", 'must describe an object (JSON Schema `type: "object"`): providers pass tool arguments as an object');
  const output = definition.output === undefined ? undefined : compile(definition.output, "output");
  const timeoutMs = definition.timeoutMs ?? 60_000;
  if (typeof timeoutMs !== "number" || !(timeoutMs > 0)) throw invalidInput("timeoutMs", "must be a number > 0");
  const maxOutputBytes = definition.maxOutputBytes ?? 16_384;
  if (!Number.isInteger(maxOutputBytes) || maxOutputBytes < 1) throw invalidInput("maxOutputBytes", "must be an integer ≥ 1");
  if (definition.cacheable !== undefined && typeof definition.cacheable !== "boolean") throw invalidInput("cacheable", "must be a boolean");
  const run = definition.run;
  return Object.freeze({
    name,
    description,
    inputSchema: input.json,
    outputSchema: output?.json,
    timeoutMs,
    retry: retryPolicy(definition.retry ?? false, retryPolicy(undefined)),
    cacheable: definition.cacheable ?? false,
    maxOutputBytes,
    parseInput: input.check,
    parseOutput: output === undefined ? (v: unknown): Checked<O> => ({ ok: true, value: v as O }) : output.check,
    run: (i: I, ctx: ToolRunContext) => run(i, ctx),
  }) satisfies Tool<I, O>;
}

/** `INVALID_INPUT` for an unknown tool name (what a model may ask for). */
export function unknownTool(name: string): ContextError {
  return new ContextError("INVALID_INPUT", `no tool named ${JSON.stringify(name)}`, { details: { field: "name", name } });
}
