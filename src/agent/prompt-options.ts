/**
 * The checks of a sectioned window's options, made before anything is read: names, types and
 * shapes, each refused with `INVALID_INPUT` naming the field (`sections.recall.range`). The
 * same checks run embedded and behind the HTTP route, so both refuse the same input with the
 * same field. Also which options cannot cross HTTP (functions, the signal).
 */
import { invalidInput } from "../errors.js";
import { checkJson, isPlainObject } from "../core/json.js";
import { checkText } from "../core/validate.js";
import type { WindowSections } from "./prompt-types.js";

const OPTION_KEYS = ["maxTokens", "reserveTokens", "model", "encoding", "instructions", "query", "nonce", "sections", "signal"];
const SECTION_KEYS: Record<keyof WindowSections, string[]> = {
  pinned: ["types", "scanLimit"],
  workingMemory: ["priority", "min", "max", "blocks", "scopes", "load"],
  memories: ["priority", "min", "max", "scope", "limit", "mode", "minScore", "tags", "filter", "boosts"],
  recall: ["priority", "min", "max", "mode", "limit", "range", "minScore"],
  recent: ["priority", "min", "max", "types", "dedupe", "scanLimit", "pageSize"],
  toolOutputs: ["maxTokensPerItem"],
  summary: ["priority", "min", "max", "summarize", "scanLimit"],
};

/**
 * The options that hold code or a live object, so they exist only in the caller's process: a
 * server cannot receive them and the HTTP client builds a window that has one itself.
 */
export const IN_PROCESS_WINDOW_OPTIONS = ["signal", "sections.workingMemory.load", "sections.summary.summarize"] as const;

/** An integer option at least `min`, or `fallback` when absent. */
export function int(value: unknown, field: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) throw invalidInput(field, `must be an integer ≥ ${min}, got ${String(value)}`);
  return value;
}

function checkKeys(value: unknown, field: string, allowed: readonly string[]): asserts value is Record<string, unknown> {
  if (!isPlainObject(value)) throw invalidInput(field, "must be an object");
  for (const k of Object.keys(value)) if (!allowed.includes(k)) throw invalidInput(`${field}.${k}`, "unknown option");
}

/** The most events one read returns (`readEvents`' `limit`). */
const MAX_READ = 10_000;
/** The most neighbours on each side of a recalled hit (read with some slack in one read). */
const MAX_RANGE = 1000;

function atMost(value: unknown, field: string, max: number): void {
  if (typeof value === "number" && value > max) throw invalidInput(field, `must be at most ${max}, got ${value}`);
}

/** Event types as the store's reads take them: at most 100 names of 1–128 characters. */
function eventTypes(value: unknown, field: string, allowEmpty: boolean): void {
  if (value === undefined) return;
  if (!Array.isArray(value) || (!allowEmpty && value.length === 0) || value.length > 100) {
    throw invalidInput(field, `must be an array of ${allowEmpty ? "" : "1 to "}at most 100 event types`);
  }
  value.forEach((t, i) => checkText(t, `${field}[${i}]`, 128));
}

function stringList(value: unknown, field: string): void {
  if (value === undefined) return;
  if (!Array.isArray(value) || value.some((t) => typeof t !== "string")) throw invalidInput(field, "must be an array of strings");
}

function oneOf(value: unknown, field: string, allowed: readonly string[]): void {
  if (value !== undefined && !allowed.includes(value as string)) throw invalidInput(field, `must be one of ${allowed.join(", ")}`);
}

function finite(value: unknown, field: string): void {
  if (value !== undefined && (typeof value !== "number" || !Number.isFinite(value))) throw invalidInput(field, "must be a finite number");
}

function kind(value: unknown, field: string, type: "string" | "boolean" | "function"): void {
  if (value !== undefined && typeof value !== type) throw invalidInput(field, `must be a ${type}, got ${value === null ? "null" : typeof value}`);
}

function checkBlocks(blocks: unknown, field: string): void {
  if (blocks === undefined) return;
  if (!Array.isArray(blocks)) throw invalidInput(field, "must be an array of blocks");
  blocks.forEach((b: unknown, i) => {
    const at = `${field}[${i}]`;
    checkKeys(b, at, ["label", "description", "value", "limit"]);
    if (typeof b["label"] !== "string" || b["label"] === "") throw invalidInput(`${at}.label`, "must be a non-empty string");
    if (b["description"] !== null) kind(b["description"], `${at}.description`, "string");
    if (b["value"] === undefined) throw invalidInput(`${at}.value`, "is required (text or JSON)");
    if (typeof b["value"] !== "string") checkJson(b["value"], `${at}.value`);
    if (b["limit"] !== undefined) {
      checkKeys(b["limit"], `${at}.limit`, ["chars", "tokens"]);
      int(b["limit"]["chars"], `${at}.limit.chars`, 0, 1);
      int(b["limit"]["tokens"], `${at}.limit.tokens`, 0, 1);
    }
  });
}

