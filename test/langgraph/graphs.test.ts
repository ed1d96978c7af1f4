/**
 * Real LangGraph graphs run twice on the same inputs, once with `MemorySaver` and once with
 * `ContextdSaver` (in-memory store and SQLite file): the final state and the whole history
 * (`getStateHistory`) must be the same. Then what MemorySaver lacks: pruning in the middle of
 * a human-in-the-loop run with several tools interrupted, and copying a thread.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AIMessage, HumanMessage } from "@langchain/core/messages";
import type { BaseMessage } from "@langchain/core/messages";
import { Annotation, Command, END, MemorySaver, MessagesAnnotation, START, Send, StateGraph, interrupt } from "@langchain/langgraph";
import type { BaseCheckpointSaver, StateSnapshot } from "@langchain/langgraph";
import { createStore, inMemoryDriver, openStore } from "../../src/index.js";
import type { ContextStore } from "../../src/index.js";
import { ContextdSaver } from "../../src/integrations/langgraph/index.js";

type Saver = BaseCheckpointSaver;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A JSON copy without the random ids LangGraph gives messages. */
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v ?? null), (k, x: unknown) => (k === "id" && typeof x === "string" && UUID.test(x) ? undefined : x));

/** What must match between two savers: values, next nodes, step, source, writes, interrupts — not ids or times. */
function shape(s: StateSnapshot): unknown {
  return {
    values: plain(s.values),
    next: s.next,
    step: s.metadata?.step,
    source: s.metadata?.source,
    writes: plain((s.metadata as { writes?: unknown } | undefined)?.writes),
    tasks: s.tasks.map((t) => ({ name: t.name, interrupts: t.interrupts.map((i) => i.value) as unknown })),
    hasParent: s.parentConfig !== undefined,
  };
}

interface Compiled {
  getState(config: object, options?: object): Promise<StateSnapshot>;
  getStateHistory(config: object): AsyncIterableIterator<StateSnapshot>;
}
async function history(graph: Compiled, config: object): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const s of graph.getStateHistory(config)) out.push(shape(s));
  return out;
}

const messagesGraph = (checkpointer: Saver) =>
  new StateGraph(MessagesAnnotation)
    .addNode("agent", (s) => ({ messages: [new AIMessage({ content: `echo ${String(s.messages.at(-1)?.content)} (${s.messages.length})` })] }))
    .addNode("note", () => ({ messages: [new AIMessage({ content: "noted" })] }))
    .addEdge(START, "agent")
    .addEdge("agent", "note")
    .addEdge("note", END)
    .compile({ checkpointer });

const approvalState = Annotation.Root({
  calls: Annotation<string[]>({ reducer: (_a, b) => b, default: () => [] }),
  results: Annotation<string[]>({ reducer: (a, b) => [...a, ...b].sort(), default: () => [] }),
  done: Annotation<boolean>({ reducer: (_a, b) => b, default: () => false }),
});
/** Several tools run in one step (Send), each waiting for a human's approval (interrupt). */
const approvalGraph = (checkpointer: Saver) =>
  new StateGraph(approvalState)
    .addNode("plan", () => ({}))
    .addNode("tool", (s: { call: string }) => {
      const answer = interrupt({ approve: s.call }) as string;
      return { results: [`${s.call}:${answer}`] };
    })
    .addNode("review", (s) => ({ done: interrupt({ review: s.results.length }) === "ok1" }))
    .addNode("finish", () => ({}))
    .addEdge(START, "plan")
    .addConditionalEdges("plan", (s) => s.calls.map((call) => new Send("tool", { call })))
    .addEdge("tool", "review")
    .addEdge("review", "finish")
    .addEdge("finish", END)
    .compile({ checkpointer });

const parallelState = Annotation.Root({
  log: Annotation<string[]>({ reducer: (a, b) => [...a, ...b], default: () => [] }),
  last: Annotation<string>({ reducer: (_a, b) => b, default: () => "" }),
});
const parallelGraph = (checkpointer: Saver) =>
  new StateGraph(parallelState)
    .addNode("a", () => ({ log: ["a"] }))
    .addNode("b", () => ({ log: ["b"], last: "b" }))
    .addNode("c", () => ({ log: ["c"] }))
    .addNode("join", (s) => ({ log: [`join ${s.log.length}`] }))
    .addEdge(START, "a")
    .addEdge(START, "b")
    .addEdge(START, "c")
    .addEdge(["a", "b", "c"], "join")
    .addEdge("join", END)
    .compile({ checkpointer });

