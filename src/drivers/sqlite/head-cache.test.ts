import { describe, expect, it } from "vitest";
import { HeadCache } from "./head-cache.js";
import type { CommitHead } from "./rows.js";

const head = (version: number, state = "{}"): CommitHead => [1, 0, version, version, 1, 0, 0, 0, null, state, null, null, null];

describe("HeadCache", () => {
  it("keeps a staged head only once its transaction committed", () => {
    const c = new HeadCache();
    expect(c.get("k", 7)).toBeUndefined();
    c.stage("k", head(2));
    expect(c.has("k")).toBe(false);
    c.committed();
    expect(c.get("k", 7)?.[2]).toBe(2);
    c.stage("k", head(3));
    c.clear(); // the transaction failed
    c.committed();
    expect(c.get("k", 7)).toBeUndefined();
  });

  it("drops every head when another connection committed (data_version changed)", () => {
    const c = new HeadCache();
    c.get("a", 1);
    c.stage("a", head(2));
    c.committed();
    c.stage("b", head(5));
    c.committed();
    expect(c.get("a", 2)).toBeUndefined();
    expect(c.has("b")).toBe(false);
  });

  it("forgets a head staged as unknown, and does not hold large states", () => {
    const c = new HeadCache();
    c.get("a", 1);
    c.stage("a", head(2));
    c.committed();
    c.stage("a", undefined);
    c.committed();
    expect(c.has("a")).toBe(false);
    c.stage("big", head(2, `"${"x".repeat(300_000)}"`));
    c.committed();
    expect(c.has("big")).toBe(false);
  });
});
