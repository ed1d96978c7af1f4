/**
 * How a sectioned window renders events, memories and blocks into chat messages, and what
 * each message costs by the chat counting rule (chat-tokens.ts).
 *
 * Roles: only instructions are `system`. `message` events keep their `user` / `assistant`
 * role (a `system` or `developer` role is the app's own instruction and stays `system`); a
 * `tool_call` is an assistant message with a tool call; a `tool_result` is a `tool` message
 * whose output is a data block, cut at the per-item cap with a visible marker. Any other event
 * (your own types, a `message` without a known role) is a `user` message holding a data block.
 */
import { canonicalJson } from "../core/json.js";
import type { ContextEvent, JsonValue } from "../core/types.js";
import { countChatMessage, TOKENS_PER_MESSAGE, TOKENS_PER_NAME } from "./chat-tokens.js";
import type { PromptMessage } from "./prompt-types.js";
import { dataBlock } from "./safe-text.js";
import { contentOf, type Tokenizer } from "./tokens.js";
import { toolCallId } from "./window.js";

/** The marker that ends a tool output cut at the per-item cap (characters: counting the tokens of the rest would cost what the cap saves). */
export function truncationMarker(omittedChars: number, totalChars: number): string {
  return `\n[… tool output truncated by contextd: ${omittedChars} of ${totalChars} characters not shown]`;
}

/**
 * The first `maxTokens` tokens of `text`, or null when it has no more than that. Counts a
 * prefix that grows until it holds more than `maxTokens` tokens, so a long output costs about
 * its first `maxTokens` tokens, not all of them.
 */
function headTokens(tokenizer: Tokenizer, text: string, maxTokens: number): string | null {
  let chars = maxTokens * 6;
  for (;;) {
    if (chars >= text.length) {
      const all = tokenizer.truncateText(text, maxTokens);
      return all.total <= maxTokens ? null : all.text;
    }
    const cut = tokenizer.truncateText(text.slice(0, chars), maxTokens);
    // The prefix's last token may continue past it: keep only a prefix that leaves a margin.
    if (cut.total > maxTokens + 1) return cut.text;
    chars *= 2;
  }
}

function objectOf(data: JsonValue): Record<string, JsonValue> | undefined {
  return data !== null && typeof data === "object" && !Array.isArray(data) ? data : undefined;
}

function textOf(data: JsonValue): string {
  if (typeof data === "string") return data;
  return contentOf(data) ?? canonicalJson(data);
}

/** Renders and costs messages for one window. */
export interface PromptRenderer {
  /** The messages of a recent-conversation unit (a tool call with its results, or one event). */
  unitMessages(events: readonly ContextEvent[]): PromptMessage[];
  /** An event as a `user` message holding a data block (a pinned tool event, which has no pair to go with). */
  asData(e: ContextEvent): PromptMessage;
  /** One line of recalled history: `[seq] role: text` (continuation lines indented). */
  historyLine(e: ContextEvent): string;
  /** Tokens of a message (stored counts reused where they are exact). */
  cost(m: PromptMessage): number;
  /** Sequence numbers of the tool outputs cut so far. */
  readonly truncated: Set<number>;
  /** How many data blocks the messages rendered so far hold. */
  readonly dataBlocks: number;
}

/** Options of {@link createRenderer}. */
export interface RendererOptions {
  tokenizer: Tokenizer;
  nonce: string;
  /** Tokens of a tool output beyond which it is cut. */
  toolCap: number;
  /** Stored `ContextEvent.tokens` are in this window's encoding. */
  useStored: boolean;
}

