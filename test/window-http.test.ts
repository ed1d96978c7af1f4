/**
 * The sectioned window over HTTP is the embedded one: the same options given to the embedded
 * store and to the HTTP client of a server on that store give the same PromptWindow — messages,
 * tokens, sections — in one request; bad options get the same INVALID_INPUT and field from
 * the embedded store, the client and a raw request; options that are code cannot be sent (the
 * route refuses them by name, the client assembles such a window itself).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { createStore, inMemoryDriver, isContextError, openStore, toAnthropicMessages, toOpenAIMessages } from "../src/index.js";
import type { ContextStore, EventInput, PromptWindow, PromptWindowOptions, Summarizer } from "../src/index.js";
import { createClient } from "../src/client/index.js";
import { serve } from "../src/server/index.js";
import type { RunningServer } from "../src/server/index.js";
import { hashingEmbedder } from "../src/embeddings/hashing.js";
import { defaultTokenCounter } from "../src/agent/tokens.js";
import { prng } from "./helpers/prng.js";
import { PromptWindowSchema } from "../src/server/api-types.js";

const NONCE = "fixednonce0123";
const user = (content: string): EventInput => ({ type: "message", data: { role: "user", content } });
const assistant = (content: string): EventInput => ({ type: "message", data: { role: "assistant", content } });

const stores: [string, () => Promise<ContextStore>][] = [
  ["in-memory", () => createStore(inMemoryDriver(), { tokenCounter: defaultTokenCounter, embedder: hashingEmbedder() })],
  ["sqlite", () => openStore(`sqlite:${join(dir, `window.db`)}`, { tokenCounter: defaultTokenCounter, embedder: hashingEmbedder() })],
];
let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "contextd-window-http-"));
});
afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

describe.each(stores)("the sectioned window over HTTP (%s store)", (_name, open) => {
  let store: ContextStore;
  let server: RunningServer | undefined;
  let client: ContextStore;
  let requests: { method: string; path: string }[] = [];
  let chat = "";

  beforeAll(async () => {
    store = await open();
    server = await serve({ store, port: 0, closeStore: false, logger: pino({ level: "silent" }) });
    const counting: typeof fetch = (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      requests.push({ method: init?.method ?? "GET", path: url.pathname });
      return fetch(input, init);
    };
    client = createClient({ url: server.url, fetch: counting });

    ({ id: chat } = await store.createContext({ userId: "ada", agentId: "helper" }));
    await store.append(chat, [{ type: "system", data: "Answer briefly." }, user("My cat is called Miso and she likes tuna."), assistant("Noted!")]);
    await store.append(chat, [
      { type: "tool_call", data: { id: "t1", name: "weather", arguments: { city: "Lyon" } } },
      { type: "tool_result", data: { toolCallId: "t1", content: `Lyon: ${"sunny and mild, ".repeat(80)}` } },
    ]);
    for (let i = 0; i < 30; i++) await store.append(chat, [user(`filler question ${i} about the garden`), assistant(`filler answer ${i}`)]);
    await store.append(chat, user("What does my cat Miso like to eat?"));
    await store.addMemories([
      { scope: { userId: "ada" }, text: "Ada's cat Miso is allergic to chicken.", tags: ["pets"] },
      { scope: { userId: "ada" }, text: "Ada lives in Lyon." },
      { scope: { agentId: "helper" }, text: "The helper answers in French when asked." },
    ]);
    await store.putBlock({ contextId: chat }, { label: "task", description: "what we are doing", value: "Plan Miso's diet.", limit: { chars: 200 } });
    await store.putBlock({ userId: "ada" }, { label: "human", description: "facts about the user", value: "Name: Ada. Cat: Miso.", limit: { chars: 200 } });
    await store.putBlock({ agentId: "helper" }, { label: "persona", value: "Friendly and brief.", limit: { tokens: 50 } });
  });

  afterAll(async () => {
    await client?.close();
    await server?.close();
    await store?.close();
  });

  /** The window as the client received it and as the embedded store built it; asserts they are equal. */
  async function both(options: PromptWindowOptions & { sections: object }): Promise<PromptWindow> {
    const local = await store.context(chat).window(options);
    requests = [];
    const remote = await client.context(chat).window(options);
    // One request: the server builds it (the client reads nothing itself).
    expect(requests).toEqual([{ method: "POST", path: `/v1/contexts/${chat}/window` }]);
    expect(remote).toStrictEqual(JSON.parse(JSON.stringify(local)));
    expect(remote).toEqual(local);
    // The OpenAPI document's schema describes it: every field (parsing drops undocumented keys) and type.
    expect(PromptWindowSchema.parse(remote)).toStrictEqual(remote);
    return remote;
  }

  const section = (w: PromptWindow, name: string) => w.sections.find((s) => s.name === name)!;

  it("is the embedded window in one request: the store's blocks of the context, its user and its agent, memories, recall, a summary", async () => {
    const w = await both({
      maxTokens: 900,
      model: "gpt-4o",
      nonce: NONCE,
      instructions: "You are Ada's assistant.",
      sections: { recall: { limit: 1, range: 1 }, summary: { max: 150 }, memories: { max: 200 } },
    });
    expect(section(w, "workingMemory").included).toEqual(["block:task", "block:human", "block:persona"]);
    expect(section(w, "memories").included.length).toBeGreaterThan(0);
    expect(section(w, "recall").included.length).toBe(1);
    expect(section(w, "summary").included.length).toBe(1);
    expect(w.tokens).toBeLessThanOrEqual(w.budget);
    // The formats are pure functions of the window: the same from either.
    expect(toOpenAIMessages(w)).toEqual(toOpenAIMessages(await store.context(chat).window({ maxTokens: 900, model: "gpt-4o", nonce: NONCE, instructions: "You are Ada's assistant.", sections: { recall: { limit: 1, range: 1 }, summary: { max: 150 }, memories: { max: 200 } } })));
    expect(toAnthropicMessages(w).system).toContain("You are Ada's assistant.");
  });

  it("is the embedded window with cl100k, chosen scopes, text memories with tags, capped tool outputs and recall off", async () => {
    const w = await both({
      maxTokens: 3000,
      encoding: "cl100k_base",
      nonce: NONCE,
      sections: {
        workingMemory: { scopes: [{ userId: "ada" }], priority: 10, max: 400 },
        memories: { mode: "text", limit: 3, tags: ["pets"], scope: { userId: "ada" } },
        recall: false,
        toolOutputs: { maxTokensPerItem: 20 },
        recent: { min: 200, pageSize: 7 },
      },
    });
    expect(w.encoding).toBe("cl100k_base");
    expect(section(w, "workingMemory").included).toEqual(["block:human"]);
    expect(section(w, "memories").included.length).toBe(1);
    expect(section(w, "recall").skipped).toBe("off");
    expect(section(w, "toolOutputs").included).toEqual(["seq:5"]);
  });

  it("is the embedded window with given blocks, vector memories and recall, a query, a small budget and no summary", async () => {
    const w = await both({
      maxTokens: 400,
      reserveTokens: 50,
      model: "gpt-4.1",
      query: "Miso tuna",
      nonce: NONCE,
      sections: {
        pinned: { types: ["system"], scanLimit: 10 },
        workingMemory: { blocks: [{ label: "scratch", description: null, value: { step: 2, done: ["a", "b"] }, limit: { chars: 100 } }] },
        memories: { mode: "vector", scope: { agentId: "helper" }, minScore: undefined },
        recall: { mode: "vector", range: { before: 0, after: 2 }, limit: 2 },
        recent: { dedupe: false, types: ["message", "system"] },
        summary: false,
      },
    });
    expect(w.query).toBe("Miso tuna");
    expect(section(w, "workingMemory").included).toEqual(["block:scratch"]);
    expect(section(w, "summary").skipped).toBe("off");
  });

  it("keeps a random nonce per window over HTTP too, and the window is whole", async () => {
    const a = await client.context(chat).window({ maxTokens: 500, sections: {} });
    const b = await client.context(chat).window({ maxTokens: 500, sections: {} });
    expect(a.nonce).toMatch(/^[0-9a-f]{16}$/);
    expect(a.nonce).not.toBe(b.nonce);
    const local = await store.context(chat).window({ maxTokens: 500, sections: {}, nonce: a.nonce });
    expect(a).toEqual(local);
  });

  it("a window with a summarizer or a block loader (code) is assembled by the client itself, as the embedded store does", async () => {
    const summarize: Summarizer = async ({ events }) => `${events.length} older events about the garden.`;
    const load = async () => [{ label: "loaded", value: "from the caller's loader" }];
    const options = { maxTokens: 600, nonce: NONCE, sections: { summary: { summarize }, workingMemory: { load } } };
    const local = await store.context(chat).window(options);
    requests = [];
    const remote = await client.context(chat).window(options);
    expect(remote).toEqual(local);
    expect(section(remote, "workingMemory").included).toEqual(["block:loaded"]);
    expect(remote.messages.some((m) => m.content.includes("older events about the garden."))).toBe(true);
    expect(requests.some((r) => r.path.endsWith("/window"))).toBe(false);
  });

  it("refuses bad options with INVALID_INPUT and the same field embedded, through the client and in a raw request", async () => {
    const bad: [unknown, string][] = [
      [{ maxTokens: 100, sections: { recnet: {} } }, "sections.recnet"],
      [{ maxTokens: -5, sections: {} }, "maxTokens"],
      [{ maxTokens: 100, reserveTokens: -1, sections: {} }, "reserveTokens"],
      [{ maxTokens: 100, reserveTokens: 98, sections: {} }, "reserveTokens"],
      [{ maxTokens: 100, sections: { recent: { min: -1 } } }, "sections.recent.min"],
      [{ maxTokens: 100, sections: { memories: { limt: 3 } } }, "sections.memories.limt"],
      [{ maxTokens: 100, model: "claude-sonnet-4-5" }, "model"],
      [{ maxTokens: 100, model: 4 }, "model"],
      [{ sections: {} }, "maxTokens"],
      [{ maxTokens: 100, sections: { recall: { range: { before: 1 } } } }, "sections.recall.range.after"],
      [{ maxTokens: 100, sections: { workingMemory: { blocks: "human" } } }, "sections.workingMemory.blocks"],
      [{ maxTokens: 100, sections: { workingMemory: { blocks: [{ label: "x" }] } } }, "sections.workingMemory.blocks[0].value"],
      [{ maxTokens: 100, sections: { summary: { summarize: "extractive" } } }, "sections.summary.summarize"],
      [{ maxTokens: 100, sections: { workingMemory: { load: "mine" } } }, "sections.workingMemory.load"],
      [{ maxTokens: 100, nonce: "x", sections: {} }, "nonce"],
    ];
    const fieldOf = (e: unknown) => (isContextError(e, "INVALID_INPUT") ? (e.details as { field?: unknown }).field : e);
    for (const [options, field] of bad) {
      const label = JSON.stringify(options);
      const embedded = await store.context(chat).window(options as never).then(() => null, (e: unknown) => e);
      expect(fieldOf(embedded), label).toBe(field);
      const viaClient = await client.context(chat).window(options as never).then(() => null, (e: unknown) => e);
      expect(fieldOf(viaClient), label).toBe(field);
      const res = await fetch(`${server!.url}/v1/contexts/${chat}/window`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(options) });
      const body = (await res.json()) as { code: string; details: { field: string } };
      expect([res.status, body.code, body.details.field], label).toEqual([400, "INVALID_INPUT", field]);
    }
  });

  it("values JSON would change are refused by the client before sending, with the field the embedded store names", async () => {
    const cases: unknown[] = [
      { maxTokens: 100, sections: { memories: { minScore: Number.NaN } } },
      { maxTokens: 100, sections: { recent: { priority: Number.POSITIVE_INFINITY } } },
      { maxTokens: 100, query: "cats", sections: { memories: { filter: { at: new Date(0) } } } },
      { maxTokens: 100, sections: { workingMemory: { blocks: [{ label: "x", value: { when: new Date(0) } }] } } },
    ];
    for (const options of cases) {
      const fieldOf = (e: unknown) => (isContextError(e, "INVALID_INPUT") ? (e.details as { field?: unknown }).field : e);
      const embedded = fieldOf(await store.context(chat).window(options as never).then(() => null, (e: unknown) => e));
      requests = [];
      const viaClient = fieldOf(await client.context(chat).window(options as never).then(() => null, (e: unknown) => e));
      expect(typeof embedded).toBe("string");
      expect(viaClient).toBe(embedded);
      expect(requests).toEqual([]);
    }
  });

  it("refuses in a raw request the options that only exist in the caller's process, by name", async () => {
    const cases: [unknown, string][] = [
      [{ maxTokens: 100, sections: { summary: { summarize: {} } } }, "sections.summary.summarize"],
      [{ maxTokens: 100, sections: { workingMemory: { load: null } } }, "sections.workingMemory.load"],
      [{ maxTokens: 100, signal: {}, sections: {} }, "signal"],
    ];
    for (const [options, field] of cases) {
      const res = await fetch(`${server!.url}/v1/contexts/${chat}/window`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(options) });
      const body = (await res.json()) as { code: string; message: string; details: { field: string } };
      expect([res.status, body.code, body.details.field]).toEqual([400, "INVALID_INPUT", field]);
      expect(body.message).toContain("cannot be sent over HTTP");
    }
  });

  it("the history window (no model, no sections) still goes through the route as before, and a missing context is NOT_FOUND", async () => {
    const res = await fetch(`${server!.url}/v1/contexts/${chat}/window`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ maxTokens: 200, summarize: true }) });
    expect(res.status).toBe(200);
    const w = (await res.json()) as { events: unknown[]; summary?: unknown };
    expect(w.events.length).toBeGreaterThan(0);
    expect(w.summary).toBeDefined();
    const unknownField = await fetch(`${server!.url}/v1/contexts/${chat}/window`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ maxTokens: 200, sectons: {} }) });
    expect([unknownField.status, ((await unknownField.json()) as { code: string }).code]).toEqual([400, "INVALID_INPUT"]);
    for (const body of ["{ not json", "", "[]", "null", '"sections"']) {
      const res = await fetch(`${server!.url}/v1/contexts/${chat}/window`, { method: "POST", headers: { "content-type": "application/json" }, body });
      expect([res.status, ((await res.json()) as { code: string }).code], body).toEqual([400, "INVALID_INPUT"]);
    }
    const missing = await client.context("no-such-context").window({ maxTokens: 200, sections: {} }).then(() => null, (e: unknown) => e);
    expect(isContextError(missing, "NOT_FOUND")).toBe(true);
  });

  it("any option set to a wrong value gets the same answer over HTTP as embedded: the same window, or INVALID_INPUT with the same field; never a 5xx", async () => {
    const base = () => ({
      maxTokens: 700,
      reserveTokens: 20,
      model: "gpt-4o",
      instructions: ["Be brief."],
      query: "Miso tuna",
      nonce: NONCE,
      sections: {
        pinned: { types: ["system"], scanLimit: 20 },
        workingMemory: { priority: 90, min: 0, max: 300, scopes: [{ userId: "ada" }], blocks: [{ label: "b", description: "d", value: "v", limit: { chars: 10 } }] },
        memories: { priority: 70, limit: 3, mode: "text", minScore: 0, tags: ["pets"], scope: { userId: "ada" }, filter: {}, boosts: { importance: { weight: 0.1 } } },
        recall: { priority: 60, mode: "text", limit: 2, range: { before: 1, after: 1 }, minScore: 0 },
        recent: { priority: 40, min: 100, max: 600, types: ["message", "system"], dedupe: true, scanLimit: 500, pageSize: 50 },
        toolOutputs: { maxTokensPerItem: 50 },
        summary: { priority: 50, max: 100, scanLimit: 20 },
      },
    });
    const paths: string[][] = [];
    const walk = (o: unknown, at: string[]) => {
      if (o === null || typeof o !== "object") return;
      for (const [k, v] of Object.entries(o)) {
        paths.push([...at, k]);
        walk(v, [...at, k]);
      }
    };
    walk(base(), []);
    const junk: unknown[] = [null, -1, 0, 1.5, 1e12, "", "x", "gpt-4o", [], [1], ["x"], {}, { a: 1 }, true, false];
    const random = prng(20261130);
    const answer = async (p: Promise<unknown>) =>
      p.then(
        (w) => ({ ok: JSON.parse(JSON.stringify(w)) as unknown }),
        (e: unknown) => (isContextError(e) ? { code: e.code, field: (e.details as { field?: unknown }).field } : { thrown: String(e) }),
      );
    for (let i = 0; i < 120; i++) {
      const options = base() as Record<string, unknown>;
      const path = paths[Math.floor(random() * paths.length)]!;
      const value = junk[Math.floor(random() * junk.length)];
      let at = options;
      for (const k of path.slice(0, -1)) at = at[k] as Record<string, unknown>;
      at[path[path.length - 1]!] = value;
      const label = `${path.join(".")} = ${JSON.stringify(value)}`;
      const embedded = await answer(store.context(chat).window(options as never));
      const res = await fetch(`${server!.url}/v1/contexts/${chat}/window`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(options) });
      const body = (await res.json()) as { code?: string; details?: { field?: unknown } };
      expect(res.status, label).toBeLessThan(500);
      const overHttp = res.status === 200 ? { ok: body } : { code: body.code, field: body.details?.field };
      expect(overHttp, label).toEqual(embedded);
    }
  });

  it("a tenant view of the client builds its window in its tenant: another tenant's context is missing, its blocks and memories are not there", async () => {
    const other = client.withTenant("team-other");
    expect(await other.context(chat).window({ maxTokens: 500, sections: {} }).then(() => null, (e: unknown) => (isContextError(e) ? e.code : e))).toBe("NOT_FOUND");
    const { id } = await other.createContext({ userId: "ada", agentId: "helper" });
    await other.append(id, user("What does my cat Miso like to eat?"));
    requests = [];
    const w = await other.context(id).window({ maxTokens: 2000, model: "gpt-4o", sections: { memories: { scope: { userId: "ada" } } } });
    expect(requests).toEqual([{ method: "POST", path: `/v1/contexts/${id}/window` }]);
    expect([section(w, "workingMemory").included, section(w, "memories").included]).toEqual([[], []]);
    expect(JSON.stringify(w.messages)).not.toMatch(/Miso is allergic|Name: Ada|Plan Miso/);
    // The same options in the default tenant do see ada's blocks and memories.
    const own = await client.context(chat).window({ maxTokens: 2000, model: "gpt-4o", sections: { memories: { scope: { userId: "ada" } } } });
    expect(section(own, "workingMemory").included.length).toBe(3);
    expect(section(own, "memories").included.length).toBeGreaterThan(0);
  });

  it("an aborted signal rejects with ABORTED, as embedded, and nothing is sent", async () => {
    const signal = AbortSignal.abort();
    const embedded = await store.context(chat).window({ maxTokens: 500, sections: {}, signal }).then(() => null, (e: unknown) => (isContextError(e) ? e.code : e));
    requests = [];
    const remote = await client.context(chat).window({ maxTokens: 500, sections: {}, signal }).then(() => null, (e: unknown) => (isContextError(e) ? e.code : e));
    expect([embedded, remote]).toEqual(["ABORTED", "ABORTED"]);
    expect(requests).toEqual([]);
  });
});
