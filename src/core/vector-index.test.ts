import { describe, expect, it } from "vitest";
import { codeDistances, EXACT_MAX, VectorIndex } from "./vector-index.js";
import { prng as random } from "../../test/helpers/prng.js";

function unit(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  const inv = 1 / Math.sqrt(n);
  return v.map((x) => x * inv);
}

/**
 * Vectors shaped like a text model's: a large component shared by all, topic directions, and
 * noise — the case the centring of the codes exists for.
 */
function textLike(count: number, dims: number, seed: number, noise = 0.8): Float32Array[] {
  const rnd = random(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
  const common = Float32Array.from({ length: dims }, () => gauss());
  const topics = Array.from({ length: 500 }, () => Float32Array.from({ length: dims }, () => gauss()));
  return Array.from({ length: count }, () => {
    const a = topics[Math.floor(rnd() * topics.length)] as Float32Array;
    const b = topics[Math.floor(rnd() * topics.length)] as Float32Array;
    return unit(Float32Array.from({ length: dims }, (_, i) => 2 * (common[i] as number) + (a[i] as number) + 0.5 * (b[i] as number) + noise * gauss()));
  });
}

function exact(vectors: (Float32Array | undefined)[], q: Float32Array, k: number, accept: (slot: number) => boolean = () => true) {
  const out: { slot: number; similarity: number }[] = [];
  vectors.forEach((v, slot) => {
    if (v === undefined || !accept(slot)) return;
    let s = 0;
    for (let i = 0; i < v.length; i++) s += (v[i] as number) * (q[i] as number);
    out.push({ slot, similarity: s });
  });
  out.sort((a, b) => b.similarity - a.similarity || a.slot - b.slot);
  return out.slice(0, k);
}

describe("VectorIndex", () => {
  it("is exact up to EXACT_MAX accepted vectors, after replacements and removals", () => {
    const vs: (Float32Array | undefined)[] = textLike(EXACT_MAX + 300, 32, 1);
    const index = new VectorIndex(32);
    vs.forEach((v, slot) => index.add(slot, v as Float32Array));
    const fresh = textLike(100, 32, 2);
    for (let i = 0; i < 100; i++) {
      vs[i * 7] = fresh[i];
      index.add(i * 7, fresh[i] as Float32Array);
    }
    for (let i = 0; i < 400; i++) {
      vs[i * 5 + 1] = undefined;
      index.remove(i * 5 + 1);
    }
    expect(index.size).toBe(vs.filter((v) => v !== undefined).length);
    expect(index.size).toBeLessThanOrEqual(EXACT_MAX);
    for (const q of textLike(20, 32, 3)) {
      const got = index.search(q, 10);
      const want = exact(vs, q, 10);
      expect(got.map((h) => h.slot)).toEqual(want.map((h) => h.slot));
      got.forEach((h, i) => expect(h.similarity).toBeCloseTo(want[i]?.similarity as number, 5));
    }
  });

  it("finds at least 95% of the exact top 10 among 20,000 vectors, and only accepted slots", () => {
    const vs = textLike(20_000, 128, 4, 0.3);
    const index = new VectorIndex(128);
    vs.forEach((v, slot) => index.add(slot, v));
    const accept = (slot: number) => slot % 3 !== 0;
    let found = 0;
    // Queries near stored memories, as a question is near the memories that answer it.
    const noise = textLike(50, 128, 5, 0.3);
    const queries = noise.map((n, i) => unit((vs[i * 397] as Float32Array).map((x, j) => x + 0.3 * (n[j] as number))));
    for (const q of queries) {
      const got = index.search(q, 10, accept);
      expect(got).toHaveLength(10);
      for (const h of got) expect(accept(h.slot)).toBe(true);
      const want = new Set(exact(vs, q, 10, accept).map((h) => h.slot));
      found += got.filter((h) => want.has(h.slot)).length;
    }
    expect(found / (queries.length * 10)).toBeGreaterThanOrEqual(0.95);
  });

  it("counts the differing bits of codes of 1 to 17 words, at any accepted slots", () => {
    const rnd = random(6);
    const word = () => (rnd() < 0.1 ? [0, 0xffffffff, 0x80000000, 1][Math.floor(rnd() * 4)] : Math.floor(rnd() * 2 ** 32)) as number;
    const bits = (x: number) => x.toString(2).replaceAll("0", "").length;
    for (let w = 1; w <= 17; w++) {
      const codes = Uint32Array.from({ length: 50 * w }, word);
      const q = Uint32Array.from({ length: w }, word);
      const accepted = Int32Array.from({ length: 30 }, () => Math.floor(rnd() * 50));
      const want = Array.from(accepted, (slot) => {
        let h = 0;
        for (let j = 0; j < w; j++) h += bits(((codes[slot * w + j] as number) ^ (q[j] as number)) >>> 0);
        return h;
      });
      expect(Array.from(codeDistances(codes, q, accepted))).toEqual(want);
    }
  });

  it("normalises what it stores and refuses a wrong dimension, NaN and the zero vector", () => {
    const index = new VectorIndex(3);
    index.add(0, [3, 0, 4]);
    expect(index.similarity(Float32Array.from([0.6, 0, 0.8]), 0)).toBeCloseTo(1, 6);
    expect(() => index.add(1, [1, 2])).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
    expect(() => index.add(1, [1, Number.NaN, 0])).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
    expect(() => index.add(1, [0, 0, 0])).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
    expect(index.size).toBe(1);
    expect(index.has(1)).toBe(false);
  });
});
