/**
 * The `contextd` command line: builds the commander program and runs it with the given
 * output streams, returning the exit code (the bin calls it; tests call it in-process).
 */
import { Command, CommanderError } from "commander";
import { isContextError } from "../index.js";
import type { ContextStore } from "../index.js";
import { connect } from "./connect.js";
import type { GlobalOptions } from "./connect.js";
import { registerDataCommands } from "./data-commands.js";
import type { WithStore } from "./data-commands.js";
import { registerConfigCommand } from "./config-command.js";
import { registerDoctorCommand } from "./doctor.js";
import { registerKeysCommand } from "./keys-command.js";
import { registerMemoryCommands } from "./memory-command.js";
import { registerBlockCommands } from "./block-command.js";
import { registerMonitorCommand } from "./monitor-command.js";
import type { CliIo } from "./output.js";
import { println } from "./output.js";
import { registerServeCommand } from "./serve-command.js";
import { registerTransferCommands } from "./transfer-command.js";

/** Options of {@link runCli}. */
export interface RunCliOptions {
  io?: Partial<CliIo>;
  /** Called with the URL once `serve` listens. */
  onListening?: (url: string) => void;
}

/**
 * Runs `contextd` with `argv` (without the node and script entries) and returns the exit code.
 * Errors print one line `contextd: CODE: message` to stderr and give exit code 1 (2 for usage errors).
 */
export async function runCli(argv: string[], options: RunCliOptions = {}): Promise<number> {
  const io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env, ...options.io };
  let exitCode = 0;
  const program = new Command("contextd")
    .description("context management for AI applications and agents")
    .version("0.1.0", "-V, --version")
    .option("--store <url>", "embedded store URL (in-memory:, sqlite:./x.db, postgres://…) [env CONTEXTD_STORE]")
    .option("--url <url>", "a contextd server instead of the embedded store [env CONTEXTD_URL]")
    .option("--api-key <key>", "API key for --url [env CONTEXTD_API_KEY]")
    .option("--tenant <tenant>", "act in this tenant [env CONTEXTD_TENANT]")
    .option("--json", "machine-readable output")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });

  const withStore: WithStore = async (command, fn, access = "write") => {
    const global = command.optsWithGlobals<GlobalOptions>();
    const store: ContextStore = await connect(global, io.env, access);
    try {
      return await fn(store, global);
    } finally {
      await store.close();
    }
  };

  registerServeCommand(program, io, options.onListening);
  registerDataCommands(program, io, withStore);
  registerTransferCommands(program, io, withStore);
  registerMemoryCommands(program, io, withStore);
  registerBlockCommands(program, io, withStore);
  registerMonitorCommand(program, io);
  registerKeysCommand(program, io, () => program.opts<GlobalOptions>().json === true);
  registerDoctorCommand(program, io, (code) => (exitCode = code));
  registerConfigCommand(program, io, (code) => (exitCode = code));

  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end this way too, with code 0.
      return e.exitCode === 0 ? 0 : 2;
    }
    const message = e instanceof Error ? e.message.split("\n")[0] : String(e);
    println(io.stderr, `contextd: ${isContextError(e) ? `${e.code}: ` : ""}${message}`);
    return 1;
  }
}
