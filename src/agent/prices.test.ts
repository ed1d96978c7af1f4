import { describe, expect, it } from "vitest";
import { findPrice, priceCall } from "./prices.js";

describe("prices", () => {
  it("matches an exact id, else the longest prefix", () => {
    expect(findPrice("gpt-4o")?.input).toBe(2.5);
    expect(findPrice("gpt-4o-mini-2024-07-18")?.input).toBe(0.15);
    expect(findPrice("gpt-4o-2024-08-06")?.input).toBe(2.5);
    expect(findPrice("gpt-4oz")).toBeUndefined();
    expect(findPrice("llama-3")).toBeUndefined();
  });

  it("prices input, cached input and output per million tokens", () => {
    expect(priceCall("gpt-4o-mini", { inputTokens: 1_000_000 })).toBeCloseTo(0.15);
    expect(priceCall("gpt-4o", { inputTokens: 1000, cachedTokens: 400, outputTokens: 100 })).toBeCloseTo((600 * 2.5 + 400 * 1.25 + 100 * 10) / 1e6);
    expect(priceCall("mine", { inputTokens: 10 }, { mine: { input: 1, output: 2 } })).toBeCloseTo(10 / 1e6);
    expect(priceCall("unknown", { inputTokens: 10 })).toBeUndefined();
  });

  it("a model id named like an Object.prototype member has no price (not NaN)", () => {
    for (const id of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
      expect(findPrice(id), id).toBeUndefined();
      expect(priceCall(id, { inputTokens: 10 }), id).toBeUndefined();
    }
  });
});
