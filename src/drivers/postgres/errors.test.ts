import { describe, expect, it } from "vitest";
import { wrapNative } from "./errors.js";

const native = (code: string, message: string): Error => Object.assign(new Error(message), { code });

describe("PostgreSQL errors a person setting contextd up meets", () => {
  it.each([
    ["28000", 'role "ghost" does not exist', "role refused", false],
    ["28P01", 'password authentication failed for user "app"', "wrong password", false],
    ["3D000", 'database "nope" does not exist', "no such database", false],
    ["ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:1", "connection refused", true],
  ])("%s is DRIVER_UNAVAILABLE naming the reason, with a hint and whether a retry can help (not INTERNAL)", (code, message, reason, retryable) => {
    const e = wrapNative(native(code, message), "open");
    expect(e.code).toBe("DRIVER_UNAVAILABLE");
    expect(e.message).toContain(message);
    expect(e.message).toContain(reason);
    expect(e.details).toMatchObject({ driver: "postgres", operation: "open", nativeCode: code, reason, retryable });
    expect(String(e.details.hint).length).toBeGreaterThan(10);
  });

  it("an error in a statement stays INTERNAL with its SQLSTATE", () => {
    expect(wrapNative(native("42601", "syntax error"), "read").code).toBe("INTERNAL");
  });
});
