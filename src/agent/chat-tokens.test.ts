import { describe, expect, it } from "vitest";
import { isContextError } from "../errors.js";
import { countChatMessage, countChatMessages, encodingForModel, windowEncoding } from "./chat-tokens.js";
import type { PromptMessage } from "./prompt-types.js";
import { tokenizerFor } from "./tokens.js";

// The example of OpenAI's cookbook "How to count tokens with tiktoken", whose counts the
// cookbook checked against the API's `usage.prompt_tokens`: 129 for gpt-3.5-turbo and gpt-4
// (cl100k_base), 124 for gpt-4o and gpt-4o-mini (o200k_base).
const COOKBOOK: PromptMessage[] = [
  { role: "system", content: "You are a helpful, pattern-following assistant that translates corporate jargon into plain English." },
  { role: "system", name: "example_user", content: "New synergies will help drive top-line growth." },
  { role: "system", name: "example_assistant", content: "Things working well together will increase revenue." },
  { role: "system", name: "example_user", content: "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage." },
  { role: "system", name: "example_assistant", content: "Let's talk later when we're less busy about how to do better." },
  { role: "user", content: "This late pivot means we don't have time to boil the ocean for the client deliverable." },
];

describe("chat tokens", () => {
  it("maps model names to their encodings: gpt-4o/gpt-4.1/gpt-5/o-series → o200k, gpt-4/gpt-3.5 → cl100k", () => {
    for (const m of ["gpt-4o", "gpt-4o-mini", "gpt-4o-2024-08-06", "chatgpt-4o-latest", "gpt-4.1", "gpt-4.1-nano", "gpt-4.5-preview", "gpt-5", "o1", "o1-mini", "o3", "o3-mini", "o4-mini", "openai/gpt-4o"]) {
      expect(encodingForModel(m), m).toBe("o200k_base");
    }
    for (const m of ["gpt-4", "gpt-4-0613", "gpt-4-turbo", "gpt-4-32k", "gpt-3.5-turbo", "gpt-3.5-turbo-16k", "GPT-4"]) expect(encodingForModel(m), m).toBe("cl100k_base");
    expect(windowEncoding("gpt-4", "o200k")).toBe("o200k_base"); // an explicit encoding wins
    expect(windowEncoding(undefined, undefined)).toBe("o200k_base");
  });

  it("refuses a model whose tokenizer it does not know with INVALID_INPUT naming `encoding`", () => {
    for (const m of ["claude-sonnet-4-5", "llama-3-70b", "gpt-40", "o2"]) {
      try {
        encodingForModel(m);
        expect.unreachable(m);
      } catch (e) {
        expect(isContextError(e, "INVALID_INPUT")).toBe(true);
        expect((e as Error).message).toContain("encoding");
      }
    }
  });

  it("reproduces the cookbook's counts, which match the API: 129 tokens in cl100k (gpt-4), 124 in o200k (gpt-4o)", () => {
    expect(countChatMessages(tokenizerFor("cl100k_base"), COOKBOOK)).toBe(129);
    expect(countChatMessages(tokenizerFor("o200k_base"), COOKBOOK)).toBe(124);
  });

  it("counts 3 per message + the role + the content (+ name + 1) + 3 for the reply, by hand", () => {
    const o200k = tokenizerFor("o200k_base");
    // "dog dog dog" is 3 tokens; "user", "assistant", "system" 1 each.
    expect(countChatMessages(o200k, [{ role: "user", content: "dog dog dog" }])).toBe(3 + 1 + 3 + 3);
    expect(countChatMessages(o200k, [])).toBe(3);
    expect(countChatMessage(o200k, { role: "system", content: "dog" })).toBe(3 + 1 + 1);
    // A name: its tokens ("bob" is 1) plus 1.
    expect(countChatMessage(o200k, { role: "user", name: "bob", content: "dog dog" })).toBe(3 + 1 + 2 + 1 + 1);
    expect(countChatMessages(o200k, [{ role: "system", content: "dog" }, { role: "user", content: "dog dog" }, { role: "assistant", content: "dog" }])).toBe(5 + 6 + 5 + 3);
  });

  it("counts every string field of tool calls and tool messages (the cookbook's loop applied to them)", () => {
    const t = tokenizerFor("o200k_base");
    const c = (s: string) => t.countText(s);
    const call: PromptMessage = { role: "assistant", content: "", toolCalls: [{ id: "call_1", name: "weather", arguments: '{"city":"Paris"}' }] };
    expect(countChatMessage(t, call)).toBe(3 + c("assistant") + c("call_1") + c("function") + c("weather") + c('{"city":"Paris"}'));
    const result: PromptMessage = { role: "tool", toolCallId: "call_1", toolName: "weather", content: "dog" };
    expect(countChatMessage(t, result)).toBe(3 + c("tool") + 1 + c("call_1"));
  });
});
