/**
 * The three formats, checked against the SDKs' own published types: each output is assigned
 * to the SDK's type below, so `npm run typecheck` (tsconfig includes src/**) fails if a shape
 * drifts. The SDKs are dev dependencies and imported here as types only.
 */
import { describe, expect, it } from "vitest";
import type Anthropic from "@anthropic-ai/sdk";
import type { ModelMessage } from "ai";
import type OpenAI from "openai";
import { createStore } from "../open.js";
import { inMemoryDriver } from "../drivers/in-memory/driver.js";
import { toAnthropicMessages, toModelMessages, toOpenAIMessages } from "./prompt-formats.js";
import type { PromptMessage } from "./prompt-types.js";
import { defaultTokenCounter } from "./tokens.js";

const MESSAGES: PromptMessage[] = [
  { role: "system", content: "Be brief." },
  { role: "user", content: "<contextd-data-abcdef0123456789 kind=\"memory\">\nlikes tea\n</contextd-data-abcdef0123456789>\n" },
  { role: "user", content: "Weather in Paris and Rome?", name: "ada" },
  { role: "assistant", content: "", toolCalls: [{ id: "c1", name: "weather", arguments: '{"city":"Paris"}' }] },
  { role: "tool", toolCallId: "c1", toolName: "weather", content: "sunny" },
  { role: "assistant", content: "Checking Rome too.", toolCalls: [{ id: "c2", name: "weather", arguments: "not json" }] },
  { role: "tool", toolCallId: "c2", toolName: "weather", content: "rain" },
  { role: "assistant", content: "Paris: sunny. Rome: rain." },
];

describe("window formats", () => {
  it("OpenAI chat messages: tool calls as tool_calls, outputs as tool messages", () => {
    const out: OpenAI.ChatCompletionMessageParam[] = toOpenAIMessages(MESSAGES);
    expect(out[0]).toEqual({ role: "system", content: "Be brief." });
    expect(out[2]).toEqual({ role: "user", content: "Weather in Paris and Rome?", name: "ada" });
    expect(out[3]).toEqual({ role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } }] });
    expect(out[4]).toEqual({ role: "tool", content: "sunny", tool_call_id: "c1" });
    expect(out[5]).toMatchObject({ role: "assistant", content: "Checking Rome too." });
    expect(out).toHaveLength(MESSAGES.length);
  });

  it("Anthropic messages: system apart, tool_use and tool_result blocks, roles alternating", () => {
    const { system, messages } = toAnthropicMessages({ messages: MESSAGES });
    const params: Anthropic.MessageCreateParamsNonStreaming = { model: "claude-sonnet-4-5", max_tokens: 100, system, messages };
    const typed: Anthropic.MessageParam[] = messages;
    expect(params.system).toBe("Be brief.");
    expect(typed.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant", "user", "assistant"]);
    expect(messages[0]!.content).toHaveLength(2); // the memory block and the question, merged
    expect(messages[1]!.content).toEqual([{ type: "tool_use", id: "c1", name: "weather", input: { city: "Paris" } }]);
    expect(messages[2]!.content).toEqual([{ type: "tool_result", tool_use_id: "c1", content: "sunny" }]);
    expect(messages[3]!.content).toEqual([{ type: "text", text: "Checking Rome too." }, { type: "tool_use", id: "c2", name: "weather", input: "not json" }]);
  });

  it("Vercel AI SDK ModelMessages: tool-call and tool-result parts", () => {
    const out: ModelMessage[] = toModelMessages(MESSAGES);
    expect(out[3]).toEqual({ role: "assistant", content: [{ type: "tool-call", toolCallId: "c1", toolName: "weather", input: { city: "Paris" } }] });
    expect(out[4]).toEqual({ role: "tool", content: [{ type: "tool-result", toolCallId: "c1", toolName: "weather", output: { type: "text", value: "sunny" } }] });
    expect(out[7]).toEqual({ role: "assistant", content: [{ type: "text", text: "Paris: sunny. Rome: rain." }] });
  });

  it("a real window renders in all three (and its tool pair stays adjacent)", async () => {
    await using store = await createStore(inMemoryDriver(), { tokenCounter: defaultTokenCounter, embedder: null });
    const { id } = await store.createContext();
    await store.append(id, [
      { type: "system", data: "Be brief." },
      { type: "message", data: { role: "user", content: "weather?" } },
      { type: "tool_call", data: { id: "c1", name: "weather", arguments: { city: "Paris" } } },
      { type: "message", data: { role: "user", content: "hurry" } },
      { type: "tool_result", data: { toolCallId: "c1", content: "sunny" } },
    ]);
    const w = await store.context(id).window({ maxTokens: 2000, model: "gpt-4o" });
    const openai: OpenAI.ChatCompletionMessageParam[] = toOpenAIMessages(w);
    expect(openai.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool", "user"]);
    const anthropic: Anthropic.MessageParam[] = toAnthropicMessages(w).messages;
    expect(anthropic.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    const ai: ModelMessage[] = toModelMessages(w);
    expect(ai).toHaveLength(5);
  });
});
