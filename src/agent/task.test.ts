import { describe, expect, it } from "vitest";
import { createStore } from "../open.js";
import type { ContextStore } from "./types.js";
import { inMemoryDriver } from "../drivers/in-memory/driver.js";
import { defaultTokenCounter } from "./tokens.js";
import { isSuppressedError } from "./disposal.js";
import { startTask } from "./task.js";
import { withTask } from "./with-task.js";
import { isContextError } from "../errors.js";

const make = () => createStore(inMemoryDriver(), { tokenCounter: defaultTokenCounter });

async function types(store: ContextStore, id: string): Promise<string[]> {
  const page = await store.readEvents(id, { limit: 1000 });
  return page.items.map((e) => e.type);
}

describe("task", () => {
  it("records task_start, updates and task_end with duration and outcome ok", async () => {
    await using store = await make();
    let contextId: string;
    {
      await using task = await startTask(store, { userId: "u1", chatId: "c1", metadata: { lang: "en" } });
      contextId = task.contextId;
      await task.record("message", { role: "user", content: "hi" }, { source: "user" });
    }
    expect(await types(store, contextId)).toEqual(["task_start", "message", "task_end"]);
    const [end] = await store.lastEvents(contextId, 1);
    expect(end!.data).toMatchObject({ outcome: "ok", resources: 0 });
    expect(typeof (end!.data as { durationMs: number }).durationMs).toBe("number");
    const ctx = await store.getContext(contextId);
    expect(ctx).toMatchObject({ userId: "u1", chatId: "c1", kind: "task" });
  });

  it("keeps a file path named __proto__ as an ordinary key of toJSON().file_tracker", async () => {
    await using store = await make();
    await using task = await startTask(store, { userId: "u" });
    await task.trackFile("__proto__", "read");
    const tracker = task.toJSON().file_tracker;
    expect(Object.keys(tracker)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(tracker)).toBe(Object.prototype);
  });

  it("trackModel skips an identical consecutive entry in call order, even when the calls are not awaited one by one", async () => {
    await using store = await make();
    await using task = await startTask(store, { userId: "u" });
    const m = { modelId: "gpt-4o", provider: "openai", inputTokens: 10 };
    const [a, b, c] = await Promise.all([task.trackModel(m), task.trackModel(m), task.trackModel({ ...m, inputTokens: 11 })]);
    expect([a === null, b, c === null]).toEqual([false, null, false]);
    expect(task.models.map((x) => x.inputTokens)).toEqual([10, 11]);
    expect((await store.readEvents(task.contextId, { types: ["model_usage"] })).items).toHaveLength(2);
  });

  it("continues the context of the same user and chat", async () => {
    await using store = await make();
    const a = await startTask(store, { userId: "u1", chatId: "c1" });
    await a.end();
    const b = await startTask(store, { userId: "u1", chatId: "c1" });
    await b.end();
    const other = await startTask(store, { userId: "u2", chatId: "c1" });
    await other.end();
    expect(b.contextId).toBe(a.contextId);
    expect(b.continued).toBe(true);
    expect(other.contextId).not.toBe(a.contextId);
  });

  it("tracks files per path and skips an identical consecutive model entry", async () => {
    await using store = await make();
    await using task = await startTask(store, { userId: "u" });
    await task.trackFile("a.txt", "read", "user");
    await task.trackFile("a.txt", "edit");
    await task.trackFile("b.txt", "delete");
    expect(task.files.get("a.txt")).toMatchObject({ operation: "edit", source: "task", state: "active" });
    expect(task.files.get("b.txt")?.state).toBe("deleted");
    expect(await task.trackModel({ modelId: "gpt-4o", provider: "openai", mode: "chat", inputTokens: 10 })).not.toBeNull();
    expect(await task.trackModel({ modelId: "gpt-4o", provider: "openai", mode: "chat", inputTokens: 10 })).toBeNull();
    expect(await task.trackModel({ modelId: "gpt-4o", provider: "openai", mode: "chat", inputTokens: 11 })).not.toBeNull();
    expect(task.models).toHaveLength(2);
    const json = task.toJSON();
    expect(json.file_tracker["a.txt"]).toMatchObject({ operation: "edit", source: "task", state: "active" });
    expect(json.model_tracker[0]).toMatchObject({ model_id: "gpt-4o", provider_id: "openai", mode: "chat", input_tokens: 10 });
    expect(json.context_history.map((h) => h.update_type)).toEqual([
      "task_start", "file_operation", "file_operation", "file_operation", "model_usage", "model_usage",
    ]);
    expect(typeof json.context_history[0]!.timestamp).toBe("number");
    expect(json.user_id).toBe("u");
    expect(json.chat_id).toBe("none");
  });

  it("releases resources in reverse order, awaits async ones, and surfaces a failure after trying all", async () => {
    await using store = await make();
    const order: string[] = [];
    const task = await startTask(store, { chatId: "r" });
    await task.addResource("fn", () => { order.push("fn"); });
    await task.addResource("failing", { close() { order.push("failing"); throw new Error("close failed"); } });
    await task.addResource("async", {
      async [Symbol.asyncDispose]() {
        await new Promise((r) => setImmediate(r));
        order.push("async");
      },
    });
    await task.addResource("sync", { [Symbol.dispose]() { order.push("sync"); } });
    await expect(task.end()).rejects.toThrow("close failed");
    expect(order).toEqual(["sync", "async", "failing", "fn"]);
    const events = (await store.readEvents(task.contextId, { limit: 100 })).items;
    const error = events.find((e) => e.type === "error");
    expect(error?.data).toMatchObject({ message: "close failed", resource: "failing" });
    expect(events.at(-1)?.data).toMatchObject({ outcome: "ok", releaseFailures: ["failing"] });
    expect(events.filter((e) => e.type === "resource").map((e) => e.metadata["release"])).toEqual([
      "function", "close", "asyncDispose", "dispose",
    ]);
    await expect(task.end()).rejects.toThrow("close failed"); // ending twice is safe
  });

  it("throws an AggregateError when several resources fail", async () => {
    await using store = await make();
    const task = await startTask(store, {});
    await task.addResource("a", () => { throw new Error("a"); });
    await task.addResource("b", () => { throw new Error("b"); });
    const e = await task.end().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AggregateError);
    expect((e as AggregateError).errors.map((x: Error) => x.message)).toEqual(["b", "a"]);
  });

  it("await using surfaces a release failure together with the body's error", async () => {
    await using store = await make();
    let contextId = "";
    const run = async () => {
      await using task = await startTask(store, {});
      contextId = task.contextId;
      await task.addResource("bad", () => { throw new Error("release"); });
      throw new Error("body");
    };
    const e = await run().catch((x: unknown) => x);
    expect(isSuppressedError(e)).toBe(true);
    expect(((e as { error: Error }).error).message).toBe("release");
    expect(((e as { suppressed: Error }).suppressed).message).toBe("body");
    expect((await store.lastEvents(contextId, 1))[0]!.type).toBe("task_end");
  });

  it("withTask records outcome error with message and stack, and rethrows", async () => {
    await using store = await make();
    let id = "";
    await expect(
      withTask(store, { chatId: "w" }, async (task) => {
        id = task.contextId;
        throw new Error("step 2 failed");
      }),
    ).rejects.toThrow("step 2 failed");
    const [end] = await store.lastEvents(id, 1);
    expect(end!.data).toMatchObject({ outcome: "error", error: { message: "step 2 failed" } });
    expect(String((end!.data as { error: { stack: string } }).error.stack)).toContain("step 2 failed");
  });

  it("withTask returns the value and records ok", async () => {
    await using store = await make();
    const value = await withTask(store, {}, async (task) => {
      await task.record("note", "x");
      return 42;
    });
    expect(value).toBe(42);
  });

  it("withTask turns a timeout into ABORTED, outcome aborted, and releases resources", async () => {
    await using store = await make();
    let released = false;
    let id = "";
    let sawAbort = false;
    const e = await withTask(
      store,
      {},
      async (task) => {
        id = task.contextId;
        await task.addResource("conn", async () => { released = true; });
        await new Promise<void>((resolve) => task.signal.addEventListener("abort", () => { sawAbort = true; resolve(); }));
        return "late";
      },
      { timeoutMs: 20 },
    ).catch((x: unknown) => x);
    expect(isContextError(e, "ABORTED")).toBe(true);
    expect(sawAbort).toBe(true);
    expect(released).toBe(true);
    const [end] = await store.lastEvents(id, 1);
    expect(end!.data).toMatchObject({ outcome: "aborted", error: { code: "ABORTED" } });
  });

  it("withTask passes the caller's abort signal on", async () => {
    await using store = await make();
    const controller = new AbortController();
    const e = await withTask(store, {}, async (task) => {
      setImmediate(() => controller.abort(new Error("user cancelled")));
      await new Promise((resolve) => task.signal.addEventListener("abort", resolve));
    }, { signal: controller.signal }).catch((x: unknown) => x);
    expect(isContextError(e, "ABORTED")).toBe(true);
    expect(((e as Error).cause as Error).message).toBe("user cancelled");
  });

  it("refuses records after the task ended", async () => {
    await using store = await make();
    const task = await startTask(store, {});
    await task.end();
    await expect(task.record("message", "late")).rejects.toSatisfy((e: unknown) => isContextError(e, "CLOSED"));
  });

  it("keeps records in call order even without awaiting each", async () => {
    await using store = await make();
    const task = await startTask(store, {});
    await Promise.all(Array.from({ length: 20 }, (_, i) => task.record("n", i)));
    await task.end();
    const data = (await store.readEvents(task.contextId, { types: ["n"], limit: 100 })).items.map((e) => e.data);
    expect(data).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it("loadHistory brings earlier events into toJSON and the trackers", async () => {
    await using store = await make();
    await withTask(store, { userId: "u", chatId: "c" }, async (t) => {
      await t.trackFile("log.json", "write");
      await t.record("message", "first");
    });
    const task = await startTask(store, { userId: "u", chatId: "c", loadHistory: true });
    expect(task.files.get("log.json")?.operation).toBe("write");
    expect(task.toJSON().context_history.map((h) => h.update_type)).toEqual([
      "task_start", "file_operation", "message", "task_end", "task_start",
    ]);
    await task.end();
  });
});
