import { describe, expect, it } from "vitest";
import { combineErrors, createSuppressedError, isSuppressedError, releaseAll, toReleaser } from "./disposal.js";

describe("disposal", () => {
  it("builds a SuppressedError with error and suppressed on every Node version", () => {
    const e = createSuppressedError(new Error("release"), new Error("body"));
    expect(e.name).toBe("SuppressedError");
    expect(isSuppressedError(e)).toBe(true);
    expect((e.error as Error).message).toBe("release");
    expect((e.suppressed as Error).message).toBe("body");
  });

  it("prefers asyncDispose, then dispose, then close, then a function", async () => {
    const calls: string[] = [];
    const both = { async [Symbol.asyncDispose]() { calls.push("async"); }, close() { calls.push("close"); } };
    await toReleaser(both)();
    await toReleaser({ [Symbol.dispose]() { calls.push("sync"); }, close() { calls.push("close2"); } })();
    await toReleaser({ close: async () => { calls.push("close"); } })();
    await toReleaser(() => { calls.push("fn"); })();
    expect(calls).toEqual(["async", "sync", "close", "fn"]);
    expect(() => toReleaser({} as never)).toThrow(TypeError);
  });

  it("releases in reverse order and keeps going after a failure", async () => {
    const order: string[] = [];
    const failures = await releaseAll([
      { name: "a", release: async () => { order.push("a"); } },
      { name: "b", release: async () => { order.push("b"); throw new Error("b"); } },
      { name: "c", release: async () => { order.push("c"); } },
    ]);
    expect(order).toEqual(["c", "b", "a"]);
    expect(failures.map((f) => f.name)).toEqual(["b"]);
  });

  it("combines like await using: body error suppressed by the release error", () => {
    const body = new Error("body");
    expect(combineErrors(true, body, [])).toBe(body);
    expect(combineErrors(false, undefined, [])).toBeUndefined();
    const one = new Error("one");
    expect(combineErrors(false, undefined, [{ name: "x", error: one }])).toBe(one);
    const both = combineErrors(true, body, [{ name: "x", error: one }, { name: "y", error: new Error("two") }]);
    expect(isSuppressedError(both)).toBe(true);
    expect((both as { error: unknown }).error).toBeInstanceOf(AggregateError);
    expect((both as { suppressed: unknown }).suppressed).toBe(body);
  });
});
