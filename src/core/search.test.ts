import { describe, expect, it } from "vitest";
import { parseSearchQuery } from "./search.js";
import { historyText } from "./history-search.js";
import { MAX_WORD_COUNT, compareHits, searchScore, searchTerms, searchWords } from "./words.js";

describe("search words", () => {
  it("takes runs of letters and digits of string values, lowercased, in order of first occurrence", () => {
    expect(searchWords({ Key: "Hello, World!", n: 42, b: true, z: null, list: ["bob@Example.com", { deep: "state-of-the-art" }] })).toEqual([
      "hello", "world", "bob", "example", "com", "state", "of", "the", "art",
    ]);
    expect(searchWords("Grüße aus 東京 ١٢٣")).toEqual(["grüße", "aus", "東京", "١٢٣"]);
    expect(searchWords([1, false, null, {}])).toEqual([]);
  });

  it("normalises to NFC and keeps diacritics", () => {
    expect(searchWords("cafe\u0301 café cafe")).toEqual(["café", "cafe"]);
  });

  it("counts occurrences, at most MAX_WORD_COUNT, and skips words over 100 characters", () => {
    const terms = searchTerms(["a A a", "b", `${"x".repeat(101)} ${"y".repeat(100)}`]);
    expect([...terms]).toEqual([["a", 3], ["b", 1], ["y".repeat(100), 1]]);
    expect(searchTerms("q ".repeat(MAX_WORD_COUNT + 5)).get("q")).toBe(MAX_WORD_COUNT);
    expect(searchScore(terms, ["a", "b"])).toBe(4);
    expect(searchScore(terms, ["a", "c"])).toBe(0);
  });

  it("parses queries into distinct lowercased words", () => {
    expect(parseSearchQuery({ text: "Red red APPLE-pie" })).toEqual({ mode: "text", search: { words: ["red", "apple", "pie"], limit: 20 } });
    expect(parseSearchQuery({ text: "x", limit: 5, types: ["message"], contextId: "c1", minScore: 2 })).toEqual({
      mode: "text",
      search: { words: ["x"], limit: 5, types: ["message"], contextId: "c1" },
      minScore: 2,
    });
  });

  it("parses vector and hybrid queries without the word rules of text mode", () => {
    const text = "w ".repeat(40);
    expect(parseSearchQuery({ text, mode: "vector" })).toEqual({ mode: "vector", search: { text, mode: "vector", limit: 20 } });
    expect(parseSearchQuery({ text: "?!", mode: "hybrid", types: ["message"] })).toEqual({
      mode: "hybrid",
      search: { text: "?!", mode: "hybrid", limit: 20, types: ["message"] },
    });
    expect(() => parseSearchQuery({ text: "   ", mode: "vector" })).toThrow(/text/);
    expect(() => parseSearchQuery({ text: "x", mode: "semantic" })).toThrow(/mode/);
  });

  it("takes the text of an event to embed from a string, a content string, or every string value", () => {
    expect(historyText("plain")).toBe("plain");
    expect(historyText({ role: "user", content: "hello there" })).toBe("hello there");
    expect(historyText({ name: "search", arguments: { query: "weather", days: 3, tags: ["a", "b"] } })).toBe("search\nweather\na\nb");
    expect(historyText(42)).toBe("");
    const long = `${"x".repeat(32_767)}\u{1F600}`;
    expect(historyText(long)).toBe("x".repeat(32_767));
  });

  it("orders hits by score, then newest, then context id, then seq descending", () => {
    const h = (contextId: string, score: number, timestamp: number, seq: number) => ({ contextId, score, event: { timestamp, seq } });
    const hits = [h("b", 1, 5, 1), h("a", 1, 5, 1), h("a", 1, 5, 2), h("a", 2, 0, 1), h("a", 1, 9, 3)];
    expect(hits.sort(compareHits).map((x) => `${x.contextId}${x.event.seq}`)).toEqual(["a1", "a3", "a2", "a1", "b1"]);
  });
});
