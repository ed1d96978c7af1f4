/**
 * The commands that read and change contexts: ls, show, history, search, state, diff,
 * snapshot, restore, fork. Each runs against the embedded store or a server (see connect.ts).
 */
import type { Command } from "commander";
import { invalidInput } from "../index.js";
import type { ContextEvent, ContextStatus, ContextStore, EventQuery, ListContextsQuery, SearchHit, SearchQuery } from "../index.js";
import type { GlobalOptions } from "./connect.js";
import type { CliIo } from "./output.js";
import { printFields, printJson, printRow, printTable, println } from "./output.js";
import type { TableLayout } from "./output.js";
import { barProgress } from "./progress.js";
import { integerFlag } from "./flags.js";

/**
 * Runs `fn` with the store the global options name, and closes it. A command that only reads
 * passes `"read"`: it never creates a store (a missing one is `NOT_FOUND` naming the path).
 */
export type WithStore = <T>(
  command: Command,
  fn: (store: ContextStore, options: GlobalOptions) => Promise<T>,
  access?: "read" | "write",
) => Promise<T>;

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(",").filter((v) => v.length > 0)];
}

const EVENT_COLUMNS = ["seq", "time", "type", "version", "data"];
// Room for what later events likely hold: 6-digit seqs, ISO times, common type names.
const FOLLOW_WIDTHS = [6, "2025-01-01T00:00:00.000Z".length, "tool_result".length, 7];

function eventRow(e: ContextEvent): unknown[] {
  return [e.seq, e.timestamp, e.type, e.version, e.data];
}


const WORD = /[\p{L}\p{N}]+/gu;

/** The string values of a JSON value, depth first (the text search looks at). */
function stringValues(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) for (const v of value) stringValues(v, out);
  else if (typeof value === "object" && value !== null) for (const v of Object.values(value)) stringValues(v, out);
  return out;
}

/**
 * One line of an event's data around the first word of the query it holds: the string values
 * joined, whitespace collapsed, cut to `width` characters with `…` where text was left out.
 */
export function excerpt(data: unknown, text: string, width = 60): string {
  const words = new Set((text.normalize("NFC").match(WORD) ?? []).map((w) => w.toLowerCase()));
  const line = stringValues(data).join(" · ").normalize("NFC").replace(/\s+/g, " ").trim();
  if (line.length <= width) return line;
  let at = 0;
  for (const m of line.matchAll(WORD)) {
    if (words.has(m[0].toLowerCase())) {
      at = m.index;
      break;
    }
  }
  // Some context before the word, then as much after it as fits; `…` marks a cut.
  const start = Math.max(0, Math.min(at - Math.floor(width / 4), line.length - width));
  const end = start + width;
  const head = start > 0 ? `…${line.slice(start + 1, end)}` : line.slice(start, end);
  return end < line.length ? `${head.slice(0, -1)}…` : head;
}

function score(n: number): string {
  return String(Math.round(n * 1000) / 1000);
}

/** Stops on the first SIGINT or SIGTERM (instead of being killed) until `release` is called. */
function stopOnSignal(): { signal: AbortSignal; release: () => void } {
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const release = (): void => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
  return { signal: stop.signal, release };
}

/**
 * `history --follow`: prints `existing`, then every newer event (of `types`, if given) once,
 * in order, until SIGINT/SIGTERM. The signal handlers are in place before the first line is
 * printed, so a caller that signals as soon as it sees output stops the command cleanly.
 */
async function follow(
  store: ContextStore,
  id: string,
  existing: ContextEvent[],
  types: string[] | undefined,
  print: (list: ContextEvent[], header: boolean) => void,
): Promise<void> {
  const stop = stopOnSignal();
  try {
    print(existing, true);
    const after = existing.at(-1)?.seq ?? (await store.getContext(id)).lastSeq;
    // A signal during the lookup above is a normal stop, not an ABORTED error from watch.
    if (stop.signal.aborted) return;
    for await (const e of store.watch(id, { afterSeq: after, signal: stop.signal })) {
      if (!types || types.includes(e.type)) print([e], false);
    }
  } finally {
    stop.release();
  }
}

