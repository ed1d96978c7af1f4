/**
 * Parsing and validation of the JSON Lines export format (see `transfer.ts`): the whole
 * input is checked before an import writes anything; errors name the line.
 */
import { z } from "zod";
import { ContextError } from "../errors.js";
import type { JsonObject, JsonValue } from "../core/types.js";
import { isPlainObject } from "../core/json.js";
import { tokenizerFor } from "../agent/tokens.js";

/** The header's `format`. */
export const EXPORT_FORMAT = "contextd-export";

const json: z.ZodType<unknown> = z.unknown();
// Passed on as written: z.record would rebuild the object and drop a key named `__proto__`.
const object = z.custom<Record<string, unknown>>(isPlainObject, "expected an object");
const header = z.object({ format: z.literal(EXPORT_FORMAT), version: z.literal(1) }).loose();
const contextLine = z.object({
  type: z.literal("context"),
  context: z
    .object({
      id: z.string().min(1),
      kind: z.string().min(1),
      userId: z.string().nullable(),
      chatId: z.string().nullable(),
      agentId: z.string().nullable(),
      title: z.string().nullable(),
      metadata: object,
      version: z.number().int().min(1),
      status: z.enum(["active", "archived"]),
      expiresAt: z.string().nullable(),
    })
    .loose(),
  baseState: object,
});
const eventLine = z.object({
  type: z.literal("event"),
  contextId: z.string(),
  event: z
    .object({
      seq: z.number().int().min(1),
      type: z.string().min(1),
      timestamp: z.string(),
      data: json,
      metadata: object,
      tokens: z.number().int().min(0).nullable(),
    })
    .loose(),
  state: object.optional(),
});
const snapshotLine = z.object({
  type: z.literal("snapshot"),
  contextId: z.string(),
  snapshot: z.object({ name: z.string().min(1), label: z.string().nullable(), metadata: object, seq: z.number().int() }).loose(),
});
const blockLine = z.object({
  type: z.literal("block"),
  contextId: z.string(),
  block: z
    .object({
      label: z.string().min(1),
      description: z.string().optional(),
      value: json,
      schema: object.optional(),
      limit: z.object({ chars: z.number().int().min(1).optional(), tokens: z.number().int().min(1).optional() }).strict(),
      updatedBy: z.string().optional(),
    })
    .loose(),
});
// `blocks` is absent from files written before blocks were exported.
const endLine = z.object({
  type: z.literal("end"),
  contextId: z.string(),
  events: z.number().int().min(0),
  version: z.number().int().min(1),
  blocks: z.number().int().min(0).optional(),
});

type ContextLine = z.infer<typeof contextLine>;
/** An event line of an export. */
export type EventLine = z.infer<typeof eventLine>;

/** A working-memory block of a context, as exported: what `putBlock` takes, and who wrote it last. */
export interface ParsedBlock {
  line: number;
  label: string;
  description: string;
  value: string | JsonValue;
  schema?: JsonObject;
  limit: { chars?: number; tokens?: number };
  updatedBy?: string;
}

/** One context as parsed from the input. */
export interface ParsedContext {
  line: number;
  context: ContextLine["context"];
  baseState: JsonObject;
  events: EventLine[];
  snapshots: Map<string, { label: string | null; metadata: JsonObject }>;
  /** The blocks of the context's scope (`{ contextId }`), by label; none in files from before blocks were exported. */
  blocks: ParsedBlock[];
  ended: boolean;
  /** Version the replay produces: 1 + state writes. */
  version: number;
}

/** A source of JSON Lines: text, lines, or chunks (e.g. a `fs.createReadStream`). */
export type ImportSource = string | Iterable<string> | AsyncIterable<string | Uint8Array>;

async function* linesOf(source: ImportSource): AsyncGenerator<string> {
  if (typeof source === "string") {
    yield* source.split(/\r?\n/);
    return;
  }
  // fatal: bytes that are not UTF-8 are an error, not U+FFFD written into the imported data.
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let rest = "";
  let lines = 0;
  const decode = (chunk?: Uint8Array): string => {
    try {
      return chunk === undefined ? decoder.decode() : decoder.decode(chunk, { stream: true });
    } catch (e) {
      // The line of the first bad byte: where a lenient decoder puts its first U+FFFD.
      const lenient = rest + (chunk === undefined ? "" : new TextDecoder().decode(chunk));
      const before = lenient.slice(0, Math.max(0, lenient.indexOf("\ufffd")));
      throw bad(lines + 1 + (before.match(/\n/g)?.length ?? 0), "not valid UTF-8", e);
    }
  };
  for await (const chunk of source as AsyncIterable<string | Uint8Array>) {
    rest += typeof chunk === "string" ? chunk : decode(chunk);
    const parts = rest.split(/\r?\n/);
    rest = parts.pop() ?? "";
    lines += parts.length;
    yield* parts;
  }
  rest += decode();
  yield rest;
}

function bad(lineNo: number, message: string, cause?: unknown): ContextError {
  return new ContextError("INVALID_INPUT", `line ${lineNo}: ${message}`, { details: { line: lineNo }, ...(cause !== undefined && { cause }) });
}

