/**
 * `contextd config check`: reads the configuration `serve` would run with (the file, the
 * `CONTEXTD_*` variables, `--store`) and prints every finding at the chosen level with its
 * code, setting and fix; the exit code is 1 when one is an error. `contextd config settings`
 * prints the settings table (the one of docs/configuration.md).
 */
import type { Command } from "commander";
import { invalidInput, settingsTable } from "../index.js";
import { CONFIG_LEVELS } from "../server/index.js";
import type { ConfigLevel } from "../server/index.js";
import type { CliIo } from "./output.js";
import { printJson, println, printTable } from "./output.js";
import { readServeConfiguration } from "./serve-command.js";

/** Registers `config check` and `config settings`; `setExitCode` receives 1 on an error finding. */
export function registerConfigCommand(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  const config = program.command("config").description("check the configuration of `contextd serve` (docs/configuration.md)");
  config
    .command("check")
    .description("check the configuration file, CONTEXTD_* variables and --store at a level; exit code 1 on an error")
    .option("--config <file>", "configuration file [env CONTEXTD_CONFIG]")
    .option("--level <level>", "basic, strict or paranoid [env CONTEXTD_CONFIG_LEVEL]")
    .action((flags: { config?: string; level?: string }, command: Command) => {
      const global = command.optsWithGlobals<{ store?: string; json?: boolean }>();
      const level = flags.level ?? io.env.CONTEXTD_CONFIG_LEVEL ?? "basic";
      if (!(CONFIG_LEVELS as readonly string[]).includes(level)) throw invalidInput("--level", `use one of ${CONFIG_LEVELS.join(", ")}, got ${JSON.stringify(level)}`);
      const { loaded, findings } = readServeConfiguration(io, flags.config, { store: global.store }, level as ConfigLevel);
      const ok = !findings.some((f) => f.severity === "error");
      if (!ok) setExitCode(1);
      if (global.json) {
        printJson(io.stdout, { ok, level, file: loaded.config.file, findings });
        return;
      }
      if (findings.length === 0) {
        println(io.stdout, `ok: no findings at level ${level}${loaded.config.file === null ? "" : ` (${loaded.config.file})`}`);
        return;
      }
      printTable(
        io.stdout,
        ["severity", "code", "setting", "message", "fix"],
        findings.map((f) => [f.severity, f.code, f.setting, f.message, f.fix]),
      );
      println(io.stdout, `${ok ? "ok" : "refused"} at level ${level}: ${findings.filter((f) => f.severity === "error").length} error(s), ${findings.filter((f) => f.severity === "warning").length} warning(s)`);
    });
  config
    .command("settings")
    .description("print every setting: file key, variable, default, allowed values, meaning (Markdown)")
    .action(() => println(io.stdout, settingsTable()));
}
