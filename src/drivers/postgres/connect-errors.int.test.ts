/**
 * Against the real PostgreSQL: what `openStore` says when the server refuses the role, the
 * database does not exist or nothing listens — typed, with a hint, never INTERNAL.
 */
import { expect, it } from "vitest";
import { openStore } from "../../open.js";
import { isContextError } from "../../errors.js";
import { describeWithServices, PG_URL, probePostgres } from "../../../test/services.js";

const pgDown = await probePostgres();

async function openError(url: string): Promise<unknown> {
  try {
    const store = await openStore(url);
    await store.close();
  } catch (e) {
    return e;
  }
  throw new Error(`${url} opened`);
}

function variant(change: (u: URL) => void): string {
  const u = new URL(PG_URL);
  change(u);
  return u.toString();
}

describeWithServices("openStore(postgres://…) refused", [pgDown], () => {
  it("an unknown role (SQLSTATE 28000) is DRIVER_UNAVAILABLE 'role refused' with a hint", async () => {
    const e = await openError(variant((u) => (u.username = "contextd_no_such_role")));
    expect(isContextError(e, "DRIVER_UNAVAILABLE"), String(e)).toBe(true);
    expect((e as Error).message).toMatch(/role refused.*contextd_no_such_role.*CREATE ROLE/);
  });

  it("an unknown database (SQLSTATE 3D000) is DRIVER_UNAVAILABLE 'no such database' with a hint", async () => {
    const e = await openError(variant((u) => (u.pathname = "/contextd_no_such_db")));
    expect(isContextError(e, "DRIVER_UNAVAILABLE"), String(e)).toBe(true);
    expect((e as Error).message).toMatch(/no such database.*contextd_no_such_db.*createdb/);
  });

  it("nothing listening (ECONNREFUSED) is DRIVER_UNAVAILABLE 'connection refused' with a hint", async () => {
    const e = await openError(variant((u) => (u.port = "1")));
    expect(isContextError(e, "DRIVER_UNAVAILABLE"), String(e)).toBe(true);
    expect((e as Error).message).toMatch(/connection refused.*is PostgreSQL running/);
  });
});
