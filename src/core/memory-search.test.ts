import { describe, expect, it } from "vitest";
import { topK } from "./memory-search.js";

describe("topK", () => {
  it("gives what sort + slice gives, ties and all, for large and small inputs", () => {
    let seed = 1;
    const rnd = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    // Few distinct scores, so ties are broken by the second key as the ranking breaks them.
    const compare = (a: { score: number; id: number }, b: { score: number; id: number }) => b.score - a.score || a.id - b.id;
    for (const n of [0, 3, 50, 201, 5000]) {
      const items = Array.from({ length: n }, (_, id) => ({ score: Math.floor(rnd() * 20), id }));
      for (const k of [1, 10, 50]) {
        expect(topK([...items], k, compare)).toEqual([...items].sort(compare).slice(0, k));
      }
    }
  });
});
