/**
 * A window's messages in the shapes of three model APIs: OpenAI chat completions, Anthropic
 * messages, and the Vercel AI SDK's `ModelMessage`. The types here are structural copies of
 * the SDKs' own (no SDK is imported: the light client stays light); prompt-formats.test.ts
 * assigns each output to the SDK's published type, so `npm run typecheck` checks them.
 */
import type { PromptMessage } from "./prompt-types.js";

/** An OpenAI chat completion message (`OpenAI.ChatCompletionMessageParam`). */
export type OpenAIChatMessage =
  | { role: "system"; content: string; name?: string }
  | { role: "user"; content: string; name?: string }
  | {
      role: "assistant";
      content: string | null;
      name?: string;
      tool_calls?: { id: string; type: "function"; function: { name: string; arguments: string } }[];
    }
  | { role: "tool"; content: string; tool_call_id: string };

/** Anthropic content blocks a window uses. */
export type AnthropicContentBlock =
  | { type: "text"; text: string }
  | { type: "tool_use"; id: string; name: string; input: unknown }
  | { type: "tool_result"; tool_use_id: string; content: string };

/** An Anthropic message (`Anthropic.MessageParam`). */
export interface AnthropicMessage {
  role: "user" | "assistant";
  content: AnthropicContentBlock[];
}

/** An Anthropic request's `system` and `messages`. */
export interface AnthropicPrompt {
  /** The system messages joined by blank lines (Anthropic takes the system prompt apart). */
  system: string;
  messages: AnthropicMessage[];
}

/** A Vercel AI SDK message (`ModelMessage` of `ai`). */
export type AISDKModelMessage =
  | { role: "system"; content: string }
  | { role: "user"; content: string }
  | { role: "assistant"; content: ({ type: "text"; text: string } | { type: "tool-call"; toolCallId: string; toolName: string; input: unknown })[] }
  | { role: "tool"; content: { type: "tool-result"; toolCallId: string; toolName: string; output: { type: "text"; value: string } }[] };

function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Arguments a model produced that are not JSON: passed on as the text they are.
    return text;
  }
}

function messagesOf(w: { messages: readonly PromptMessage[] } | readonly PromptMessage[]): readonly PromptMessage[] {
  return Array.isArray(w) ? w : (w as { messages: readonly PromptMessage[] }).messages;
}

/**
 * The messages for OpenAI's chat completions API (`messages` of `client.chat.completions.create`).
 * @example
 * ```ts
 * const w = await store.context(id).window({ maxTokens: 8000, model: "gpt-4o" });
 * await openai.chat.completions.create({ model: "gpt-4o", messages: toOpenAIMessages(w) });
 * ```
 */
export function toOpenAIMessages(window: { messages: readonly PromptMessage[] } | readonly PromptMessage[]): OpenAIChatMessage[] {
  return messagesOf(window).map((m): OpenAIChatMessage => {
    switch (m.role) {
      case "system":
        return m.name === undefined ? { role: "system", content: m.content } : { role: "system", content: m.content, name: m.name };
      case "user":
        return m.name === undefined ? { role: "user", content: m.content } : { role: "user", content: m.content, name: m.name };
      case "assistant": {
        const out: OpenAIChatMessage = { role: "assistant", content: m.toolCalls !== undefined && m.content === "" ? null : m.content };
        if (m.name !== undefined) out.name = m.name;
        if (m.toolCalls !== undefined) out.tool_calls = m.toolCalls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } }));
        return out;
      }
      case "tool":
        return { role: "tool", content: m.content, tool_call_id: m.toolCallId };
    }
  });
}

/**
 * The `system` and `messages` of an Anthropic messages request: system messages joined apart,
 * tool calls as `tool_use` blocks, tool outputs as `tool_result` blocks in the next user
 * message, and consecutive messages of one role merged into one (Anthropic alternates roles).
 * @example
 * ```ts
 * const { system, messages } = toAnthropicMessages(w);
 * await anthropic.messages.create({ model: "claude-sonnet-4-5", max_tokens: 1024, system, messages });
 * ```
 */
export function toAnthropicMessages(window: { messages: readonly PromptMessage[] } | readonly PromptMessage[]): AnthropicPrompt {
  const system: string[] = [];
  const messages: AnthropicMessage[] = [];
  const push = (role: "user" | "assistant", blocks: AnthropicContentBlock[]) => {
    if (blocks.length === 0) return;
    const last = messages[messages.length - 1];
    if (last !== undefined && last.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  for (const m of messagesOf(window)) {
    switch (m.role) {
      case "system":
        system.push(m.content);
        break;
      case "user":
        push("user", [{ type: "text", text: m.content }]);
        break;
      case "assistant": {
        const blocks: AnthropicContentBlock[] = m.content === "" ? [] : [{ type: "text", text: m.content }];
        for (const c of m.toolCalls ?? []) blocks.push({ type: "tool_use", id: c.id, name: c.name, input: parseArguments(c.arguments) });
        push("assistant", blocks);
        break;
      }
      case "tool":
        push("user", [{ type: "tool_result", tool_use_id: m.toolCallId, content: m.content }]);
        break;
    }
  }
  // Tool results first in their user message, as Anthropic requires after a tool_use turn.
  for (const msg of messages) {
    if (msg.role === "user" && msg.content.some((b) => b.type === "tool_result")) {
      msg.content.sort((a, b) => Number(b.type === "tool_result") - Number(a.type === "tool_result"));
    }
  }
  return { system: system.join("\n\n"), messages };
}

/**
 * The messages for the Vercel AI SDK (`messages` of `generateText` / `streamText`).
 * @example
 * ```ts
 * await generateText({ model, messages: toModelMessages(w) });
 * ```
 */
export function toModelMessages(window: { messages: readonly PromptMessage[] } | readonly PromptMessage[]): AISDKModelMessage[] {
  return messagesOf(window).map((m): AISDKModelMessage => {
    switch (m.role) {
      case "system":
        return { role: "system", content: m.content };
      case "user":
        return { role: "user", content: m.content };
      case "assistant":
        return {
          role: "assistant",
          content: [
            ...(m.content === "" ? [] : [{ type: "text" as const, text: m.content }]),
            ...(m.toolCalls ?? []).map((c) => ({ type: "tool-call" as const, toolCallId: c.id, toolName: c.name, input: parseArguments(c.arguments) })),
          ],
        };
      case "tool":
        return { role: "tool", content: [{ type: "tool-result", toolCallId: m.toolCallId, toolName: m.toolName, output: { type: "text", value: m.content } }] };
    }
  });
}
