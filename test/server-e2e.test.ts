/**
 * End to end: the real `contextd serve` (the CLI, in a child process, on a real port) and
 * the remote client: startup rules, keys, SSE resume after a dropped connection, and
 * graceful shutdown with requests in flight.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VersionConflictError, isContextError } from "../src/index.js";
import type { ContextEvent } from "../src/index.js";
import { createClient } from "../src/client/index.js";
import { runCliProcess, startServerProcess } from "./helpers/cli-process.js";
import type { ServerProcess } from "./helpers/cli-process.js";
import { startTcpProxy } from "./tcp-proxy.js";

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "contextd-e2e-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Collects `n` events from an iterator, failing after `ms`. */
async function take(iter: AsyncIterator<ContextEvent>, n: number, ms = 15_000): Promise<ContextEvent[]> {
  const out: ContextEvent[] = [];
  const deadline = setTimeout(() => void iter.return?.(), ms);
  try {
    while (out.length < n) {
      const r = await iter.next();
      if (r.done) break;
      out.push(r.value);
    }
  } finally {
    clearTimeout(deadline);
  }
  return out;
}

/** Waits until `output()` matches, failing after `ms`. */
async function waitForOutput(server: ServerProcess, pattern: RegExp, ms = 15_000): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const check = (): boolean => pattern.test(server.output());
    if (check()) return resolve();
    const timer = setTimeout(() => reject(new Error(`no ${pattern} in output:\n${server.output()}`)), ms);
    const onData = (): void => {
      if (check()) {
        clearTimeout(timer);
        server.child.stdout.off("data", onData);
        resolve();
      }
    };
    server.child.stdout.on("data", onData);
  });
}