/** Registers the data commands. */
export function registerDataCommands(program: Command, io: CliIo, withStore: WithStore): void {
  const out = io.stdout;
  const readStore: WithStore = (command, fn) => withStore(command, fn, "read");

  program
    .command("ls")
    .description("list contexts")
    .option("--kind <kind>")
    .option("--user <userId>")
    .option("--chat <chatId>")
    .option("--agent <agentId>")
    .option("--status <status>", "active or archived")
    .option("--limit <n>", "at most this many", "100")
    .action(async (o: { kind?: string; user?: string; chat?: string; agent?: string; status?: string; limit: string }, command: Command) =>
      readStore(command, async (store, g) => {
        const query: ListContextsQuery = { limit: integerFlag(o.limit, "--limit") };
        if (o.kind) query.kind = o.kind;
        if (o.user) query.userId = o.user;
        if (o.chat) query.chatId = o.chat;
        if (o.agent) query.agentId = o.agent;
        if (o.status) query.status = o.status as ContextStatus;
        const page = await store.listContexts(query);
        if (g.json) return printJson(out, page);
        printTable(
          out,
          ["id", "kind", "title", "version", "events", "status", "updated"],
          page.items.map((c) => [c.id, c.kind, c.title, c.version, c.lastSeq, c.status, c.updatedAt]),
        );
        if (page.nextCursor) println(io.stderr, `(more: raise --limit)`);
      }),
    );

  program
    .command("show <id>")
    .description("show a context: identity, owners, version, state")
    .action(async (id: string, _o: unknown, command: Command) =>
      readStore(command, async (store, g) => {
        const [info, state] = await Promise.all([store.getContext(id), store.getState(id)]);
        if (g.json) return printJson(out, { ...info, state: state.state });
        printFields(out, [
          ["id", info.id],
          ["tenant", info.tenant],
          ["kind", info.kind],
          ["title", info.title],
          ["user", info.userId],
          ["chat", info.chatId],
          ["agent", info.agentId],
          ["status", info.status],
          ["version", info.version],
          ["events", info.lastSeq],
          ["created", info.createdAt],
          ["updated", info.updatedAt],
          ["expires", info.expiresAt],
          ["parent", info.parentId === null ? null : `${info.parentId}@${info.parentVersion ?? "?"}`],
          ["metadata", info.metadata],
        ]);
        println(out, "state:");
        println(out, JSON.stringify(state.state, null, 2));
      }),
    );

  program
    .command("history <id>")
    .description("the events of a context, oldest first; --follow keeps printing new ones")
    .option("--type <type>", "only this type (repeatable, or comma-separated)", collect)
    .option("--limit <n>", "the newest n events", "50")
    .option("--after <seq>", "only events after this seq")
    .option("--follow", "keep watching for new events (Ctrl-C to stop)")
    .action(async (id: string, o: { type?: string[]; limit: string; after?: string; follow?: boolean }, command: Command) =>
      readStore(command, async (store, g) => {
        const limit = integerFlag(o.limit, "--limit");
        let events: ContextEvent[];
        if (o.after !== undefined) {
          const query: EventQuery = { afterSeq: integerFlag(o.after, "--after"), limit };
          if (o.type) query.types = o.type;
          events = (await store.readEvents(id, query)).items;
        } else {
          events = await store.lastEvents(id, limit, o.type ? { types: o.type } : {});
        }
        // Live rows (--follow) are printed in the columns of the table printed first, with the same cell format.
        let layout: TableLayout | undefined;
        const print = (list: ContextEvent[], header: boolean): void => {
          if (g.json) for (const e of list) println(out, JSON.stringify(e));
          else if (header || layout === undefined) layout = printTable(out, EVENT_COLUMNS, list.map(eventRow), 80, o.follow ? FOLLOW_WIDTHS : []);
          else for (const e of list) printRow(out, layout, eventRow(e));
        };
        if (!o.follow) return print(events, true);
        await follow(store, id, events, o.type, print);
      }),
    );

  program
    .command("search <text...>")
    .description("search the history: events whose data holds every word (text), or by meaning (vector, hybrid), best first")
    .option("--mode <mode>", "text (every word must match), vector or hybrid", "text")
    .option("--context <id>", "only this context")
    .option("--type <type>", "only this type (repeatable, or comma-separated)", collect)
    .option("--limit <n>", "at most this many hits (default 20, at most 1000)")
    .option("--min-score <score>", "only hits scoring at least this")
    .action(
      async (words: string[], o: { mode: string; context?: string; type?: string[]; limit?: string; minScore?: string }, command: Command) =>
        readStore(command, async (store, g) => {
          const text = words.join(" ");
          const query: SearchQuery = { text, mode: o.mode as "text" };
          if (o.context !== undefined) query.contextId = o.context;
          if (o.type !== undefined) query.types = o.type;
          if (o.limit !== undefined) query.limit = integerFlag(o.limit, "--limit");
          if (o.minScore !== undefined) {
            const n = Number(o.minScore);
            if (o.minScore.trim() === "" || !Number.isFinite(n)) throw invalidInput("--min-score", `must be a number, got ${JSON.stringify(o.minScore)}`);
            query.minScore = n;
          }
          // The first search by meaning of a long history embeds it: a bar on a terminal (embedded stores only).
          const progress = o.mode !== "text" && !g.json && (io.stderr as { isTTY?: boolean }).isTTY === true ? barProgress(io.stderr) : null;
          let started = false;
          if (progress !== null) {
            query.onProgress = ({ done, total }) => {
              if (!started) progress.phase("embedding", total, "events");
              started = true;
              progress.update(done);
            };
          }
          let hits: SearchHit[];
          try {
            hits = await store.searchEvents(query);
          } finally {
            progress?.stop();
          }
          if (g.json) {
            for (const hit of hits) println(out, JSON.stringify(hit));
            return;
          }
          if (hits.length === 0) return println(io.stderr, "(no matches)");
          printTable(
            out,
            ["context", "seq", "time", "type", "score", "data"],
            hits.map((h) => [h.contextId, h.event.seq, h.event.timestamp, h.event.type, score(h.score), excerpt(h.event.data, text)]),
            80,
          );
          if (hits.length === (query.limit ?? 20)) println(io.stderr, "(more may match: raise --limit)");
        }),
    );

  program
    .command("state <id>")
    .description("the state of a context, now or at a past version")
    .option("--at <version>", "the state at this version")
    .action(async (id: string, o: { at?: string }, command: Command) =>
      readStore(command, async (store, g) => {
        const record = o.at === undefined ? await store.getState(id) : await store.stateAt(id, { version: integerFlag(o.at, "--at") });
        if (g.json) return printJson(out, record);
        println(io.stderr, `version ${record.version}`);
        println(out, JSON.stringify(record.state, null, 2));
      }),
    );

  program
    .command("diff <id> <from> <to>")
    .description("the JSON Patch between two versions")
    .action(async (id: string, from: string, to: string, _o: unknown, command: Command) =>
      readStore(command, async (store, g) => {
        const ops = await store.diff(id, integerFlag(from, "from"), integerFlag(to, "to"));
        if (g.json) return printJson(out, ops);
        if (ops.length === 0) return println(out, "(no changes)");
        printTable(out, ["op", "path", "value"], ops.map((op) => [op.op, op.path, "value" in op ? op.value : null]), 80);
      }),
    );

  program
    .command("snapshot <id> <name>")
    .description("create a named recovery point")
    .option("--label <label>")
    .action(async (id: string, name: string, o: { label?: string }, command: Command) =>
      withStore(command, async (store, g) => {
        const snap = await store.createSnapshot(id, { name, ...(o.label ? { label: o.label } : {}) });
        if (g.json) return printJson(out, snap);
        println(out, `snapshot ${snap.name} of ${id} at version ${snap.version} (seq ${snap.seq})`);
      }),
    );

  program
    .command("restore <id> <name>")
    .description("restore a snapshot as the new current state (history is kept)")
    .action(async (id: string, name: string, _o: unknown, command: Command) =>
      withStore(command, async (store, g) => {
        const result = await store.restore(id, { snapshot: name });
        if (g.json) return printJson(out, result);
        println(out, `restored ${id} to snapshot ${name}: now version ${result.version}`);
      }),
    );

  program
    .command("fork <id>")
    .description("create a new context from this one (current state, a snapshot or a version)")
    .option("--snapshot <name>")
    .option("--at <version>", "fork the state at this version")
    .option("--id <newId>", "id of the new context")
    .option("--title <title>")
    .action(async (id: string, o: { snapshot?: string; at?: string; id?: string; title?: string }, command: Command) =>
      withStore(command, async (store, g) => {
        const target = o.snapshot ? { snapshot: o.snapshot } : o.at ? { version: integerFlag(o.at, "--at") } : {};
        const info = await store.fork(id, { ...target, ...(o.id ? { id: o.id } : {}), ...(o.title ? { title: o.title } : {}) });
        if (g.json) return printJson(out, info);
        println(out, `forked ${id} → ${info.id} (version ${info.parentVersion ?? "?"})`);
      }),
    );
}
