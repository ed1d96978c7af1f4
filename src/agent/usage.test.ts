import { describe, expect, it } from "vitest";
import { createStore } from "../open.js";
import { inMemoryDriver } from "../drivers/in-memory/driver.js";
import { usage } from "./usage.js";
import { withTask } from "./with-task.js";

describe("usage", () => {
  it("totals and groups model_usage events, pricing calls without costUsd", async () => {
    await using store = await createStore(inMemoryDriver());
    await withTask(store, { userId: "ada", chatId: "a" }, async (t) => {
      await t.trackModel({ modelId: "gpt-4o-mini", provider: "openai", inputTokens: 1_000_000, outputTokens: 0 });
      await t.trackModel({ modelId: "gpt-4o", provider: "openai", inputTokens: 100, outputTokens: 50, costUsd: 1 });
    });
    await withTask(store, { userId: "bob", chatId: "b" }, async (t) => {
      await t.trackModel({ modelId: "local-llm", provider: "ollama", inputTokens: 10, outputTokens: 5 });
    });
    // An AIECS-shaped entry (snake_case, no tokens) counts as a call too.
    const { id } = await store.createContext({ userId: "ada" });
    await store.append(id, { type: "model_usage", data: { model_id: "gpt-4", provider_id: "openai", mode: "chat", timestamp: 1 } });

    const all = await usage(store);
    expect(all.totals).toMatchObject({ calls: 4, inputTokens: 1_000_110, outputTokens: 55, totalTokens: 1_000_165, unpricedCalls: 1 });
    expect(all.totals.costUsd).toBeCloseTo(0.15 + 1);
    expect(all.groups).toEqual([]);

    const byModel = await usage(store, { groupBy: ["provider", "model"] });
    expect(byModel.groups.map((g) => [g.key.provider, g.key.model, g.calls])).toEqual([
      ["ollama", "local-llm", 1],
      ["openai", "gpt-4", 1],
      ["openai", "gpt-4o", 1],
      ["openai", "gpt-4o-mini", 1],
    ]);
    const ada = await usage(store, { userId: "ada", groupBy: ["user", "day"] });
    expect(ada.totals.calls).toBe(3);
    expect(ada.groups).toHaveLength(1);
    expect(ada.groups[0]!.key.day).toBe(new Date().toISOString().slice(0, 10));
    const custom = await usage(store, { userId: "bob", prices: { "local-llm": { input: 1_000_000, output: 0 } } });
    expect(custom.totals.costUsd).toBeCloseTo(10);
    const future = await usage(store, { from: Date.now() + 60_000 });
    expect(future.totals.calls).toBe(0);
    const other = await usage(store, { tenant: "other" });
    expect(other.totals.calls).toBe(0);
  });
});