describe("contextd serve (child process)", { timeout: 180_000 }, () => {
  it("prints its URL and serves health, readiness, OpenAPI and the local API page", async () => {
    const server = await startServerProcess(["--store", "in-memory:", "--log-level", "warn"]);
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ ok: true });
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(200);
      const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
      expect(doc.openapi).toBe("3.1.0");
      expect(Object.keys(doc.paths)).toContain("/v1/contexts/{id}/events/stream");
      const page = await fetch(`${server.url}/docs`);
      expect(await page.text()).toContain("/docs/assets/swagger-ui-bundle.js");
      const asset = await fetch(`${server.url}/docs/assets/swagger-ui-bundle.js`);
      expect(asset.status).toBe(200);
      expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it("times driver calls only with metrics.driverCalls on (CONTEXTD_METRICS_DRIVER_CALLS=on)", async () => {
    for (const on of [false, true]) {
      const server = await startServerProcess(["--store", "in-memory:", "--log-level", "warn", "--embedder", "none"], on ? { CONTEXTD_METRICS_DRIVER_CALLS: "on" } : {});
      try {
        const created = await fetch(`${server.url}/v1/contexts`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
        expect(created.status).toBe(201);
        const text = await (await fetch(`${server.url}/metrics`)).text();
        expect(text).toContain('contextd_store_operation_duration_seconds_count{operation="createContext",driver="in-memory",outcome="ok"} 1');
        expect(text.includes('contextd_driver_call_duration_seconds_count{call="insertContext",driver="in-memory",outcome="ok"} 1')).toBe(on);
      } finally {
        expect(await server.stop()).toBe(0);
      }
    }
  });

  it("echoes X-Request-Id, names the tenant, sends ETag and logs one line per request, errors included", async () => {
    const server = await startServerProcess(["--store", "in-memory:", "--log-level", "info"]);
    try {
      const created = await fetch(`${server.url}/v1/contexts`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-request-id": "req-create-1" },
        body: JSON.stringify({ id: "e2e-headers", state: { a: 1 } }),
      });
      expect(created.status).toBe(201);
      expect(created.headers.get("x-request-id")).toBe("req-create-1");
      expect(created.headers.get("x-contextd-tenant")).toBe("default");
      const state = await fetch(`${server.url}/v1/contexts/e2e-headers/state`);
      expect(state.headers.get("etag")).toBe('"1"');
      expect(state.headers.get("x-request-id")).toMatch(/^[a-z0-9]+-[a-z0-9]+$/);
      const missing = await fetch(`${server.url}/v1/contexts/nope/state`, { headers: { "x-request-id": "req-missing-1" } });
      expect(missing.status).toBe(404);
      expect(missing.headers.get("x-request-id")).toBe("req-missing-1");
      // Request logs are written asynchronously: wait for the lines, not for a time.
      await waitForOutput(server, /"reqId":"req-missing-1"/);
      const lines = server
        .output()
        .split("\n")
        .filter((l) => l.includes('"reqId":"req-'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toEqual([
        expect.objectContaining({ reqId: "req-create-1", tenant: "default", method: "POST", route: "/v1/contexts", status: 201 }),
        expect.objectContaining({ reqId: "req-missing-1", tenant: "default", method: "GET", route: "/v1/contexts/:id/state", status: 404 }),
      ]);
      expect(typeof lines[0]?.ms).toBe("number");
    } finally {
      await server.stop();
    }
  });

  it("refuses to listen beyond loopback without API keys, and says why", async () => {
    const r = await runCliProcess(["serve", "--host", "0.0.0.0", "--port", "0", "--store", "in-memory:"], { CONTEXTD_KEYS: join(dir, "none.json") });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refusing to listen on 0\.0\.0\.0 without API keys/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("with keys: no key is 401, the key picks the tenant, another tenant is 403, a revoked key stops working", async () => {
    const keys = join(dir, "keys.json");
    const a = await runCliProcess(["keys", "create", "--tenant", "team-a", "--scope", "read,write", "--keys", keys]);
    const b = await runCliProcess(["keys", "create", "--tenant", "team-b", "--scope", "read", "--keys", keys, "--json"]);
    expect(a.code).toBe(0);
    const keyA = a.stdout.trim();
    const { key: keyB, id: idB } = JSON.parse(b.stdout) as { key: string; id: string };
    const server = await startServerProcess(["--store", "in-memory:", "--keys", keys, "--host", "0.0.0.0", "--log-level", "warn"]);
    try {
      const url = server.url.replace("0.0.0.0", "127.0.0.1");
      // The start-up line says that keys are required, and which file they came from.
      expect(server.output()).toContain(`(in-memory:; requires an API key: 2 keys loaded from ${keys})`);
      expect(a.stderr).toContain("now requires an API key on every request");
      expect((await fetch(`${url}/v1/contexts`)).status).toBe(401);
      const clientA = createClient({ url, apiKey: keyA });
      const c = await clientA.createContext({ id: "shared-name", state: { n: 1 } });
      expect(c.tenant).toBe("team-a");
      expect(clientA.tenant).toBe("team-a");
      await expect(clientA.withTenant("team-b").getContext("shared-name")).rejects.toMatchObject({ code: "FORBIDDEN" });
      const clientB = createClient({ url, apiKey: keyB });
      await expect(clientB.getContext("shared-name")).rejects.toMatchObject({ code: "NOT_FOUND" });
      await expect(clientB.createContext()).rejects.toMatchObject({ code: "FORBIDDEN" });
      // A stale write over HTTP is the same typed error as in the embedded store.
      const e = await clientA.replaceState("shared-name", { n: 2 }, { expectedVersion: 7 }).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(VersionConflictError);
      expect(e).toMatchObject({ code: "VERSION_CONFLICT", expected: 7, actual: 1 });
      const revoke = await runCliProcess(["keys", "revoke", idB, "--keys", keys]);
      expect(revoke.code).toBe(0);
      // The server re-reads the keys file at most once a second.
      const deadline = Date.now() + 10_000;
      let code = "";
      while (Date.now() < deadline) {
        code = await clientB.listContexts().then(
          () => "ok",
          (err: unknown) => (isContextError(err) ? err.code : "other"),
        );
        if (code === "UNAUTHORIZED") break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(code).toBe("UNAUTHORIZED");
      await clientA.close();
      await clientB.close();
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it("a watcher whose connection drops reconnects and resumes from the last seq: no gap, no duplicate", async () => {
    const server = await startServerProcess(["--store", `sqlite:${join(dir, "sse.db")}`, "--log-level", "warn"]);
    const target = new URL(server.url);
    const proxy = await startTcpProxy(target.hostname, Number(target.port));
    const direct = createClient({ url: server.url });
    const viaProxy = createClient({ url: `http://127.0.0.1:${proxy.port}`, reconnect: { minDelayMs: 20, maxDelayMs: 200 } });
    try {
      const c = await direct.createContext();
      const iter = viaProxy.watch(c.id, { afterSeq: 0 });
      await direct.append(c.id, Array.from({ length: 5 }, (_, i) => ({ type: "m", data: i })));
      const before = await take(iter, 5);
      const connectionsBefore = proxy.connections;
      // Drop the live connection, and let the client connect again.
      proxy.cut();
      proxy.restore();
      // Written while the watcher is disconnected.
      await direct.append(c.id, Array.from({ length: 5 }, (_, i) => ({ type: "m", data: 5 + i })));
      const after = await take(iter, 5);
      await direct.append(c.id, { type: "m", data: 10 });
      const live = await take(iter, 1);
      await iter.return?.();
      expect([...before, ...after, ...live].map((e) => e.seq)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
      expect([...before, ...after, ...live].map((e) => e.data)).toEqual(Array.from({ length: 11 }, (_, i) => i));
      expect(proxy.connections).toBeGreaterThan(connectionsBefore);
    } finally {
      await viaProxy.close();
      await direct.close();
      await proxy.close();
      await server.stop();
    }
  });

  it("SIGTERM: finishes requests in flight, ends event streams, closes the store, exits 0; acknowledged writes survive", async () => {
    const db = join(dir, "shutdown.db");
    const server = await startServerProcess(["--store", `sqlite:${db}`, "--log-level", "debug"]);
    const client = createClient({ url: server.url });
    const c = await client.createContext({ id: "busy" });
    await client.acquireLease("busy", { holder: "first", ttlMs: 60_000 });

    // An open event stream.
    const watch = client.watch("busy", { afterSeq: 0 });
    const watchEnded = (async () => {
      const seen: number[] = [];
      for await (const e of watch) seen.push(e.seq);
      return seen;
    })();
    // A request that the server holds for 1.5 s (waiting for the lease), in flight at SIGTERM.
    const waiting = client.acquireLease("busy", { holder: "second", waitMs: 1500 }).then(
      () => "granted",
      (err: unknown) => (isContextError(err) ? err.code : String(err)),
    );
    // Appends in flight too; remember which were acknowledged.
    const acked: number[] = [];
    const appends = Array.from({ length: 50 }, (_, i) =>
      client.append("busy", { type: "w", data: i }).then(
        () => acked.push(i),
        () => undefined,
      ),
    );
    // The second lease request (the waiting one) has reached the server.
    await waitForOutput(server, /"path":"\/v1\/contexts\/busy\/lease"[^]*"path":"\/v1\/contexts\/busy\/lease"/);
    server.child.kill("SIGTERM");
    // The waiting request gets its real answer, not a dropped connection.
    expect(await waiting, server.output()).toBe("LOCK_TIMEOUT");
    await Promise.all(appends);
    expect(await server.exited).toBe(0);
    expect(server.output()).toMatch(/"msg":"stopped"/);
    await client.close();
    await watchEnded;

    // Everything acknowledged is there after a restart on the same file.
    const again = await startServerProcess(["--store", `sqlite:${db}`, "--log-level", "warn"]);
    const reader = createClient({ url: again.url });
    try {
      const events = (await reader.readEvents(c.id, { types: ["w"], limit: 1000 })).items.map((e) => e.data as number);
      expect(events.sort((x, y) => x - y)).toEqual(acked.sort((x, y) => x - y));
    } finally {
      await reader.close();
      await again.stop();
    }
  });
});
