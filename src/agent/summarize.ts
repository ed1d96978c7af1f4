/**
 * Summaries of the events a window had to drop: the callback type a user plugs an LLM
 * into, and a built-in offline extractive summarizer used when none is given.
 */
import type { ContextEvent, JsonValue } from "../core/types.js";
import { contentOf, type Tokenizer } from "./tokens.js";
import { canonicalJson } from "../core/json.js";

/** What a {@link Summarizer} receives. */
export interface SummarizeInput {
  /** The dropped events, oldest first. */
  events: readonly ContextEvent[];
  /** The summary should fit in this many tokens; a longer one makes the window drop more events. */
  maxTokens: number;
  /** The window's tokenizer, to measure the summary. */
  tokenizer: Tokenizer;
  signal?: AbortSignal;
}

/**
 * Turns dropped events into a summary text, e.g. by calling an LLM.
 *
 * @example
 * ```ts
 * const summarize: Summarizer = async ({ events, maxTokens }) =>
 *   llm.complete(`Summarize in ${maxTokens} tokens:\n` + events.map((e) => JSON.stringify(e.data)).join("\n"));
 * ```
 */
export type Summarizer = (input: SummarizeInput) => Promise<string> | string;

const LINE_CHARS = 160;

function clip(text: string, max = LINE_CHARS): string {
  const flat = text.replace(/\s+/g, " ").trim();
  if (flat.length <= max) return flat;
  // Prefer ending at a sentence boundary when there is one early enough.
  const cut = flat.slice(0, max);
  const stop = Math.max(cut.lastIndexOf(". "), cut.lastIndexOf("! "), cut.lastIndexOf("? "));
  return stop > max / 2 ? cut.slice(0, stop + 1) : `${cut.slice(0, max - 1)}…`;
}

function roleOf(data: JsonValue): string | undefined {
  if (data !== null && typeof data === "object" && !Array.isArray(data) && typeof data["role"] === "string") {
    return data["role"];
  }
  return undefined;
}

/** One line describing an event, or null for events not worth a line (state plumbing). */
function describeEvent(e: ContextEvent): string | null {
  switch (e.type) {
    case "state":
    case "snapshot":
    case "restore":
      return null;
    case "message":
    case "system": {
      const text = typeof e.data === "string" ? e.data : (contentOf(e.data) ?? canonicalJson(e.data));
      const who = roleOf(e.data) ?? (typeof e.metadata["source"] === "string" ? e.metadata["source"] : e.type);
      return `${who}: ${clip(text)}`;
    }
    default:
      return `${e.type}: ${clip(typeof e.data === "string" ? e.data : canonicalJson(e.data))}`;
  }
}

/**
 * The built-in offline summarizer: a count of the dropped events by type, then one clipped
 * line per event. When they do not all fit in `maxTokens`, lines are taken alternately from
 * the oldest end (where a conversation's facts are usually set up) and the newest end, and
 * the gap is marked with `…`. Deterministic, no network.
 */
export function extractiveSummary({ events, maxTokens, tokenizer }: SummarizeInput): string {
  if (events.length === 0) return "";
  const first = events[0]!;
  const last = events[events.length - 1]!;
  const counts = new Map<string, number>();
  for (const e of events) counts.set(e.type, (counts.get(e.type) ?? 0) + 1);
  const tally = [...counts].map(([type, n]) => `${n} ${type}`).join(", ");
  const header = `Summary of ${events.length} earlier events (seq ${first.seq}–${last.seq}: ${tally}).`;
  let used = tokenizer.countText(header) + 2;
  if (used > maxTokens) return "";
  const lines = events.map(describeEvent);
  const chosen = new Set<number>();
  let lo = 0;
  let hi = lines.length - 1;
  let fromOldest = true;
  while (lo <= hi) {
    const i = fromOldest ? lo++ : hi--;
    fromOldest = !fromOldest;
    const line = lines[i];
    if (line === null || line === undefined) continue;
    const cost = tokenizer.countText(`\n- ${line}`);
    if (used + cost > maxTokens) break;
    used += cost;
    chosen.add(i);
  }
  const out = [header];
  let previous = -1;
  for (const i of [...chosen].sort((a, b) => a - b)) {
    if (previous >= 0 && i > previous + 1 && lines.slice(previous + 1, i).some((l) => l !== null)) out.push("- …");
    out.push(`- ${lines[i]}`);
    previous = i;
  }
  return out.join("\n");
}