function check<T>(schema: z.ZodType<T>, value: unknown, lineNo: number, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw bad(lineNo, `not a valid ${what}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return r.data;
}

/**
 * Checks a block line's value against its own limit, as every write of a block does (the text
 * of a JSON block's value is its JSON; tokens are o200k_base, special tokens as text).
 * @throws `INVALID_INPUT` for a text block whose value is not a string; `LIMIT_EXCEEDED` naming the line
 */
function checkBlock(b: ParsedBlock, contextId: string): void {
  if (b.schema === undefined && typeof b.value !== "string") {
    throw bad(b.line, `block ${b.label}: a block without a schema holds text, got ${b.value === null ? "null" : typeof b.value}`);
  }
  const text = typeof b.value === "string" && b.schema === undefined ? b.value : JSON.stringify(b.value);
  const over = (limit: number, unit: "chars" | "tokens", size: number): ContextError =>
    new ContextError(
      "LIMIT_EXCEEDED",
      `line ${b.line}: block ${b.label} of context ${contextId} would hold ${size} ${unit === "chars" ? "characters" : "tokens"}, ${size - limit} over its limit of ${limit}; nothing was imported`,
      { details: { line: b.line, contextId, label: b.label, limit, unit, size, over: size - limit } },
    );
  if (b.limit.chars !== undefined && text.length > b.limit.chars) throw over(b.limit.chars, "chars", text.length);
  if (b.limit.tokens !== undefined) {
    const tokens = tokenizerFor("o200k_base").countText(text);
    if (tokens > b.limit.tokens) throw over(b.limit.tokens, "tokens", tokens);
  }
}

/** Parses and validates the whole input. @throws `INVALID_INPUT` with the line number */
export async function parseExport(source: ImportSource): Promise<ParsedContext[]> {
  const contexts = new Map<string, ParsedContext>();
  let lineNo = 0;
  let sawHeader = false;
  for await (const text of linesOf(source)) {
    lineNo++;
    if (text.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw bad(lineNo, `not JSON (${(e as Error).message})`, e);
    }
    if (!sawHeader) {
      check(header, value, lineNo, `header (expected {"format":"${EXPORT_FORMAT}","version":1})`);
      sawHeader = true;
      continue;
    }
    const type = (value as { type?: unknown } | null)?.type;
    if (type === "context") {
      const c = check(contextLine, value, lineNo, "context line");
      if (contexts.has(c.context.id)) throw bad(lineNo, `context ${c.context.id} appears twice`);
      contexts.set(c.context.id, {
        line: lineNo,
        context: c.context,
        baseState: c.baseState as JsonObject,
        events: [],
        snapshots: new Map(),
        blocks: [],
        ended: false,
        version: 1,
      });
      continue;
    }
    const owner = (id: string): ParsedContext => {
      const p = contexts.get(id);
      if (p === undefined) throw bad(lineNo, `context ${id} has no context line before this one`);
      if (p.ended) throw bad(lineNo, `context ${id} already ended`);
      return p;
    };
    if (type === "event") {
      const e = check(eventLine, value, lineNo, "event line");
      const p = owner(e.contextId);
      const previous = p.events[p.events.length - 1];
      if (previous !== undefined && e.event.seq <= previous.event.seq) throw bad(lineNo, "events are not in sequence order");
      if ((e.event.type === "state" || e.event.type === "restore") && e.state === undefined) {
        throw bad(lineNo, `a ${e.event.type} event needs the state it produced`);
      }
      if (e.event.type === "state" || e.event.type === "restore") p.version++;
      p.events.push(e);
    } else if (type === "snapshot") {
      const s = check(snapshotLine, value, lineNo, "snapshot line");
      owner(s.contextId).snapshots.set(s.snapshot.name, { label: s.snapshot.label, metadata: s.snapshot.metadata as JsonObject });
    } else if (type === "block") {
      const { contextId, block: b } = check(blockLine, value, lineNo, "block line");
      const p = owner(contextId);
      if (!Object.hasOwn(b, "value")) throw bad(lineNo, "not a valid block line: block.value: is required");
      if (b.limit.chars === undefined && b.limit.tokens === undefined) throw bad(lineNo, "not a valid block line: block.limit: needs chars or tokens");
      if (p.blocks.some((x) => x.label === b.label)) throw bad(lineNo, `block ${b.label} of context ${contextId} appears twice`);
      const parsed: ParsedBlock = {
        line: lineNo,
        label: b.label,
        description: b.description ?? "",
        value: b.value as string | JsonValue,
        ...(b.schema !== undefined && { schema: b.schema as JsonObject }),
        limit: { ...(b.limit.chars !== undefined && { chars: b.limit.chars }), ...(b.limit.tokens !== undefined && { tokens: b.limit.tokens }) },
        ...(b.updatedBy !== undefined && { updatedBy: b.updatedBy }),
      };
      checkBlock(parsed, contextId);
      p.blocks.push(parsed);
    } else if (type === "end") {
      const end = check(endLine, value, lineNo, "end line");
      const p = owner(end.contextId);
      if (p.events.length !== end.events) throw bad(lineNo, `context ${end.contextId} has ${p.events.length} events, its end line says ${end.events}`);
      if (end.blocks !== undefined && p.blocks.length !== end.blocks) throw bad(lineNo, `context ${end.contextId} has ${p.blocks.length} blocks, its end line says ${end.blocks}`);
      p.ended = true;
    } else {
      throw bad(lineNo, `unknown line type ${JSON.stringify(type)}`);
    }
  }
  if (!sawHeader) throw bad(1, "empty input: no export header");
  for (const p of contexts.values()) {
    if (!p.ended) throw bad(lineNo, `context ${p.context.id} (line ${p.line}) has no end line: the file is truncated`);
  }
  return [...contexts.values()];
}
