/**
 * End to end: the real `contextd` CLI in a child process (TypeScript sources, no build), as a
 * user runs it: `history --follow` against an SQLite file and against a server, and the
 * progress of `import` when stderr is not a terminal.
 */
import { spawn } from "node:child_process";
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportContexts, openStore } from "../src/index.js";
import type { ContextEvent, ContextStore } from "../src/index.js";
import { createClient } from "../src/client/index.js";
import { allEvents } from "../src/testing/harness.js";
import { childCwd, childEnv, track } from "./helpers/children.js";
import { runCliProcess, startServerProcess } from "./helpers/cli-process.js";

const register = fileURLToPath(new URL("./helpers/register-ts.mjs", import.meta.url));
const main = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "contextd-cli-e2e-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A running CLI command whose stdout is read line by line. */
interface CliChild {
  child: ChildProcessWithoutNullStreams;
  /** The complete stdout lines so far. */
  lines: string[];
  stderr(): string;
  /** Resolves once stdout has at least `n` lines; rejects on exit or after `ms`. */
  waitForLines(n: number, ms?: number): Promise<string[]>;
  /** Resolves once the process has exited and its output is read. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startCli(args: string[]): CliChild {
  const child = track(spawn(process.execPath, ["--import", register, main, ...args], { cwd: childCwd(), env: childEnv() }));
  const lines: string[] = [];
  let partial = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    const parts = (partial + d.toString()).split("\n");
    partial = parts.pop() ?? "";
    lines.push(...parts);
  });
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  let hasExited = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => {
      hasExited = true;
      resolve({ code, signal });
    }),
  );
  const waitForLines = (n: number, ms = 20_000): Promise<string[]> =>
    new Promise((resolve, reject) => {
      const fail = (why: string): void => {
        cleanup();
        reject(new Error(`${why}; stdout so far:\n${lines.join("\n")}\nstderr:\n${stderr}`));
      };
      const timer = setTimeout(() => fail(`fewer than ${n} lines after ${ms} ms`), ms);
      const onExit = (): void => fail(`exited before printing ${n} lines`);
      const check = (): void => {
        if (lines.length >= n) {
          cleanup();
          resolve(lines.slice());
        } else if (hasExited) onExit();
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        child.stdout.off("data", check);
        child.off("close", onExit);
      };
      // Registered after the line splitter, so `lines` is up to date when this runs.
      child.stdout.on("data", check);
      child.on("close", onExit);
      check();
    });
  return { child, lines, stderr: () => stderr, waitForLines, exited };
}

/** Sends `signal` and returns how the process ended; fails if it takes more than `ms`. */
async function stopWith(c: CliChild, signal: NodeJS.Signals, ms = 5_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  c.child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running ${ms} ms after ${signal}; stderr:\n${c.stderr()}`)), ms);
  });
  try {
    return await Promise.race([c.exited, late]);
  } finally {
    clearTimeout(timer);
    if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill("SIGKILL");
  }
}

const parse = (lines: string[]): ContextEvent[] => lines.map((l) => JSON.parse(l) as ContextEvent);
const ofType = (events: ContextEvent[], type: string): ContextEvent[] => events.filter((e) => e.type === type);

/**
 * The follow scenario on any store: two followers (all events, and `--type message`) see the
 * existing events, then each later append exactly once and in order; then they are stopped.
 */
async function followScenario(store: ContextStore, target: string[], stopSignals: [NodeJS.Signals, NodeJS.Signals]): Promise<void> {
  const { id } = await store.createContext({ kind: "chat" });
  await store.append(id, [
    { type: "message", data: "m0" },
    { type: "tool_call", data: { n: 0 } },
    { type: "message", data: "m1" },
  ]);
  const all = startCli([...target, "--json", "history", id, "--follow"]);
  const messages = startCli([...target, "--json", "history", id, "--follow", "--type", "message"]);
  try {
    expect(parse(await all.waitForLines(3))).toEqual(await allEvents(store, id));
    expect(parse(await messages.waitForLines(2))).toEqual(ofType(await allEvents(store, id), "message"));

    // Written by another process (this one) after the followers printed the history.
    await store.append(id, [
      { type: "message", data: "m2" },
      { type: "tool_call", data: { n: 1 } },
    ]);
    await all.waitForLines(5);
    await messages.waitForLines(3);
    await store.append(id, { type: "tool_call", data: { n: 2 } });
    await store.append(id, [
      { type: "message", data: "m3" },
      { type: "message", data: "m4" },
    ]);
    await all.waitForLines(8);
    await messages.waitForLines(5);

    const allExit = await stopWith(all, stopSignals[0]);
    const messagesExit = await stopWith(messages, stopSignals[1]);
    expect(allExit, all.stderr()).toEqual({ code: 0, signal: null });
    expect(messagesExit, messages.stderr()).toEqual({ code: 0, signal: null });
    expect(all.stderr()).toBe("");
    expect(messages.stderr()).toBe("");

    // The whole output, read after exit: every event once, in order, nothing else.
    const history = await allEvents(store, id);
    expect(history.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(parse(all.lines)).toEqual(history);
    expect(parse(messages.lines)).toEqual(ofType(history, "message"));
    expect(parse(messages.lines).map((e) => e.data)).toEqual(["m0", "m1", "m2", "m3", "m4"]);
  } finally {
    for (const c of [all, messages]) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill("SIGKILL");
  }
}

describe("contextd history --follow (child process)", { timeout: 120_000 }, () => {
  it("on an SQLite file: prints the history, then each event another process appends once, in order; SIGINT exits 0", async () => {
    const url = `sqlite:${join(dir, "follow.db")}`;
    const store = await openStore(url);
    try {
      await followScenario(store, ["--store", url], ["SIGINT", "SIGINT"]);
    } finally {
      await store.close();
    }
  });

  it("against a contextd server (--url): the same over SSE; SIGINT and SIGTERM exit 0", async () => {
    const server = await startServerProcess(["--store", "in-memory:", "--log-level", "warn"]);
    const client = createClient({ url: server.url });
    try {
      await followScenario(client, ["--url", server.url], ["SIGINT", "SIGTERM"]);
    } finally {
      await client.close();
      expect(await server.stop()).toBe(0);
    }
  });
});

describe("contextd history --follow as a table (child process)", { timeout: 120_000 }, () => {
  it("live rows line up under the replayed table's columns and show a missing version as '-', like the replay", async () => {
    const url = `sqlite:${join(dir, "follow-table.db")}`;
    const store = await openStore(url);
    try {
      const { id } = await store.createContext({ kind: "chat" });
      await store.append(id, { type: "message", data: "hello" });
      await store.patchState(id, { step: 1 });
      const follower = startCli(["--store", url, "history", id, "--follow"]);
      const replay = await follower.waitForLines(3);
      await store.append(id, { type: "tool_call", data: { n: 1 } });
      await store.patchState(id, { step: 2 });
      const lines = await follower.waitForLines(5);
      expect(await stopWith(follower, "SIGINT")).toEqual({ code: 0, signal: null });

      const header = replay[0] as string;
      const starts = ["SEQ", "TIME", "TYPE", "VERSION", "DATA"].map((c) => header.indexOf(c));
      expect(starts.every((at, i) => i === 0 || at > (starts[i - 1] as number))).toBe(true);
      // Every row, replayed or live, has each cell starting at its column.
      const cellsOf = (line: string): string[] => starts.map((at, i) => line.slice(at, starts[i + 1]).trim());
      for (const line of lines.slice(1)) {
        for (const [i, at] of starts.entries()) {
          if (at > 0) expect(line[at - 1], `${JSON.stringify(line)} column ${i}`).toBe(" ");
          expect(line[at], `${JSON.stringify(line)} column ${i}`).not.toBe(" ");
        }
      }
      const rows = lines.slice(1).map(cellsOf);
      expect(rows.map((r) => [r[0], r[2], r[3], r[4]])).toEqual([
        ["1", "message", "-", "hello"],
        ["2", "state", "2", '{"op":"merge","patch":{"step":1}}'],
        ["3", "tool_call", "-", '{"n":1}'],
        ["4", "state", "3", '{"op":"merge","patch":{"step":2}}'],
      ]);
    } finally {
      await store.close();
    }
  });
});

const PROGRESS_LINE = /^import: (checking|writing) (\d+)\/(\d+) (lines|events) \((\d+)%\)$/;

interface ProgressStep {
  phase: string;
  value: number;
  total: number;
  unit: string;
  percent: number;
}

function progressSteps(stderr: string): ProgressStep[] {
  return stderr
    .trimEnd()
    .split("\n")
    .map((line) => {
      const m = PROGRESS_LINE.exec(line);
      if (!m) throw new Error(`not a progress line: ${JSON.stringify(line)}\n${stderr}`);
      return { phase: m[1]!, value: Number(m[2]), total: Number(m[3]), unit: m[4]!, percent: Number(m[5]) };
    });
}

/** Checks one phase: starts at 0, strictly increasing with intermediate steps, ends at total = 100%. */
function expectPhase(steps: ProgressStep[], phase: string, unit: string, total: number): void {
  expect(steps.length).toBeGreaterThanOrEqual(5);
  expect(steps.every((s) => s.phase === phase && s.unit === unit && s.total === total)).toBe(true);
  expect(steps[0]).toMatchObject({ value: 0, percent: 0 });
  for (let i = 1; i < steps.length; i++) {
    expect(steps[i]!.value).toBeGreaterThan(steps[i - 1]!.value);
    expect(steps[i]!.percent).toBeGreaterThan(steps[i - 1]!.percent);
    expect(steps[i]!.percent).toBe(Math.floor((steps[i]!.value * 100) / total));
  }
  expect(steps.at(-1)).toMatchObject({ value: total, percent: 100 });
}

describe("contextd import progress (child process, stderr not a terminal)", { timeout: 120_000 }, () => {
  let file = "";
  let lineCount = 0;
  let eventCount = 0;
  const summary = "imported 6 contexts (330 events); 0 already present and identical\n";

  beforeAll(async () => {
    const source = await openStore("in-memory:");
    for (let c = 0; c < 6; c++) {
      const { id } = await source.createContext({ id: `ctx-${c}`, state: { n: 0 } });
      for (let i = 0; i < 50; i++) {
        await source.append(id, { type: "message", data: `c${c} m${i}` });
        if (i % 10 === 0) await source.patchState(id, { n: i });
      }
    }
    let text = "";
    for await (const line of exportContexts(source)) text += line;
    await source.close();
    file = join(dir, "export.jsonl");
    writeFileSync(file, text);
    lineCount = text.split("\n").filter((l) => l.length > 0).length;
    eventCount = readFileSync(file, "utf8").split("\n").filter((l) => l.startsWith('{"type":"event"')).length;
  });

  it("with --progress prints plain lines: lines checked, then events written, each rising to 100%; then the summary", async () => {
    expect(lineCount).toBeGreaterThan(300);
    expect(eventCount).toBe(330);
    const db = `sqlite:${join(dir, "progress.db")}`;
    const r = await runCliProcess(["--store", db, "import", file, "--progress"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(summary);
    const steps = progressSteps(r.stderr);
    const checking = steps.filter((s) => s.phase === "checking");
    const writing = steps.filter((s) => s.phase === "writing");
    // All checking comes first: nothing is written before the whole file is validated.
    expect(steps.map((s) => s.phase)).toEqual([...checking.map(() => "checking"), ...writing.map(() => "writing")]);
    expectPhase(checking, "checking", "lines", lineCount);
    expectPhase(writing, "writing", "events", eventCount);
    expect(r.stderr.trimEnd().split("\n").at(-1)).toBe(`import: writing ${eventCount}/${eventCount} events (100%)`);

    // The data really arrived.
    const store = await openStore(db);
    try {
      expect((await store.listContexts()).items).toHaveLength(6);
      expect(await store.countEvents("ctx-5")).toBe(55);
    } finally {
      await store.close();
    }

    // Importing again writes nothing: the writing phase ends at 0/0 = 100%.
    const again = await runCliProcess(["--store", db, "import", file, "--progress"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe("imported 0 contexts (0 events); 6 already present and identical\n");
    expect(again.stderr.trimEnd().split("\n").slice(-2)).toEqual([`import: writing 0/${eventCount} events (0%)`, "import: writing 0/0 events (100%)"]);
  });

  it("without --progress prints nothing but the summary", async () => {
    const r = await runCliProcess(["--store", `sqlite:${join(dir, "quiet.db")}`, "import", file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(summary);
  });

  it("the help names --progress and --no-progress", async () => {
    const r = await runCliProcess(["import", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--progress\s+show progress even when stderr is not a terminal/);
    expect(r.stdout).toMatch(/--no-progress\s+never show progress/);
  });
});
