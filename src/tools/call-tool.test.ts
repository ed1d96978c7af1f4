import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { openStore, type ContextStore } from "../index.js";
import { ContextError } from "../errors.js";
import type { ContextEvent, JsonObject } from "../core/types.js";
import type { Task } from "../agent/task.js";
import { callTool, callTools } from "./call-tool.js";
import { defineTool } from "./define-tool.js";

let store: ContextStore;
let task: Task;
beforeEach(async () => {
  store = await openStore("in-memory:");
  task = await store.startTask({ userId: "u1", chatId: "c1" });
});
afterEach(async () => {
  vi.useRealTimers();
  await task.end().catch(() => undefined);
  await store.close();
});

const events = async (types = ["tool_call", "tool_result", "tool_output"]): Promise<ContextEvent[]> =>
  (await store.readEvents(task.contextId, { types, limit: 1000 })).items;
const data = (e: ContextEvent | undefined) => e?.data as JsonObject;

const weather = defineTool({
  name: "weather",
  description: "Current weather of a city",
  input: z.object({ city: z.string(), days: z.number().int().min(1).optional() }),
  run: ({ city }) => ({ city, sky: "clear" }),
});

describe("callTool", () => {
  it("records tool_call and tool_result with one call id, the outcome, attempts and duration", async () => {
    const r = await callTool(task, weather, { city: "Paris" });
    expect(r).toMatchObject({ ok: true, outcome: "ok", output: { city: "Paris", sky: "clear" }, attempts: 1, cached: false });
    const [call, result] = await events();
    expect(call).toMatchObject({ type: "tool_call", data: { id: r.id, name: "weather", arguments: { city: "Paris" } } });
    expect(result).toMatchObject({ type: "tool_result", data: { toolCallId: r.id, name: "weather", outcome: "ok", attempts: 1, output: { city: "Paris", sky: "clear" } } });
    expect(typeof data(result)["durationMs"]).toBe("number");
    // The window keeps the pair.
    const w = await task.window({ maxTokens: 10_000 });
    expect(w.events.map((e) => e.type)).toEqual(["tool_call", "tool_result"]);
  });

  it("refuses bad input with INVALID_INPUT and the JSON pointer, records it as a failed result and does not run the tool", async () => {
    const run = vi.fn(() => "never");
    const tool = defineTool({ name: "t", description: "", input: z.object({ items: z.array(z.object({ qty: z.number() })) }), run });
    const r = await callTool(task, tool, { items: [{ qty: 1 }, { qty: "two" }] });
    expect(r).toMatchObject({ ok: false, outcome: "error", attempts: 0, error: { code: "INVALID_INPUT", pointer: "/items/1/qty" } });
    expect(run).not.toHaveBeenCalled();
    const [, result] = await events();
    expect(data(result)).toMatchObject({ outcome: "error", error: { code: "INVALID_INPUT", pointer: "/items/1/qty" } });

    const json = defineTool({ name: "j", description: "", input: { type: "object", properties: { n: { type: "integer" } }, required: ["n"] }, run });
    expect((await callTool(task, json, { n: 1.5 })).error).toMatchObject({ code: "INVALID_INPUT", pointer: "/n" });
    expect((await callTool(task, json, {})).error).toMatchObject({ code: "INVALID_INPUT", pointer: "" });
    expect(run).not.toHaveBeenCalled();
  });

  it("records a throwing tool's error and returns it; the task goes on", async () => {
    const tool = defineTool({
      name: "boom",
      description: "",
      input: z.object({}),
      run: () => {
        throw new ContextError("NOT_FOUND", "no such invoice");
      },
    });
    const r = await callTool(task, tool, {});
    expect(r).toMatchObject({ ok: false, outcome: "error", error: { code: "NOT_FOUND", message: "no such invoice" } });
    await task.record("message", { role: "assistant", content: "sorry" });
    await task.end();
    expect(task.outcome).toBe("ok");
  });

  it("times a tool out through its signal, and retries only retryable failures with backoff", async () => {
    vi.useFakeTimers();
    let seen: AbortSignal | undefined;
    const slow = defineTool({
      name: "slow",
      description: "",
      input: z.object({}),
      timeoutMs: 1_000,
      run: (_, { signal }) => {
        seen = signal;
        return new Promise(() => undefined);
      },
    });
    const timing = callTool(task, slow, {});
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await timing).toMatchObject({ ok: false, outcome: "timeout", attempts: 1, error: { code: "ABORTED" } });
    expect(seen?.aborted).toBe(true);

    let calls = 0;
    const flaky = defineTool({
      name: "flaky",
      description: "",
      input: z.object({}),
      retry: { retries: 3, minDelayMs: 100, jitter: false },
      run: () => {
        if (++calls < 3) throw Object.assign(new Error("unavailable"), { status: 503 });
        return "fine";
      },
    });
    const flakyCall = callTool(task, flaky, {});
    await vi.advanceTimersByTimeAsync(300);
    expect(await flakyCall).toMatchObject({ ok: true, attempts: 3, output: "fine" });

    let badCalls = 0;
    const bad = defineTool({
      name: "bad",
      description: "",
      input: z.object({}),
      retry: { retries: 3, minDelayMs: 100 },
      run: () => {
        badCalls++;
        throw Object.assign(new Error("forbidden"), { status: 403 });
      },
    });
    expect(await callTool(task, bad, {})).toMatchObject({ ok: false, attempts: 1, outcome: "error" });
    expect(badCalls).toBe(1);
  });

  it("ends a call aborted by the task's signal with outcome aborted", async () => {
    const hang = defineTool({ name: "hang", description: "", input: z.object({}), run: (_, { signal }) => new Promise((_, reject) => signal.addEventListener("abort", () => reject(new Error("stopped")))) });
    const pending = callTool(task, hang, {});
    await vi.waitFor(async () => expect(await events(["tool_call"])).toHaveLength(1));
    task.abort();
    expect(await pending).toMatchObject({ ok: false, outcome: "aborted", error: { code: "ABORTED" } });
  });

  it("stores an output over maxOutputBytes whole in tool_output and records it truncated with a marker", async () => {
    const big = "é".repeat(300);
    const tool = defineTool({ name: "big", description: "", input: z.object({}), maxOutputBytes: 101, run: () => ({ text: big }) });
    const r = await callTool(task, tool, {});
    expect(r.output).toEqual({ text: big });
    const [, whole, result] = await events();
    expect(whole).toMatchObject({ type: "tool_output", data: { toolCallId: r.id, output: { text: big } } });
    const recorded = data(result);
    expect(recorded["truncated"]).toEqual({ bytes: JSON.stringify({ text: big }).length + 300, keptBytes: 101, outputSeq: whole!.seq });
    expect(recorded["output"]).toMatch(/^\{"text":"é+…\[truncated: 101 of 611 bytes\]$/);
    // The window holds the pair, not the whole output.
    expect((await task.window({ maxTokens: 10_000 })).events.map((e) => e.type)).toEqual(["tool_call", "tool_result"]);
  });

  it("reuses a cacheable tool's result for the same canonical input within the task", async () => {
    let runs = 0;
    const tool = defineTool({ name: "c", description: "", input: z.object({ a: z.number(), b: z.number() }), cacheable: true, run: ({ a, b }) => (runs++, a + b) });
    expect(await callTool(task, tool, { a: 1, b: 2 })).toMatchObject({ output: 3, cached: false });
    expect(await callTool(task, tool, { b: 2, a: 1 })).toMatchObject({ output: 3, cached: true, attempts: 0 });
    expect(await callTool(task, tool, { a: 2, b: 2 })).toMatchObject({ output: 4, cached: false });
    expect(runs).toBe(2);
    const results = (await events(["tool_result"])).map((e) => data(e)["cached"] ?? false);
    expect(results).toEqual([false, true, false]);
    const other = await store.startTask({ userId: "u2" });
    expect(await callTool(other, tool, { a: 1, b: 2 })).toMatchObject({ cached: false });
    await other.end();
  });

  it("records on a context without a task", async () => {
    const ctx = await store.createContext({});
    const r = await callTool({ store, contextId: ctx.id }, weather, { city: "Oslo" });
    expect(r.ok).toBe(true);
    const types = (await store.readEvents(ctx.id)).items.map((e) => e.type);
    expect(types).toEqual(["tool_call", "tool_result"]);
  });
});

describe("callTools", () => {
  it("runs calls in parallel within the limit and records calls, then results, in call order", async () => {
    let running = 0;
    let most = 0;
    const delays = [30, 5, 20, 1];
    const tool = defineTool({
      name: "wait",
      description: "",
      input: z.object({ i: z.number() }),
      run: async ({ i }) => {
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, delays[i]));
        running--;
        return i;
      },
    });
    const results = await callTools(task, delays.map((_, i) => ({ tool, input: { i }, id: `call-${i}` })), { concurrency: 2 });
    expect(results.map((r) => r.output)).toEqual([0, 1, 2, 3]);
    expect(most).toBe(2);
    const recorded = (await events()).map((e) => `${e.type}:${String(data(e)["id"] ?? data(e)["toolCallId"])}`);
    expect(recorded).toEqual([
      "tool_call:call-0",
      "tool_call:call-1",
      "tool_call:call-2",
      "tool_call:call-3",
      "tool_result:call-0",
      "tool_result:call-1",
      "tool_result:call-2",
      "tool_result:call-3",
    ]);
  });
});

describe("defineTool", () => {
  it("refuses bad definitions with INVALID_INPUT", () => {
    const run = () => null;
    expect(() => defineTool({ name: "has space", description: "", input: z.object({}), run })).toThrow(/name/);
    expect(() => defineTool({ name: "s", description: "", input: z.string(), run })).toThrow(/object/);
    expect(() => defineTool({ name: "s", description: "", input: { type: "object", properties: { a: { type: "nope" } } }, run })).toThrow(/JSON Schema/);
    expect(() => defineTool({ name: "s", description: "", input: z.object({}), run, timeout: 5 } as never)).toThrow(/timeout/);
  });
});
