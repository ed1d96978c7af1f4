/** Conformance: JSON Schemas of state per context kind. */
import { describe, expect } from "vitest";
import type { JsonObject } from "../core/types.js";
import { expectError, fingerprint, randomName } from "./harness.js";
import type { Suite } from "./harness.js";

const profileSchema: JsonObject = {
  type: "object",
  required: ["name"],
  properties: {
    name: { type: "string" },
    profile: {
      type: "object",
      properties: { age: { type: "integer", minimum: 0 }, tags: { type: "array", items: { type: "string" } } },
    },
  },
};

/** The JSON-pointer paths listed in a SCHEMA_VIOLATION error. */
function violationPaths(details: Record<string, unknown>): string[] {
  const errors = details.errors;
  expect(Array.isArray(errors), "details.errors is an array").toBe(true);
  const paths = (errors as { path?: unknown }[]).map((e) => e.path);
  for (const p of paths) expect(typeof p, "details.errors[i].path is a string").toBe("string");
  return paths as string[];
}

/** Registers the schema tests. */
export function schemasTests(s: Suite): void {
  describe("state schemas", () => {
    s.test("schemas", "setSchema registers a schema; getSchema, listSchemas and deleteSchema see it", async () => {
      const kind = "profile";
      expect(await s.store.getSchema(kind)).toBeNull();
      const first = await s.store.setSchema(kind, profileSchema);
      expect(first).toMatchObject({ kind, schema: profileSchema });
      expect(first.revision).toBeGreaterThanOrEqual(1);
      expect(Date.parse(first.updatedAt)).not.toBeNaN();
      expect(await s.store.getSchema(kind)).toEqual(first);
      const second = await s.store.setSchema(kind, { type: "object" });
      expect(second.revision).toBeGreaterThan(first.revision);
      await s.store.setSchema("other", { type: "object" });
      expect((await s.store.listSchemas()).map((x) => x.kind).sort()).toEqual(["other", "profile"]);
      expect(await s.store.deleteSchema(kind)).toBe(true);
      expect(await s.store.deleteSchema(kind)).toBe(false);
      expect(await s.store.getSchema(kind)).toBeNull();
      expect((await s.store.listSchemas()).map((x) => x.kind)).toEqual(["other"]);
    });

    s.test("schemas", "a state write that violates the schema fails with SCHEMA_VIOLATION listing JSON-pointer paths, and writes nothing", async () => {
      await s.store.setSchema("profile", profileSchema);
      const c = await s.store.createContext({ kind: "profile", state: { name: "Ada", profile: { age: 36, tags: ["x"] } } });
      const before = await fingerprint(s.store, c.id);
      const attempts: [string, () => Promise<unknown>, string][] = [
        ["replaceState", () => s.store.replaceState(c.id, { name: "Ada", profile: { age: "old" } }), "/profile/age"],
        ["patchState", () => s.store.patchState(c.id, { profile: { age: -1 } }), "/profile/age"],
        ["setStateAt", () => s.store.setStateAt(c.id, "/profile/tags/0", 5), "/profile/tags/0"],
        ["setStateAt name", () => s.store.setStateAt(c.id, ["name"], 5), "/name"],
        // A missing required property is reported at the path of the missing property itself.
        ["removeStateAt", () => s.store.removeStateAt(c.id, "/name"), "/name"],
      ];
      for (const [what, attempt, path] of attempts) {
        const e = await expectError(attempt, "SCHEMA_VIOLATION");
        expect(violationPaths(e.details), what).toContain(path);
      }
      expect(await fingerprint(s.store, c.id)).toEqual(before);
    });

    s.test("schemas", "every error of a violation is listed", async () => {
      await s.store.setSchema("profile", profileSchema);
      const c = await s.store.createContext({ kind: "profile", state: { name: "Ada" } });
      const e = await expectError(() => s.store.replaceState(c.id, { name: 1, profile: { age: 1.5, tags: ["ok", 2] } }), "SCHEMA_VIOLATION");
      const paths = violationPaths(e.details);
      for (const p of ["/name", "/profile/age", "/profile/tags/1"]) expect(paths).toContain(p);
    });

    s.test("schemas", "valid writes to a kind with a schema pass", async () => {
      await s.store.setSchema("profile", profileSchema);
      const c = await s.store.createContext({ kind: "profile", state: { name: "Ada" } });
      await s.store.patchState(c.id, { profile: { age: 36 } });
      await s.store.setStateAt(c.id, "/profile/tags", ["math"]);
      await s.store.removeStateAt(c.id, "/profile/age");
      const r = await s.store.replaceState(c.id, { name: "Grace", extra: true });
      expect(r.version).toBe(5);
    });

    s.test("schemas", "a schema naming constructor checks the state's own keys only; one naming __proto__ (which the validator cannot check) is refused", async () => {
      const schema = JSON.parse('{"type":"object","properties":{"constructor":{"type":"number"},"toString":{"type":"string"}},"required":["constructor"]}') as JsonObject;
      await s.store.setSchema("protoKeys", schema);
      // Absent keys are absent, though Object.prototype has a "constructor" and a "toString".
      const missing = await expectError(() => s.store.createContext({ kind: "protoKeys", state: {} }), "SCHEMA_VIOLATION");
      expect(JSON.stringify(missing.details)).toContain("required");
      const wrong = await expectError(() => s.store.createContext({ kind: "protoKeys", state: { constructor: "x" } }), "SCHEMA_VIOLATION");
      expect(JSON.stringify(wrong.details)).toContain("/constructor");
      const c = await s.store.createContext({ kind: "protoKeys", state: { constructor: 2, toString: "s" } });
      expect((await s.store.getState(c.id)).state).toEqual({ constructor: 2, toString: "s" });
      for (const text of ['{"type":"object","properties":{"__proto__":{"type":"number"}}}', '{"type":"object","required":["__proto__"]}']) {
        await expectError(() => s.store.setSchema("protoKeys2", JSON.parse(text) as JsonObject), "INVALID_INPUT");
      }
      expect(await s.store.getSchema("protoKeys2")).toBeNull();
    });

    s.test("schemas", "createContext with an initial state that violates the schema is refused and creates nothing", async () => {
      await s.store.setSchema("profile", profileSchema);
      const id = randomName("bad");
      const e = await expectError(() => s.store.createContext({ id, kind: "profile", state: { profile: { age: "x" } } }), "SCHEMA_VIOLATION");
      expect(violationPaths(e.details)).toContain("/profile/age");
      await expectError(() => s.store.getContext(id), "NOT_FOUND");
      expect((await s.store.listContexts()).items).toEqual([]);
    });

    s.test("schemas", "restore and fork to a state that violates the current schema fail with SCHEMA_VIOLATION", async () => {
      const c = await s.store.createContext({ kind: "profile", state: { nameless: true } });
      await s.store.replaceState(c.id, { name: "Ada" });
      await s.store.setSchema("profile", profileSchema);
      const before = await fingerprint(s.store, c.id);
      await expectError(() => s.store.restore(c.id, { version: 1 }), "SCHEMA_VIOLATION");
      await expectError(() => s.store.fork(c.id, { version: 1 }), "SCHEMA_VIOLATION");
      expect(await fingerprint(s.store, c.id)).toEqual(before);
    });

    s.test("schemas", "contexts of other kinds are not affected by a schema", async () => {
      await s.store.setSchema("profile", profileSchema);
      const c = await s.store.createContext({ kind: "notes", state: { anything: ["goes"] } });
      const r = await s.store.replaceState(c.id, { name: 5 });
      expect(r.version).toBe(2);
    });

    s.test("schemas", "after deleteSchema, writes are no longer validated", async () => {
      await s.store.setSchema("profile", profileSchema);
      const c = await s.store.createContext({ kind: "profile", state: { name: "Ada" } });
      await expectError(() => s.store.replaceState(c.id, { name: 5 }), "SCHEMA_VIOLATION");
      await s.store.deleteSchema("profile");
      expect((await s.store.replaceState(c.id, { name: 5 })).version).toBe(2);
    });

    s.test("schemas", "a replaced schema applies from then on", async () => {
      await s.store.setSchema("counter", { type: "object", properties: { n: { type: "integer" } } });
      const c = await s.store.createContext({ kind: "counter", state: { n: 1 } });
      await s.store.setSchema("counter", { type: "object", properties: { n: { type: "integer", maximum: 5 } } });
      await expectError(() => s.store.patchState(c.id, { n: 6 }), "SCHEMA_VIOLATION");
      expect((await s.store.patchState(c.id, { n: 5 })).state).toEqual({ n: 5 });
    });
  });
}
