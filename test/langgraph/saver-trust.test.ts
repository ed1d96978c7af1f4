/**
 * The saver hands the store events its json-plus walk built as pre-encoded JSON, which the
 * store does not check again; anything else it writes — values the serializer made, fields
 * that are not what the saver expects — still goes through the store's checks.
 */
import { describe, expect, it } from "vitest";
import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import type { Checkpoint } from "@langchain/langgraph-checkpoint";
import { createStore, inMemoryDriver, isContextError } from "../../src/index.js";
import { ContextdSaver } from "../../src/integrations/langgraph/index.js";

function nested(levels: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
}

describe("ContextdSaver: what the store checks", () => {
  it("a channel value nested deeper than the store allows is refused with INVALID_INPUT, not stored unchecked", async () => {
    const store = await createStore(inMemoryDriver());
    const saver = new ContextdSaver(store);
    const cfg = await saver.put({ configurable: { thread_id: "t", checkpoint_ns: "" } }, emptyCheckpoint(), { source: "input", step: -1, parents: {} }, {});
    const deep = nested(300);
    const checkpoint: Checkpoint = { v: 4, id: uuid6(-1), ts: new Date().toISOString(), channel_values: { deep }, channel_versions: { deep: 2 }, versions_seen: {} };
    const put = await saver.put(cfg, checkpoint, { source: "loop", step: 0, parents: {} }, { deep: 2 }).catch((e: unknown) => e);
    expect(isContextError(put, "INVALID_INPUT")).toBe(true);
    const writes = await saver.putWrites(cfg, [["deep", deep]], "task").catch((e: unknown) => e);
    expect(isContextError(writes, "INVALID_INPUT")).toBe(true);
    await store.close();
  });

  it("own __proto__ keys in a checkpoint, a channel value and a pending write read back as data, touching no prototype", async () => {
    const store = await createStore(inMemoryDriver());
    const polluted = (o: unknown) => (o as { polluted?: unknown }).polluted;
    const own = (o: unknown) => {
      expect(Object.hasOwn(o as object, "__proto__")).toBe(true);
      expect((o as Record<string, unknown>)["__proto__"]).toEqual({ polluted: true });
      expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
      expect(polluted(o)).toBeUndefined();
    };
    const evil = () => JSON.parse('{"a": 1, "__proto__": {"polluted": true}, "z": 2}') as Record<string, unknown>;
    const base = emptyCheckpoint();
    const odd = JSON.parse(`{"__proto__": {"polluted": true}, ${JSON.stringify(base).slice(1)}`) as Checkpoint;
    // (A message's kwargs are not among them: LangChain's toJSON copies them with assignments, so
    // the serializer itself writes an own __proto__ key there as the copy's prototype, not as data.)
    odd.channel_values = { list: [evil()], plain: evil() };
    odd.channel_versions = { list: 1, plain: 1 };
    const saver = new ContextdSaver(store);
    const cfg = await saver.put({ configurable: { thread_id: "t", checkpoint_ns: "" } }, odd, { source: "input", step: -1, parents: {} }, { list: 1, plain: 1 });
    await saver.putWrites(cfg, [["plain", evil()]], "task");
    // A fresh saver reads everything from the store.
    const back = await new ContextdSaver(store).getTuple(cfg);
    const cp = back?.checkpoint as unknown as Record<string, unknown>;
    own(cp);
    expect(back?.checkpoint.id).toBe(base.id);
    const plain = back?.checkpoint.channel_values["plain"] as Record<string, unknown>;
    own(plain);
    expect(Object.keys(plain)).toEqual(["a", "__proto__", "z"]);
    own((back?.checkpoint.channel_values["list"] as unknown[])[0]);
    own(back?.pendingWrites?.[0]?.[2]);
    expect(polluted({})).toBeUndefined();
    await store.close();
  });

  it("writes that are not [channel, value] pairs are refused with INVALID_INPUT naming the write, and nothing is stored", async () => {
    const store = await createStore(inMemoryDriver());
    const saver = new ContextdSaver(store);
    const cfg = await saver.put({ configurable: { thread_id: "t", checkpoint_ns: "" } }, emptyCheckpoint(), { source: "input", step: -1, parents: {} }, {});
    const before = (await store.getContext(saver.contextId("t"))).lastSeq;
    for (const [bad, field] of [[{ 0: "c", 1: 1 }, "writes"], [[["ok", 1], "c"], "writes[1]"], [[null], "writes[0]"]] as const) {
      const e = await saver.putWrites(cfg, bad as never, "task").catch((x: unknown) => x);
      expect(isContextError(e, "INVALID_INPUT")).toBe(true);
      expect((e as { details?: { field?: string } }).details?.field).toBe(field);
    }
    expect((await store.getContext(saver.contextId("t"))).lastSeq).toBe(before);
    await store.close();
  });

  it("a write to a channel named like an Object.prototype member is stored with its own index and read back", async () => {
    const store = await createStore(inMemoryDriver());
    const saver = new ContextdSaver(store);
    const cfg = await saver.put({ configurable: { thread_id: "t", checkpoint_ns: "" } }, emptyCheckpoint(), { source: "input", step: -1, parents: {} }, {});
    await saver.putWrites(cfg, [["constructor", { x: 1 }], ["toString", "s"]], "task");
    const tuple = await new ContextdSaver(store).getTuple(cfg);
    expect(tuple?.pendingWrites).toEqual([
      ["task", "constructor", { x: 1 }],
      ["task", "toString", "s"],
    ]);
    await store.close();
  });
});