/** A renderer for one window (keeps the counts it computed). */
export function createRenderer({ tokenizer, nonce, toolCap, useStored }: RendererOptions): PromptRenderer {
  const known = new WeakMap<PromptMessage, number>(); // content tokens known without counting
  const truncated = new Set<number>();
  const roleTokens = new Map<string, number>();
  const t = (s: string) => tokenizer.countText(s);

  const outputs = new Map<number, string>();
  const toolOutput = (e: ContextEvent): string => {
    const done = outputs.get(e.seq);
    if (done !== undefined) return done;
    const d = objectOf(e.data);
    const raw = d !== undefined && "content" in d ? textOf(d["content"] ?? null) : d !== undefined && "output" in d ? textOf(d["output"] ?? null) : textOf(e.data);
    let out = raw;
    // A stored count below the cap (default encoding) spares counting the output at all.
    if (!(useStored && e.tokens !== null && e.tokens <= toolCap)) {
      const head = headTokens(tokenizer, raw, toolCap);
      if (head !== null) {
        truncated.add(e.seq);
        out = head + truncationMarker(raw.length - head.length, raw.length);
      }
    }
    outputs.set(e.seq, out);
    return out;
  };

  let dataBlocks = 0;
  const dataMessage = (e: ContextEvent, kind: string, text: string): PromptMessage => {
    dataBlocks++;
    return { role: "user", content: dataBlock(nonce, kind, { type: e.type, seq: e.seq, at: e.timestamp }, text) };
  };

  const eventMessage = (e: ContextEvent, toolNames: Map<string, string>): PromptMessage => {
    const d = objectOf(e.data);
    if (e.type === "system") return { role: "system", content: textOf(e.data) };
    if (e.type === "message" && d !== undefined) {
      const role = d["role"];
      const content = contentOf(e.data) ?? "";
      const name = typeof d["name"] === "string" && d["name"] !== "" ? d["name"] : undefined;
      let m: PromptMessage | undefined;
      if (role === "user") m = name === undefined ? { role, content } : { role, content, name };
      else if (role === "assistant") m = name === undefined ? { role, content } : { role, content, name };
      else if (role === "system" || role === "developer") m = { role: "system", content };
      if (m !== undefined) {
        if (useStored && e.tokens !== null && typeof d["content"] === "string") known.set(m, e.tokens);
        return m;
      }
    }
    if (e.type === "tool_call" && d !== undefined) {
      const id = toolCallId(e);
      if (id !== undefined) {
        const name = typeof d["name"] === "string" && d["name"] !== "" ? d["name"] : "tool";
        const args = d["arguments"] ?? d["input"] ?? {};
        toolNames.set(id, name);
        return { role: "assistant", content: "", toolCalls: [{ id, name, arguments: typeof args === "string" ? args : canonicalJson(args) }] };
      }
    }
    if (e.type === "tool_result") {
      const id = toolCallId(e);
      if (id !== undefined) {
        dataBlocks++;
        const output = dataBlock(nonce, "tool-output", { seq: e.seq, at: e.timestamp }, toolOutput(e));
        return { role: "tool", toolCallId: id, toolName: toolNames.get(id) ?? "tool", content: output };
      }
    }
    return dataMessage(e, "event", e.type === "message" ? canonicalJson(e.data) : textOf(e.data));
  };

  return {
    truncated,
    get dataBlocks() {
      return dataBlocks;
    },
    asData: (e) => dataMessage(e, "event", canonicalJson(e.data)),
    unitMessages(events) {
      const names = new Map<string, string>();
      return events.map((e) => eventMessage(e, names));
    },
    historyLine(e) {
      const d = objectOf(e.data);
      const who = e.type === "message" && d !== undefined && typeof d["role"] === "string" ? d["role"] : e.type;
      const text = e.type === "tool_result" ? toolOutput(e) : e.type === "message" ? textOf(e.data) : canonicalJson(e.data);
      return `[${e.seq}] ${who}: ${text.replace(/\r\n?|[\u2028\u2029\u0085]/g, "\n").replaceAll("\n", "\n  ")}`;
    },
    cost(m) {
      const content = known.get(m);
      if (content === undefined || m.role === "tool") return countChatMessage(tokenizer, m);
      let r = roleTokens.get(m.role);
      if (r === undefined) roleTokens.set(m.role, (r = t(m.role)));
      let n = TOKENS_PER_MESSAGE + r + content;
      if (m.name !== undefined) n += t(m.name) + TOKENS_PER_NAME;
      if (m.role === "assistant" && m.toolCalls !== undefined) for (const c of m.toolCalls) n += t(c.id) + t("function") + t(c.name) + t(c.arguments);
      return n;
    },
  };
}
