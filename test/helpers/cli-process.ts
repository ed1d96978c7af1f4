/**
 * Runs the real `contextd` CLI (TypeScript sources, no build) in a child process, with a clean
 * environment and a temp working directory (children.ts): it sees only what the test passes.
 */
import { spawn } from "node:child_process";
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { fileURLToPath } from "node:url";
import { childCwd, childEnv, track } from "./children.js";

const register = fileURLToPath(new URL("./register-ts.mjs", import.meta.url));
const main = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

/** A running `contextd serve`. */
export interface ServerProcess {
  url: string;
  child: ChildProcessWithoutNullStreams;
  /** Everything the process wrote so far. */
  output(): string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Spawns the CLI with `args` (and only the variables of `env`); resolves with the exit code and output. */
export function runCliProcess(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = track(spawn(process.execPath, ["--import", register, main, ...args], { cwd: childCwd(), env: childEnv(env) }));
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts `contextd serve --port 0 …args` and waits for it to print its URL. */
export async function startServerProcess(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<ServerProcess> {
  const child = track(
    spawn(process.execPath, ["--import", register, main, "serve", "--port", "0", ...args], {
      cwd: childCwd(),
      env: childEnv(env),
    }),
  );
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (d: Buffer): void => {
      output += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(output);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${output}`));
    });
  });
  return {
    url,
    child,
    output: () => output,
    exited,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}
