import { describe, expect, it } from "vitest";
import { isContextError } from "../errors.js";
import {
  countTokens,
  createTokenizer,
  defaultTokenCounter,
  eventText,
  loadTokenizer,
  resolveEncoding,
  tokenizerFor,
} from "./tokens.js";

describe("tokens", () => {
  it("counts o200k by default and cl100k when asked", () => {
    expect(countTokens("hello world")).toBe(2);
    expect(countTokens("dog dog dog dog dog")).toBe(5);
    // The two encodings split non-English text differently.
    expect(countTokens("Bonjour, comment ça va? 你好世界")).toBe(9);
    expect(countTokens("Bonjour, comment ça va? 你好世界", "cl100k_base")).toBe(12);
    expect(createTokenizer("cl100k").encoding).toBe("cl100k_base");
  });

  it("counts special-token strings in user text as plain text instead of throwing", () => {
    expect(countTokens("<|endoftext|>")).toBe(7);
  });

  it("renders a message as its content and other events as type: data", () => {
    expect(eventText({ type: "message", data: { role: "user", content: "hi" } })).toBe("hi");
    expect(eventText({ type: "message", data: "plain" })).toBe("plain");
    expect(eventText({ type: "tool_call", data: { name: "w", id: "c1" } })).toBe('tool_call: {"id":"c1","name":"w"}');
    expect(eventText({ type: "custom", data: null })).toBe("custom: null");
  });

  it("defaultTokenCounter counts an event's text in o200k", () => {
    expect(defaultTokenCounter({ type: "message", data: { role: "user", content: "dog dog dog" } })).toBe(3);
    expect(defaultTokenCounter({ type: "tool_call", data: { id: "c1" } })).toBe(tokenizerFor().countText('tool_call: {"id":"c1"}'));
  });

  it("refuses an unknown encoding with INVALID_INPUT naming the allowed ones", () => {
    try {
      resolveEncoding("o300k");
      expect.unreachable();
    } catch (e) {
      expect(isContextError(e, "INVALID_INPUT")).toBe(true);
      expect((e as Error).message).toContain("cl100k_base");
    }
  });

  it("loadTokenizer gives the shared tokenizer of the encoding (on Node the encoding still loads on the first count)", async () => {
    const tokenizer = await loadTokenizer("p50k");
    expect(tokenizer).toBe(tokenizerFor("p50k_base"));
    expect(tokenizer.countText("Bonjour, comment ça va?")).toBe(createTokenizer("p50k_base").countText("Bonjour, comment ça va?"));
    await expect(loadTokenizer("o300k")).rejects.toMatchObject({ code: "INVALID_INPUT" });
  });
});
