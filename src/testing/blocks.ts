/**
 * Conformance: working-memory blocks — the model, edits, the hard limit on every write path
 * (characters and o200k tokens), versions and history, compare-and-set, concurrent edits,
 * JSON blocks and their schemas, scopes, tenancy, and bad input.
 */
import { describe, expect } from "vitest";
import type { Block, BlockScope } from "../core/block-types.js";
import type { JsonObject } from "../core/json-types.js";
import { blockTools } from "../agent/blocks.js";
import { expectError, randomName } from "./harness.js";
import type { Suite } from "./harness.js";

/** Registers the block tests. */
export function blocksTests(s: Suite): void {
  const K = "blocks" as const;
  const user = (): BlockScope => ({ userId: randomName("u") });

  describe("working-memory blocks", () => {
    s.test(K, "putBlock creates a block at version 1; getBlock and listBlocks (by label) return it", async () => {
      const scope = user();
      const b = await s.store.putBlock(scope, { label: "human", description: "Facts about the user", value: "Name: Ada", limit: { chars: 100 } }, { actor: "agent-1" });
      expect(b).toMatchObject({ scope, label: "human", description: "Facts about the user", value: "Name: Ada", limit: { chars: 100 }, version: 1, updatedBy: "agent-1" });
      expect(b.schema).toBeUndefined();
      expect(b.createdAt).toBe(b.updatedAt);
      expect(await s.store.getBlock(scope, "human")).toEqual(b);
      await s.store.putBlock(scope, { label: "Alpha", value: "", limit: { tokens: 10 } });
      await s.store.putBlock(scope, { label: "persona", value: "Brief.", limit: { chars: 50, tokens: 20 } });
      expect((await s.store.listBlocks(scope)).map((x) => x.label)).toEqual(["Alpha", "human", "persona"]);
      expect(await s.store.listBlocks(user())).toEqual([]);
      await expectError(() => s.store.getBlock(scope, "nobody"), "NOT_FOUND");
    });

    s.test(K, "append, replace and rewrite make new versions; the history keeps every version with its op and actor", async () => {
      const scope = user();
      await s.store.putBlock(scope, { label: "notes", value: "likes tea", limit: { chars: 200 } });
      expect((await s.store.editBlock(scope, "notes", { op: "append", text: "; lives in Oslo" }, { actor: "a" })).value).toBe("likes tea; lives in Oslo");
      const r = await s.store.editBlock(scope, "notes", { op: "replace", old: "tea", new: "coffee" }, { actor: "b" });
      expect(r).toMatchObject({ value: "likes coffee; lives in Oslo", version: 3, updatedBy: "b" });
      const w = await s.store.editBlock(scope, "notes", { op: "rewrite", value: "fresh start" });
      expect(w.version).toBe(4);
      expect(w.updatedBy).toBeUndefined();
      const h = await s.store.blockHistory(scope, "notes");
      expect(h.map((v) => [v.version, v.op, v.value, v.actor])).toEqual([
        [1, "put", "likes tea", null],
        [2, "append", "likes tea; lives in Oslo", "a"],
        [3, "replace", "likes coffee; lives in Oslo", "b"],
        [4, "rewrite", "fresh start", null],
      ]);
      expect(h[0]?.limit).toEqual({ chars: 200 });
    });

    s.test(K, "replace refuses an `old` that is missing or occurs more than once (INVALID_INPUT with occurrences); nothing is written", async () => {
      const scope = user();
      await s.store.putBlock(scope, { label: "n", value: "a cat and a cat; aaa", limit: { chars: 100 } });
      const missing = await expectError(() => s.store.editBlock(scope, "n", { op: "replace", old: "dog", new: "x" }), "INVALID_INPUT");
      expect(missing.details).toMatchObject({ field: "edit.old", occurrences: 0 });
      const twice = await expectError(() => s.store.editBlock(scope, "n", { op: "replace", old: "cat", new: "x" }), "INVALID_INPUT");
      expect(twice.details).toMatchObject({ field: "edit.old", occurrences: 2 });
      // Overlapping occurrences are ambiguous too.
      await expectError(() => s.store.editBlock(scope, "n", { op: "replace", old: "aa", new: "b" }), "INVALID_INPUT");
      expect((await s.store.getBlock(scope, "n")).version).toBe(1);
      expect((await s.store.editBlock(scope, "n", { op: "replace", old: "a cat and", new: "one" })).value).toBe("one a cat; aaa");
    });

    s.test(K, "the character limit holds on every write path with LIMIT_EXCEEDED saying by how much; nothing is written", async () => {
      const scope = user();
      const tooBig = await expectError(() => s.store.putBlock(scope, { label: "b", value: "x".repeat(11), limit: { chars: 10 } }), "LIMIT_EXCEEDED");
      expect(tooBig.details).toEqual({ label: "b", limit: 10, unit: "chars", size: 11, over: 1 });
      await expectError(() => s.store.getBlock(scope, "b"), "NOT_FOUND");
      await s.store.putBlock(scope, { label: "b", value: "12345678", limit: { chars: 10 } });
      const append = await expectError(() => s.store.editBlock(scope, "b", { op: "append", text: "abcde" }), "LIMIT_EXCEEDED");
      expect(append.details).toMatchObject({ limit: 10, unit: "chars", size: 13, over: 3 });
      const replace = await expectError(() => s.store.editBlock(scope, "b", { op: "replace", old: "1", new: "one-" }), "LIMIT_EXCEEDED");
      expect(replace.details).toMatchObject({ size: 11, over: 1 });
      const rewrite = await expectError(() => s.store.editBlock(scope, "b", { op: "rewrite", value: "y".repeat(30) }), "LIMIT_EXCEEDED");
      expect(rewrite.details).toMatchObject({ size: 30, over: 20 });
      // Overwriting with a lower limit is checked against the new limit.
      await expectError(() => s.store.putBlock(scope, { label: "b", value: "12345678", limit: { chars: 5 } }), "LIMIT_EXCEEDED");
      const b = await s.store.getBlock(scope, "b");
      expect([b.value, b.version, b.limit]).toEqual(["12345678", 1, { chars: 10 }]);
      expect((await s.store.blockHistory(scope, "b")).length).toBe(1);
      // Exactly at the limit is fine.
      expect((await s.store.editBlock(scope, "b", { op: "append", text: "90" })).value).toBe("1234567890");
    });

    s.test(K, "a token limit counts o200k_base tokens of the value", async () => {
      const scope = user();
      // "hello world" is 2 tokens; "hello world and more words here" is 6.
      await s.store.putBlock(scope, { label: "t", value: "hello world", limit: { tokens: 5 } });
      const e = await expectError(() => s.store.editBlock(scope, "t", { op: "append", text: " and more words here" }), "LIMIT_EXCEEDED");
      expect(e.details).toEqual({ label: "t", limit: 5, unit: "tokens", size: 6, over: 1 });
      // Special-token strings are counted as text ("<|endoftext|>" is 7 tokens), never as an error.
      const sp = await expectError(() => s.store.editBlock(scope, "t", { op: "rewrite", value: "<|endoftext|>" }), "LIMIT_EXCEEDED");
      expect(sp.details).toMatchObject({ size: 7, over: 2 });
      expect((await s.store.getBlock(scope, "t")).value).toBe("hello world");
    });

    s.test(K, "ifVersion: a stale edit, put or delete is VERSION_CONFLICT with the current version; ifVersion 0 means create only", async () => {
      const scope = user();
      expect((await s.store.putBlock(scope, { label: "v", value: "one", limit: { chars: 50 } }, { ifVersion: 0 })).version).toBe(1);
      const again = await expectError(() => s.store.putBlock(scope, { label: "v", value: "two", limit: { chars: 50 } }, { ifVersion: 0 }), "VERSION_CONFLICT");
      expect(again.details).toMatchObject({ expected: 0, actual: 1, label: "v" });
      await s.store.editBlock(scope, "v", { op: "append", text: "!" }, { ifVersion: 1 });
      const stale = await expectError(() => s.store.editBlock(scope, "v", { op: "append", text: "?" }, { ifVersion: 1 }), "VERSION_CONFLICT");
      expect(stale.details).toMatchObject({ expected: 1, actual: 2 });
      await expectError(() => s.store.deleteBlock(scope, "v", { ifVersion: 1 }), "VERSION_CONFLICT");
      expect((await s.store.getBlock(scope, "v")).value).toBe("one!");
      await s.store.deleteBlock(scope, "v", { ifVersion: 2 });
    });

    s.test(K, "concurrent edits are never lost: 20 parallel appends through updateBlock and 20 plain appends all land", async () => {
      const scope = user();
      await s.store.putBlock(scope, { label: "log", value: "", limit: { chars: 10_000 } });
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => s.store.updateBlock(scope, "log", (b) => ({ op: "append", text: `${b.version}>u${i};` }))),
      );
      await Promise.all(Array.from({ length: 20 }, (_, i) => s.store.editBlock(scope, "log", { op: "append", text: `p${i};` })));
      const b = await s.store.getBlock(scope, "log");
      expect(b.version).toBe(41);
      const parts = (b.value as string).split(";").filter((p) => p.length > 0);
      for (let i = 0; i < 20; i++) {
        expect(parts.filter((p) => p.endsWith(`>u${i}`)).length, `u${i}`).toBe(1);
        expect(parts.filter((p) => p === `p${i}`).length, `p${i}`).toBe(1);
      }
      // Each updateBlock edit was applied to exactly the version its function read.
      const seen = parts.filter((p) => p.includes(">")).map((p) => Number(p.split(">")[0]));
      expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect((await s.store.blockHistory(scope, "log")).map((v) => v.version)).toEqual(Array.from({ length: 41 }, (_, i) => i + 1));
    }, 60_000);

    s.test([K, "sharedBackend"], "two stores on one backend (two connections): parallel edits through both all land, each once", async () => {
      const scope = user();
      const peer = await s.openPeer();
      await s.store.putBlock(scope, { label: "shared", value: "", limit: { chars: 10_000 } });
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => {
          const via = i % 2 === 0 ? s.store : peer;
          return i % 4 < 2
            ? via.updateBlock(scope, "shared", () => ({ op: "append", text: `u${i};` }))
            : via.editBlock(scope, "shared", { op: "append", text: `u${i};` });
        }),
      );
      const b = await peer.getBlock(scope, "shared");
      const parts = (b.value as string).split(";").filter((p) => p.length > 0).sort();
      expect(parts).toEqual(Array.from({ length: 20 }, (_, i) => `u${i}`).sort());
      expect(b.version).toBe(21);
    }, 60_000);

    s.test(K, "a JSON block checks every value against its schema (INVALID_INPUT with the JSON pointer); append and replace are for text", async () => {
      const scope = user();
      const schema = { type: "object", properties: { name: { type: "string" }, age: { type: "integer", minimum: 0 } }, required: ["name"], additionalProperties: false };
      const b = await s.store.putBlock(scope, { label: "profile", value: { name: "Ada", age: 36 }, schema, limit: { chars: 200 } });
      expect(b).toMatchObject({ value: { name: "Ada", age: 36 }, schema });
      const bad = await expectError(() => s.store.editBlock(scope, "profile", { op: "rewrite", value: { name: "Ada", age: -1 } }), "INVALID_INPUT");
      expect(bad.details).toMatchObject({ field: "edit.value", path: "/age" });
      const missing = await expectError(() => s.store.putBlock(scope, { label: "p2", value: { age: 3 }, schema, limit: { chars: 200 } }), "INVALID_INPUT");
      expect(missing.details).toMatchObject({ field: "block.value", path: "/name" });
      await expectError(() => s.store.editBlock(scope, "profile", { op: "append", text: "x" }), "INVALID_INPUT");
      await expectError(() => s.store.editBlock(scope, "profile", { op: "replace", old: "Ada", new: "Bo" }), "INVALID_INPUT");
      // The limit counts the value's JSON text.
      const over = await expectError(() => s.store.editBlock(scope, "profile", { op: "rewrite", value: { name: "x".repeat(200) } }), "LIMIT_EXCEEDED");
      expect(over.details).toMatchObject({ size: JSON.stringify({ name: "x".repeat(200) }).length });
      expect((await s.store.editBlock(scope, "profile", { op: "rewrite", value: { name: "Bo" } })).value).toEqual({ name: "Bo" });
      await expectError(() => s.store.putBlock(scope, { label: "p3", value: { a: 1 }, limit: { chars: 20 } }), "INVALID_INPUT");
      await expectError(() => s.store.putBlock(scope, { label: "p3", value: 1, schema: { type: "nope" }, limit: { chars: 20 } }), "INVALID_INPUT");
    });

    s.test(K, "__proto__ inside a JSON value is data, never a prototype", async () => {
      const scope = user();
      const value = JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": 1}}') as JsonObject;
      const b = await s.store.putBlock(scope, { label: "j", value, schema: { type: "object" }, limit: { chars: 200 } });
      const got = (await s.store.getBlock(scope, "j")).value as Record<string, unknown>;
      for (const v of [b.value as Record<string, unknown>, got]) {
        expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
        expect(Object.hasOwn(v, "__proto__")).toBe(true);
        expect(JSON.stringify(v)).toBe('{"__proto__":{"polluted":true},"constructor":{"prototype":1}}');
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      await expectError(() => s.store.putBlock(scope, { label: "__proto__", value: "x", limit: { chars: 5 } }), "INVALID_INPUT");
    });

    s.test(K, "bad labels, scopes, limits, values and edits are INVALID_INPUT naming the field, and write nothing", async () => {
      const scope = user();
      const put = (label: unknown, extra: Record<string, unknown> = {}) =>
        s.store.putBlock(scope, { label, value: "v", limit: { chars: 10 }, ...extra } as never);
      for (const label of ["", "x".repeat(65), "1abc", "a b", "a/b", "é", "constructor", "prototype", "contextd-notes", "__proto__", 5, null]) {
        const e = await expectError(() => put(label), "INVALID_INPUT");
        expect(e.details.field, JSON.stringify(label)).toBe("block.label");
      }
      for (const bad of [{}, { userId: "u", agentId: "a" }, { contextId: "bad id!" }, { userId: 3 }, { other: "x" }, null]) {
        await expectError(() => s.store.putBlock(bad as never, { label: "ok", value: "v", limit: { chars: 10 } }), "INVALID_INPUT");
        await expectError(() => s.store.listBlocks(bad as never), "INVALID_INPUT");
      }
      for (const limit of [undefined, {}, { chars: 0 }, { chars: 1.5 }, { tokens: -1 }, { chars: 2 ** 21 }, { lines: 3 }]) {
        const e = await expectError(() => put("ok", { limit }), "INVALID_INPUT");
        expect(String(e.details.field)).toMatch(/^block\.limit/);
      }
      await expectError(() => put("ok", { value: 42 }), "INVALID_INPUT");
      await expectError(() => put("ok", { value: "bad \uD800 surrogate" }), "INVALID_INPUT");
      await expectError(() => put("ok", { description: "tab\tok but bell \u0007" }), "INVALID_INPUT");
      await expectError(() => put("ok", { extra: 1 }), "INVALID_INPUT");
      // A value over the store's size limit is refused before any token is counted.
      const huge = await expectError(() => put("ok", { value: "a".repeat((1 << 20) + 1), limit: { tokens: 1000 } }), "INVALID_INPUT");
      expect(huge.details.field).toBe("block.value");
      await s.store.putBlock(scope, { label: "ok", value: "v", limit: { chars: 10 } });
      for (const edit of [{ op: "append" }, { op: "append", text: "" }, { op: "replace", old: "", new: "x" }, { op: "rewrite" }, { op: "delete" }, { op: "append", text: "x", y: 1 }, { op: "append", text: "\uDC00" }]) {
        await expectError(() => s.store.editBlock(scope, "ok", edit as never), "INVALID_INPUT");
      }
      await expectError(() => s.store.editBlock(scope, "ok", { op: "append", text: "x" }, { ifVersion: 0 }), "INVALID_INPUT");
      await expectError(() => s.store.editBlock(scope, "ok", { op: "append", text: "x" }, { ifVerison: 1 } as never), "INVALID_INPUT");
      await expectError(() => s.store.editBlock(scope, "missing", { op: "append", text: "x" }), "NOT_FOUND");
      const b = await s.store.getBlock(scope, "ok");
      expect([b.value, b.version]).toEqual(["v", 1]);
      expect((await s.store.listBlocks(scope)).length).toBe(1);
    });

    s.test(K, "scopes are separate: one label in a context, a user and an agent is three blocks", async () => {
      const c = await s.store.createContext();
      const id = randomName("x");
      const scopes: BlockScope[] = [{ contextId: c.id }, { userId: id }, { agentId: id }];
      for (const [i, scope] of scopes.entries()) await s.store.putBlock(scope, { label: "same", value: `v${i}`, limit: { chars: 10 } });
      for (const [i, scope] of scopes.entries()) {
        const b = await s.store.getBlock(scope, "same");
        expect([b.scope, b.value]).toEqual([scope, `v${i}`]);
      }
      const handle = s.store.context(c.id).blocks;
      expect((await handle.list()).map((b) => b.value)).toEqual(["v0"]);
      await handle.update("same", () => ({ op: "append", text: "!" }));
      expect((await s.store.getBlock({ contextId: c.id }, "same")).value).toBe("v0!");
    });

    s.test(K, "deleteBlock removes it (history keeps a delete version); created again, its versions continue", async () => {
      const scope = user();
      await s.store.putBlock(scope, { label: "d", value: "first", limit: { chars: 20 } });
      await s.store.deleteBlock(scope, "d", { actor: "cleaner" });
      await expectError(() => s.store.getBlock(scope, "d"), "NOT_FOUND");
      await expectError(() => s.store.deleteBlock(scope, "d"), "NOT_FOUND");
      await expectError(() => s.store.editBlock(scope, "d", { op: "append", text: "x" }), "NOT_FOUND");
      expect(await s.store.listBlocks(scope)).toEqual([]);
      const again = await s.store.putBlock(scope, { label: "d", value: "second", limit: { chars: 20 } }, { ifVersion: 0 });
      expect(again.version).toBe(3);
      expect((await s.store.blockHistory(scope, "d")).map((v) => [v.version, v.op, v.value, v.actor])).toEqual([
        [1, "put", "first", null],
        [2, "delete", "first", "cleaner"],
        [3, "put", "second", null],
      ]);
      await expectError(() => s.store.blockHistory(scope, "never"), "NOT_FOUND");
    });

    s.test(K, "blockHistory pages: afterVersion and limit walk every version once, oldest first; a page past the end is empty, a bad page INVALID_INPUT", async () => {
      const scope = user();
      await s.store.putBlock(scope, { label: "log", value: "", limit: { chars: 2000 } });
      for (let i = 0; i < 24; i++) await s.store.editBlock(scope, "log", { op: "append", text: `${i};` }, { actor: `a${i % 3}` });
      const all = await s.store.blockHistory(scope, "log");
      expect(all.map((v) => v.version)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
      const walked: typeof all = [];
      let after = 0;
      for (;;) {
        const page = await s.store.blockHistory(scope, "log", { afterVersion: after, limit: 7 });
        expect(page.length).toBeLessThanOrEqual(7);
        if (page.length === 0) break;
        walked.push(...page);
        after = (page.at(-1) as (typeof all)[number]).version;
      }
      expect(walked).toEqual(all);
      expect(await s.store.blockHistory(scope, "log", { afterVersion: 25 })).toEqual([]);
      expect((await s.store.blockHistory(scope, "log", { afterVersion: 20 })).map((v) => v.version)).toEqual([21, 22, 23, 24, 25]);
      expect((await s.store.blockHistory(scope, "log", { limit: 2 })).map((v) => v.value)).toEqual(["", "0;"]);
      await expectError(() => s.store.blockHistory(scope, "never", { afterVersion: 3 }), "NOT_FOUND");
      for (const bad of [{ limit: 0 }, { limit: 10_001 }, { limit: 1.5 }, { afterVersion: -1 }, { afterVersion: "3" }, { limit: Number.NaN }]) {
        const e = await expectError(() => s.store.blockHistory(scope, "log", bad as never), "INVALID_INPUT");
        expect(e.details?.field).toBe(`options.${Object.keys(bad)[0] as string}`);
      }
    });

    s.test(K, "no tenant reaches another tenant's blocks", async () => {
      const scope = user();
      await s.store.putBlock(scope, { label: "secret", value: "mine", limit: { chars: 20 } });
      const other = s.store.withTenant(randomName("other"));
      expect(await other.listBlocks(scope)).toEqual([]);
      await expectError(() => other.getBlock(scope, "secret"), "NOT_FOUND");
      await expectError(() => other.editBlock(scope, "secret", { op: "append", text: "!" }), "NOT_FOUND");
      await expectError(() => other.deleteBlock(scope, "secret"), "NOT_FOUND");
      await expectError(() => other.blockHistory(scope, "secret"), "NOT_FOUND");
      await other.putBlock(scope, { label: "secret", value: "theirs", limit: { chars: 20 } });
      expect((await s.store.getBlock(scope, "secret")).value).toBe("mine");
    });

    s.test(K, "blockTools: append (on a new line), replace and rewrite as tool calls, with JSON Schema parameters", async () => {
      const scope = user();
      await s.store.putBlock(scope, { label: "human", value: "Name: Ada", limit: { chars: 40 } });
      const tools = blockTools(s.store, scope, { actor: "model" });
      expect(tools.map((t) => t.name)).toEqual(["block_append", "block_replace", "block_rewrite"]);
      for (const t of tools) expect(t.parameters).toMatchObject({ type: "object", additionalProperties: false });
      const [append, replace, rewrite] = tools as [(typeof tools)[0], (typeof tools)[0], (typeof tools)[0]];
      const a: Block = await append.run({ label: "human", text: "Likes tea" });
      expect([a.value, a.updatedBy]).toEqual(["Name: Ada\nLikes tea", "model"]);
      expect((await replace.run({ label: "human", old: "tea", new: "coffee" })).value).toBe("Name: Ada\nLikes coffee");
      const e = await expectError(() => append.run({ label: "human", text: "x".repeat(30) }), "LIMIT_EXCEEDED");
      expect(e.details).toMatchObject({ limit: 40, size: 53, over: 13 }); // "Name: Ada\nLikes coffee" + "\n" + 30 characters
      expect((await rewrite.run({ label: "human", value: "Name: Bo" })).value).toBe("Name: Bo");
      await expectError(() => append.run({ label: "human", text: "x", extra: 1 }), "INVALID_INPUT");
    });
  });
}
