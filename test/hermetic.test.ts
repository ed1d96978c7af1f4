/**
 * The test harness itself: processes a test starts see only what the test gives them, and
 * none outlives its test (test/helpers/children.ts, test/setup/).
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { childCwd, childEnv, runId, track } from "./helpers/children.js";
import { survivors } from "./setup/survivors.js";

// survivors() reads /proc: on a system without it the run's last-resort sweep finds nothing.
const hasProc = existsSync("/proc/self/environ");
const root = realpathSync(fileURLToPath(new URL("..", import.meta.url)));

/** Runs `node -e code` as a test child; resolves with its stdout once it has ended. */
function node(code: string, env: Record<string, string> = {}): { child: ChildProcess; output: Promise<string> } {
  const child = track(spawn(process.execPath, ["-e", code], { cwd: childCwd(), env: childEnv(env), stdio: ["ignore", "pipe", "inherit"] }));
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  return { child, output: new Promise((resolve) => child.stdout?.on("close", () => resolve(out))) };
}

describe("processes started by tests", () => {
  const saved = process.env.CONTEXTD_STORE;
  afterAll(() => {
    if (saved === undefined) delete process.env.CONTEXTD_STORE;
    else process.env.CONTEXTD_STORE = saved;
  });

  it("see no CONTEXTD_* variable of the developer's shell and run in an empty temp directory, not the repository", async () => {
    process.env.CONTEXTD_STORE = "sqlite:./from-the-developer-shell.db";
    const { output } = node(
      "console.log(JSON.stringify({ cwd: process.cwd(), vars: Object.keys(process.env).filter((k) => k.startsWith('CONTEXTD_')).sort(), files: require('fs').readdirSync('.') }))",
      { CONTEXTD_TENANT: "set-by-the-test" },
    );
    const seen = JSON.parse(await output) as { cwd: string; vars: string[]; files: string[] };
    expect(seen.vars).toEqual(["CONTEXTD_TENANT", "CONTEXTD_TEST_CHILD", "CONTEXTD_TEST_OWNER"]);
    expect(realpathSync(seen.cwd).startsWith(root)).toBe(false);
    expect(seen.files).toEqual([]);
  });

  let leftRunning: ChildProcess | undefined;
  it("(step 1) a test that ends while its child still runs …", () => {
    leftRunning = node("setInterval(() => {}, 1000)").child;
    expect(leftRunning.exitCode).toBeNull();
  });

  it("(step 2) … has that child stopped before the next test starts", () => {
    expect(leftRunning?.signalCode ?? leftRunning?.exitCode).not.toBeNull();
    if (hasProc) expect(survivors(runId()).map((p) => p.pid)).not.toContain(leftRunning?.pid);
  });

  it.skipIf(!hasProc)("carry the run's marker, by which the end of the run finds survivors (needs /proc)", async () => {
    const { child } = node("setInterval(() => {}, 1000)");
    await new Promise((resolve) => child.once("spawn", resolve));
    expect(runId()).toMatch(/^(vitest|ci)-/);
    expect(survivors(runId()).map((p) => p.pid)).toContain(child.pid);
  });

  it.skipIf(!hasProc)("exit on their own once the test worker that owns them is gone (an interrupted run; needs /proc)", async () => {
    // A stand-in for the worker: it starts a grandchild owned by it, prints its pid, then is killed.
    const owner = node(
      `const { spawn } = require("child_process");
       const g = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { env: { ...process.env, CONTEXTD_TEST_OWNER: String(process.pid) }, stdio: ["ignore", "inherit", "inherit"] });
       console.log(g.pid);
       setInterval(() => {}, 1000);`,
    );
    const grandchild = await new Promise<number>((resolve) => owner.child.stdout?.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))));
    expect(survivors(runId()).map((p) => p.pid)).toContain(grandchild);
    owner.child.kill("SIGKILL");
    // The grandchild holds the owner's stdout: it closes only when the grandchild has exited too.
    await owner.output;
    expect(survivors(runId()).map((p) => p.pid)).not.toContain(grandchild);
  });
});
