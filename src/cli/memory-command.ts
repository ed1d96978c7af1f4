/**
 * `contextd memory add | import | get | ls | search | rm | history | reindex`: long-term memory from the
 * command line, against the embedded store or a server (see connect.ts), as tables for people
 * and JSON with `--json` (one object, or one JSON line per item for search and history, as the
 * context commands do). `reindex` shows its progress on stderr and resumes where a stopped
 * one left off.
 */
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { invalidInput, isContextError } from "../index.js";
import type {
  AddMemoriesOptions,
  ContextStore,
  JsonObject,
  ListMemoriesQuery,
  Memory,
  MemoryInput,
  MemoryScope,
  MemorySearchQuery,
  MemorySelection,
  MemoryWriteOptions,
  MetadataFilter,
} from "../index.js";
import type { WithStore } from "./data-commands.js";
import { integerFlag, jsonFlag } from "./flags.js";
import type { CliIo } from "./output.js";
import { printFields, printJson, printTable, println } from "./output.js";
import { barProgress, textProgress } from "./progress.js";
import { checkImportFile } from "./transfer-command.js";
import type { Progress } from "./progress.js";

/** The scope flags every memory command shares. */
interface ScopeFlags {
  user?: string;
  agent?: string;
  context?: string;
  namespace?: string;
}

/** The selection flags of `ls` and `search`. */
interface SelectionFlags extends ScopeFlags {
  tag?: string[];
  filter?: string;
  since?: string;
  until?: string;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(",").filter((v) => v.length > 0)];
}

function decimal(text: string, flag: string): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n)) throw invalidInput(flag, `must be a number, got ${JSON.stringify(text)}`);
  return n;
}

/** A time flag: digits are epoch milliseconds, anything else an ISO 8601 string for the store to check. */
function time(text: string): string | number {
  return /^\d{1,15}$/.test(text) ? Number(text) : text;
}

/** The scope the flags name, or undefined when they name none. */
function scopeOf(o: ScopeFlags): MemoryScope | undefined {
  const scope: MemoryScope = {};
  if (o.user !== undefined) scope.userId = o.user;
  if (o.agent !== undefined) scope.agentId = o.agent;
  if (o.context !== undefined) scope.contextId = o.context;
  if (o.namespace !== undefined) scope.namespace = o.namespace.split("/").filter((l) => l.length > 0);
  return Object.keys(scope).length > 0 ? scope : undefined;
}

function selectionOf(o: SelectionFlags): MemorySelection {
  const selection: MemorySelection = {};
  const scope = scopeOf(o);
  if (scope !== undefined) selection.scope = scope;
  if (o.tag !== undefined) selection.tags = o.tag;
  if (o.filter !== undefined) selection.filter = jsonFlag(o.filter, "--filter") as MetadataFilter;
  if (o.since !== undefined) selection.since = time(o.since);
  if (o.until !== undefined) selection.until = time(o.until);
  return selection;
}

/** Adds the scope flags to a command. */
function scopeOptions(command: Command): Command {
  return command
    .option("--user <userId>", "scope: the user")
    .option("--agent <agentId>", "scope: the agent")
    .option("--context <contextId>", "scope: the context (run)")
    .option("--namespace <path>", "scope: a namespace path, labels separated by / (a prefix in ls and search)");
}

/** Adds the selection flags of `ls` and `search`. */
function selectionOptions(command: Command): Command {
  return scopeOptions(command)
    .option("--tag <tag>", "only memories with this tag (repeatable, or comma-separated; all must be present)", collect)
    .option("--filter <json>", 'a metadata filter, e.g. \'{"turn":{"$gte":3}}\'')
    .option("--since <time>", "only memories created at or after this time (ISO 8601 or epoch ms)")
    .option("--until <time>", "only memories created at or before this time");
}

/** A scope as one short cell: `user=u1 agent=a ns=prefs/food`. */
export function scopeText(m: Memory): string {
  const parts: string[] = [];
  if (m.scope.userId !== null) parts.push(`user=${m.scope.userId}`);
  if (m.scope.agentId !== null) parts.push(`agent=${m.scope.agentId}`);
  if (m.scope.contextId !== null) parts.push(`context=${m.scope.contextId}`);
  if (m.scope.namespace.length > 0) parts.push(`ns=${m.scope.namespace.join("/")}`);
  return parts.join(" ");
}

function score(n: number | null): string {
  return n === null ? "-" : String(Math.round(n * 1000) / 1000);
}

