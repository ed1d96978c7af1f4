import { describe, expect, it } from "vitest";
import { createStore } from "../open.js";
import { inMemoryDriver } from "../drivers/in-memory/driver.js";
import { hashingEmbedder } from "../embeddings/hashing.js";
import type { EventInput, EventQuery } from "../core/types.js";
import { isContextError } from "../errors.js";
import { countChatMessages } from "./chat-tokens.js";
import { assembleWindow } from "./prompt-window.js";
import type { PromptWindow, WindowSectionReport } from "./prompt-types.js";
import { defaultTokenCounter, tokenizerFor } from "./tokens.js";

const dogs = (n: number) => Array(n).fill("dog").join(" ");
const user = (content: string): EventInput => ({ type: "message", data: { role: "user", content } });
const assistant = (content: string): EventInput => ({ type: "message", data: { role: "assistant", content } });
const open = () => createStore(inMemoryDriver(), { tokenCounter: defaultTokenCounter, embedder: hashingEmbedder() });
const section = (w: PromptWindow, name: string): WindowSectionReport => w.sections.find((s) => s.name === name)!;
const recount = (w: PromptWindow) => countChatMessages(tokenizerFor(w.encoding), w.messages);

describe("sectioned window", () => {
  it("assembles instructions, working memory, memories, recall, recent turns in that order, and its total is the provider's count", async () => {
    await using store = await open();
    const { id } = await store.createContext({ userId: "ada" });
    await store.append(id, [{ type: "system", data: "Answer briefly." }, user("My cat is called Miso and she likes tuna."), assistant("Noted!")]);
    for (let i = 0; i < 40; i++) await store.append(id, [user(`filler question ${i} about ${dogs(5)}`), assistant(`filler answer ${i}`)]);
    await store.append(id, user("What does my cat Miso like to eat?"));
    await store.addMemories([{ scope: { userId: "ada" }, text: "Ada's cat Miso is allergic to chicken." }, { scope: { userId: "ada" }, text: "Ada lives in Lyon." }]);
    const w = await store.context(id).window({
      maxTokens: 800,
      model: "gpt-4o",
      instructions: "You are Ada's assistant.",
      sections: { workingMemory: { blocks: [{ label: "human", description: "facts about the user", value: "Name: Ada" }] }, recall: { limit: 1, range: 1 }, summary: { max: 150 }, memories: { max: 200 } },
    });
    expect(w.encoding).toBe("o200k_base");
    expect(w.query).toBe("What does my cat Miso like to eat?");
    expect(w.tokens).toBe(recount(w));
    expect(w.tokens).toBeLessThanOrEqual(w.budget);
    expect(w.sections.map((s) => s.name)).toEqual(["pinned", "workingMemory", "memories", "recall", "recent", "toolOutputs", "summary"]);
    // Per-section tokens add up to the total (with the reply priming).
    expect(w.sections.reduce((n, s) => n + s.tokens, 3)).toBe(w.tokens);
    const [system, wm, mem, recall] = w.messages;
    expect(system).toMatchObject({ role: "system" });
    expect(system!.content.startsWith("You are Ada's assistant.\n\nAnswer briefly.\n\n")).toBe(true);
    expect(wm!.content).toContain('kind="working-memory" label="human" description="facts about the user"');
    expect(mem!.content).toContain("Miso is allergic to chicken");
    expect(section(w, "memories").included.length).toBeGreaterThan(0);
    // Recall found the old message about Miso with its neighbour, far before the recent turns.
    expect(recall!.content).toContain('kind="history"');
    expect(recall!.content).toContain("[2] user: My cat is called Miso and she likes tuna.");
    expect(recall!.content).toContain("[3] assistant: Noted!");
    expect(w.messages[w.messages.length - 1]).toEqual({ role: "user", content: "What does my cat Miso like to eat?" });
    const recent = section(w, "recent");
    expect(recent.included.length).toBeGreaterThan(3);
    expect(recent.dropped.length).toBeGreaterThan(0);
    // Nothing is both recalled and recent.
    const recentSeqs = new Set(recent.included.map((r) => Number(r.slice(4))));
    for (const ref of section(w, "recall").included) {
      const [from, to] = ref.slice(4).split("-").map(Number);
      for (let s = from!; s <= to!; s++) expect(recentSeqs.has(s)).toBe(false);
    }
    // The summary of the dropped part is there, as data.
    expect(section(w, "summary").included).toHaveLength(1);
    expect(w.messages.filter((m) => m.role === "system")).toHaveLength(1);
  });

  it("recall never repeats what the recent section holds: a hit among the recent turns is not recalled", async () => {
    await using store = await open();
    const { id } = await store.createContext();
    await store.append(id, [user("the password hint is blue giraffe"), assistant("ok"), user("tell me the blue giraffe hint")]);
    const w = await assembleWindow(store, id, { maxTokens: 2000, sections: { recall: { mode: "text" } }, query: "blue giraffe" });
    expect(section(w, "recent").included).toEqual(["seq:1", "seq:2", "seq:3"]);
    expect(section(w, "recall").included).toEqual([]);
    expect(w.messages.some((m) => m.content.includes('kind="history"'))).toBe(false);
  });

  it("priority, min and max share the budget: a capped section stops at its max, a higher priority fills first, a min is held", async () => {
    await using store = await open();
    const { id } = await store.createContext({ userId: "u" });
    for (let i = 0; i < 60; i++) await store.append(id, [user(`turtle talk ${i} ${dogs(10)}`), assistant(`turtle reply ${i}`)]);
    await store.addMemories(Array.from({ length: 20 }, (_, i) => ({ scope: { userId: "u" }, text: `turtle fact ${i}: ${dogs(15)}` })));
    const base = { maxTokens: 1000, model: "gpt-4o", query: "turtle fact", nonce: "fixednonce1" } as const;
    const capped = await assembleWindow(store, id, { ...base, sections: { recall: false, summary: false, memories: { limit: 20, max: 120 } } });
    expect(section(capped, "memories").tokens).toBeLessThanOrEqual(120);
    expect(section(capped, "memories").dropped.length).toBeGreaterThan(0);
    // Memories above recent in priority and uncapped: they take what they need first.
    const greedy = await assembleWindow(store, id, { ...base, sections: { recall: false, summary: false, recent: { min: 0 }, memories: { limit: 20, max: 1000, priority: 99 } } });
    expect(section(greedy, "memories").included.length).toBeGreaterThan(section(capped, "memories").included.length + 5);
    expect(section(greedy, "memories").tokens).toBeGreaterThan(600);
    // Recent above memories in priority: the conversation fills the budget, memories get only their min.
    const held = await assembleWindow(store, id, { ...base, sections: { recall: false, summary: false, recent: { priority: 99, min: 0 }, memories: { limit: 20, max: 1000, min: 200 } } });
    expect(section(held, "memories").tokens).toBeGreaterThan(150);
    expect(section(held, "memories").tokens).toBeLessThanOrEqual(200);
    for (const w of [capped, greedy, held]) {
      expect(w.tokens).toBe(recount(w));
      expect(w.tokens).toBeLessThanOrEqual(1000);
    }
  });

  it("keeps a tool call with its result, cuts an output over the cap with a visible marker, and drops a call without a result", async () => {
    await using store = await open();
    const { id } = await store.createContext();
    await store.append(id, [
      user("weather?"),
      { type: "tool_call", data: { id: "c1", name: "weather", arguments: { city: "Paris" } } },
      { type: "tool_result", data: { toolCallId: "c1", content: dogs(500) } },
      assistant("Sunny."),
      { type: "tool_call", data: { id: "c2", name: "pending", arguments: {} } },
    ]);
    const w = await assembleWindow(store, id, { maxTokens: 4000, model: "gpt-4.1", sections: { toolOutputs: { maxTokensPerItem: 50 }, recall: false, memories: false } });
    expect(w.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool", "assistant"]);
    const call = w.messages[2]!;
    expect(call).toMatchObject({ role: "assistant", toolCalls: [{ id: "c1", name: "weather", arguments: '{"city":"Paris"}' }] });
    const tool = w.messages[3]!;
    expect(tool).toMatchObject({ role: "tool", toolCallId: "c1", toolName: "weather" });
    expect(tool.content).toContain("[… tool output truncated by contextd: 1800 of 1999 characters not shown]");
    expect(tool.content.split("dog").length - 1).toBe(50);
    expect(section(w, "toolOutputs").included).toEqual(["seq:3"]);
    expect(section(w, "recent").dropped).toEqual(["seq:5"]);
    expect(w.tokens).toBe(recount(w));
  });

  it("loads working memory from an injected loader, from the store's listBlocks when it has one, with the context's scopes by default", async () => {
    await using store = await open();
    const { id } = await store.createContext({ userId: "u1", agentId: "a1" });
    await store.append(id, user("hi"));
    const asked: unknown[] = [];
    const w = await assembleWindow(store, id, {
      maxTokens: 2000,
      sections: { workingMemory: { load: async (scopes) => (asked.push(...scopes), [{ label: "persona", value: { tone: "dry" }, limit: { chars: 100 } }]) }, recall: false, memories: false },
    });
    expect(asked).toEqual([{ contextId: id }, { userId: "u1" }, { agentId: "a1" }]);
    expect(w.messages[1]!.content).toContain('kind="working-memory" label="persona" limit="14/100 chars">\n{"tone":"dry"}\n');
    expect(section(w, "workingMemory").included).toEqual(["block:persona"]);
    // Without a loader, the store's own blocks: the context's, then its user's and agent's.
    await store.putBlock({ userId: "u1" }, { label: "human", value: "likes tea", limit: { chars: 200 } });
    await store.putBlock({ agentId: "a1" }, { label: "persona", value: "dry wit", limit: { chars: 200 } });
    await store.putBlock({ userId: "u2" }, { label: "other", value: "not this user", limit: { chars: 200 } });
    const v = await assembleWindow(store, id, { maxTokens: 2000, sections: { recall: false, memories: false } });
    expect(section(v, "workingMemory").included).toEqual(["block:human", "block:persona"]);
    expect(v.messages[1]!.content).toContain("likes tea");
    expect(v.messages[1]!.content).not.toContain("not this user");
    // A block edited since is read as it is now.
    await store.editBlock({ userId: "u1" }, "human", { op: "append", text: " and trains" });
    const w2 = await assembleWindow(store, id, { maxTokens: 2000, sections: { recall: false, memories: false } });
    expect(w2.messages[1]!.content).toContain("likes tea and trains");
  });

  it("reads a budget's worth of history, not the history: the same reads for 300 and 3000 events", async () => {
    await using store = await open();
    const reads = async (n: number) => {
      const { id } = await store.createContext();
      for (let i = 0; i < n; i += 500) await store.append(id, Array.from({ length: Math.min(500, n - i) }, (_, j) => user(`message ${i + j} ${dogs(8)}`)));
      await store.searchEvents({ text: "message", mode: "hybrid", contextId: id }); // the history's one-time embedding catch-up
      let items = 0;
      let calls = 0;
      const counting = new Proxy(store, {
        get(target, prop, receiver) {
          const v = Reflect.get(target, prop, receiver) as unknown;
          if (prop === "readEvents") {
            return async (cid: string, q: EventQuery) => {
              calls++;
              const page = await target.readEvents(cid, q);
              items += page.items.length;
              return page;
            };
          }
          return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
      await assembleWindow(counting, id, { maxTokens: 1000, sections: { summary: false, memories: false } });
      return { items, calls };
    };
    const small = await reads(300);
    const large = await reads(3000);
    expect(large).toEqual(small);
    // A page of the newest events (the budget is full after it), the oldest 100 checked for pins, the hits' neighbours.
    expect(large.items).toBeLessThanOrEqual(200 + 100 + 3 * 3 * 2 * 8);
  });

  it("refuses bad options with INVALID_INPUT naming the option: unknown names, wrong types and shapes, an unknown model, min above max, no budget", async () => {
    await using store = await open();
    const { id } = await store.createContext();
    const bad: [object, string][] = [
      [{ maxTokens: 100, model: "gpt-4o", strategies: ["recent"] }, "options.strategies"],
      [{ maxTokens: 100, sections: { recnet: {} } }, "sections.recnet"],
      [{ maxTokens: 100, sections: { memories: { limt: 3 } } }, "sections.memories.limt"],
      [{ maxTokens: 100, model: "claude-sonnet-4-5" }, "model"],
      [{ maxTokens: 100, sections: { recent: { min: 50, max: 10 } } }, "sections.recent.min"],
      [{ maxTokens: 100, reserveTokens: 98, sections: {} }, "reserveTokens"],
      [{ maxTokens: 100, nonce: "x", sections: {} }, "nonce"],
      [{ sections: {} }, "maxTokens"],
      [{ maxTokens: 100, model: null }, "model"],
      [{ maxTokens: 100, sections: { recall: { range: 5000 } } }, "sections.recall.range"],
      [{ maxTokens: 100, sections: { recall: { range: { before: 2 } } } }, "sections.recall.range.after"],
      [{ maxTokens: 100, sections: { recent: { types: [] } } }, "sections.recent.types"],
      [{ maxTokens: 100, sections: { pinned: { types: [""] } } }, "sections.pinned.types[0]"],
      [{ maxTokens: 100, sections: { recent: { pageSize: 20_000 } } }, "sections.recent.pageSize"],
      [{ maxTokens: 100, sections: { workingMemory: { blocks: [{ label: "a", value: "v", limit: { chars: 0 } }] } } }, "sections.workingMemory.blocks[0].limit.chars"],
      [{ maxTokens: 100, sections: { summary: { summarize: "extractive" } } }, "sections.summary.summarize"],
      // The searches' own checks, named as the caller wrote the option.
      [{ maxTokens: 100, query: "cats", sections: { memories: { minScore: "high" } } }, "sections.memories.minScore"],
      [{ maxTokens: 100, query: "cats", sections: { memories: { scope: { userId: 5 } } } }, "sections.memories.scope.userId"],
      [{ maxTokens: 100, query: "cats", sections: { recall: { minScore: "high" } } }, "sections.recall.minScore"],
    ];
    for (const [options, field] of bad) {
      const e = await store.context(id).window(options as never).then(() => null, (err: unknown) => err);
      expect(isContextError(e, "INVALID_INPUT"), JSON.stringify(options)).toBe(true);
      expect((e as { details: { field: string } }).details.field).toBe(field);
    }
  });

  it("keeps pinned events first, whatever their age: a flagged message as itself, a flagged tool output as data", async () => {
    await using store = await open();
    const { id } = await store.createContext();
    await store.append(id, [
      { type: "message", data: { role: "user", content: "remember: 42" }, metadata: { pinned: true } },
      { type: "tool_result", data: { toolCallId: "old", content: "pinned output" }, metadata: { pinned: true } },
      ...Array.from({ length: 50 }, (_, i) => user(`${dogs(20)} ${i}`)),
    ]);
    const w = await assembleWindow(store, id, { maxTokens: 300, sections: { summary: false, recall: false, memories: false } });
    expect(section(w, "pinned").included).toEqual(["seq:1", "seq:2"]);
    expect(w.messages[0]!.role).toBe("system"); // contextd's note on data blocks
    expect(w.messages[1]).toEqual({ role: "user", content: "remember: 42" });
    expect(w.messages[2]!.role).toBe("user");
    expect(w.messages[2]!.content).toContain('kind="event" type="tool_result" seq="2"');
    expect(w.messages.filter((m) => m.role === "tool")).toEqual([]);
    expect(w.tokens).toBe(recount(w));
    expect(w.tokens).toBeLessThanOrEqual(300);
  });

  it("window() without model or sections is the old window, unchanged", async () => {
    await using store = await open();
    const { id } = await store.createContext();
    await store.append(id, [user("a"), assistant("b")]);
    const w = await store.context(id).window({ maxTokens: 100 });
    expect(w).toMatchObject({ dropped: 0, pinned: 0, budget: 100, encoding: "o200k_base" });
    expect(w.events.map((e) => e.seq)).toEqual([1, 2]);
    const s = await store.context(id).window({ maxTokens: 100, sections: {} });
    expect(s.messages).toEqual([{ role: "user", content: "a" }, { role: "assistant", content: "b" }]);
    expect(s.tokens).toBe(3 + (3 + 1 + 1) + (3 + 1 + 1));
  });
});
