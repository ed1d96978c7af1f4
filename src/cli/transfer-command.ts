/**
 * `contextd export [FILTER…] > file.jsonl` and `contextd import file.jsonl` (JSON Lines,
 * idempotent; a progress bar on a terminal).
 */
import { createReadStream, createWriteStream, statSync } from "node:fs";
import { once } from "node:events";
import type { Writable } from "node:stream";
import type { Command } from "commander";
import cliProgress from "cli-progress";
import { exportContexts, importContexts, invalidInput } from "../index.js";
import type { ContextStatus, ExportFilter } from "../index.js";
import type { WithStore } from "./data-commands.js";
import type { CliIo } from "./output.js";
import { printJson, println } from "./output.js";

/** Parses `kind=chat user=u1 id=a id=b` into an export filter. */
export function parseExportFilter(args: string[]): ExportFilter {
  const filter: ExportFilter = {};
  const ids: string[] = [];
  for (const arg of args) {
    const eq = arg.indexOf("=");
    if (eq <= 0) throw invalidInput("filter", `${JSON.stringify(arg)}: use key=value with key kind, user, chat, agent, status or id`);
    const key = arg.slice(0, eq);
    const value = arg.slice(eq + 1);
    switch (key) {
      case "kind":
        filter.kind = value;
        break;
      case "user":
        filter.userId = value;
        break;
      case "chat":
        filter.chatId = value;
        break;
      case "agent":
        filter.agentId = value;
        break;
      case "status":
        filter.status = value as ContextStatus;
        break;
      case "id":
        ids.push(value);
        break;
      default:
        throw invalidInput("filter", `unknown filter key ${JSON.stringify(key)} (kind, user, chat, agent, status, id)`);
    }
  }
  if (ids.length > 0) filter.ids = ids;
  return filter;
}

async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, "drain");
}

/** Registers `export` and `import`. */
export function registerTransferCommands(program: Command, io: CliIo, withStore: WithStore): void {
  program
    .command("export [filter...]")
    .description("export contexts with state, history and snapshots as JSON Lines (filter: kind=… user=… chat=… agent=… status=… id=…)")
    .option("-o, --output <file>", "write here instead of stdout")
    .action(async (filterArgs: string[], o: { output?: string }, command: Command) =>
      withStore(command, async (store) => {
        const filter = parseExportFilter(filterArgs);
        const out: Writable = o.output ? createWriteStream(o.output) : io.stdout;
        let lines = 0;
        for await (const line of exportContexts(store, filter)) {
          await write(out, line);
          lines++;
        }
        if (o.output) {
          out.end();
          await once(out, "close");
          println(io.stderr, `exported ${lines} lines to ${o.output}`);
        }
      }),
    );

  program
    .command("import <file>")
    .description("import a JSON Lines export (idempotent: contexts already there and identical are left alone)")
    .action(async (file: string, _o: unknown, command: Command) =>
      withStore(command, async (store, g) => {
        const size = statSync(file).size;
        const showBar = !g.json && (io.stderr as { isTTY?: boolean }).isTTY === true;
        const bar = showBar
          ? new cliProgress.SingleBar({ format: "importing [{bar}] {percentage}% | {value}/{total} bytes", stream: io.stderr }, cliProgress.Presets.shades_classic)
          : null;
        bar?.start(size, 0);
        let read = 0;
        const stream = createReadStream(file);
        stream.on("data", (chunk) => {
          read += chunk.length;
          bar?.update(read);
        });
        try {
          const result = await importContexts(store, stream as AsyncIterable<Uint8Array>);
          bar?.update(size);
          bar?.stop();
          if (g.json) return printJson(io.stdout, result);
          println(io.stdout, `imported ${result.imported.length} contexts (${result.events} events); ${result.unchanged.length} already present and identical`);
        } catch (e) {
          bar?.stop();
          throw e;
        }
      }),
    );
}