const subgraphGraph = (checkpointer: Saver) => {
  const inner = new StateGraph(MessagesAnnotation)
    .addNode("inner_ask", () => {
      const v = interrupt("inner?") as string;
      return { messages: [new AIMessage({ content: `inner got ${v}` })] };
    })
    .addNode("inner_say", () => ({ messages: [new AIMessage({ content: "inner done" })] }))
    .addEdge(START, "inner_ask")
    .addEdge("inner_ask", "inner_say")
    .compile();
  return new StateGraph(MessagesAnnotation)
    .addNode("outer", () => ({ messages: [new AIMessage({ content: "outer" })] }))
    .addNode("sub", inner)
    .addEdge(START, "outer")
    .addEdge("outer", "sub")
    .addEdge("sub", END)
    .compile({ checkpointer });
};

/** Runs `scenario` with a MemorySaver and with `saver`; both must produce the same results. */
async function same(saver: () => Saver, scenario: (s: Saver) => Promise<unknown>): Promise<unknown> {
  const expected = await scenario(new MemorySaver());
  const actual = await scenario(saver());
  expect(actual).toEqual(expected);
  return actual;
}

let dir = "";
const stores: Record<string, ContextStore> = {};
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "contextd-lg-graphs-"));
  stores.memory = await createStore(inMemoryDriver());
  stores.sqlite = await openStore(`sqlite:${join(dir, "graphs.db")}`);
});
afterAll(async () => {
  for (const s of Object.values(stores)) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.each(["memory", "sqlite"])("ContextdSaver on %s behaves as MemorySaver", (backend) => {
  let n = 0;
  const saver = () => new ContextdSaver(stores[backend] as ContextStore, { prefix: `g${backend}${n++}` });
  const cfg = { configurable: { thread_id: "t1" } };

  it("a messages graph over several turns: same state, same history", async () => {
    await same(saver, async (s) => {
      const g = messagesGraph(s);
      for (const text of ["hi", "how are you", "bye"]) await g.invoke({ messages: [new HumanMessage(text)] }, cfg);
      return { state: shape(await g.getState(cfg)), history: await history(g, cfg) };
    });
  });

  it("interrupt and resume (human in the loop), several tools interrupted in one step", async () => {
    await same(saver, async (s) => {
      const g = approvalGraph(s);
      await g.invoke({ calls: ["search", "email", "pay"] }, cfg);
      const steps: unknown[] = [shape(await g.getState(cfg))];
      for (let round = 0; round < 10; round++) {
        const pending = (await g.getState(cfg)).tasks.flatMap((t) => t.interrupts);
        if (pending.length === 0) break;
        const first = pending.sort((a, b) => JSON.stringify(a.value).localeCompare(JSON.stringify(b.value)))[0];
        await g.invoke(new Command({ resume: { [first?.id as string]: "yes" } }), cfg);
        steps.push(shape(await g.getState(cfg)));
      }
      return { steps, history: await history(g, cfg) };
    });
  });

  it("time travel: resume from an earlier checkpoint, and fork with updateState", async () => {
    await same(saver, async (s) => {
      const g = messagesGraph(s);
      await g.invoke({ messages: [new HumanMessage("one")] }, cfg);
      await g.invoke({ messages: [new HumanMessage("two")] }, cfg);
      const past: StateSnapshot[] = [];
      for await (const st of g.getStateHistory(cfg)) past.push(st);
      const afterOne = past.find((p) => p.metadata?.step === 2 && (p.values as { messages: BaseMessage[] }).messages.length === 3) as StateSnapshot;
      await g.invoke({ messages: [new HumanMessage("two, again")] }, afterOne.config);
      const forked = await g.updateState(afterOne.config, { messages: [new HumanMessage("edited")] });
      await g.invoke(null, forked);
      return { state: shape(await g.getState(cfg)), history: await history(g, cfg) };
    });
  });

  it("a subgraph that interrupts, resumed; state with subgraphs", async () => {
    await same(saver, async (s) => {
      const g = subgraphGraph(s);
      await g.invoke({ messages: [new HumanMessage("go")] }, cfg);
      const paused = await g.getState(cfg, { subgraphs: true });
      const inner = paused.tasks[0]?.state as StateSnapshot | undefined;
      await g.invoke(new Command({ resume: "blue" }), cfg);
      return { paused: shape(paused), inner: inner && shape(inner), state: shape(await g.getState(cfg)), history: await history(g, cfg) };
    });
  });

  it("parallel nodes writing in the same step", async () => {
    await same(saver, async (s) => {
      const g = parallelGraph(s);
      await g.invoke({ log: ["start"] }, cfg);
      await g.invoke({ log: ["again"] }, cfg);
      return { state: shape(await g.getState(cfg)), history: await history(g, cfg) };
    });
  });

  it("prune in the middle of a multi-tool human-in-the-loop run keeps what the resume needs", async () => {
    const run = async (s: Saver, prune: boolean) => {
      const g = approvalGraph(s);
      /** Answers every pending interrupt at once (three tools, then the review), pruning before each answer. */
      const answerAll = async () => {
        for (let round = 0; round < 10; round++) {
          if (prune) expect((await (s as ContextdSaver).prune("t1", { keepLast: 1 })).kept).toBeGreaterThan(0);
          const pending = (await g.getState(cfg)).tasks.flatMap((t) => t.interrupts);
          if (pending.length === 0) return;
          await g.invoke(new Command({ resume: Object.fromEntries(pending.map((p) => [p.id as string, `ok${round}`])) }), cfg);
        }
      };
      await g.invoke({ calls: ["a"] }, cfg); // an earlier run, then a new one on the same thread
      await answerAll();
      await g.invoke({ calls: ["search", "email", "pay"] }, cfg);
      await answerAll();
      return (await g.getState(cfg)).values;
    };
    const expected = await run(new MemorySaver(), false);
    const s = saver();
    expect(await run(s, true)).toEqual(expected);
    expect(expected).toEqual({ calls: ["search", "email", "pay"], done: true, results: ["a:ok0", "email:ok0", "pay:ok0", "search:ok0"] });
    // Only the newest checkpoint of each namespace is left.
    const left = [];
    for await (const t of s.list({ configurable: { thread_id: "t1" } })) left.push(t.checkpoint.id);
    expect(left).toHaveLength(1);
  });

  it("copyThread: the copy has the same state and history and runs on by itself", async () => {
    const s = saver();
    const g = messagesGraph(s);
    await g.invoke({ messages: [new HumanMessage("one")] }, cfg);
    await g.invoke({ messages: [new HumanMessage("two")] }, cfg);
    await s.copyThread("t1", "t2");
    const copy = { configurable: { thread_id: "t2" } };
    expect(await history(g, copy)).toEqual(await history(g, cfg));
    await g.invoke({ messages: [new HumanMessage("three")] }, copy);
    expect((await g.getState(copy)).values.messages).toHaveLength(9);
    expect((await g.getState(cfg)).values.messages).toHaveLength(6);
    await expect(s.copyThread("t1", "t2")).rejects.toMatchObject({ code: "ALREADY_EXISTS" });
    await expect(s.copyThread("nope", "t3")).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});

describe("ContextdSaver storage", () => {
  it("a messages thread stores each message once: the file grows linearly, not with the square of the thread", async () => {
    const store = await openStore(`sqlite:${join(dir, "growth.db")}`);
    try {
      const s = new ContextdSaver(store);
      const g = messagesGraph(s);
      const cfg = { configurable: { thread_id: "long" } };
      const text = "x".repeat(400);
      for (let i = 0; i < 60; i++) await g.invoke({ messages: [new HumanMessage(`${i} ${text}`)] }, cfg);
      expect((await g.getState(cfg)).values.messages).toHaveLength(180);
      // Every message's text is stored once: 180 items of ~0.5 KB, plus per-checkpoint bookkeeping.
      const events = await store.readEvents(s.contextId("long"), { types: ["lg.items"], limit: 10_000 });
      const stored = events.items.reduce((n, e) => n + JSON.stringify(e.data).length, 0);
      expect(stored).toBeLessThan(180 * 1_000);
      expect(statSync(join(dir, "growth.db")).size).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  });

  it("a thread with a TTL expires; put refreshes it", async () => {
    let now = Date.parse("2030-01-01T00:00:00Z");
    const store = await createStore(inMemoryDriver(), { now: () => now });
    try {
      const s = new ContextdSaver(store, { ttlMs: 60_000 });
      const g = messagesGraph(s);
      const cfg = { configurable: { thread_id: "short" } };
      await g.invoke({ messages: [new HumanMessage("a")] }, cfg);
      now += 50_000;
      await g.invoke({ messages: [new HumanMessage("b")] }, cfg);
      now += 50_000;
      expect((await g.getState(cfg)).values.messages).toHaveLength(6);
      now += 20_000;
      expect(await s.getTuple(cfg)).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});
