/**
 * The scenarios of the AIECS TaskContext documentation, ported to contextd task scopes:
 * document processing, a data pipeline that fails midway, a chatbot continued after a
 * restart (the SQLite file reopened), a monitoring loop that optimizes every 5 checks, and
 * batch processing.
 */
import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "../src/open.js";
import { createStore } from "../src/open.js";
import type { ContextStore } from "../src/agent/types.js";
import { inMemoryDriver } from "../src/drivers/in-memory/driver.js";
import { defaultTokenCounter } from "../src/agent/tokens.js";
import { startTask } from "../src/agent/task.js";
import { withTask } from "../src/agent/with-task.js";
import { optimize } from "../src/agent/optimize.js";
import { isSuppressedError } from "../src/agent/disposal.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function dbPath(): string {
  const d = mkdtempSync(join(tmpdir(), "ctxd-aiecs-scn-"));
  dirs.push(d);
  return join(d, "tasks.db");
}
const memory = () => createStore(inMemoryDriver(), { tokenCounter: defaultTokenCounter });

async function history(store: ContextStore, id: string) {
  const out = [];
  let cursor: string | undefined;
  do {
    const page = await store.readEvents(id, { limit: 1000, cursor });
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return out;
}

describe("AIECS TaskContext scenarios", () => {
  it("document processing: history, trackers, an async file resource released, optimize", async () => {
    await using store = await openStore(`sqlite:${dbPath()}`, { tokenCounter: defaultTokenCounter });
    const log: string[] = [];
    const json = await withTask(
      store,
      {
        userId: "doc_processor_001",
        chatId: "doc_session_abc123",
        metadata: { document_type: "pdf", language: "zh-CN", processing_mode: "batch" },
      },
      async (task) => {
        await task.record("message", "Starting document processing", { source: "system" });
        await task.trackFile("input.pdf", "read", "user");
        await task.trackModel({ modelId: "gpt-4", provider: "openai", mode: "text_extraction", inputTokens: 1200, outputTokens: 300 });
        await task.addResource("pdf_file", {
          async close() {
            await new Promise((r) => setImmediate(r));
            log.push("pdf closed");
          },
        });
        await task.record("message", "Extracted 12 pages", { source: "system" });
        const optimized = await task.optimize({ maxChars: 2000 });
        expect(optimized.optimized).toBe(false); // nothing duplicated, all fits
        return task.toJSON();
      },
    );
    expect(log).toEqual(["pdf closed"]);
    expect(json.user_id).toBe("doc_processor_001");
    expect(json.metadata).toEqual({ document_type: "pdf", language: "zh-CN", processing_mode: "batch" });
    expect(json.file_tracker["input.pdf"]).toMatchObject({ operation: "read", source: "user", state: "active" });
    expect(json.model_tracker).toMatchObject([{ model_id: "gpt-4", provider_id: "openai", mode: "text_extraction" }]);
    expect(json.resources).toEqual(["pdf_file"]);
    expect(json.context_history.map((h) => h.update_type)).toEqual([
      "task_start", "message", "file_operation", "model_usage", "resource", "message",
    ]);
    const [ctx] = (await store.listContexts({ chatId: "doc_session_abc123" })).items;
    const types = (await history(store, ctx!.id)).map((e) => e.type);
    expect(types.at(-1)).toBe("task_end");
  });

  it("multi-step pipeline failing midway: error recorded, outcome error, every resource released in reverse", async () => {
    await using store = await memory();
    const released: string[] = [];
    let contextId = "";
    const failure = await withTask(
      store,
      { userId: "analyst_001", chatId: "analysis_session_001", metadata: { pipeline_type: "sales_analysis" } },
      async (task) => {
        contextId = task.contextId;
        await task.addResource("db_connection", { close: () => { released.push("db_connection"); } });
        await task.record("message", "Starting data loading", { step: "data_loading" });
        await task.trackFile("sales_data.csv", "read", "pandas");
        await task.addResource("temp_dir", async () => {
          released.push("temp_dir");
          throw new Error("temp dir busy");
        });
        await task.record("message", "Starting data cleaning", { step: "data_cleaning" });
        await task.trackModel({ modelId: "pandas", provider: "python", mode: "data_processing" });
        await task.addResource("spark", { async [Symbol.asyncDispose]() { await Promise.resolve(); released.push("spark"); } });
        await task.record("message", "Starting data analysis", { step: "analysis" });
        throw new Error("division by zero in step 3");
      },
    ).catch((e: unknown) => e);

    // The body's error and the failed release both reach the caller.
    expect(isSuppressedError(failure)).toBe(true);
    expect(((failure as { error: Error }).error).message).toBe("temp dir busy");
    expect(((failure as { suppressed: Error }).suppressed).message).toBe("division by zero in step 3");
    expect(released).toEqual(["spark", "temp_dir", "db_connection"]);

    const events = await history(store, contextId);
    expect(events.map((e) => e.type)).toEqual([
      "task_start", "resource", "message", "file_operation", "resource", "message", "model_usage", "resource", "message",
      "error", "task_end",
    ]);
    expect(events.at(-2)!.data).toMatchObject({ message: "temp dir busy", resource: "temp_dir" });
    expect(events.at(-1)!.data).toMatchObject({
      outcome: "error",
      error: { message: "division by zero in step 3" },
      releaseFailures: ["temp_dir"],
      resources: 3,
    });
  });

  it("chatbot session continued after a restart: the reopened SQLite file has the history", async () => {
    const path = dbPath();
    const who = { userId: "user_456", chatId: "chat_session_xyz789", metadata: { bot_type: "customer_service", language: "en" } };
    let firstContext: string;
    {
      await using store = await openStore(`sqlite:${path}`, { tokenCounter: defaultTokenCounter });
      await using task = await startTask(store, who);
      firstContext = task.contextId;
      await task.record("message", { role: "user", content: "Hello" }, { source: "user" });
      await task.trackModel({ modelId: "gpt-4", provider: "openai", mode: "chat_completion" });
      await task.record("message", { role: "assistant", content: "Hi! How can I help you?" }, { source: "ai" });
      await task.trackFile("conversation_log.json", "write", "logging");
    } // task ends, then the store closes: the process "restarts"
    {
      await using store = await openStore(`sqlite:${path}`, { tokenCounter: defaultTokenCounter });
      await using task = await startTask(store, { ...who, loadHistory: true });
      expect(task.contextId).toBe(firstContext);
      expect(task.continued).toBe(true);
      expect(task.files.get("conversation_log.json")).toMatchObject({ operation: "write", source: "logging" });
      expect(task.models.map((m) => m.modelId)).toEqual(["gpt-4"]);
      await task.record("message", { role: "user", content: "Where is my order?" }, { source: "user" });
      const window = await task.window({ maxTokens: 1000, types: ["message"] });
      expect(window.events.map((e) => (e.data as { content: string }).content)).toEqual([
        "Hello", "Hi! How can I help you?", "Where is my order?",
      ]);
      // Stored o200k counts: "Hello" 1, "Hi! How can I help you?" 8, "Where is my order?" 5, plus 4 per message.
      expect(window.tokens).toBe(1 + 8 + 5 + 3 * 4);
      expect(task.toJSON().context_history.map((h) => h.update_type)).toEqual([
        "task_start", "message", "model_usage", "message", "file_operation", "task_end", "task_start", "message",
      ]);
    }
  });

  it("monitoring loop optimizing every 5 checks keeps the newest within the budget", async () => {
    await using store = await memory();
    const reports: { optimized: boolean; kept: number; size: number }[] = [];
    const json = await withTask(
      store,
      { userId: "monitor_001", chatId: "monitoring_session", metadata: { monitoring_type: "system_health", alert_threshold: 0.8 } },
      async (task) => {
        await task.record("message", "Starting system monitoring", { source: "monitor" });
        for (let i = 0; i < 10; i++) {
          await task.record("monitoring", `Check #${i + 1}`, { check: i + 1 });
          // The same model entry each time: recorded once (AIECS dedupe of consecutive entries).
          await task.trackModel({ modelId: "system_monitor", provider: "internal", mode: "health_check" });
          await task.trackFile(`monitor_log_${i}.txt`, "write", "logging");
          if ((i + 1) % 5 === 0) {
            const r = await task.optimize({ maxChars: 200 });
            reports.push({ optimized: r.optimized, kept: r.events.length, size: r.size });
            expect(r.size).toBeLessThanOrEqual(200);
            // The newest check is always in the view.
            expect(r.events.some((e) => e.data === `Check #${i + 1}`)).toBe(true);
          }
        }
        return task.toJSON();
      },
    );
    expect(json.model_tracker).toHaveLength(1);
    expect(Object.keys(json.file_tracker)).toHaveLength(10);
    expect(reports).toHaveLength(2);
    expect(reports[1]!.optimized).toBe(true);
    // optimize returns a view: the durable history keeps every check.
    const [ctx] = (await store.listContexts({ chatId: "monitoring_session" })).items;
    expect((await history(store, ctx!.id)).filter((e) => e.type === "monitoring")).toHaveLength(10);
  });

  it("batch processing: five batches, files per batch, periodic optimize with compaction", async () => {
    await using store = await memory();
    let contextId = "";
    await withTask(
      store,
      { userId: "batch_processor_001", chatId: "batch_session_001", metadata: { batch_size: 1000, processing_mode: "parallel" } },
      async (task) => {
        contextId = task.contextId;
        await task.record("message", "Starting batch processing task", { batch_id: "batch_001" });
        for (let n = 0; n < 5; n++) {
          const id = `batch_${n + 1}`;
          await task.record("batch", `Processing batch ${id}`, { batch_id: id });
          await task.trackFile(`input_${id}.csv`, "read", "batch_processor");
          await task.trackFile(`output_${id}.json`, "write", "batch_processor");
          await task.trackModel({ modelId: "batch_processor", provider: "internal", mode: "data_processing", inputTokens: 100 * (n + 1) });
          if ((n + 1) % 2 === 0) await task.optimize({ maxChars: 2000 });
        }
        expect(task.files.size).toBe(10);
        expect(task.models).toHaveLength(5);
        // Make the optimized view durable: duplicates gone, history compacted behind a snapshot.
        await task.record("batch", "Processing batch batch_5", { batch_id: "batch_5" });
        const r = await task.optimize({ maxChars: 2000, compact: true });
        expect(r.duplicates).toBe(1);
        expect(r.compacted?.removedEvents).toBeGreaterThan(0);
      },
    );
    const events = await history(store, contextId);
    expect(events[0]!.type).toBe("snapshot");
    expect(events.filter((e) => e.data === "Processing batch batch_5")).toHaveLength(1);
    expect(events.at(-1)!.type).toBe("task_end");
    const again = await optimize(store, contextId, { maxChars: 100_000 });
    expect(again.duplicates).toBe(0);
  });
});
