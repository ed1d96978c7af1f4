import { PassThrough } from "node:stream";
import { runCli } from "../../src/cli/program.js";

/** What a CLI run printed and how it exited. */
export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/**
 * Runs the `contextd` command in this process with `env` as its whole environment (nothing of
 * the developer's), capturing what it writes to stdout and stderr.
 */
export async function runCliCaptured(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (d: Buffer) => (out += d.toString()));
  stderr.on("data", (d: Buffer) => (err += d.toString()));
  const code = await runCli(args, { io: { stdout, stderr, env } });
  return { code, out, err };
}
