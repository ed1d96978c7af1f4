import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createStore } from "../open.js";
import type { ContextStore } from "../agent/types.js";
import { inMemoryDriver } from "../drivers/in-memory/driver.js";
import { openStore } from "../open.js";
import { isContextError } from "../errors.js";
import { exportContexts, importContexts } from "./jsonl.js";

async function text(store: ContextStore, filter = {}): Promise<string> {
  let out = "";
  for await (const l of exportContexts(store, filter)) out += l;
  return out;
}

async function seed(store: ContextStore): Promise<string[]> {
  const a = await store.createContext({ id: "chat-a", kind: "chat", userId: "u1", chatId: "a", title: "A", metadata: { x: 1 }, state: { step: 0 } });
  await store.append(a.id, [
    { type: "message", data: { role: "user", content: "hi" }, tokens: 3, timestamp: "2024-01-01T00:00:00.000Z" },
    { type: "message", data: { role: "assistant", content: "hello" }, metadata: { m: true } },
  ]);
  await store.patchState(a.id, { step: 1 });
  await store.createSnapshot(a.id, { name: "s1", label: "after step 1" });
  await store.setStateAt(a.id, "/step", 2);
  await store.append(a.id, { type: "tool_call", data: { id: "c1" } });
  const b = await store.createContext({ id: "chat-b", kind: "chat" });
  await store.append(b.id, { type: "note", data: null });
  await store.archiveContext(b.id);
  return [a.id, b.id];
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("export and import", () => {
  it("exports a fork with the history it shares with its parent; it imports on its own, same seqs, versions and state", async () => {
    await using source = await createStore(inMemoryDriver());
    await seed(source);
    const fork = await source.fork("chat-a", { id: "chat-a-fork", version: 2 });
    await source.append("chat-a", { type: "message", data: "parent only" });
    await source.patchState(fork.id, { step: "forked" }, { events: [{ type: "message", data: "fork only" }] });
    const dump = await text(source, { ids: [fork.id] });
    await using target = await createStore(inMemoryDriver());
    expect((await importContexts(target, dump)).imported).toEqual([fork.id]);
    const se = (await source.readEvents(fork.id, { limit: 100 })).items;
    const te = (await target.readEvents(fork.id, { limit: 100 })).items;
    expect(te.map((e) => [e.seq, e.type, e.data, e.version])).toEqual(se.map((e) => [e.seq, e.type, e.data, e.version]));
    expect(te.map((e) => e.data)).not.toContain("parent only");
    expect(await target.getState(fork.id)).toEqual(await source.getState(fork.id));
    for (const v of [1, 2, 3]) expect(await target.stateAt(fork.id, { version: v })).toEqual(await source.stateAt(fork.id, { version: v }));
    // The lineage is recorded; the history is the import's own (no parent in this store).
    expect(await target.getContext(fork.id)).toMatchObject({ parentId: "chat-a", parentVersion: 2, parentSeq: null });
    // Importing the same file again is a no-op.
    expect((await importContexts(target, dump)).unchanged).toEqual([fork.id]);
  });

  it("round-trips contexts with state, history and snapshots into another store", async () => {
    await using source = await createStore(inMemoryDriver());
    await seed(source);
    const dump = await text(source);
    const dir = mkdtempSync(join(tmpdir(), "ctxd-transfer-"));
    dirs.push(dir);
    await using target = await openStore(`sqlite:${join(dir, "t.db")}`);
    const r = await importContexts(target, dump);
    expect(r.imported).toEqual(["chat-a", "chat-b"]);
    for (const id of ["chat-a", "chat-b"]) {
      const [s, t] = [await source.getContext(id), await target.getContext(id)];
      expect({ ...t, createdAt: 0, updatedAt: 0 }).toEqual({ ...s, createdAt: 0, updatedAt: 0 });
      expect(await target.getState(id)).toEqual(await source.getState(id));
      const se = (await source.readEvents(id, { limit: 100 })).items;
      const te = (await target.readEvents(id, { limit: 100 })).items;
      expect(te.map((e) => [e.seq, e.type, e.data, e.metadata, e.tokens, e.version])).toEqual(
        se.map((e) => [e.seq, e.type, e.data, e.metadata, e.tokens, e.version]),
      );
      // Plain events keep their timestamps.
      expect(te.filter((e) => e.type === "message").map((e) => e.timestamp)).toEqual(
        se.filter((e) => e.type === "message").map((e) => e.timestamp),
      );
    }
    expect((await target.getSnapshot("chat-a", "s1")).state).toEqual({ step: 1 });
    expect((await target.stateAt("chat-a", { version: 2 })).state).toEqual({ step: 1 });
  });

  it("re-importing the same file is a no-op, into the source or the target", async () => {
    await using source = await createStore(inMemoryDriver());
    await seed(source);
    const dump = await text(source);
    const again = await importContexts(source, dump);
    expect(again).toEqual({ imported: [], unchanged: ["chat-a", "chat-b"], events: 0, blocks: 0 });
    await using target = await createStore(inMemoryDriver());
    await importContexts(target, dump);
    expect((await importContexts(target, dump)).unchanged).toHaveLength(2);
    expect(await target.countEvents("chat-a")).toBe(await source.countEvents("chat-a"));
  });

  it("refuses a context that exists with different content, writing nothing", async () => {
    await using source = await createStore(inMemoryDriver());
    await seed(source);
    const dump = await text(source);
    await using target = await createStore(inMemoryDriver());
    await target.createContext({ id: "chat-b" });
    await target.append("chat-b", { type: "other" });
    const e = await importContexts(target, dump).catch((x: unknown) => x);
    expect(isContextError(e, "ALREADY_EXISTS")).toBe(true);
    expect((e as Error).message).toContain("chat-b");
    await expect(target.getContext("chat-a")).rejects.toSatisfy((x: unknown) => isContextError(x, "NOT_FOUND"));
  });

  it("fails a malformed line with its line number and imports nothing", async () => {
    await using source = await createStore(inMemoryDriver());
    await seed(source);
    const lines = (await text(source)).split("\n");
    await using target = await createStore(inMemoryDriver());
    const broken = [...lines];
    broken[lines.length - 3] = "{not json";
    const e = await importContexts(target, broken.join("\n")).catch((x: unknown) => x);
    expect(isContextError(e, "INVALID_INPUT")).toBe(true);
    expect((e as Error).message).toMatch(new RegExp(`^line ${lines.length - 2}: not JSON`));
    expect((await target.listContexts()).items).toHaveLength(0);

    const wrongShape = [...lines];
    wrongShape[2] = JSON.stringify({ type: "event", contextId: "chat-a", event: { seq: "x" } });
    const e2 = await importContexts(target, wrongShape.join("\n")).catch((x: unknown) => x);
    expect((e2 as Error).message).toMatch(/^line 3: not a valid event line/);

    const truncated = lines.slice(0, 5).join("\n");
    const e3 = await importContexts(target, truncated).catch((x: unknown) => x);
    expect((e3 as Error).message).toContain("truncated");
    expect((await target.listContexts()).items).toHaveLength(0);
  });

  it("undoes the contexts it created when the store fails midway", async () => {
    await using source = await createStore(inMemoryDriver());
    await seed(source);
    const dump = await text(source);
    await using target = await createStore(inMemoryDriver());
    let calls = 0;
    const failing = new Proxy(target, {
      get(t, prop, receiver) {
        if (prop === "archiveContext") {
          return async () => {
            calls++;
            throw new Error("backend went away");
          };
        }
        const v: unknown = Reflect.get(t, prop, receiver);
        return typeof v === "function" ? v.bind(t) : v;
      },
    });
    await expect(importContexts(failing, dump)).rejects.toThrow("backend went away");
    expect(calls).toBe(1);
    expect((await target.listContexts()).items).toHaveLength(0);
  });

  it("reads chunked input split anywhere and exports by ids", async () => {
    await using source = await createStore(inMemoryDriver());
    await seed(source);
    const dump = await text(source, { ids: ["chat-a"] });
    expect(dump).not.toContain('"chat-b"');
    const bytes = new TextEncoder().encode(dump);
    async function* chunks() {
      for (let i = 0; i < bytes.length; i += 7) yield bytes.slice(i, i + 7);
    }
    await using target = await createStore(inMemoryDriver());
    const r = await importContexts(target, chunks());
    expect(r.imported).toEqual(["chat-a"]);
  });

  it("round-trips keys named __proto__ and constructor in state, metadata and event data", async () => {
    const j = (t: string) => JSON.parse(t) as Record<string, never>;
    await using source = await createStore(inMemoryDriver());
    const c = await source.createContext({ id: "p", metadata: j('{"__proto__":{"m":1}}'), state: j('{"__proto__":{"s":1}}') });
    await source.patchState(c.id, j('{"constructor":{"prototype":{"x":1}}}'));
    await source.append(c.id, { type: "message", data: j('{"__proto__":{"d":1}}'), metadata: j('{"__proto__":2}') });
    await source.createSnapshot(c.id, { name: "s", metadata: j('{"__proto__":3}') });
    await using target = await createStore(inMemoryDriver());
    await importContexts(target, await text(source));
    const times = /\d{4}-\d\d-\d\dT[\d:.]+Z/g;
    expect((await text(target)).replace(times, "T")).toBe((await text(source)).replace(times, "T"));
    expect(JSON.stringify((await target.getState("p")).state)).toBe('{"__proto__":{"s":1},"constructor":{"prototype":{"x":1}}}');
    expect(JSON.stringify((await target.getContext("p")).metadata)).toBe('{"__proto__":{"m":1}}');
  });

  it("refuses input that is not UTF-8 with INVALID_INPUT naming the line", async () => {
    await using source = await createStore(inMemoryDriver());
    await seed(source);
    const bytes = new TextEncoder().encode(await text(source));
    const at = bytes.indexOf(0x22, bytes.indexOf(0x0a) + 1); // the first quote of line 2
    const broken = Uint8Array.from(bytes);
    broken[at + 1] = 0xff;
    async function* chunks() {
      yield broken;
    }
    await using target = await createStore(inMemoryDriver());
    const e = await importContexts(target, chunks()).catch((x: unknown) => x);
    expect(isContextError(e, "INVALID_INPUT")).toBe(true);
    expect((e as Error).message).toContain("line 2: not valid UTF-8");
    expect((await target.listContexts()).items).toEqual([]);
  });
});

describe("export and import of working-memory blocks", () => {
  async function seedBlocks(store: ContextStore): Promise<void> {
    await seed(store);
    await store.putBlock({ contextId: "chat-a" }, { label: "plan", description: "the plan", value: "1. greet", limit: { tokens: 50 } }, { actor: "planner" });
    await store.editBlock({ contextId: "chat-a" }, "plan", { op: "append", text: "\n2. help" }, { actor: "agent" });
    const schema = { type: "object", properties: { step: { type: "integer" } }, required: ["step"] };
    await store.putBlock({ contextId: "chat-a" }, { label: "progress", value: { step: 2 }, schema, limit: { chars: 100 } });
    await store.putBlock({ userId: "u1" }, { label: "human", value: "Name: Ada", limit: { chars: 100 } });
  }
  const strip = (b: { createdAt: string; updatedAt: string; version: number }) => ({ ...b, createdAt: 0, updatedAt: 0, version: 0 });

  it("round-trips the blocks of a context's scope, into SQLite; a re-import is a no-op", async () => {
    await using source = await createStore(inMemoryDriver());
    await seedBlocks(source);
    const dump = await text(source);
    expect(dump).toContain('"type":"block"');
    const dir = mkdtempSync(join(tmpdir(), "ctxd-transfer-"));
    dirs.push(dir);
    await using target = await openStore(`sqlite:${join(dir, "t.db")}`);
    const r = await importContexts(target, dump);
    expect(r).toMatchObject({ imported: ["chat-a", "chat-b"], blocks: 2 });
    const [s, t] = [await source.listBlocks({ contextId: "chat-a" }), await target.listBlocks({ contextId: "chat-a" })];
    expect(t.map(strip)).toEqual(s.map(strip));
    expect(t.find((b) => b.label === "plan")).toMatchObject({ value: "1. greet\n2. help", updatedBy: "agent", version: 1 });
    // Only a context's scope travels with it: a user's blocks are not part of a context export.
    expect(await target.listBlocks({ userId: "u1" })).toEqual([]);
    // The limit and schema hold on the imported block like on any other.
    await expect(target.editBlock({ contextId: "chat-a" }, "progress", { op: "rewrite", value: { step: "x" } })).rejects.toSatisfy((e) => isContextError(e, "INVALID_INPUT"));
    expect(await importContexts(target, dump)).toEqual({ imported: [], unchanged: ["chat-a", "chat-b"], events: 0, blocks: 0 });
    // A store with the contexts but not their blocks (an import of an older file) gets the blocks.
    await target.deleteBlock({ contextId: "chat-a" }, "plan");
    expect(await importContexts(target, dump)).toMatchObject({ imported: [], blocks: 1 });
    expect((await target.getBlock({ contextId: "chat-a" }, "plan")).value).toBe("1. greet\n2. help");
  });

  it("imports an export file from before blocks were exported", async () => {
    await using source = await createStore(inMemoryDriver());
    await seedBlocks(source);
    const old = (await text(source))
      .split("\n")
      .filter((l) => !l.includes('"type":"block"'))
      .map((l) => (l.includes('"type":"end"') ? JSON.stringify((({ blocks: _blocks, ...rest }) => rest)(JSON.parse(l) as { blocks: number })) : l))
      .join("\n");
    expect(old).not.toContain('"blocks"');
    await using target = await createStore(inMemoryDriver());
    expect(await importContexts(target, old)).toMatchObject({ imported: ["chat-a", "chat-b"], events: 7, blocks: 0 });
    expect(await target.listBlocks({ contextId: "chat-a" })).toEqual([]);
  });

  it("refuses a block over its limit with LIMIT_EXCEEDED naming the line, and writes nothing", async () => {
    await using source = await createStore(inMemoryDriver());
    await seedBlocks(source);
    const lines = (await text(source)).split("\n");
    const at = lines.findIndex((l) => l.includes('"label":"plan"'));
    const edited = JSON.parse(lines[at]!) as { block: { value: string } };
    edited.block.value += " word".repeat(100);
    lines[at] = JSON.stringify(edited);
    await using target = await createStore(inMemoryDriver());
    const e = await importContexts(target, lines.join("\n")).catch((x: unknown) => x);
    expect(isContextError(e, "LIMIT_EXCEEDED")).toBe(true);
    expect((e as { details: unknown }).details).toMatchObject({ line: at + 1, contextId: "chat-a", label: "plan", unit: "tokens", limit: 50 });
    expect((e as Error).message).toContain(`line ${at + 1}`);
    expect((await target.listContexts()).items).toEqual([]);
    expect(await target.listBlocks({ contextId: "chat-a" })).toEqual([]);
  });

  it("refuses a block the target holds with different content, and a block the schema refuses, writing nothing", async () => {
    await using source = await createStore(inMemoryDriver());
    await seedBlocks(source);
    const dump = await text(source);
    await using target = await createStore(inMemoryDriver());
    await target.putBlock({ contextId: "chat-a" }, { label: "plan", value: "other plan", limit: { chars: 100 } });
    const e = await importContexts(target, dump).catch((x: unknown) => x);
    expect(isContextError(e, "ALREADY_EXISTS")).toBe(true);
    expect((e as { details: unknown }).details).toMatchObject({ contextId: "chat-a", label: "plan" });
    expect((await target.listContexts()).items).toEqual([]);
    expect((await target.getBlock({ contextId: "chat-a" }, "plan")).value).toBe("other plan");

    // Refused by the store while writing (a value its schema refuses): the import is undone.
    const lines = dump.split("\n");
    const at = lines.findIndex((l) => l.includes('"label":"progress"'));
    const edited = JSON.parse(lines[at]!) as { block: { value: unknown } };
    edited.block.value = { step: "two" };
    lines[at] = JSON.stringify(edited);
    await using empty = await createStore(inMemoryDriver());
    const f = await importContexts(empty, lines.join("\n")).catch((x: unknown) => x);
    expect(isContextError(f, "INVALID_INPUT")).toBe(true);
    expect((f as { details: unknown }).details).toMatchObject({ line: at + 1, contextId: "chat-a" });
    expect((await empty.listContexts()).items).toEqual([]);
    expect(await empty.listBlocks({ contextId: "chat-a" })).toEqual([]);
  });

  it("fails a malformed block line with its line number", async () => {
    await using source = await createStore(inMemoryDriver());
    await seedBlocks(source);
    const lines = (await text(source)).split("\n");
    const at = lines.findIndex((l) => l.includes('"label":"plan"'));
    const edited = JSON.parse(lines[at]!) as { block: { limit: unknown } };
    edited.block.limit = {};
    lines[at] = JSON.stringify(edited);
    await using target = await createStore(inMemoryDriver());
    const e = await importContexts(target, lines.join("\n")).catch((x: unknown) => x);
    expect(isContextError(e, "INVALID_INPUT")).toBe(true);
    expect((e as { details: unknown }).details).toMatchObject({ line: at + 1 });
    const dropped = (await text(source)).split("\n").filter((_, i) => i !== at).join("\n");
    const g = await importContexts(target, dropped).catch((x: unknown) => x);
    expect(isContextError(g, "INVALID_INPUT")).toBe(true);
    expect((g as Error).message).toMatch(/1 blocks, its end line says 2/);
  });
});
