/**
 * What every process a test starts gets: a clean environment (no `CONTEXTD_*` variable of the
 * developer's shell, no `./.contextd/` of the repository: the working directory is a temp
 * dir), a marker naming the run, and a place in a registry that stops it when the test that
 * started it ends or fails (test/setup/processes.ts) and when the run ends
 * (test/setup/global.ts kills what carries the run's marker). Each child also loads
 * orphan-guard.mjs, which exits once the test worker is gone (an interrupted run).
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const GUARD = fileURLToPath(new URL("./orphan-guard.mjs", import.meta.url));

/** The variable that marks every process a test starts (its value names the run). */
export const CHILD_MARKER = "CONTEXTD_TEST_CHILD";

/** The run's id: set by the global setup (or by `.ci/run`), else this worker's own. */
export function runId(): string {
  return process.env.CONTEXTD_TEST_RUN ?? `worker-${process.pid}`;
}

/**
 * The environment of a child process: this process's minus every `CONTEXTD_*` variable, plus
 * the run marker, the orphan guard and `extra` (what the test sets itself).
 */
export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("CONTEXTD_")) env[k] = v;
  env[CHILD_MARKER] = runId();
  env.CONTEXTD_TEST_OWNER = String(process.pid);
  // A file URL: no space or quote in a path can break NODE_OPTIONS apart.
  env.NODE_OPTIONS = [process.env.NODE_OPTIONS, `--import=${pathToFileURL(GUARD).href}`].filter(Boolean).join(" ");
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

let cwd: string | undefined;

/** An empty working directory for child processes (one per test file, removed when it ends). */
export function childCwd(): string {
  if (cwd === undefined) {
    const dir = mkdtempSync(join(tmpdir(), "contextd-test-cwd-"));
    cwd = dir;
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  return cwd;
}

interface Tracked {
  child: ChildProcess;
  exited: Promise<void>;
  /** Started inside a test (stopped after it) or in a file-level hook (stopped after the file). */
  scope: "test" | "file";
}

const tracked = new Set<Tracked>();
let inTest = false;

/** Marks whether a test body (or its beforeEach) runs now; set by test/setup/processes.ts. */
export function setInTest(value: boolean): void {
  inTest = value;
}

/** Registers a started child, so it is stopped when its test or file ends. Returns it. */
export function track<T extends ChildProcess>(child: T): T {
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.once("error", () => resolve());
  });
  const entry: Tracked = { child, exited, scope: inTest ? "test" : "file" };
  tracked.add(entry);
  void exited.then(() => tracked.delete(entry));
  return child;
}

/**
 * Kills the tracked children of `scope` (and narrower) that still run, and waits until they
 * have exited. Returns how many had to be killed.
 */
export async function stopChildren(scope: "test" | "file"): Promise<number> {
  const victims = [...tracked].filter((t) => scope === "file" || t.scope === "test");
  let killed = 0;
  for (const t of victims) {
    if (t.child.exitCode === null && t.child.signalCode === null) {
      killed++;
      t.child.kill("SIGKILL");
    }
  }
  await Promise.all(victims.map((t) => t.exited));
  return killed;
}
