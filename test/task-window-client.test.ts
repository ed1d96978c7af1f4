/**
 * Task scopes, windows, optimize, usage and export/import are functions over the
 * `ContextStore` interface: the same calls work through the HTTP client against a real server.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { openStore } from "../src/index.js";
import type { ContextStore } from "../src/index.js";
import { createClient } from "../src/client/index.js";
import { serve } from "../src/server/index.js";
import type { RunningServer } from "../src/server/index.js";
import { defaultTokenCounter } from "../src/agent/tokens.js";
import { withTask } from "../src/agent/with-task.js";
import { buildWindow } from "../src/agent/window.js";
import { optimize } from "../src/agent/optimize.js";
import { usage } from "../src/agent/usage.js";
import { exportContexts, importContexts } from "../src/formats/jsonl.js";

let server: RunningServer | undefined;
let client: ContextStore;

beforeAll(async () => {
  server = await serve({ store: await openStore("in-memory:", { tokenCounter: defaultTokenCounter }), port: 0, logger: pino({ level: "silent" }) });
  client = createClient({ url: server.url });
});
afterAll(async () => {
  await client?.close();
  await server?.close();
});

describe("task and window over the HTTP client", () => {
  it("runs a task, fits a window, optimizes, totals usage and round-trips an export", async () => {
    const released: string[] = [];
    const contextId = await withTask(client, { userId: "remote", chatId: "r1" }, async (task) => {
      await task.addResource("conn", () => { released.push("conn"); });
      await task.record("system", "dog dog");
      for (let i = 0; i < 5; i++) await task.record("message", { role: "user", content: `dog dog dog ${i}` });
      await task.record("tool_call", { id: "t1", name: "lookup" });
      await task.record("tool_result", { toolCallId: "t1", content: "dog" });
      await task.trackModel({ modelId: "gpt-4o-mini", provider: "openai", inputTokens: 1_000_000 });
      return task.contextId;
    });
    expect(released).toEqual(["conn"]);
    // The server's store counted tokens at append: "dog dog dog 0" is 5 tokens.
    const w = await buildWindow(client, contextId, { maxTokens: 30, types: ["message", "system", "tool_call", "tool_result"] });
    expect(w.events[0]!.type).toBe("system");
    expect(w.tokens).toBeLessThanOrEqual(30);
    expect(w.events.filter((e) => e.type.startsWith("tool_")).length % 2).toBe(0);
    expect(await client.context(contextId).window({ maxTokens: 30, types: ["message", "system", "tool_call", "tool_result"] })).toEqual(w);
    const o = await optimize(client, contextId, { maxChars: 50 });
    expect(o.size).toBeLessThanOrEqual(50);
    const u = await usage(client, { userId: "remote" });
    expect(u.totals.calls).toBe(1);
    expect(u.totals.costUsd).toBeCloseTo(0.15);

    let dump = "";
    for await (const line of exportContexts(client, { ids: [contextId] })) dump += line;
    const local = await openStore("in-memory:");
    const r = await importContexts(local, dump);
    expect(r.imported).toEqual([contextId]);
    expect(await local.countEvents(contextId)).toBe(await client.countEvents(contextId));
    expect((await importContexts(client, dump)).unchanged).toEqual([contextId]);
    await local.close();
  });
});
