/**
 * `contextd serve` reloads its configuration file on SIGHUP (a real child process): a valid
 * new file takes effect for the next requests; an invalid one (at the chosen level) is refused
 * with its findings logged, and the running configuration stays in force.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { generateApiKey, writeKeysFile } from "../src/server/keys.js";
import { startServerProcess } from "./helpers/cli-process.js";

const dir = mkdtempSync(join(tmpdir(), "contextd-reload-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Resolves once `output()` holds `count` matches of `pattern` (checked on each write of the child). */
function waitForOutput(server: Awaited<ReturnType<typeof startServerProcess>>, pattern: RegExp, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const matches = () => server.output().match(new RegExp(pattern.source, "g"))?.length ?? 0;
    const check = () => {
      if (matches() >= count) {
        server.child.stdout.off("data", check);
        resolve();
      }
    };
    server.child.stdout.on("data", check);
    void server.exited.then(() => reject(new Error(`server exited while waiting for ${pattern}:\n${server.output()}`)));
    check();
  });
}

it("SIGHUP applies a valid configuration and refuses an invalid one, keeping the running configuration", async () => {
  const config = join(dir, "contextd.json");
  writeFileSync(config, JSON.stringify({ server: { maxBodyBytes: 2048, requestTimeoutMs: 10_000 } }));
  const server = await startServerProcess(["--store", "in-memory:", "--embedder", "none", "--config", config, "--config-level", "strict"]);
  // A body of about 4 KB: over the first limit, under the second.
  const { key, record } = generateApiKey({ tenant: "team", scopes: ["read", "write"] });
  await writeKeysFile(join(dir, "keys.json"), { version: 1, keys: [record] });
  const create = (auth?: string) =>
    fetch(`${server.url}/v1/contexts`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(auth !== undefined && { authorization: `Bearer ${auth}` }) },
      body: JSON.stringify({ state: { text: "x".repeat(4000) } }),
    });
  try {
    const before = await create();
    expect(before.status).toBe(413);
    expect(((await before.json()) as { message: string }).message).toMatch(/2048/);

    // The new file raises the body limit and turns on API keys (relative to the file).
    writeFileSync(config, JSON.stringify({ server: { maxBodyBytes: 65_536, requestTimeoutMs: 10_000, keys: "keys.json" } }));
    server.child.kill("SIGHUP");
    await waitForOutput(server, /configuration reloaded/, 1);
    expect((await create()).status).toBe(401);
    const made = await create(key);
    expect(made.status).toBe(201);
    expect(made.headers.get("x-contextd-tenant")).toBe("team");

    // A typo is an unknown key: an error at level strict. The 64 KiB limit stays in force.
    writeFileSync(config, JSON.stringify({ server: { maxBodyBytes: 1024, requestTimeoutMs: 10_000, maxBatchSize: 5 } }));
    server.child.kill("SIGHUP");
    await waitForOutput(server, /configuration reload refused/, 1);
    const refusal = server
      .output()
      .split("\n")
      .find((l) => l.includes("configuration reload refused"));
    const logged = JSON.parse(refusal ?? "{}") as { findings?: { severity: string; code: string; setting: string; fix: string }[] };
    expect(logged.findings?.filter((f) => f.severity === "error")).toMatchObject([{ code: "CONFIG_UNKNOWN_KEY", setting: "server.maxBatchSize" }]);
    // Still the 64 KiB limit, and still the keys (the refused file named none).
    expect((await create(key)).status).toBe(201);
    expect((await create()).status).toBe(401);
  } finally {
    expect(await server.stop()).toBe(0);
  }
});

it("serve refuses to start on errors at its level and prints every finding at once", async () => {
  const config = join(dir, "bad.json");
  writeFileSync(config, JSON.stringify({ server: { maxBodyBytes: 100, requestTimeoutMs: 5, maxBatchSize: 5 } }));
  const started = startServerProcess(["--store", "in-memory:", "--embedder", "none", "--config", config, "--config-level", "strict"]);
  const err = await started.then(
    () => null,
    (e: unknown) => (e as Error).message,
  );
  expect(err).toMatch(/exited with 1 before listening/);
  for (const code of ["CONFIG_UNKNOWN_KEY server.maxBatchSize", "LIMIT_IMPLAUSIBLE server.maxBodyBytes", "LIMIT_IMPLAUSIBLE server.requestTimeoutMs"]) {
    expect(err).toContain(code);
  }
  expect(err).toContain("fix:");
});
