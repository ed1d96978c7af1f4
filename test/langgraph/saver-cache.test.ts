/**
 * What a ContextdSaver remembers between calls (the parent's value locations, the list it
 * last stored, the newest checkpoint id) must not outlive another writer's changes to the
 * thread: a second saver on the same store (another process) pruning, deleting or writing
 * steps in between must not make the first one store a checkpoint that reads back wrong.
 */
import { describe, expect, it } from "vitest";
import { MemorySaver, emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import type { BaseCheckpointSaver, Checkpoint } from "@langchain/langgraph-checkpoint";
import type { RunnableConfig } from "@langchain/core/runnables";
import { AIMessage } from "@langchain/core/messages";
import { createStore, inMemoryDriver, isContextError, sqliteDriver } from "../../src/index.js";
import { ContextdSaver } from "../../src/integrations/langgraph/index.js";

interface Msg {
  id: string;
  text: string;
}

/** Writes `n` steps as LangGraph does (put with the whole list, then the writes); returns the last config and list. */
async function steps(saver: ContextdSaver, config: RunnableConfig, from: number, n: number, list: Msg[]): Promise<{ config: RunnableConfig; list: Msg[] }> {
  let messages = list;
  let cfg = config;
  for (let i = from; i < from + n; i++) {
    const m = { id: `m${i}`, text: `message ${i}` };
    messages = [...messages, m];
    const versions = { messages: i + 2, step: i + 2 };
    const checkpoint: Checkpoint = { v: 4, id: uuid6(-1), ts: new Date().toISOString(), channel_values: { messages, step: i }, channel_versions: versions, versions_seen: {} };
    cfg = await saver.put(cfg, checkpoint, { source: "loop", step: i, parents: {} }, versions);
    await saver.putWrites(cfg, [["messages", [m]]], `task-${i}`);
  }
  return { config: cfg, list: messages };
}

async function start(saver: ContextdSaver, thread: string): Promise<RunnableConfig> {
  return saver.put({ configurable: { thread_id: thread, checkpoint_ns: "" } }, emptyCheckpoint(), { source: "input", step: -1, parents: {} }, {});
}

async function messagesOf(saver: ContextdSaver, thread: string): Promise<unknown> {
  return (await saver.getTuple({ configurable: { thread_id: thread } }))?.checkpoint.channel_values.messages;
}

describe("ContextdSaver caches and other writers", () => {
  it("a put after another saver pruned the thread stores the whole list again, not items on a compacted base", async () => {
    const store = await createStore(inMemoryDriver());
    const a = new ContextdSaver(store);
    const b = new ContextdSaver(store);
    let run = await steps(a, await start(a, "t"), 0, 5, []);
    await b.prune("t", { keepLast: 1 });
    run = await steps(a, run.config, 5, 2, run.list);
    expect(await messagesOf(new ContextdSaver(store), "t")).toEqual(run.list);
    await store.close();
  });

  it("a put after another saver deleted and restarted the thread does not point into the old thread", async () => {
    const store = await createStore(inMemoryDriver());
    const a = new ContextdSaver(store);
    const b = new ContextdSaver(store);
    const run = await steps(a, await start(a, "t"), 0, 3, []);
    await b.deleteThread("t");
    await steps(b, await start(b, "t"), 100, 1, []);
    const next = await steps(a, run.config, 3, 1, run.list);
    const fresh = new ContextdSaver(store);
    expect(await messagesOf(fresh, "t")).toEqual(next.list);
    await store.close();
  });

  // Embedded stores tell the saver which context an append committed to; a store that does not
  // (the HTTP client: here a wrapper returning a copy of the events) makes it read the context.
  for (const [name, open] of [
    ["in memory", async () => createStore(inMemoryDriver())],
    ["SQLite", async () => createStore(sqliteDriver({ path: ":memory:" }))],
    ["a store that does not say which context an append committed to", async () => {
      const store = await createStore(inMemoryDriver());
      return new Proxy(store, {
        get(target, key) {
          if (key === "append") return async (...args: Parameters<typeof store.append>) => [...(await target.append(...args))];
          const v: unknown = Reflect.get(target, key);
          return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
    }],
  ] as const) {
    it(`${name}: a put after another saver deleted and wrote the thread again up to the same seq does not point into the old thread`, async () => {
      const store = await open();
      const a = new ContextdSaver(store);
      const b = new ContextdSaver(store);
      const run = await steps(a, await start(a, "t"), 0, 3, []);
      const before = await store.getContext(a.contextId("t"));
      await b.deleteThread("t");
      await steps(b, await start(b, "t"), 100, 3, []);
      // The same last seq: the seq a's next append lands at does not show the other writer.
      expect((await store.getContext(a.contextId("t"))).lastSeq).toBe(before.lastSeq);
      const next = await steps(a, run.config, 3, 1, run.list);
      expect(await messagesOf(new ContextdSaver(store), "t")).toEqual(next.list);
      await store.close();
    });
  }

  it("a thread the saver stopped remembering (4,096 other threads used since) and another saver wrote to reads back right after its next put", async () => {
    const store = await createStore(inMemoryDriver());
    const a = new ContextdSaver(store);
    const b = new ContextdSaver(store);
    let run = await steps(a, await start(a, "t"), 0, 2, []);
    for (let i = 0; i < 4100; i++) await start(a, `other-${i}`);
    // b appends two steps after a's last one: only a's memory of "t" could tell a it is behind.
    const tuple = await b.getTuple({ configurable: { thread_id: "t" } });
    const theirs = await steps(b, tuple!.config, 2, 2, run.list);
    run = await steps(a, run.config, 4, 1, run.list);
    expect(await messagesOf(new ContextdSaver(store), "t")).toEqual(run.list);
    expect(theirs.list).toHaveLength(4);
    await store.close();
  });

  it("the newest checkpoint stays the newest when two savers take turns on a thread", async () => {
    const store = await createStore(inMemoryDriver());
    const a = new ContextdSaver(store);
    const b = new ContextdSaver(store);
    await steps(a, await start(a, "t"), 0, 2, []);
    // b continues the thread from what it reads (as another process would), then a writes again from its own config.
    const tuple = await b.getTuple({ configurable: { thread_id: "t" } });
    const bRun = await steps(b, tuple?.config ?? {}, 2, 2, tuple?.checkpoint.channel_values.messages as Msg[]);
    const run = await steps(a, bRun.config, 4, 1, bRun.list);
    const fresh = new ContextdSaver(store);
    const latest = await fresh.getTuple({ configurable: { thread_id: "t" } });
    expect(latest?.config.configurable?.checkpoint_id).toBe(run.config.configurable?.checkpoint_id);
    expect(latest?.checkpoint.channel_values.messages).toEqual(run.list);
    expect(await messagesOf(a, "t")).toEqual(run.list);
    await store.close();
  });

  it("a put the store refuses leaves the cached list as it was: the next put's items extend what was stored", async () => {
    const store = await createStore(inMemoryDriver(), { limits: { maxEventChars: 4000 } });
    const saver = new ContextdSaver(store);
    const a = { id: "a", text: "a" };
    const put = (cfg: RunnableConfig, messages: Msg[], n: number) => {
      const versions = { messages: n };
      const checkpoint: Checkpoint = { v: 4, id: uuid6(-1), ts: new Date().toISOString(), channel_values: { messages }, channel_versions: versions, versions_seen: {} };
      return saver.put(cfg, checkpoint, { source: "loop", step: n, parents: {} }, versions);
    };
    const first = await put(await start(saver, "t"), [a], 2);
    const refused = await put(first, [a, { id: "big", text: "x".repeat(5000) }], 3).catch((e: unknown) => e);
    expect(isContextError(refused, "INVALID_INPUT")).toBe(true);
    const b = { id: "b", text: "b" };
    await put(first, [a, b], 3);
    expect(await messagesOf(new ContextdSaver(store), "t")).toEqual([a, b]);
    await store.close();
  });

  it("a thread deleted and written again by another saver up to the same seq reads back as the other saver wrote it", async () => {
    const store = await createStore(inMemoryDriver());
    const a = new ContextdSaver(store);
    const b = new ContextdSaver(store);
    await steps(a, await start(a, "t"), 0, 3, []);
    const before = await store.getContext(a.contextId("t"));
    await b.deleteThread("t");
    const other = await steps(b, await start(b, "t"), 100, 3, []);
    // The same number of events: the thread's last seq alone does not tell the two apart.
    expect((await store.getContext(a.contextId("t"))).lastSeq).toBe(before.lastSeq);
    expect(await messagesOf(a, "t")).toEqual(other.list);
    await store.close();
  });

  it("getTuple after the saver's own puts gives the stored list as fresh objects: changing them changes neither the store nor the next read", async () => {
    const store = await createStore(inMemoryDriver());
    const saver = new ContextdSaver(store);
    let cfg = await start(saver, "t");
    let messages: AIMessage[] = [];
    for (let i = 0; i < 4; i++) {
      messages = [...messages, new AIMessage({ content: `reply ${i}`, id: `m${i}`, additional_kwargs: { n: { i } } })];
      const versions = { messages: i + 2 };
      const checkpoint: Checkpoint = { v: 4, id: uuid6(-1), ts: new Date().toISOString(), channel_values: { messages }, channel_versions: versions, versions_seen: {} };
      cfg = await saver.put(cfg, checkpoint, { source: "loop", step: i, parents: {} }, versions);
    }
    const first = (await messagesOf(saver, "t")) as AIMessage[];
    expect(first).toEqual(messages);
    expect(first[0]).not.toBe(messages[0]);
    (first[0] as AIMessage).content = "changed";
    ((first[1] as AIMessage).additional_kwargs.n as { i: number }).i = 99;
    first.pop();
    expect(await messagesOf(saver, "t")).toEqual(messages);
    expect(await messagesOf(new ContextdSaver(store), "t")).toEqual(messages);
    await store.close();
  });
});

/** One saver's view of a thread: every checkpoint (newest first) with its values, parent and pending writes. */
async function threadView(saver: BaseCheckpointSaver, thread: string): Promise<unknown> {
  const out: unknown[] = [];
  for await (const t of saver.list({ configurable: { thread_id: thread } })) {
    out.push({
      id: t.checkpoint.id,
      values: t.checkpoint.channel_values,
      parent: t.parentConfig?.configurable?.checkpoint_id,
      writes: t.pendingWrites,
    });
  }
  const latest = await saver.getTuple({ configurable: { thread_id: thread } });
  return { latest: latest && { id: latest.checkpoint.id, values: latest.checkpoint.channel_values, writes: latest.pendingWrites }, all: out };
}

describe("ContextdSaver put after another saver deleted and rewrote the thread", () => {
  /**
   * Saver `a` writes 3 steps; saver `b` deletes the thread and writes 3 other steps (the same
   * number of events: the thread ends at the same seq as `a` left it); `a` then writes its next
   * step from its own config (with an id older than b's), after reading the thread
   * (`getTuple`, `list`) or not. With
   * MemorySaver `a` and `b` are one saver (its threads are in the instance).
   */
  async function scenario(a: BaseCheckpointSaver, b: BaseCheckpointSaver, ids: string[], read: string): Promise<void> {
    const next = ids.values();
    const step = async (saver: BaseCheckpointSaver, cfg: RunnableConfig, i: number, list: Msg[]): Promise<{ config: RunnableConfig; list: Msg[] }> => {
      const m = { id: `m${i}`, text: `message ${i}` };
      const messages = [...list, m];
      const versions = { messages: i + 2, step: i + 2 };
      const checkpoint: Checkpoint = { v: 4, id: next.next().value as string, ts: "2026-01-01T00:00:00.000Z", channel_values: { messages, step: i }, channel_versions: versions, versions_seen: {} };
      const config = await saver.put(cfg, checkpoint, { source: "loop", step: i, parents: {} }, versions);
      await saver.putWrites(config, [["messages", [m]]], `task-${i}`);
      return { config, list: messages };
    };
    const first = (saver: BaseCheckpointSaver) => {
      const checkpoint = { ...emptyCheckpoint(), id: next.next().value as string, ts: "2026-01-01T00:00:00.000Z" };
      return saver.put({ configurable: { thread_id: "t", checkpoint_ns: "" } }, checkpoint, { source: "input", step: -1, parents: {} }, {});
    };
    let run = { config: await first(a), list: [] as Msg[] };
    for (let i = 0; i < 3; i++) run = await step(a, run.config, i, run.list);
    await b.deleteThread("t");
    let other = { config: await first(b), list: [] as Msg[] };
    for (let i = 100; i < 103; i++) other = await step(b, other.config, i, other.list);
    if (read === "getTuple") await a.getTuple({ configurable: { thread_id: "t" } });
    if (read === "list") for await (const t of a.list({ configurable: { thread_id: "t" } })) void t;
    await step(a, run.config, 3, run.list);
  }

  it.each([
    ["memory", "nothing"],
    ["sqlite", "nothing"],
    ["memory", "getTuple"],
    ["memory", "list"],
  ])("on %s, with %s read in between, the thread reads back (by a fresh saver and by the writer) as with MemorySaver", async (backend, read) => {
    // a's last checkpoint id is older than b's (ids need not come in the order of the puts):
    // the thread's newest checkpoint is b's last.
    const made = Array.from({ length: 9 }, () => uuid6(-1));
    const ids = [...made.slice(0, 4), ...made.slice(5), made[4] as string];
    const memory = new MemorySaver();
    await scenario(memory, memory, ids, read);
    const expected = await threadView(memory, "t");

    const store = await createStore(backend === "memory" ? inMemoryDriver() : sqliteDriver({ path: ":memory:" }));
    const a = new ContextdSaver(store);
    const b = new ContextdSaver(store);
    await scenario(a, b, ids, read);
    expect(await threadView(new ContextdSaver(store), "t")).toEqual(expected);
    expect(await threadView(a, "t")).toEqual(expected);
    await store.close();
  });
});
