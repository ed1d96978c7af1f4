/**
 * `contextd export [FILTER…] > file.jsonl` and `contextd import file.jsonl` (JSON Lines,
 * idempotent). Import shows its progress on stderr: a bar on a terminal, plain lines
 * (`import: writing 200/600 events (33%)`) when `--progress` is given elsewhere.
 */
import { createReadStream, createWriteStream, statSync } from "node:fs";
import { once } from "node:events";
import { createInterface } from "node:readline";
import type { Writable } from "node:stream";
import type { Command } from "commander";
import { ContextError, exportContexts, importContexts, invalidInput } from "../index.js";
import type { ContextStatus, ContextStore, ExportFilter, ImportResult } from "../index.js";
import type { WithStore } from "./data-commands.js";
import type { CliIo } from "./output.js";
import { printJson, println } from "./output.js";
import { barProgress, textProgress } from "./progress.js";
import type { Progress } from "./progress.js";

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

/**
 * Checks a file to import before anything is opened: a missing file is `NOT_FOUND`, a
 * directory or an unreadable path `INVALID_INPUT`, each naming the path (`expected` says what
 * the command takes instead of a directory).
 */
export function checkImportFile(file: string, expected = "import takes a JSON Lines file made by `contextd export`"): void {
  let stat;
  try {
    stat = statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new ContextError("NOT_FOUND", `no file ${file} to import`, { cause: e, details: { path: file } });
    throw new ContextError("INVALID_INPUT", `cannot read ${file} (${code ?? "unknown error"})`, { cause: e, details: { path: file } });
  }
  if (stat.isDirectory()) {
    throw new ContextError("INVALID_INPUT", `${file} is a directory: ${expected}`, {
      details: { path: file },
    });
  }
}

/** Registers `export` and `import`. */
export function registerTransferCommands(program: Command, io: CliIo, withStore: WithStore): void {
  program
    .command("export [filter...]")
    .description("export contexts with state, history, snapshots and working-memory blocks as JSON Lines (filter: kind=… user=… chat=… agent=… status=… id=…)")
    .option("-o, --output <file>", "write here instead of stdout")
    .action(async (filterArgs: string[], o: { output?: string }, command: Command) =>
      withStore(
        command,
        async (store) => {
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
      },
      "read",
      ),
    );

  program
    .command("import <file>")
    .description(
      "import a JSON Lines export (idempotent: contexts already there and identical are left alone); " +
        "progress goes to stderr: lines checked, then events written",
    )
    .option("--progress", "show progress even when stderr is not a terminal (plain lines then)")
    .option("--no-progress", "never show progress (default: shown when stderr is a terminal and --json is not given)")
    .action(async (file: string, o: { progress?: boolean }, command: Command) => {
      checkImportFile(file);
      return withStore(command, async (store, g) => {
        const tty = (io.stderr as { isTTY?: boolean }).isTTY === true;
        const show = o.progress ?? (tty && !g.json);
        const result = show
          ? await importWithProgress(store, file, tty ? barProgress(io.stderr) : textProgress(io.stderr, "import"))
          : await importContexts(store, createReadStream(file) as AsyncIterable<Uint8Array>);
        if (g.json) return printJson(io.stdout, result);
        const blocks = result.blocks > 0 ? `, ${result.blocks} working-memory block${result.blocks === 1 ? "" : "s"}` : "";
        println(io.stdout, `imported ${result.imported.length} contexts (${result.events} events${blocks}); ${result.unchanged.length} already present and identical`);
      });
    });
}

/** Counts the lines of a file as readline splits them (a last line without newline counts). */
async function countLines(file: string): Promise<number> {
  let lines = 0;
  let lastByte = 0x0a;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) lines++;
    if (chunk.length > 0) lastByte = chunk[chunk.length - 1] ?? lastByte;
  }
  return lastByte === 0x0a ? lines : lines + 1;
}

function isEventLine(text: string): boolean {
  try {
    return (JSON.parse(text) as { type?: unknown } | null)?.type === "event";
  } catch {
    return false; // the import itself reports the bad line
  }
}

/** The lines of `file`, calling `onLine` as each is handed over and `onEnd` after the last. */
async function* linesOf(file: string, onLine: (text: string) => void, onEnd: () => void): AsyncGenerator<string> {
  for await (const text of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    onLine(text);
    yield `${text}\n`;
  }
  onEnd();
}

// The writes an import makes through the store, and how many events each adds.
const EVENT_WRITES = new Map<string, (args: unknown[]) => number>([
  ["append", (args) => (Array.isArray(args[1]) ? args[1].length : 1)],
  ["replaceState", () => 1],
  ["patchState", () => 1],
  ["setStateAt", () => 1],
  ["removeStateAt", () => 1],
  ["restore", () => 1],
  ["createSnapshot", () => 1],
]);

/** `store`, calling `onWritten(n)` after each call that wrote `n` events. */
function countingEvents(store: ContextStore, onWritten: (events: number) => void): ContextStore {
  return new Proxy(store, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      const fn = value as (...args: unknown[]) => unknown;
      const events = typeof prop === "string" ? EVENT_WRITES.get(prop) : undefined;
      if (events === undefined) return fn.bind(target);
      return async (...args: unknown[]): Promise<unknown> => {
        const result = await fn.apply(target, args);
        onWritten(events(args));
        return result;
      };
    },
  });
}

/**
 * Imports `file` reporting two phases: "checking" (lines read and validated, of the lines in
 * the file; nothing is written before all are checked) and "writing" (events written, of the
 * event lines; contexts already present are skipped, so the writing total ends at what was written).
 */
async function importWithProgress(store: ContextStore, file: string, progress: Progress): Promise<ImportResult> {
  let checked = 0;
  let eventLines = 0;
  let written = 0;
  progress.phase("checking", await countLines(file), "lines");
  const source = linesOf(
    file,
    (text) => {
      progress.update(++checked);
      if (isEventLine(text)) eventLines++;
    },
    () => {
      progress.done(checked);
      progress.phase("writing", eventLines, "events");
    },
  );
  try {
    const result = await importContexts(
      countingEvents(store, (n) => progress.update((written += n))),
      source,
    );
    progress.done(written);
    return result;
  } catch (e) {
    progress.stop();
    throw e;
  }
}
