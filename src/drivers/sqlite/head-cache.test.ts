import { describe, expect, it } from "vitest";
import { HeadCache } from "./head-cache.js";
import type { CommitHead } from "./rows.js";

const head = (version: number, state: string | null = "{}"): CommitHead => [1, 0, version, version, 1, 0, 0, 0, null, state, null, null, null];

describe("HeadCache", () => {
  it("keeps a staged head only once its transaction committed", () => {
    const c = new HeadCache();
    expect(c.get("t", "k", 7)).toBeUndefined();
    c.stage("t", "k", head(2));
    expect(c.has("t", "k")).toBe(false);
    c.committed();
    expect(c.get("t", "k", 7)?.[2]).toBe(2);
    c.stage("t", "k", head(3));
    c.clear(); // the transaction failed
    c.committed();
    expect(c.get("t", "k", 7)).toBeUndefined();
  });

  it("drops every head when another connection committed (data_version changed)", () => {
    const c = new HeadCache();
    c.get("t", "a", 1);
    c.stage("t", "a", head(2));
    c.committed();
    c.stage("t", "b", head(5));
    c.committed();
    expect(c.get("t", "a", 2)).toBeUndefined();
    expect(c.has("t", "b")).toBe(false);
  });

  it("forgets a head staged as unknown, and does not hold large states", () => {
    const c = new HeadCache();
    c.get("t", "a", 1);
    c.stage("t", "a", head(2));
    c.committed();
    c.stage("t", "a", undefined);
    c.committed();
    expect(c.has("t", "a")).toBe(false);
    c.stage("t", "big", head(2, `"${"x".repeat(300_000)}"`));
    c.committed();
    expect(c.has("t", "big")).toBe(false);
  });

  it("keeps the heads of one context id in two tenants apart", () => {
    const c = new HeadCache();
    c.get("t1", "a", 1);
    c.stage("t1", "a", head(2));
    c.committed();
    c.stage("t2", "a", head(9));
    c.committed();
    expect(c.get("t1", "a", 1)?.[2]).toBe(2);
    expect(c.get("t2", "a", 1)?.[2]).toBe(9);
    expect(c.has("t3", "a")).toBe(false);
  });

  it("keeps an append's head without its state, and a state write's head in its place", () => {
    const c = new HeadCache();
    c.get("t", "a", 1);
    c.stage("t", "a", head(2, null));
    c.committed();
    expect(c.get("t", "a", 1)?.[9]).toBeNull();
    c.stage("t", "a", head(3, `"${"x".repeat(200_000)}"`));
    c.committed();
    expect(c.get("t", "a", 1)?.[2]).toBe(3);
    c.stage("t", "a", head(4, null));
    c.committed();
    expect(c.get("t", "a", 1)?.[2]).toBe(4);
  });
});
