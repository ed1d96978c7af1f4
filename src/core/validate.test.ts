import { describe, expect, it } from "vitest";
import { checkEventType, checkId, iso } from "./validate.js";

describe("iso", () => {
  it("gives Date's ISO text for every millisecond of a second, across second and day boundaries", () => {
    const start = Date.UTC(2026, 10, 30, 23, 59, 58, 990);
    for (let ms = start; ms < start + 2100; ms++) expect(iso(ms)).toBe(new Date(ms).toISOString());
  });

  it("matches Date at the edges: before 1970, extended years, fractions and times out of range", () => {
    for (const t of [0, -1, -999, -1000, -1001, 1.5, -1.5, 253402300799999, 253402300800000, -62167219200001, 8.64e15, -8.64e15]) {
      expect(iso(t)).toBe(new Date(t).toISOString());
    }
    for (const t of [Number.NaN, 8.64e15 + 1, Number.POSITIVE_INFINITY]) expect(() => iso(t)).toThrow(RangeError);
  });
});

describe("checkId", () => {
  it("refuses a bad id after a good one was checked (the last valid id is remembered, nothing else)", () => {
    expect(checkId("ctx-1", "id")).toBe("ctx-1");
    expect(checkId("ctx-1", "id")).toBe("ctx-1");
    for (const bad of ["", " ctx-1", "ctx-1/..", "-x", "x".repeat(201), undefined, 1, null]) {
      expect(() => checkId(bad, "id")).toThrow(/id/);
    }
    expect(checkId("0", "id")).toBe("0");
  });
});

describe("checkEventType", () => {
  it("refuses reserved, empty and control-character types after a valid one was checked", () => {
    expect(checkEventType("message", "type")).toBe("message");
    expect(checkEventType("tool_call", "type")).toBe("tool_call");
    for (const bad of ["state", "snapshot", "restore", "", "a\u0000b", "x".repeat(129), 7, null]) {
      expect(() => checkEventType(bad, "type")).toThrow(/type/);
    }
    expect(checkEventType("message", "type")).toBe("message");
  });
});
