import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createApiKey, createKeyRing, fileKeyRing, generateApiKey, listApiKeys, revokeApiKey } from "./keys.js";

const dir = mkdtempSync(join(tmpdir(), "contextd-keys-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("API keys", () => {
  it("stores only a sha256 hash, in a file only the owner can read", async () => {
    const path = join(dir, "a.json");
    const { key, record } = await createApiKey(path, { tenant: "t", scopes: ["read", "write"], label: "ci" });
    const text = readFileSync(path, "utf8");
    expect(text).not.toContain(key);
    expect(text).toContain(record.hash);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(await listApiKeys(path)).toEqual([record]);
  });

  it("verifies a key only with its exact secret, and not once revoked", () => {
    const a = generateApiKey({ tenant: "t", scopes: ["read"] });
    const b = generateApiKey({ tenant: "u", scopes: ["write"] });
    const ring = createKeyRing([a.record, b.record]);
    expect(ring.size).toBe(2);
    expect(ring.verify(a.key)?.tenant).toBe("t");
    expect(ring.verify(b.key)?.tenant).toBe("u");
    expect(ring.verify(a.key.slice(0, -1) + (a.key.endsWith("A") ? "B" : "A"))).toBeNull();
    expect(ring.verify(`ctxd_${a.record.id}_${b.key.split("_").at(-1)}`)).toBeNull();
    expect(ring.verify("")).toBeNull();
    expect(ring.verify("x".repeat(10_000))).toBeNull();
    const revoked = createKeyRing([{ ...a.record, revokedAt: new Date().toISOString() }]);
    expect(revoked.verify(a.key)).toBeNull();
    expect(revoked.size).toBe(0);
  });

  it("refuses bad tenants and scopes; '*' needs admin", () => {
    expect(() => generateApiKey({ tenant: "", scopes: ["read"] })).toThrow(/tenant/);
    expect(() => generateApiKey({ tenant: "t", scopes: [] })).toThrow(/scope/);
    expect(() => generateApiKey({ tenant: "*", scopes: ["read"] })).toThrow(/admin/);
    expect(generateApiKey({ tenant: "*", scopes: ["admin"] }).record.tenant).toBe("*");
  });

  it("a file key ring sees keys created and revoked after it was made", async () => {
    const path = join(dir, "b.json");
    const ring = fileKeyRing(path);
    expect(ring.size).toBe(0);
    const { key, record } = await createApiKey(path, { tenant: "t", scopes: ["read"] });
    ring.reload();
    expect(ring.verify(key)?.id).toBe(record.id);
    await revokeApiKey(path, record.id);
    ring.reload();
    expect(ring.verify(key)).toBeNull();
    await expect(revokeApiKey(path, "nope")).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