/**
 * Checks the names, types and shapes of a sectioned window's options (numbers with their
 * defaults are checked where they are used; the searches check their own options).
 * @throws `INVALID_INPUT` naming the first bad field
 */
export function checkWindowOptions(options: unknown): void {
  checkKeys(options, "options", OPTION_KEYS);
  if (options["maxTokens"] === undefined) throw invalidInput("maxTokens", "is required");
  int(options["maxTokens"], "maxTokens", 0, 1);
  kind(options["model"], "model", "string");
  kind(options["encoding"], "encoding", "string");
  kind(options["query"], "query", "string");
  const instructions = options["instructions"];
  if (typeof instructions !== "string") stringList(instructions, "instructions");
  const sections = options["sections"] ?? {};
  checkKeys(sections, "sections", Object.keys(SECTION_KEYS));
  for (const [name, keys] of Object.entries(SECTION_KEYS)) {
    const s = sections[name];
    if (s === undefined) continue;
    // Sections with nothing to turn off (pinned, recent, toolOutputs) take an object only.
    if (s === false && ["workingMemory", "memories", "recall", "summary"].includes(name)) continue;
    checkKeys(s, `sections.${name}`, keys);
    finite(s["priority"], `sections.${name}.priority`);
    int(s["min"], `sections.${name}.min`, 0);
    int(s["max"], `sections.${name}.max`, 0);
    finite(s["minScore"], `sections.${name}.minScore`);
  }
  const at = (name: keyof WindowSections): Record<string, unknown> => (isPlainObject(sections[name]) ? sections[name] : {});
  const pinned = at("pinned");
  eventTypes(pinned["types"], "sections.pinned.types", true);
  // Each is one read's page size (the store's at most 10,000 events per read).
  atMost(pinned["scanLimit"], "sections.pinned.scanLimit", MAX_READ);
  atMost(at("recent")["pageSize"], "sections.recent.pageSize", MAX_READ);
  const wm = at("workingMemory");
  checkBlocks(wm["blocks"], "sections.workingMemory.blocks");
  if (wm["scopes"] !== undefined && (!Array.isArray(wm["scopes"]) || wm["scopes"].some((s) => !isPlainObject(s)))) {
    throw invalidInput("sections.workingMemory.scopes", "must be an array of block scopes");
  }
  kind(wm["load"], "sections.workingMemory.load", "function");
  const recall = at("recall");
  oneOf(recall["mode"], "sections.recall.mode", ["text", "vector", "hybrid"]);
  const range = recall["range"];
  if (isPlainObject(range)) {
    checkKeys(range, "sections.recall.range", ["before", "after"]);
    for (const side of ["before", "after"]) {
      if (range[side] === undefined) throw invalidInput(`sections.recall.range.${side}`, "is required");
      int(range[side], `sections.recall.range.${side}`, 0);
      atMost(range[side], `sections.recall.range.${side}`, MAX_RANGE);
    }
  } else {
    int(range, "sections.recall.range", 0);
    atMost(range, "sections.recall.range", MAX_RANGE);
  }
  const recent = at("recent");
  eventTypes(recent["types"], "sections.recent.types", false);
  kind(recent["dedupe"], "sections.recent.dedupe", "boolean");
  kind(at("summary")["summarize"], "sections.summary.summarize", "function");
}

/**
 * The first option of `options` that exists only in this process (a function or the signal),
 * as its field name (`sections.summary.summarize`), or `undefined` when every option can be
 * sent as JSON.
 * @example
 * ```ts
 * inProcessWindowOption({ maxTokens: 4000, sections: { summary: { summarize: mySummarizer } } }); // "sections.summary.summarize"
 * ```
 */
export function inProcessWindowOption(options: unknown): string | undefined {
  for (const path of IN_PROCESS_WINDOW_OPTIONS) {
    let at: unknown = options;
    for (const key of path.split(".")) at = isPlainObject(at) ? at[key] : undefined;
    if (at !== undefined) return path;
  }
  return undefined;
}