/** Stops on the first SIGINT or SIGTERM (instead of being killed) until `release` is called. */
function stopOnSignal(): { signal: AbortSignal; release: () => void } {
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return {
    signal: stop.signal,
    release: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

/**
 * Reindexes in steps of one batch, so a stop (a signal, or `limit`) lands between committed
 * batches and the next run picks up the rest; returns what was done and what is left.
 */
async function reindex(
  store: ContextStore,
  o: { batchSize: number; limit: number | undefined; signal: AbortSignal },
  progress: Progress | null,
): Promise<{ reindexed: number; remaining: number; stopped: boolean }> {
  let reindexed = 0;
  let started = false;
  for (;;) {
    const step = Math.min(o.batchSize, (o.limit ?? Number.MAX_SAFE_INTEGER) - reindexed);
    const r = await store.reindexMemories({ batchSize: o.batchSize, limit: step });
    reindexed += r.reindexed;
    const remaining = r.remaining;
    const left = Math.min(remaining, (o.limit ?? Number.MAX_SAFE_INTEGER) - reindexed);
    if (!started) {
      progress?.phase("embedding", reindexed + left, "memories");
      started = true;
    }
    progress?.update(reindexed);
    if (left === 0 || r.reindexed === 0) {
      progress?.done(reindexed);
      return { reindexed, remaining, stopped: false };
    }
    if (o.signal.aborted) {
      progress?.stop();
      return { reindexed, remaining, stopped: true };
    }
  }
}

/** The memories of a JSONL file: a JSON object per line (a memory), or a JSON string (its text). */
async function readMemoryLines(file: string, scope: MemoryScope | undefined): Promise<{ line: number; input: MemoryInput }[]> {
  checkImportFile(file, "memory import takes a JSONL file of memories");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(await readFile(file));
  } catch (e) {
    if (e instanceof TypeError) throw invalidInput("file", `${file} is not UTF-8 text`);
    throw e;
  }
  const out: { line: number; input: MemoryInput }[] = [];
  text.split("\n").forEach((raw, i) => {
    if (raw.trim() === "") return;
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch {
      throw invalidInput(`line ${i + 1}`, "is not JSON (each line is a memory object or a JSON string)");
    }
    let input: MemoryInput;
    if (typeof v === "string") input = { text: v } as MemoryInput;
    else if (v !== null && typeof v === "object" && !Array.isArray(v)) input = v as MemoryInput;
    else throw invalidInput(`line ${i + 1}`, "must be a memory object or a JSON string");
    if (input.scope === undefined && scope !== undefined) input = { ...input, scope };
    out.push({ line: i + 1, input });
  });
  return out;
}

/** Registers `contextd memory …`. */
export function registerMemoryCommands(program: Command, io: CliIo, withStore: WithStore): void {
  const out = io.stdout;
  const memory = program.command("memory").description("long-term memory: add, import, get, ls, search, rm, history, reindex");

  scopeOptions(memory.command("add <text...>").description("add a memory (the same text in the same scope returns the existing one)"))
    .option("--id <id>", "the memory's id (default: generated)")
    .option("--tag <tag>", "a tag (repeatable, or comma-separated)", collect)
    .option("--metadata <json>", "a JSON object")
    .option("--value <json>", "structured data kept with it (JSON)")
    .option("--importance <n>", "0 to 1 (default 0.5)")
    .option("--ttl <ms>", "expire this many milliseconds from now")
    .option("--merge <threshold>", "merge into the most similar memory of the scope at or above this cosine similarity (0–1)")
    .option("--actor <actor>", "who or what made the change (kept in the history)")
    .action(
      async (
        words: string[],
        o: ScopeFlags & { id?: string; tag?: string[]; metadata?: string; value?: string; importance?: string; ttl?: string; merge?: string; actor?: string },
        command: Command,
      ) =>
        withStore(command, async (store, g) => {
          const scope = scopeOf(o);
          if (scope === undefined) throw invalidInput("scope", "give --user, --agent, --context or --namespace");
          const input: MemoryInput = { scope, text: words.join(" ") };
          if (o.id !== undefined) input.id = o.id;
          if (o.tag !== undefined) input.tags = o.tag;
          if (o.metadata !== undefined) input.metadata = jsonFlag(o.metadata, "--metadata") as JsonObject;
          if (o.value !== undefined) input.value = jsonFlag(o.value, "--value");
          if (o.importance !== undefined) input.importance = decimal(o.importance, "--importance");
          if (o.ttl !== undefined) input.ttlMs = integerFlag(o.ttl, "--ttl", 1);
          const options: AddMemoriesOptions = {};
          if (o.merge !== undefined) options.merge = { threshold: decimal(o.merge, "--merge") };
          if (o.actor !== undefined) options.actor = o.actor;
          const [added] = await store.addMemories(input, options);
          if (added === undefined) throw new Error("the store returned no result for the memory");
          if (g.json) return printJson(out, added);
          const note = added.outcome === "created" ? "added" : added.outcome === "existing" ? "already there" : `merged (now version ${added.memory.version})`;
          println(out, `${added.memory.id}  ${note}`);
        }),
    );

  memory
    .command("get <id>")
    .description("show a memory")
    .option("--refresh", "move its expiry to now + its ttl")
    .action(async (id: string, o: { refresh?: boolean }, command: Command) =>
      withStore(command, async (store, g) => {
        const m = await store.getMemory(id, o.refresh === true ? { refresh: true } : {});
        if (g.json) return printJson(out, m);
        printFields(out, [
          ["id", m.id],
          ["scope", scopeText(m)],
          ["text", m.text],
          ["value", m.value],
          ["metadata", m.metadata],
          ["tags", m.tags.join(", ")],
          ["importance", m.importance],
          ["source", m.source === null ? null : `${m.source.contextId}${m.source.seq === null ? "" : `#${m.source.seq}`}`],
          ["version", m.version],
          ["created", m.createdAt],
          ["updated", m.updatedAt],
          ["expires", m.expiresAt],
          ["embedding", m.embedding === null ? null : `${m.embedding.model} (${m.embedding.dimensions})`],
        ]);
      }, "read"),
    );

  selectionOptions(memory.command("ls").description("list memories, newest first"))
    .option("--order <order>", "asc or desc (by creation time)", "desc")
    .option("--limit <n>", "at most this many (at most 1000)", "100")
    .option("--cursor <cursor>", "the next page (printed when there is one)")
    .action(async (o: SelectionFlags & { order: string; limit: string; cursor?: string }, command: Command) =>
      withStore(command, async (store, g) => {
        const query: ListMemoriesQuery = { ...selectionOf(o), order: o.order as "asc", limit: integerFlag(o.limit, "--limit", 1) };
        if (o.cursor !== undefined) query.cursor = o.cursor;
        const page = await store.listMemories(query);
        if (g.json) return printJson(out, page);
        if (page.items.length === 0) return println(io.stderr, "(no memories)");
        printTable(
          out,
          ["id", "scope", "text", "tags", "version", "updated"],
          page.items.map((m) => [m.id, scopeText(m), m.text, m.tags.join(","), m.version, m.updatedAt]),
        );
        if (page.nextCursor !== null) println(io.stderr, `(more: --cursor ${page.nextCursor})`);
      }, "read"),
    );

  selectionOptions(memory.command("search <text...>").description("search memories by words and meaning (hybrid), best first"))
    .option("--mode <mode>", "hybrid, text or vector", "hybrid")
    .option("--limit <n>", "at most this many hits (at most 1000)", "10")
    .option("--min-score <score>", "only hits scoring at least this")
    .action(async (words: string[], o: SelectionFlags & { mode: string; limit: string; minScore?: string }, command: Command) =>
      withStore(command, async (store, g) => {
        const query: MemorySearchQuery = { ...selectionOf(o), text: words.join(" "), mode: o.mode as "hybrid", limit: integerFlag(o.limit, "--limit", 1) };
        if (o.minScore !== undefined) query.minScore = decimal(o.minScore, "--min-score");
        const hits = await store.searchMemories(query);
        if (g.json) {
          for (const h of hits) println(out, JSON.stringify(h));
          return;
        }
        if (hits.length === 0) return println(io.stderr, "(no matches)");
        printTable(
          out,
          ["score", "bm25", "cosine", "id", "scope", "text"],
          hits.map((h) => [score(h.score), score(h.textScore), score(h.vectorScore), h.memory.id, scopeText(h.memory), h.memory.text]),
          80,
        );
      }, "read"),
    );

  memory
    .command("rm <id...>")
    .description("delete memories (their history keeps a delete version)")
    .option("--expected-version <n>", "fail with VERSION_CONFLICT unless the memory is at this version")
    .option("--actor <actor>", "who or what deleted it (kept in the history)")
    .action(async (ids: string[], o: { expectedVersion?: string; actor?: string }, command: Command) =>
      withStore(command, async (store, g) => {
        const options: MemoryWriteOptions = {};
        if (o.expectedVersion !== undefined) options.expectedVersion = integerFlag(o.expectedVersion, "--expected-version", 1);
        if (o.actor !== undefined) options.actor = o.actor;
        const deleted: string[] = [];
        for (const id of ids) {
          await store.deleteMemory(id, options);
          deleted.push(id);
          if (!g.json) println(out, `deleted ${id}`);
        }
        if (g.json) printJson(out, { deleted });
      }),
    );

  memory
    .command("history <id>")
    .description("every version of a memory, oldest first")
    .action(async (id: string, _o: unknown, command: Command) =>
      withStore(command, async (store, g) => {
        const versions = await store.memoryHistory(id);
        if (g.json) {
          for (const v of versions) println(out, JSON.stringify(v));
          return;
        }
        printTable(out, ["version", "op", "at", "actor", "text"], versions.map((v) => [v.version, v.op, v.at, v.actor, v.text]), 80);
      }, "read"),
    );

  memory
    .command("reindex")
    .description(
      "embed the memories without a vector of the store's model (after a change of model); " +
        "batches are committed, so a stopped reindex (Ctrl-C, --limit) resumes on the next run",
    )
    .option("--batch-size <n>", "memories embedded per batch", "32")
    .option("--limit <n>", "embed at most this many, then stop")
    .option("--progress", "show progress even when stderr is not a terminal (plain lines then)")
    .option("--no-progress", "never show progress (default: shown when stderr is a terminal and --json is not given)")
    .action(async (o: { batchSize: string; limit?: string; progress?: boolean }, command: Command) =>
      withStore(command, async (store, g) => {
        const tty = (io.stderr as { isTTY?: boolean }).isTTY === true;
        const show = o.progress ?? (tty && !g.json);
        const stop = stopOnSignal();
        try {
          const result = await reindex(
            store,
            {
              batchSize: integerFlag(o.batchSize, "--batch-size", 1),
              limit: o.limit === undefined ? undefined : integerFlag(o.limit, "--limit", 1),
              signal: stop.signal,
            },
            show ? (tty ? barProgress(io.stderr) : textProgress(io.stderr, "reindex")) : null,
          );
          if (g.json) return printJson(out, { reindexed: result.reindexed, remaining: result.remaining });
          const rest = result.remaining > 0 ? `; ${result.remaining} still to do: run it again to continue` : "";
          println(out, `${result.stopped ? "stopped: " : ""}reindexed ${result.reindexed} memories${rest}`);
        } finally {
          stop.release();
        }
      }),
    );

  scopeOptions(
    memory
      .command("import <file>")
      .description(
        "add the memories of a JSONL file (a memory object or a JSON string per line; the scope flags apply to lines without a scope) " +
          "in batches; adding is idempotent, so an interrupted import resumes by running it again",
      ),
  )
    .option("--batch-size <n>", "memories per atomic batch", "64")
    .option("--progress", "show progress even when stderr is not a terminal (plain lines then)")
    .option("--no-progress", "never show progress (default: shown when stderr is a terminal and --json is not given)")
    .action(async (file: string, o: ScopeFlags & { batchSize: string; progress?: boolean }, command: Command) => {
      const lines = await readMemoryLines(file, scopeOf(o));
      const batchSize = integerFlag(o.batchSize, "--batch-size", 1);
      return withStore(command, async (store, g) => {
        const tty = (io.stderr as { isTTY?: boolean }).isTTY === true;
        const show = o.progress ?? (tty && !g.json);
        const progress = show ? (tty ? barProgress(io.stderr) : textProgress(io.stderr, "memory import")) : null;
        const stop = stopOnSignal();
        const counts = { created: 0, existing: 0, merged: 0 };
        let done = 0;
        try {
          progress?.phase("adding", lines.length, "memories");
          for (let i = 0; i < lines.length && !stop.signal.aborted; i += batchSize) {
            const batch = lines.slice(i, i + batchSize);
            let added;
            try {
              added = await store.addMemories(batch.map((l) => l.input));
            } catch (e) {
              // "memories[3].text" → the file's line, so the user can fix it.
              const m = isContextError(e, "INVALID_INPUT") ? /^memories\[(\d+)\]/.exec(e.details?.field as string ?? "") : null;
              const at = m === null ? undefined : batch[Number(m[1])];
              if (at !== undefined) throw invalidInput(`line ${at.line}`, e instanceof Error ? e.message : String(e));
              throw e;
            }
            for (const a of added) counts[a.outcome]++;
            done += batch.length;
            progress?.update(done);
          }
          if (stop.signal.aborted) progress?.stop();
          else progress?.done(done);
        } catch (e) {
          progress?.stop();
          throw e;
        } finally {
          stop.release();
        }
        const remaining = lines.length - done;
        if (g.json) return printJson(out, { ...counts, remaining });
        const rest = remaining > 0 ? `; stopped with ${remaining} still to add: run it again to continue` : "";
        println(out, `added ${counts.created} memories, ${counts.existing} already there${counts.merged > 0 ? `, ${counts.merged} merged` : ""}${rest}`);
      });
    });
}
