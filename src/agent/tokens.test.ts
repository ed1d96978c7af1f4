import { describe, expect, it } from "vitest";
import { createRequire } from "node:module";
import { isContextError } from "../errors.js";
import {
  countTokens,
  createTokenizer,
  defaultTokenCounter,
  eventText,
  boundedPieces,
  loadTokenizer,
  MAX_RUN_CHARS,
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

  describe("long runs (BPE is quadratic in a pre-token's length: openai/tiktoken#195)", () => {
    const unsplit = (text: string): number =>
      (createRequire(import.meta.url)("gpt-tokenizer/cjs/encoding/o200k_base") as { countTokens(t: string, o: object): number }).countTokens(text, {
        disallowedSpecial: new Set(),
      });

    it("text without runs longer than the limit is one piece, counted exactly as gpt-tokenizer counts it", () => {
      const text = `${"Ordinary prose, code() and a URL https://example.com/a/b?c=1 ".repeat(500)}${"x".repeat(MAX_RUN_CHARS)}`;
      expect(boundedPieces(text)).toEqual([text]);
      expect(countTokens(text)).toBe(unsplit(text));
    });

    it("cuts only inside long runs of letters, whitespace or punctuation, never a surrogate pair, and keeps every character", () => {
      const text = `start ${"a".repeat(200)} mid ${" ".repeat(150)}${"!".repeat(130)}${"😀".repeat(100)}${"\n".repeat(70)} end`;
      const pieces = boundedPieces(text);
      expect(pieces.join("")).toBe(text);
      expect(pieces.length).toBeGreaterThan(5);
      for (const p of pieces) {
        expect(/(.)\1{64}/su.test(p), JSON.stringify(p.slice(0, 20))).toBe(false);
        expect(/^[\udc00-\udfff]|[\ud800-\udbff]$/.test(p)).toBe(false);
      }
    });

    it("counts a megabyte of one letter, of spaces and of newlines piece by piece", () => {
      for (const unit of ["a", " ", "\n"]) {
        const text = unit.repeat(1 << 20);
        const pieces = boundedPieces(text);
        expect(pieces.every((p) => p.length <= MAX_RUN_CHARS)).toBe(true);
        expect(countTokens(text)).toBe(pieces.reduce((n, p) => n + countTokens(p), 0));
      }
    });
  });
});
