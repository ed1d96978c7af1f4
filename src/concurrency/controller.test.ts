import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { openStore } from "../index.js";
import { ContextError, isContextError } from "../errors.js";
import { createController, type ProgressEvent } from "./controller.js";

// Time is not the subject here except where a test says so: a fake clock drives every wait.
beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A call that resolves when the test says so. */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const flush = () => vi.advanceTimersByTimeAsync(0);

describe("createController", () => {
  it("starts higher priorities first and keeps first-in-first-out within a priority", async () => {
    const c = createController({ concurrency: 1, retry: false });
    const order: string[] = [];
    const gate = deferred();
    const first = c.run(() => gate.promise);
    const runs = (
      [
        ["low-1", 0],
        ["high-1", 5],
        ["low-2", 0],
        ["high-2", 5],
        ["mid", 2],
      ] as const
    ).map(([name, priority]) => c.run(() => void order.push(name), { priority }));
    gate.resolve();
    await Promise.all([first, ...runs]);
    expect(order).toEqual(["high-1", "high-2", "mid", "low-1", "low-2"]);
  });

  it("holds the overall concurrency and each key's own", async () => {
    const c = createController({ concurrency: 3, limits: { a: { concurrency: 1 } }, retry: false });
    let running = 0;
    let most = 0;
    const perKey = new Map<string, number>();
    let mostA = 0;
    const work = (key: string) => async () => {
      running++;
      perKey.set(key, (perKey.get(key) ?? 0) + 1);
      most = Math.max(most, running);
      mostA = Math.max(mostA, perKey.get("a") ?? 0);
      await new Promise((r) => setTimeout(r, 10));
      running--;
      perKey.set(key, perKey.get(key)! - 1);
    };
    const all = [...Array.from({ length: 6 }, () => c.run(work("a"), { key: "a" })), ...Array.from({ length: 6 }, () => c.run(work("b"), { key: "b" }))];
    await vi.advanceTimersByTimeAsync(100);
    await Promise.all(all);
    expect(most).toBe(3);
    expect(mostA).toBe(1);
    expect(c.stats).toEqual({ queued: 0, running: 0, done: 12, failed: 0 });
  });

  it("spreads starts of a key with requestsPerMinute evenly: no window holds more than the limit", async () => {
    const c = createController({ limits: { m: { requestsPerMinute: 6 } }, retry: false });
    const starts: number[] = [];
    const granted: (number | undefined)[] = [];
    const t0 = Date.now();
    const all = Array.from({ length: 13 }, () =>
      c.run(({ grantedAt }) => {
        starts.push(Date.now() - t0);
        granted.push(grantedAt === undefined ? undefined : grantedAt - t0);
      }, { key: "m" }),
    );
    await vi.advanceTimersByTimeAsync(120_000);
    await Promise.all(all);
    // 6 per minute, burst 1: one start every 10 s, the first at once.
    expect(starts).toEqual(Array.from({ length: 13 }, (_, i) => i * 10_000));
    expect(granted).toEqual(starts);
  });

  it("debits estimated tokens before a call and corrects them with the real usage after it", async () => {
    const c = createController({ limits: { m: { tokensPerMinute: 600, burstTokens: 100 } }, retry: false });
    const starts: number[] = [];
    const t0 = Date.now();
    // Estimated 100 each (a full burst), but the first really used 10: the next starts after
    // the 10 are refilled (1 s at 10 tokens/s), not after 100 (10 s).
    await c.run(({ reportTokens }) => {
      starts.push(Date.now() - t0);
      reportTokens(10);
    }, { key: "m", tokens: 100 });
    const second = c.run(() => void starts.push(Date.now() - t0), { key: "m", tokens: 100 });
    const third = c.run(() => void starts.push(Date.now() - t0), { key: "m", tokens: 100 });
    await vi.advanceTimersByTimeAsync(30_000);
    await Promise.all([second, third]);
    expect(starts).toEqual([0, 1_000, 11_000]);
  });

  it("feeds a model call recorded with trackModel into the token correction", async () => {
    vi.useRealTimers();
    const store = await openStore("in-memory:");
    try {
      vi.useFakeTimers({ now: 1_000_000 });
      const task = await store.startTask({ userId: "u" });
      const c = createController({ limits: { m: { tokensPerMinute: 600, burstTokens: 100 } }, retry: false });
      const t0 = Date.now();
      const starts: number[] = [];
      await c.run(async ({ trackModel }) => {
        starts.push(Date.now() - t0);
        await trackModel(task, { modelId: "gpt-4o", provider: "openai", inputTokens: 15, outputTokens: 5 });
      }, { key: "m", tokens: 100 });
      const next = c.run(() => void starts.push(Date.now() - t0), { key: "m", tokens: 100 });
      await vi.advanceTimersByTimeAsync(10_000);
      await next;
      expect(starts).toEqual([0, 2_000]);
      expect(task.models.map((m) => m.inputTokens)).toEqual([15]);
      await task.end();
    } finally {
      vi.useRealTimers();
      await store.close();
    }
  });

  it("retries a retryable failure after the Retry-After it carries, and not a non-retryable one", async () => {
    const c = createController({ retry: { retries: 3, minDelayMs: 10, jitter: false } });
    const times: number[] = [];
    const t0 = Date.now();
    const limited = c.run(({ attempt }) => {
      times.push(Date.now() - t0);
      if (attempt < 3) throw Object.assign(new Error("429"), { status: 429, headers: new Headers({ "retry-after": "5" }) });
      return "ok";
    });
    await vi.advanceTimersByTimeAsync(20_000);
    expect(await limited).toBe("ok");
    expect(times).toEqual([0, 5_000, 10_000]);

    let calls = 0;
    const bad = c.run(() => {
      calls++;
      throw Object.assign(new Error("bad request"), { status: 400 });
    });
    await expect(bad).rejects.toMatchObject({ status: 400 });
    expect(calls).toBe(1);
  });

  it("times an attempt out through its signal, and retries the timeout", async () => {
    const c = createController({ timeoutMs: 1_000, retry: { retries: 1, minDelayMs: 100, jitter: false } });
    const signals: AbortSignal[] = [];
    const call = c.run(({ signal }) => {
      signals.push(signal);
      return new Promise(() => undefined);
    });
    const failed = expect(call).rejects.toSatisfy((e) => isContextError(e, "ABORTED") && e.details["timeout"] === true);
    await vi.advanceTimersByTimeAsync(3_000);
    await failed;
    expect(signals).toHaveLength(2);
    expect(signals.every((s) => s.aborted)).toBe(true);
  });

  it("cancels: a queued call leaves the queue unrun, a running one sees its signal", async () => {
    const c = createController({ concurrency: 1, retry: false });
    const running = new AbortController();
    const queued = new AbortController();
    let sawAbort = false;
    const first = c.run(
      ({ signal }) =>
        new Promise((_, reject) =>
          signal.addEventListener("abort", () => {
            sawAbort = true;
            reject(signal.reason as Error);
          }),
        ),
      { signal: running.signal },
    );
    let secondRan = false;
    const second = c.run(() => void (secondRan = true), { signal: queued.signal });
    await flush();
    queued.abort();
    await expect(second).rejects.toSatisfy((e) => isContextError(e, "ABORTED"));
    running.abort(new Error("stop"));
    await expect(first).rejects.toSatisfy((e) => isContextError(e, "ABORTED"));
    expect(sawAbort).toBe(true);
    expect(secondRan).toBe(false);
    expect(c.stats).toMatchObject({ queued: 0, running: 0, failed: 2 });
  });

  it("reports progress to the hook and the async iterator", async () => {
    const hooked: string[] = [];
    const c = createController({ retry: { retries: 1, minDelayMs: 1, jitter: false }, onProgress: (e) => hooked.push(`${e.id}:${e.type}`) });
    const iterated: ProgressEvent[] = [];
    const reading = (async () => {
      for await (const e of c.progress()) iterated.push(e);
    })();
    let n = 0;
    const retried = c.run(() => {
      if (n++ === 0) throw new ContextError("RATE_LIMITED", "slow down");
    });
    await vi.advanceTimersByTimeAsync(10);
    await retried;
    await expect(c.run(() => Promise.reject(new Error("no")))).rejects.toThrow("no");
    await c.close();
    await reading;
    expect(hooked).toEqual(["1:queued", "1:running", "1:retrying", "1:running", "1:done", "2:queued", "2:running", "2:failed"]);
    expect(iterated.map((e) => `${e.id}:${e.type}`)).toEqual(hooked);
    expect(iterated.at(-1)?.stats).toEqual({ queued: 0, running: 0, done: 1, failed: 1 });
  });

  it("counts and reports calls without retries, synchronous or not, that succeed or fail", async () => {
    const events: string[] = [];
    const c = createController({ retry: false, onProgress: (e) => events.push(`${e.id}:${e.type}`) });
    const boom = new Error("sync");
    await expect(c.run(() => 7)).resolves.toBe(7);
    await expect(c.run(() => Promise.resolve("later"), { priority: 2 })).resolves.toBe("later");
    await expect(
      c.run(() => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    await expect(c.run(() => Promise.reject(new Error("async")))).rejects.toThrow("async");
    await c.drain();
    expect(c.stats).toEqual({ queued: 0, running: 0, done: 2, failed: 2 });
    expect(events).toEqual(["1:queued", "1:running", "1:done", "2:queued", "2:running", "2:done", "3:queued", "3:running", "3:failed", "4:queued", "4:running", "4:failed"]);
  });

  it("pauses and resumes, drains, and closes gracefully", async () => {
    const c = createController({ retry: false });
    c.pause();
    expect(c.paused).toBe(true);
    let ran = 0;
    const calls = [c.run(() => void ran++), c.run(() => void ran++)];
    await flush();
    expect(ran).toBe(0);
    expect(c.stats.queued).toBe(2);
    c.resume();
    await c.drain();
    expect(ran).toBe(2);
    await Promise.all(calls);

    const slow = deferred<string>();
    const pending = c.run(() => slow.promise);
    const closed = c.close();
    await expect(c.run(() => 1)).rejects.toSatisfy((e) => isContextError(e, "CLOSED"));
    slow.resolve("finished");
    await closed;
    expect(await pending).toBe("finished");
    await c.close();
  });

  it("refuses bad options with INVALID_INPUT", () => {
    expect(() => createController({ concurrency: 0 })).toThrow(/concurrency/);
    expect(() => createController({ limits: { m: { requestsPerMinute: -1 } } })).toThrow(/limits\.m\.requestsPerMinute/);
    expect(() => createController({ limits: { m: { rpm: 1 } as never } })).toThrow(/limits\.m\.rpm/);
    const c = createController();
    return Promise.all([
      expect(c.run(() => 1, { priority: Number.NaN })).rejects.toSatisfy((e) => isContextError(e, "INVALID_INPUT")),
      expect(c.run(() => 1, { tokens: -5 })).rejects.toSatisfy((e) => isContextError(e, "INVALID_INPUT")),
      expect(c.run(() => 1, { kee: "x" } as never)).rejects.toThrow(/kee/),
    ]);
  });
});
