/**
 * `npm start` as a user runs it: a SIGTERM to the npm process (what a supervisor, a container
 * runtime or `kill` sends to what it started) must stop the server, not only npm's shell.
 * The scripts are package.json's own, run in a temp package whose `dist/` is the transpiled
 * sources and whose `build` does nothing (the build itself is not what is tested).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildSources } from "./fixtures/build-sources.js";
import { childEnv, runId, track } from "./helpers/children.js";
import { survivors } from "./setup/survivors.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
let dir = "";

beforeAll(async () => {
  const built = await buildSources();
  dir = mkdtempSync(join(tmpdir(), "contextd-npm-start-"));
  const { scripts } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
  const pick = Object.fromEntries(Object.entries(scripts).filter(([name]) => name === "prestart" || name === "start"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "start-check", private: true, type: "module", scripts: { ...pick, build: "true" } }));
  symlinkSync(join(built, "src"), join(dir, "dist"), "dir");
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// The server process is found by the run marker in /proc.
it.skipIf(!existsSync("/proc/self/environ"))("SIGTERM to the `npm start` process stops the server it started; npm exits once the server has", async () => {
  const npm = track(
    spawn("npm", ["start", "--silent", "--", "--port", "0", "--store", "in-memory:", "--log-level", "warn"], {
      cwd: dir,
      env: childEnv(),
    }),
  );
  let output = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => npm.on("close", (code, signal) => resolve({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      output += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(output);
      if (m?.[1]) resolve(m[1]);
    };
    npm.stdout.on("data", onData);
    npm.stderr.on("data", onData);
    void exited.then(() => reject(new Error(`npm start exited before listening:\n${output}`)));
  });
  expect((await fetch(`${url}/healthz`)).status).toBe(200);
  const server = survivors(runId()).filter((p) => p.args.includes("dist/cli/main.js serve"));
  expect(server, "the server process").toHaveLength(1);

  npm.kill("SIGTERM");
  await exited;
  // Not left running: the process is gone and nothing answers on its port.
  expect(survivors(runId()).filter((p) => p.pid === server[0]?.pid)).toEqual([]);
  await expect(fetch(`${url}/healthz`)).rejects.toThrow();
});
