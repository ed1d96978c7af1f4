import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCliCaptured, type CliRun } from "../../test/helpers/run-cli.js";

const dir = mkdtempSync(join(tmpdir(), "contextd-cli-blocks-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (args: string[]): Promise<CliRun> => runCliCaptured(args, { CONTEXTD_KEYS: join(dir, "keys.json") });

describe("contextd block", () => {
  it("set, append, replace, rewrite, get, ls, history and rm on the embedded store; limits and bad input are typed errors", async () => {
    const s = ["--store", `sqlite:${join(dir, "b.db")}`];
    const u = ["--user", "u1"];
    expect((await cli([...s, "block", "set", "human", "Name: Ada", ...u, "--chars", "40", "--description", "the user"])).out).toMatch(/^human\s+version 1\s+\(40 chars\)/);
    expect((await cli([...s, "block", "append", "human", "; likes tea", ...u, "--actor", "cli"])).code).toBe(0);
    expect((await cli([...s, "block", "replace", "human", "tea", "coffee", ...u])).code).toBe(0);
    expect((await cli([...s, "block", "get", "human", ...u, "--value"])).out).toBe("Name: Ada; likes coffee\n");
    const over = await cli([...s, "block", "append", "human", "x".repeat(30), ...u]);
    expect([over.code, over.err]).toEqual([1, expect.stringMatching(/^contextd: LIMIT_EXCEEDED: block human would hold 53 characters, 13 over its limit of 40/)]);
    const stale = await cli([...s, "block", "rewrite", "human", "new", ...u, "--if-version", "1"]);
    expect(stale.err).toMatch(/^contextd: VERSION_CONFLICT: /);
    expect((await cli([...s, "block", "rewrite", "human", "Name: Bo", ...u, "--if-version", "3"])).code).toBe(0);
    await cli([...s, "block", "set", "prefs", '{"units":"metric"}', ...u, "--tokens", "50", "--schema", '{"type":"object"}']);
    await cli([...s, "block", "rewrite", "prefs", '{"units":"imperial"}', "--json-value", ...u]);
    const listed = JSON.parse((await cli([...s, "--json", "block", "ls", ...u])).out) as { items: { label: string; value: unknown }[] };
    expect(listed.items.map((b) => [b.label, b.value])).toEqual([["human", "Name: Bo"], ["prefs", { units: "imperial" }]]);
    const history = (await cli([...s, "--json", "block", "history", "human", ...u])).out.trim().split("\n").map((l) => JSON.parse(l) as { op: string; actor: string | null });
    expect(history.map((v) => [v.op, v.actor])).toEqual([["put", null], ["append", "cli"], ["replace", null], ["rewrite", null]]);
    const page = (await cli([...s, "--json", "block", "history", "human", ...u, "--after", "1", "--limit", "2"])).out.trim().split("\n").map((l) => JSON.parse(l) as { op: string });
    expect(page.map((v) => v.op)).toEqual(["append", "replace"]);
    expect((await cli([...s, "block", "rm", "prefs", ...u])).out).toBe("deleted prefs\n");
    expect((await cli([...s, "block", "get", "prefs", ...u])).err).toMatch(/^contextd: NOT_FOUND: /);
    expect((await cli([...s, "block", "ls"])).err).toMatch(/^contextd: INVALID_INPUT: scope: give exactly one of --context, --user, --agent/);
    expect((await cli([...s, "block", "set", "1bad", "v", ...u, "--chars", "5"])).err).toMatch(/^contextd: INVALID_INPUT: block\.label: /);
    expect((await cli([...s, "block", "set", "nolimit", "v", ...u])).err).toMatch(/^contextd: INVALID_INPUT: block\.limit: /);
  }, 60_000);
});
