/**
 * `contextd block get | set | append | replace | rewrite | ls | history | rm`: working-memory
 * blocks from the command line, against the embedded store or a server (see connect.ts), as
 * text for people and JSON with `--json`. The scope is one of `--context`, `--user`, `--agent`.
 */
import type { Command } from "commander";
import { invalidInput } from "../index.js";
import type { Block, BlockEdit, BlockInput, BlockScope, BlockWriteOptions, JsonObject } from "../index.js";
import type { WithStore } from "./data-commands.js";
import { integerFlag, jsonFlag } from "./flags.js";
import type { CliIo } from "./output.js";
import { printFields, printJson, printTable, println } from "./output.js";

interface ScopeFlags {
  context?: string;
  user?: string;
  agent?: string;
}

interface WriteFlags extends ScopeFlags {
  ifVersion?: string;
  actor?: string;
}

/** The scope the flags name; the store refuses none or more than one, naming `scope`. */
function scopeOf(o: ScopeFlags): BlockScope {
  const scope: Record<string, string> = {};
  if (o.context !== undefined) scope.contextId = o.context;
  if (o.user !== undefined) scope.userId = o.user;
  if (o.agent !== undefined) scope.agentId = o.agent;
  if (Object.keys(scope).length !== 1) throw invalidInput("scope", "give exactly one of --context, --user, --agent");
  return scope as BlockScope;
}

function writeOptions(o: WriteFlags): BlockWriteOptions {
  const options: BlockWriteOptions = {};
  if (o.ifVersion !== undefined) options.ifVersion = integerFlag(o.ifVersion, "--if-version", 0);
  if (o.actor !== undefined) options.actor = o.actor;
  return options;
}

function scoped(command: Command): Command {
  return command
    .option("--context <contextId>", "scope: a context")
    .option("--user <userId>", "scope: a user")
    .option("--agent <agentId>", "scope: an agent");
}

function writing(command: Command): Command {
  return scoped(command)
    .option("--if-version <n>", "fail with VERSION_CONFLICT unless the block is at this version (0: must not exist)")
    .option("--actor <actor>", "who or what made the change (kept in the history)");
}

const text = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));
const limitText = (b: { limit: { chars?: number; tokens?: number } }): string =>
  [b.limit.chars === undefined ? "" : `${b.limit.chars} chars`, b.limit.tokens === undefined ? "" : `${b.limit.tokens} tokens`].filter((s) => s !== "").join(", ");

