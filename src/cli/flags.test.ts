import { describe, expect, it } from "vitest";
import { integerFlag } from "./flags.js";

describe("integerFlag", () => {
  it("reads decimal digits", () => {
    expect(integerFlag("0", "--limit")).toBe(0);
    expect(integerFlag("42", "--limit")).toBe(42);
    expect(integerFlag("007", "--limit")).toBe(7);
    expect(integerFlag("100", "--interval", 100)).toBe(100);
  });

  it.each(["", " ", " 5", "5 ", "-1", "+1", "1.5", "1e3", "0x10", "0b1", "Infinity", "NaN", "1_000", "١٢", "9".repeat(16)])(
    "refuses %j with INVALID_INPUT naming the flag",
    (text) => {
      expect(() => integerFlag(text, "--limit")).toThrow(expect.objectContaining({ code: "INVALID_INPUT", message: expect.stringContaining("--limit") }));
    },
  );

  it("refuses a number below the minimum", () => {
    expect(() => integerFlag("99", "--interval", 100)).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
    expect(() => integerFlag("0", "--limit", 1)).toThrow(/at least 1/);
  });
});
