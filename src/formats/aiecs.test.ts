import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createStore } from "../open.js";
import { inMemoryDriver } from "../drivers/in-memory/driver.js";
import { importAiecsHistory } from "./aiecs.js";
import { startTask } from "../agent/task.js";
import { optimize } from "../agent/optimize.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "ctxd-aiecs-"));
  dirs.push(d);
  return d;
}

const entry = (ts: number, type: string, data: unknown, metadata: object = {}) => ({ timestamp: ts, update_type: type, data, metadata });

describe("AIECS history import", () => {
  it("imports each file into one context per chat, idempotently, and appends only what the file gained", async () => {
    await using store = await createStore(inMemoryDriver());
    const dir = tmp();
    const history = [
      entry(1700000000.5, "message", "User input: Hello", { source: "user" }),
      entry(1700000001, "model_usage", { model_id: "gpt-4", provider_id: "openai", mode: "chat_completion", timestamp: 1700000001 }),
      entry(1700000002, "file_operation", { path: "conversation_log.json", operation: "write" }, { source: "logging" }),
    ];
    writeFileSync(join(dir, "context_history_chat_xyz.json"), JSON.stringify(history, null, 2));
    writeFileSync(join(dir, "context_history_broken.json"), "[{");
    writeFileSync(join(dir, "context_history_shape.json"), JSON.stringify([{ update_type: "", timestamp: 1 }]));
    writeFileSync(join(dir, "unrelated.json"), "[]");

    const first = await importAiecsHistory(store, dir, { userId: "user_456" });
    expect(first.imported).toMatchObject([{ file: "context_history_chat_xyz.json", chatId: "chat_xyz", events: 3, created: true }]);
    expect(first.failed.map((f) => f.file)).toEqual(["context_history_broken.json", "context_history_shape.json"]);
    expect(first.failed[0]!.error.message).toMatch(/^context_history_broken\.json: not JSON/);
    expect(first.failed[1]!.error.message).toContain("entry 0: update_type");

    const contextId = first.imported[0]!.contextId;
    const events = (await store.readEvents(contextId, { limit: 100 })).items;
    expect(events.map((e) => e.type)).toEqual(["message", "model_usage", "file_operation", "aiecs_import"]);
    expect(events[0]).toMatchObject({ data: "User input: Hello", metadata: { source: "user" }, timestamp: "2023-11-14T22:13:20.500Z" });
    expect(await store.getContext(contextId)).toMatchObject({ chatId: "chat_xyz", userId: "user_456", kind: "chat" });

    const again = await importAiecsHistory(store, [join(dir, "context_history_chat_xyz.json")], { userId: "user_456" });
    expect(again.unchanged).toEqual([{ file: "context_history_chat_xyz.json", chatId: "chat_xyz", contextId }]);
    expect(await store.countEvents(contextId)).toBe(4);

    // AIECS appended to the file: only the new entry is imported.
    history.push(entry(1700000003, "message", "AI reply: Hi!", { source: "ai" }));
    writeFileSync(join(dir, "context_history_chat_xyz.json"), JSON.stringify(history));
    const grown = await importAiecsHistory(store, dir, { userId: "user_456" });
    expect(grown.imported).toMatchObject([{ contextId, events: 1, created: false }]);
    expect(await store.countEvents(contextId)).toBe(6);

    // A rewritten file (e.g. optimize_context) is reported, not imported twice.
    writeFileSync(join(dir, "context_history_chat_xyz.json"), JSON.stringify(history.slice(1)));
    const rewritten = await importAiecsHistory(store, dir, { userId: "user_456" });
    expect(rewritten.failed.map((f) => f.file)).toContain("context_history_chat_xyz.json");
    expect(await store.countEvents(contextId)).toBe(6);

    // A task of the same chat continues the imported context.
    const task = await startTask(store, { userId: "user_456", chatId: "chat_xyz", loadHistory: true });
    expect(task.contextId).toBe(contextId);
    expect(task.files.get("conversation_log.json")?.source).toBe("logging");
    expect(task.models[0]).toMatchObject({ modelId: "gpt-4", provider: "openai", mode: "chat_completion" });
    await task.end();
  });

  it("imports a file larger than one append in chunks, and resumes after an interruption", async () => {
    await using store = await createStore(inMemoryDriver());
    const dir = tmp();
    const entries = Array.from({ length: 12_000 }, (_, i) => entry(1700000000 + i, "message", `m${i}`));
    const file = join(dir, "context_history_big.json");
    writeFileSync(file, JSON.stringify(entries));
    // The first chunk lands, then the store fails: the import reports the file.
    let appends = 0;
    const flaky = new Proxy(store, {
      get(t, prop, receiver) {
        const v: unknown = Reflect.get(t, prop, receiver);
        if (prop === "append") {
          return async (...args: Parameters<typeof store.append>) => {
            if (++appends === 2) throw new Error("connection reset");
            return store.append(...args);
          };
        }
        return typeof v === "function" ? v.bind(t) : v;
      },
    });
    const cut = await importAiecsHistory(flaky, [file]);
    expect(cut.failed.map((f) => f.file)).toEqual(["context_history_big.json"]);
    const again = await importAiecsHistory(store, [file]);
    expect(again.imported).toMatchObject([{ events: 7000, created: false }]);
    const id = again.imported[0]!.contextId;
    expect(await store.countEvents(id, { types: ["message"] })).toBe(12_000);
    const last = await store.lastEvents(id, 1, { types: ["message"] });
    expect(last[0]!.data).toBe("m11999");
    expect((await importAiecsHistory(store, [file])).unchanged).toHaveLength(1);
  });

  it("reports a file whose name does not follow the pattern, by name", async () => {
    await using store = await createStore(inMemoryDriver());
    const dir = tmp();
    writeFileSync(join(dir, "history.json"), "[]");
    const r = await importAiecsHistory(store, [join(dir, "history.json"), join(dir, "context_history_missing.json")]);
    expect(r.failed.map((f) => [f.file, f.error.code])).toEqual([
      ["history.json", "INVALID_INPUT"],
      ["context_history_missing.json", "INVALID_INPUT"],
    ]);
    expect(r.failed[1]!.error.message).toContain("cannot be read");
  });

  it("optimize leaves the import marker out of the view and the budget, as AIECS has none", async () => {
    await using store = await createStore(inMemoryDriver());
    const dir = tmp();
    writeFileSync(join(dir, "context_history_c.json"), JSON.stringify([entry(1, "message", "hello"), entry(2, "message", "x".repeat(100))]));
    const [imported] = (await importAiecsHistory(store, dir)).imported;
    const r = await optimize(store, imported!.contextId, { maxChars: 200 });
    expect(r.events.map((e) => e.data)).toEqual(["hello", "x".repeat(100)]);
    expect(r).toMatchObject({ considered: 2, removed: 0, optimized: false, size: 105 });
  });

  it("a re-import after optimize with compaction appends nothing: the marker survives the compaction", async () => {
    await using store = await createStore(inMemoryDriver());
    const dir = tmp();
    const entries = Array.from({ length: 20 }, (_, i) => entry(1 + i, "message", `message number ${i}`));
    writeFileSync(join(dir, "context_history_c.json"), JSON.stringify(entries));
    const [imported] = (await importAiecsHistory(store, dir)).imported;
    const id = imported!.contextId;
    const r = await optimize(store, id, { maxChars: 100, compact: true });
    expect(r.compacted).toBeDefined();
    const before = await store.countEvents(id);
    const again = await importAiecsHistory(store, dir);
    expect(again.unchanged).toMatchObject([{ file: "context_history_c.json", contextId: id }]);
    expect(again.imported).toEqual([]);
    expect(await store.countEvents(id)).toBe(before);
  });

  it("maps update types the engine reserves to aiecs:<type>, so every entry imports", async () => {
    await using store = await createStore(inMemoryDriver());
    const dir = tmp();
    const types = ["state", "snapshot", "restore", "aiecs_import", "aiecs:state", "message"];
    writeFileSync(join(dir, "context_history_r.json"), JSON.stringify(types.map((t, i) => entry(1 + i, t, `d${i}`))));
    const r = await importAiecsHistory(store, dir);
    expect(r.failed).toEqual([]);
    const events = (await store.readEvents(r.imported[0]!.contextId, { limit: 100 })).items;
    expect(events.map((e) => e.type)).toEqual(["aiecs:state", "aiecs:snapshot", "aiecs:restore", "aiecs:aiecs_import", "aiecs:aiecs:state", "message", "aiecs_import"]);
    expect((await importAiecsHistory(store, dir)).unchanged).toHaveLength(1);
  });

  it("refuses a file that is not UTF-8, by name", async () => {
    await using store = await createStore(inMemoryDriver());
    const dir = tmp();
    writeFileSync(join(dir, "context_history_u.json"), Buffer.concat([Buffer.from('[{"timestamp":1,"update_type":"message","data":"x'), Buffer.from([0xff]), Buffer.from('"}]')]));
    const r = await importAiecsHistory(store, dir);
    expect(r.failed[0]?.error.message).toBe("context_history_u.json: is not valid UTF-8");
  });
});