/** Registers `contextd block …`. */
export function registerBlockCommands(program: Command, io: CliIo, withStore: WithStore): void {
  const out = io.stdout;
  const block = program.command("block").description("working-memory blocks: get, set, append, replace, rewrite, ls, history, rm");
  const show = (b: Block, asJson: boolean | undefined): void => {
    if (asJson === true) return printJson(out, b);
    println(out, `${b.label}  version ${b.version}  (${limitText(b)})`);
  };

  scoped(block.command("ls").description("list the blocks of a scope"))
    .action(async (o: ScopeFlags, command: Command) =>
      withStore(command, async (store, g) => {
        const blocks = await store.listBlocks(scopeOf(o));
        if (g.json) return printJson(out, { items: blocks });
        printTable(out, ["label", "version", "limit", "value"], blocks.map((b) => [b.label, b.version, limitText(b), text(b.value)]));
      }, "read"),
    );

  scoped(block.command("get <label>").description("show a block (its value alone with --value)"))
    .option("--value", "print only the value")
    .action(async (label: string, o: ScopeFlags & { value?: boolean }, command: Command) =>
      withStore(command, async (store, g) => {
        const b = await store.getBlock(scopeOf(o), label);
        if (g.json) return printJson(out, b);
        if (o.value === true) return println(out, text(b.value));
        printFields(out, [
          ["label", b.label],
          ["description", b.description],
          ["version", b.version],
          ["limit", limitText(b)],
          ["updated", `${b.updatedAt}${b.updatedBy === undefined ? "" : ` by ${b.updatedBy}`}`],
          ["value", text(b.value)],
        ]);
      }, "read"),
    );

  writing(block.command("set <label> <value>").description("create or overwrite a block (a limit is required)"))
    .option("--chars <n>", "hard limit in characters")
    .option("--tokens <n>", "hard limit in o200k tokens")
    .option("--description <text>", "what the block is for")
    .option("--schema <json>", "a JSON Schema: the value is then JSON")
    .action(async (label: string, value: string, o: WriteFlags & { chars?: string; tokens?: string; description?: string; schema?: string }, command: Command) =>
      withStore(command, async (store, g) => {
        const limit: BlockInput["limit"] = {};
        if (o.chars !== undefined) limit.chars = integerFlag(o.chars, "--chars", 1);
        if (o.tokens !== undefined) limit.tokens = integerFlag(o.tokens, "--tokens", 1);
        const input: BlockInput = { label, value, limit };
        if (o.description !== undefined) input.description = o.description;
        if (o.schema !== undefined) {
          input.schema = jsonFlag(o.schema, "--schema") as JsonObject;
          input.value = jsonFlag(value, "value");
        }
        show(await store.putBlock(scopeOf(o), input, writeOptions(o)), g.json);
      }),
    );

  type EditFlags = WriteFlags & { jsonValue?: boolean };
  const edit = (name: string, description: string, args: string, toEdit: (values: string[], o: EditFlags) => BlockEdit, extra?: (c: Command) => Command) => {
    const command = writing(block.command(`${name} <label> ${args}`).description(description));
    (extra?.(command) ?? command).action(async (label: string, ...rest: unknown[]) => {
      // commander passes the arguments, then the options, then the command.
      const command = rest[rest.length - 1] as Command;
      const o = rest[rest.length - 2] as EditFlags;
      const values = rest.slice(0, -2) as string[];
      return withStore(command, async (store, g) => {
        show(await store.editBlock(scopeOf(o), label, toEdit(values, o), writeOptions(o)), g.json);
      });
    });
  };
  edit("append", "append text to a text block", "<text>", ([t]) => ({ op: "append", text: t as string }));
  edit("replace", "replace the one occurrence of <old> with <new>", "<old> <new>", ([a, b]) => ({ op: "replace", old: a as string, new: b as string }));
  edit(
    "rewrite",
    "replace the whole value (JSON with --json-value)",
    "<value>",
    ([v], o) => ({ op: "rewrite", value: o.jsonValue === true ? jsonFlag(v as string, "value") : (v as string) }),
    (c) => c.option("--json-value", "the value is JSON (for a block with a schema)"),
  );

  scoped(
    block
      .command("history <label>")
      .description("every version of a block, oldest first (or a page: --after, --limit)")
      .option("--after <version>", "versions after this one")
      .option("--limit <n>", "at most this many versions (1–10000)"),
  )
    .action(async (label: string, o: ScopeFlags & { after?: string; limit?: string }, command: Command) =>
      withStore(command, async (store, g) => {
        const page = {
          ...(o.after !== undefined && { afterVersion: integerFlag(o.after, "--after", 0) }),
          ...(o.limit !== undefined && { limit: integerFlag(o.limit, "--limit", 1) }),
        };
        const versions = await store.blockHistory(scopeOf(o), label, page);
        if (g.json) {
          for (const v of versions) println(out, JSON.stringify(v));
          return;
        }
        printTable(out, ["version", "op", "actor", "at", "value"], versions.map((v) => [v.version, v.op, v.actor ?? "", v.at, text(v.value)]));
      }, "read"),
    );

  writing(block.command("rm <label>").description("delete a block (its history is kept)"))
    .action(async (label: string, o: WriteFlags, command: Command) =>
      withStore(command, async (store, g) => {
        await store.deleteBlock(scopeOf(o), label, writeOptions(o));
        if (g.json) return printJson(out, { deleted: label });
        println(out, `deleted ${label}`);
      }),
    );
}
