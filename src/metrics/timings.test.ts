import { describe, expect, it } from "vitest";
import { LATENCY_BASE, LATENCY_BUCKETS, LATENCY_RATIO, latencyBucket } from "./timings.js";

describe("latencyBucket", () => {
  it("puts bucket i's upper bound in i and just above it in i + 1, the first bucket holding all up to 10 µs and the last all above", () => {
    expect(latencyBucket(0)).toBe(0);
    expect(latencyBucket(LATENCY_BASE)).toBe(0);
    for (let i = 1; i < LATENCY_BUCKETS - 1; i++) {
      const bound = LATENCY_BASE * LATENCY_RATIO ** i;
      expect(latencyBucket(bound)).toBe(i);
      expect(latencyBucket(bound * (1 + 1e-9))).toBe(i + 1);
    }
    expect(latencyBucket(1e9)).toBe(LATENCY_BUCKETS - 1);
  });

  it("agrees with the logarithm it replaces", () => {
    const byLog = (s: number): number => (s <= LATENCY_BASE ? 0 : Math.min(LATENCY_BUCKETS - 1, Math.ceil(Math.log(s / LATENCY_BASE) / Math.log(LATENCY_RATIO))));
    for (let i = 0; i < 10_000; i++) {
      const s = Math.exp(Math.random() * 30 - 18);
      expect(latencyBucket(s)).toBe(byLog(s));
    }
  });
});
