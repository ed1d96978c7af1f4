import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { createStore, inMemoryDriver, openStore } from "../index.js";
import { testEmbedder } from "../testing/index.js";
import { serve } from "../server/index.js";
import { runCliCaptured, type CliRun } from "../../test/helpers/run-cli.js";

const dir = mkdtempSync(join(tmpdir(), "contextd-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (args: string[], env: Record<string, string> = {}): Promise<CliRun> => runCliCaptured(args, { CONTEXTD_KEYS: join(dir, "keys.json"), ...env });

describe("contextd CLI", () => {
  it("reads and changes contexts of the embedded store: ls, show, history, state, diff, snapshot, restore, fork", async () => {
    const url = `sqlite:${join(dir, "a.db")}`;
    const store = await openStore(url);
    await store.createContext({ id: "chat-1", kind: "chat", title: "First", state: { step: 1 } });
    await store.patchState("chat-1", { step: 2 });
    await store.append("chat-1", [{ type: "message", data: "hi" }, { type: "tool_call", data: { id: "t1" } }]);
    await store.close();

    const ls = await cli(["--store", url, "ls"]);
    expect(ls.code).toBe(0);
    expect(ls.out).toMatch(/^ID\s+KIND\s+TITLE/);
    expect(ls.out).toMatch(/chat-1\s+chat\s+First\s+2\s+3/);
    const listed = JSON.parse((await cli(["--store", url, "--json", "ls", "--kind", "chat"])).out) as { items: { id: string }[] };
    expect(listed.items.map((c) => c.id)).toEqual(["chat-1"]);
    expect((await cli(["--store", url, "show", "chat-1"])).out).toMatch(/version:\s+2/);
    const history = await cli(["--store", url, "--json", "history", "chat-1", "--type", "message"]);
    expect(history.out.trim().split("\n").map((l) => (JSON.parse(l) as { type: string }).type)).toEqual(["message"]);
    expect(JSON.parse((await cli(["--store", url, "--json", "state", "chat-1", "--at", "1"])).out)).toEqual({ state: { step: 1 }, version: 1 });
    expect(JSON.parse((await cli(["--store", url, "--json", "diff", "chat-1", "1", "2"])).out)).toEqual([{ op: "replace", path: "/step", value: 2 }]);
    expect((await cli(["--store", url, "snapshot", "chat-1", "before"])).code).toBe(0);
    const restored = await cli(["--store", url, "restore", "chat-1", "before"]);
    expect(restored.out).toContain("now version 3");
    const fork = JSON.parse((await cli(["--store", url, "--json", "fork", "chat-1", "--id", "chat-2", "--at", "1"])).out) as { parentId: string };
    expect(fork.parentId).toBe("chat-1");
  });

  it("search: full-text search of the embedded store as a table or one JSON hit per line", async () => {
    const url = `sqlite:${join(dir, "search.db")}`;
    const store = await openStore(url);
    await store.createContext({ id: "chat-1" });
    await store.createContext({ id: "chat-2" });
    const long = `${"lorem ipsum ".repeat(10)}the Refund was approved\nafter review ${"dolor sit ".repeat(10)}`;
    await store.append("chat-1", [
      { type: "message", data: { role: "user", content: "Where is my refund?" }, timestamp: 1_000 },
      { type: "tool_call", data: { name: "refund", args: { id: "r-1" } }, timestamp: 2_000 },
      { type: "message", data: { role: "assistant", content: long }, timestamp: 3_000 },
    ]);
    await store.append("chat-2", { type: "message", data: "refund refund, twice", timestamp: 4_000 });
    await store.close();

    const table = await cli(["--store", url, "search", "REFUND"]);
    expect(table.code).toBe(0);
    const lines = table.out.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^CONTEXT\s+SEQ\s+TIME\s+TYPE\s+SCORE\s+DATA$/);
    // Best score first (two occurrences), then newest first.
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2).join("#"))).toEqual(["chat-2#1", "chat-1#3", "chat-1#2", "chat-1#1"]);
    expect(lines[1]).toMatch(/chat-2\s+1\s+1970-01-01T00:00:04\.000Z\s+message\s+2\s+refund refund, twice$/);
    // A long value is cut to one line around the first word found.
    const cut = lines.find((l) => /^chat-1\s+3\s/.test(l));
    expect(cut).toMatch(/\s….*the Refund was approved after review.*…$/);
    expect(cut).not.toContain("\n");
    expect(lines.find((l) => /^chat-1\s+1\s/.test(l))).toMatch(/user · Where is my refund\?$/);

    const json = await cli(["--store", url, "--json", "search", "refund", "--context", "chat-1", "--type", "message,tool_call", "--limit", "2"]);
    expect(json.code).toBe(0);
    const hits = json.out.trimEnd().split("\n").map((l) => JSON.parse(l) as { contextId: string; score: number; event: { seq: number; data: unknown } });
    expect(hits.map((h) => [h.contextId, h.event.seq])).toEqual([["chat-1", 3], ["chat-1", 2]]);
    expect(hits[1]).toMatchObject({ event: { type: "tool_call", data: { name: "refund", args: { id: "r-1" } } } });
    expect(typeof hits[0]?.score).toBe("number");
    expect((await cli(["--store", url, "--json", "search", "where", "refund", "--type", "message"])).out.trim().split("\n")).toHaveLength(1);
    expect((await cli(["--store", url, "--json", "search", "refund", "--type", "note"])).out).toBe("");
    const none = await cli(["--store", url, "search", "nothing", "here"]);
    expect([none.code, none.out, none.err]).toEqual([0, "", "(no matches)\n"]);
    expect((await cli(["--store", url, "search", "refund", "--limit", "1"])).err).toContain("raise --limit");
    const bad = await cli(["--store", url, "search", "!!!"]);
    expect([bad.code, bad.err]).toEqual([1, "contextd: INVALID_INPUT: text: must contain at least one word (letters or digits)\n"]);
    expect((await cli(["--store", url, "search", "a", "--limit", "x"])).code).toBe(1);
    // An empty or non-decimal number is refused, not read as 0 or 1000.
    for (const limit of ["", "1e3"]) {
      const r = await cli(["--store", url, "search", "a", "--limit", limit]);
      expect([r.code, r.err]).toEqual([1, `contextd: INVALID_INPUT: --limit: must be a whole number of at least 0 in decimal digits, got ${JSON.stringify(limit)}\n`]);
    }
    expect((await cli(["--store", url, "search"])).code).toBe(2);
  });

  it("search works against a server with --url, with the same output", async () => {
    const store = await openStore("in-memory:");
    await store.createContext({ id: "c" });
    await store.append("c", [{ type: "message", data: "deploy failed" }, { type: "note", data: { text: "Deploy again" } }]);
    const server = await serve({ store, port: 0, logger: pino({ level: "silent" }) });
    try {
      const json = await cli(["--url", server.url, "--json", "search", "deploy", "--type", "note"]);
      expect(json.code).toBe(0);
      expect(JSON.parse(json.out)).toMatchObject({ contextId: "c", event: { seq: 2, type: "note", data: { text: "Deploy again" } } });
      const table = await cli(["--url", server.url, "search", "deploy", "--context", "c"]);
      expect(table.out).toMatch(/^CONTEXT\s+SEQ/);
      expect(table.out.trimEnd().split("\n")).toHaveLength(3);
      expect((await cli(["--url", server.url, "search", "deploy", "--context", "other"])).err).toBe("(no matches)\n");
      expect((await cli(["--url", server.url, "search", "-", "--limit", "5"])).err).toMatch(/^contextd: INVALID_INPUT: text: /);
      expect((await cli(["--url", server.url, "search", "deploy", "--limit", "5000"])).err).toMatch(/^contextd: INVALID_INPUT: limit/);
    } finally {
      await server.close();
    }
  });

  it("export and import round-trip, idempotently", async () => {
    const from = `sqlite:${join(dir, "from.db")}`;
    const to = `sqlite:${join(dir, "to.db")}`;
    const store = await openStore(from);
    await store.createContext({ id: "x", kind: "k", state: { a: 1 } });
    await store.append("x", { type: "message", data: "m" });
    await store.close();
    const file = join(dir, "out.jsonl");
    expect((await cli(["--store", from, "export", "kind=k", "-o", file])).code).toBe(0);
    expect(readFileSync(file, "utf8").split("\n")[0]).toContain("contextd-export");
    const first = JSON.parse((await cli(["--store", to, "--json", "import", file])).out) as { imported: string[] };
    expect(first.imported).toEqual(["x"]);
    const again = JSON.parse((await cli(["--store", to, "--json", "import", file])).out) as { imported: string[]; unchanged: string[] };
    expect(again).toMatchObject({ imported: [], unchanged: ["x"] });
    expect((await cli(["--store", to, "export", "colour=red"])).code).toBe(1);
  });

  it("errors give a non-zero exit code and one line naming the code", async () => {
    const missing = await cli(["--store", "in-memory:", "show", "nope"]);
    expect(missing.code).toBe(1);
    expect(missing.err).toBe("contextd: NOT_FOUND: context nope not found\n");
    expect((await cli(["--store", "in-memory:", "state", "x", "--at", "-1"])).code).toBe(1);
    expect((await cli(["no-such-command"])).code).toBe(2);
    expect((await cli(["--help"])).code).toBe(0);
  });

  it("commands that only read never create a store: a missing SQLite file is NOT_FOUND naming the path, and nothing is made", async () => {
    const parent = join(dir, "nonexistent", "dir");
    const file = join(parent, "x.db");
    for (const args of [["ls"], ["show", "c"], ["history", "c"], ["state", "c"], ["search", "word"], ["diff", "c", "1", "2"], ["export"], ["memory", "ls"], ["memory", "get", "m"], ["memory", "search", "word"], ["memory", "history", "m"]]) {
      const r = await cli(["--store", `sqlite:${file}`, ...args]);
      expect({ code: r.code, out: r.out, err: r.err }, args.join(" ")).toEqual({
        code: 1,
        out: "",
        err: `contextd: NOT_FOUND: no contextd store at ${file} (nothing was created; a command that writes creates it)\n`,
      });
    }
    expect(existsSync(join(dir, "nonexistent"))).toBe(false);
    // The default store, relative to the working directory, is not created either.
    const defaultRead = await cli(["ls"], { CONTEXTD_STORE: `sqlite:${join(dir, "default", "contextd.db")}` });
    expect(defaultRead.err).toMatch(/^contextd: NOT_FOUND: no contextd store at /);
    expect(existsSync(join(dir, "default"))).toBe(false);
    // A command that writes creates it.
    writeFileSync(join(dir, "empty.jsonl"), (await cli(["--store", "in-memory:", "export"])).out);
    const imported = await cli(["--store", `sqlite:${file}`, "import", join(dir, "empty.jsonl")]);
    expect(imported.code, imported.err).toBe(0);
    expect(existsSync(file)).toBe(true);
    expect((await cli(["--store", `sqlite:${file}`, "ls"])).code).toBe(0);
  });

  it("import of a missing file or a directory: contextd's error line and code, not Node's ENOENT/EISDIR, and no store is created", async () => {
    const db = join(dir, "import-target.db");
    const missing = await cli(["--store", `sqlite:${db}`, "import", join(dir, "missing.jsonl")]);
    expect({ code: missing.code, err: missing.err }).toEqual({ code: 1, err: `contextd: NOT_FOUND: no file ${join(dir, "missing.jsonl")} to import\n` });
    const directory = await cli(["--store", `sqlite:${db}`, "import", dir]);
    expect({ code: directory.code, err: directory.err }).toEqual({
      code: 1,
      err: `contextd: INVALID_INPUT: ${dir} is a directory: import takes a JSON Lines file made by \`contextd export\`\n`,
    });
    expect(existsSync(db)).toBe(false);
  });

  it("serve with a port out of range or in use: contextd's error line and code, not Node's message", async () => {
    const big = await cli(["--store", "in-memory:", "serve", "--port", "99999"]);
    expect({ code: big.code, err: big.err }).toEqual({ code: 1, err: "contextd: INVALID_INPUT: --port: must be from 0 to 65535 (0 picks a free one), got 99999\n" });
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    try {
      const port = (taken.address() as AddressInfo).port;
      const busy = await cli(["--store", "in-memory:", "serve", "--port", String(port)]);
      expect({ code: busy.code, err: busy.err }).toEqual({
        code: 1,
        err: `contextd: ALREADY_EXISTS: 127.0.0.1:${port} is already in use: stop what listens there, or pick another port (--port, 0 picks a free one)\n`,
      });
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it("keys create, list and revoke; the secret is shown once and stored hashed", async () => {
    const created = await cli(["keys", "create", "--tenant", "team", "--scope", "read,write", "--label", "ci"]);
    expect(created.code).toBe(0);
    const key = created.out.trim();
    expect(key).toMatch(/^ctxd_[0-9a-f]{16}_/);
    expect(readFileSync(join(dir, "keys.json"), "utf8")).not.toContain(key);
    const list = JSON.parse((await cli(["--json", "keys", "list"])).out) as { id: string; tenant: string; hash?: string }[];
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ tenant: "team" });
    expect(list[0]?.hash).toBeUndefined();
    // Creating a key changes what a plain `contextd serve` does: the command says so.
    expect(created.err).toContain(`note: \`contextd serve\` now requires an API key on every request (Authorization: Bearer <key>)`);
    const elsewhere = await cli(["keys", "create", "--tenant", "team", "--keys", join(dir, "other-keys.json")]);
    expect(elsewhere.err).toContain(`note: \`contextd serve --keys ${join(dir, "other-keys.json")}\` now requires an API key`);
    expect((await cli(["keys", "revoke", list[0]!.id])).out).toContain("revoked");
    expect((await cli(["keys", "create", "--tenant", "team", "--scope", "root"])).err).toMatch(/unknown scope/);
  });

  it("doctor says what is fine and what is wrong, with a fix", async () => {
    const fresh = join(dir, "doctor-data", "doc.db");
    const ok = await cli(["--store", `sqlite:${fresh}`, "doctor"]);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/ok\s+store\s+.*no store yet at .*doc\.db; the first command that writes creates it/);
    expect(ok.out).toMatch(/ok\s+data dir\s+.*doctor-data will be created/);
    // Checking only reads: nothing was created.
    expect(existsSync(join(dir, "doctor-data"))).toBe(false);
    const foreign = join(dir, "foreign.db");
    writeFileSync(foreign, "this is not a database");
    const bad = await cli(["--store", `sqlite:${foreign}`, "doctor"]);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/FAIL\s+store/);
    expect(bad.out).toMatch(/fix: /);
  });

  it("works against a server with --url", async () => {
    const server = await serve({ store: await openStore("in-memory:"), port: 0, logger: pino({ level: "silent" }) });
    try {
      const created = await cli(["--url", server.url, "--json", "ls"]);
      expect(JSON.parse(created.out)).toEqual({ items: [], nextCursor: null });
      const doctor = await cli(["--url", server.url, "doctor"]);
      expect(doctor.out).toMatch(new RegExp(`ok\\s+store\\s+server ${server.url.replace(/\./g, "\\.")}`));
      expect((await cli(["--url", server.url, "show", "nope"])).err).toContain("NOT_FOUND");
    } finally {
      await server.close();
    }
  });

  it("search --mode vector and hybrid find events by meaning; --min-score filters; a bad mode is INVALID_INPUT", async () => {
    const store = await createStore(inMemoryDriver(), { embedder: testEmbedder() });
    await store.createContext({ id: "c" });
    await store.append("c", [{ type: "message", data: { role: "user", content: "The cats were running through the gardens" } }, { type: "message", data: "Quarterly revenue grew" }]);
    const server = await serve({ store, port: 0, logger: pino({ level: "silent" }) });
    try {
      expect((await cli(["--url", server.url, "search", "cat", "runs", "garden"])).err).toBe("(no matches)\n");
      for (const mode of ["vector", "hybrid"]) {
        const json = await cli(["--url", server.url, "--json", "search", "cat", "runs", "garden", "--mode", mode]);
        expect(json.code, json.err).toBe(0);
        const hits = json.out.trim().split("\n").map((l) => JSON.parse(l) as { event: { seq: number }; score: number });
        expect(hits.map((h) => h.event.seq)[0]).toBe(1);
        const top = await cli(["--url", server.url, "--json", "search", "cat runs garden", "--mode", mode, "--min-score", String(hits[0]?.score)]);
        expect(top.out.trim().split("\n")).toHaveLength(1);
      }
      const table = await cli(["--url", server.url, "search", "cat", "runs", "garden", "--mode", "hybrid"]);
      expect(table.out).toMatch(/^CONTEXT\s+SEQ/);
      expect((await cli(["--url", server.url, "search", "x", "--mode", "semantic"])).err).toMatch(/^contextd: INVALID_INPUT: /);
      expect((await cli(["--url", server.url, "search", "x", "--mode", "vector", "--min-score", "high"])).err).toMatch(/^contextd: INVALID_INPUT: --min-score/);
    } finally {
      await server.close();
      await store.close();
    }
  });

  it("memory add, get, ls, search, history and rm against a server, as tables or JSON", async () => {
    const store = await createStore(inMemoryDriver(), { embedder: testEmbedder() });
    const server = await serve({ store, port: 0, logger: pino({ level: "silent" }) });
    const mem = (...args: string[]) => cli(["--url", server.url, ...args]);
    try {
      const added = await mem("memory", "add", "--user", "caroline", "--tag", "family,plans", "--metadata", '{"session":1}', "Caroline", "is", "researching", "adoption", "agencies");
      expect(added.code, added.err).toBe(0);
      const [id, note] = added.out.trim().split(/\s+/);
      expect(note).toBe("added");
      expect((await mem("memory", "add", "--user", "caroline", "Caroline is researching adoption agencies")).out).toBe(`${id}  already there\n`);
      const json = JSON.parse((await mem("--json", "memory", "add", "--user", "caroline", "--namespace", "prefs/food", "--importance", "0.9", "Caroline loves spicy ramen")).out) as {
        outcome: string;
        memory: { id: string; scope: { namespace: string[] }; importance: number };
      };
      expect(json).toMatchObject({ outcome: "created", memory: { scope: { namespace: ["prefs", "food"] }, importance: 0.9 } });
      await mem("memory", "add", "--user", "melanie", "Melanie painted a sunrise over the lake");

      const ls = await mem("memory", "ls", "--user", "caroline");
      expect(ls.out).toMatch(/^ID\s+SCOPE\s+TEXT\s+TAGS\s+VERSION\s+UPDATED\n/);
      expect(ls.out.trimEnd().split("\n")).toHaveLength(3);
      expect(ls.out).toMatch(new RegExp(`${id}\\s+user=caroline\\s+Caroline is researching adoption agencies\\s+family,plans\\s+1\\s`));
      const page = JSON.parse((await mem("--json", "memory", "ls", "--namespace", "prefs", "--limit", "5")).out) as { items: { id: string }[]; nextCursor: null };
      expect(page).toEqual({ items: [expect.objectContaining({ id: json.memory.id })], nextCursor: null });
      expect(JSON.parse((await mem("--json", "memory", "ls", "--tag", "plans", "--filter", '{"session":{"$gte":1}}')).out).items).toHaveLength(1);
      const more = await mem("memory", "ls", "--limit", "1", "--order", "asc");
      expect(more.out).toContain(id);
      expect(more.err).toMatch(/^\(more: --cursor \S+\)\n$/);

      const got = await mem("memory", "get", id as string);
      expect(got.out).toMatch(/text:\s+Caroline is researching adoption agencies/);
      expect(got.out).toMatch(/embedding:\s+contextd-test-hashing-64 \(64\)/);
      expect(JSON.parse((await mem("--json", "memory", "get", id as string)).out)).toMatchObject({ id, version: 1, tags: ["family", "plans"] });

      const search = await mem("memory", "search", "what", "is", "Caroline", "researching?", "--user", "caroline");
      expect(search.out).toMatch(/^SCORE\s+BM25\s+COSINE\s+ID\s+SCOPE\s+TEXT\n/);
      expect(search.out.split("\n")[1]).toContain(id);
      const hits = (await mem("--json", "memory", "search", "ramen", "--mode", "text")).out.trim().split("\n").map((l) => JSON.parse(l) as { memory: { id: string }; textScore: number });
      expect(hits.map((h) => h.memory.id)).toEqual([json.memory.id]);
      expect(hits[0]?.textScore).toBeGreaterThan(0);
      expect((await mem("memory", "search", "zebra", "--mode", "text")).err).toBe("(no matches)\n");

      const stale = await mem("memory", "rm", id as string, "--expected-version", "2");
      expect([stale.code, stale.err]).toEqual([1, expect.stringMatching(/^contextd: VERSION_CONFLICT: /)]);
      expect((await mem("memory", "rm", id as string, "--actor", "cli")).out).toBe(`deleted ${id}\n`);
      const history = await mem("--json", "memory", "history", id as string);
      expect(history.out.trim().split("\n").map((l) => (JSON.parse(l) as { op: string; actor: string | null }).op)).toEqual(["add", "delete"]);
      expect((await mem("memory", "history", id as string)).out).toMatch(/\n2\s+delete\s+\S+\s+cli\s+Caroline/);
      expect((await mem("memory", "get", id as string)).err).toBe(`contextd: NOT_FOUND: memory ${id} does not exist\n`);

      const noScope = await mem("memory", "add", "orphan fact");
      expect([noScope.code, noScope.err]).toEqual([1, "contextd: INVALID_INPUT: scope: give --user, --agent, --context or --namespace\n"]);
      expect((await mem("memory", "ls", "--filter", "{nope")).err).toMatch(/^contextd: INVALID_INPUT: --filter: must be JSON/);
      expect((await mem("memory", "search", "x", "--mode", "fuzzy")).err).toMatch(/^contextd: INVALID_INPUT: mode/);
    } finally {
      await server.close();
      await store.close();
    }
  });

  it("memory works on the embedded store too (--store)", async () => {
    const added = await cli(["--store", "in-memory:", "--json", "memory", "add", "--agent", "a1", "the deploy key lives in the vault"]);
    expect(added.code, added.err).toBe(0);
    expect(JSON.parse(added.out)).toMatchObject({ outcome: "created", memory: { scope: { agentId: "a1" }, text: "the deploy key lives in the vault" } });
    expect(JSON.parse((await cli(["--store", "in-memory:", "--json", "memory", "ls"])).out)).toEqual({ items: [], nextCursor: null });
  });

  it("memory reindex re-embeds memories of another model with progress lines, and resumes where --limit stopped it", async () => {
    const driver = inMemoryDriver();
    const first = await createStore(driver, { embedder: testEmbedder() });
    await first.addMemories([1, 2, 3, 4, 5].map((i) => ({ scope: { userId: "u" }, text: `kite fact number ${i}` })));
    const store = await createStore(driver, { embedder: { ...testEmbedder(), model: "another-model" } });
    const server = await serve({ store, port: 0, logger: pino({ level: "silent" }) });
    try {
      const search = await cli(["--url", server.url, "memory", "search", "kite"]);
      expect(search.err).toMatch(/^contextd: MODEL_MISMATCH: .*contextd memory reindex/);
      const stopped = await cli(["--url", server.url, "memory", "reindex", "--batch-size", "2", "--limit", "3", "--progress"]);
      expect(stopped.code, stopped.err).toBe(0);
      expect(stopped.out).toBe("reindexed 3 memories; 2 still to do: run it again to continue\n");
      expect(stopped.err.trim().split("\n")).toEqual([
        "reindex: embedding 0/3 memories (0%)",
        "reindex: embedding 2/3 memories (66%)",
        "reindex: embedding 3/3 memories (100%)",
      ]);
      const rest = await cli(["--url", server.url, "--json", "memory", "reindex"]);
      expect([JSON.parse(rest.out), rest.err]).toEqual([{ reindexed: 2, remaining: 0 }, ""]);
      expect((await cli(["--url", server.url, "memory", "reindex"])).out).toBe("reindexed 0 memories\n");
      expect((await cli(["--url", server.url, "--json", "memory", "search", "kite"])).out.trim().split("\n")).toHaveLength(5);
      // An embedded store has the default model: nothing to re-embed in a new one.
      const embedded = await cli(["--store", "in-memory:", "memory", "reindex"]);
      expect([embedded.out, embedded.err]).toEqual(["reindexed 0 memories\n", ""]);
    } finally {
      await server.close();
      await store.close();
      await first.close();
    }
  });
  it("memory import adds a JSONL file in atomic batches, idempotently (a second run resumes or adds nothing), naming a bad line", async () => {
    const store = `sqlite:${join(dir, "memories.db")}`;
    const env = { CONTEXTD_EMBEDDER: "hashing" };
    const file = join(dir, "memories.jsonl");
    const lines = [
      JSON.stringify("Caroline went to the adoption agency"),
      JSON.stringify({ text: "Melanie paints sunsets", tags: ["art"], metadata: { turn: 2 } }),
      "",
      JSON.stringify({ scope: { userId: "mel" }, text: "Melanie runs on Sundays" }),
    ];
    writeFileSync(file, `${lines.join("\n")}\n`);
    const first = await cli(["--store", store, "memory", "import", file, "--user", "caroline", "--batch-size", "2", "--progress"], env);
    expect([first.code, first.out]).toEqual([0, "added 3 memories, 0 already there\n"]);
    expect(first.err.trim().split("\n")).toEqual(["memory import: adding 0/3 memories (0%)", "memory import: adding 2/3 memories (66%)", "memory import: adding 3/3 memories (100%)"]);
    const again = await cli(["--store", store, "--json", "memory", "import", file, "--user", "caroline"], env);
    expect(JSON.parse(again.out)).toEqual({ created: 0, existing: 3, merged: 0, remaining: 0 });
    const listed = await cli(["--store", store, "--json", "memory", "ls", "--user", "caroline"], env);
    expect(JSON.parse(listed.out).items.map((m: { text: string }) => m.text).sort()).toEqual(["Caroline went to the adoption agency", "Melanie paints sunsets"]);
    // A bad line: nothing of its batch is written, and the error names the line of the file.
    writeFileSync(file, `${JSON.stringify("fine text")}\n${JSON.stringify({ text: "" })}\n`);
    const bad = await cli(["--store", store, "memory", "import", file, "--user", "zed"], env);
    expect([bad.code, bad.err]).toEqual([1, expect.stringMatching(/^contextd: INVALID_INPUT: line 2: /)]);
    expect(JSON.parse((await cli(["--store", store, "--json", "memory", "ls", "--user", "zed"], env)).out).items).toEqual([]);
    writeFileSync(file, "{not json\n");
    expect((await cli(["--store", store, "memory", "import", file, "--user", "zed"], env)).err).toBe(
      "contextd: INVALID_INPUT: line 1: is not JSON (each line is a memory object or a JSON string)\n",
    );
    expect((await cli(["--store", store, "memory", "import", join(dir, "missing.jsonl")], env)).err).toMatch(/^contextd: NOT_FOUND: no file /);
  });
});
