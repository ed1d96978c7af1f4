/**
 * Task and window benchmarks (issue 3). Prints one Markdown section to stdout.
 *
 * - token counting: our wrapper against gpt-tokenizer's own `countTokens` on the same
 *   messages (target ≥ 0.8×);
 * - an 8k-token window over a context of 100k events against the same window over 1k
 *   events, on SQLite (target: cost within 1.5×; the window must not scan history);
 * - tasks per second on SQLite for a task with 10 records, a file, a model and a resource,
 *   against the raw commits such a task needs (same store, same calls, no task scope).
 *
 *   node bench/task-window.mjs
 */
import { loadavg } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { countTokens as gptCountTokens } from "gpt-tokenizer/encoding/o200k_base";
import { DIST, QUICK, RUNS, compare, fmtRate, fmtRatio, importContextd, progress, rate, spread, table, tempDir, text, verdict } from "./lib.mjs";

const { openStore, newId } = await importContextd();
const load = (file) => import(pathToFileURL(join(DIST, "agent", file)).href);
const { defaultTokenCounter, tokenizerFor } = await load("tokens.js");
const { buildWindow } = await load("window.js");
const { startTask } = await load("task.js");

const out = [];
const say = (line = "") => out.push(line);

// ── token counting ──────────────────────────────────────────────────────────────────────
progress("token counting");
// Distinct messages (the tokenizer caches merges: repeats would flatter both sides).
const MESSAGES = Array.from({ length: QUICK ? 200 : 4000 }, (_, i) => `${text(40 + ((i * 37) % 600), i)} #${i} ${(i * 7919) % 10007}`);
const tokenizer = tokenizerFor("o200k_base");
let sink = 0;
const counting = await compare({
  "gpt-tokenizer countTokens": () =>
    rate(() => { for (const m of MESSAGES) sink += gptCountTokens(m); }, { opsPerCall: MESSAGES.length, ms: QUICK ? 100 : 600, minOps: 3, warmup: 1 }),
  "contextd countText": () =>
    rate(() => { for (const m of MESSAGES) sink += tokenizer.countText(m); }, { opsPerCall: MESSAGES.length, ms: QUICK ? 100 : 600, minOps: 3, warmup: 1 }),
  "contextd defaultTokenCounter (event)": () =>
    rate(
      () => { for (const m of MESSAGES) sink += defaultTokenCounter({ type: "message", data: { role: "user", content: m } }); },
      { opsPerCall: MESSAGES.length, ms: QUICK ? 100 : 600, minOps: 3, warmup: 1 },
    ),
});
if (sink < 0) console.error(sink);
const base = counting["gpt-tokenizer countTokens"].median;
const wrapRatio = counting["contextd countText"].median / base;
const eventRatio = counting["contextd defaultTokenCounter (event)"].median / base;
const cpuBase = counting["gpt-tokenizer countTokens"].cpuMedian;
const wrapCpuRatio = counting["contextd countText"].cpuMedian / cpuBase;

// ── window over 1k vs 100k events ───────────────────────────────────────────────────────
progress("window: filling contexts");
const dir = tempDir();
const store = await openStore(`sqlite:${join(dir, "window.db")}`, { tokenCounter: defaultTokenCounter });
const SMALL = QUICK ? 200 : 1_000;
const LARGE = QUICK ? 5_000 : 100_000;
async function fill(n) {
  const { id } = await store.createContext({ kind: "bench" });
  await store.append(id, { type: "system", data: "You are a helpful assistant. Answer briefly." });
  for (let i = 1; i < n; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({
      type: "message",
      // Distinct contents (dedupe keeps them all), ~40 tokens each.
      data: { role: (i + j) % 2 ? "assistant" : "user", content: `${text(150, i + j)} (message ${i + j})` },
    }));
    await store.append(id, batch);
  }
  return id;
}
const small = await fill(SMALL);
const large = await fill(LARGE);
progress("window: measuring");
const opts = { maxTokens: 8000 };
const probe = await buildWindow(store, large, opts);
const windows = await compare({
  [`${SMALL.toLocaleString("en-US")} events`]: () => rate(() => buildWindow(store, small, opts), { ms: QUICK ? 100 : 500 }),
  [`${LARGE.toLocaleString("en-US")} events`]: () => rate(() => buildWindow(store, large, opts), { ms: QUICK ? 100 : 500 }),
});
const [smallName, largeName] = Object.keys(windows);
const windowRatio = windows[smallName].median / windows[largeName].median;
const windowCpuRatio = windows[smallName].cpuMedian / windows[largeName].cpuMedian;
await store.close();

// ── task throughput on SQLite ───────────────────────────────────────────────────────────
progress("tasks");
const taskStore = await openStore(`sqlite:${join(tempDir(), "tasks.db")}`, { tokenCounter: defaultTokenCounter });
let n = 0;
async function oneTask() {
  n++;
  const task = await startTask(taskStore, { userId: "bench", chatId: `chat-${n}`, metadata: { run: n } });
  for (let i = 0; i < 10; i++) await task.record("message", { role: i % 2 ? "assistant" : "user", content: `step ${i} of task ${n}` });
  await task.trackFile(`out-${n}.json`, "write");
  await task.trackModel({ modelId: "gpt-4o-mini", provider: "openai", inputTokens: 100, outputTokens: 20 });
  await task.addResource("conn", async () => {});
  await task.end();
}
/** The same store calls, with the same data, a task makes, without the task scope: lookup, create, 15 appends. */
async function rawCommits() {
  n++;
  const taskId = newId();
  const started = Date.now();
  await taskStore.listContexts({ chatId: `chat-${n}`, userId: "bench", order: "desc", limit: 1 });
  const { id } = await taskStore.createContext({ kind: "task", userId: "bench", chatId: `chat-${n}`, agentId: null, title: null, metadata: { run: n } });
  await taskStore.append(id, { type: "task_start", data: { taskId, userId: "bench", chatId: `chat-${n}`, agentId: null, metadata: { run: n }, continued: false } });
  for (let i = 0; i < 10; i++) await taskStore.append(id, { type: "message", data: { role: i % 2 ? "assistant" : "user", content: `step ${i} of task ${n}` } });
  await taskStore.append(id, { type: "file_operation", data: { path: `out-${n}.json`, operation: "write" }, metadata: { source: "task" } });
  await taskStore.append(id, { type: "model_usage", data: { modelId: "gpt-4o-mini", provider: "openai", mode: "chat", inputTokens: 100, outputTokens: 20 } });
  await taskStore.append(id, { type: "resource", data: { name: "conn" }, metadata: { type: "function", release: "function" } });
  await taskStore.append(id, { type: "task_end", data: { taskId, outcome: "ok", durationMs: Date.now() - started, resources: 1, releaseFailures: [] } });
}
const tasks = await compare({
  "task scope": () => rate(oneTask, { ms: QUICK ? 100 : 800, minOps: 10 }),
  "raw commits (1 lookup, 1 create, 15 appends)": () => rate(rawCommits, { ms: QUICK ? 100 : 800, minOps: 10 }),
});
const taskRatio = tasks["task scope"].median / tasks["raw commits (1 lookup, 1 create, 15 appends)"].median;
const taskCpuRatio = tasks["task scope"].cpuMedian / tasks["raw commits (1 lookup, 1 create, 15 appends)"].cpuMedian;
await taskStore.close();

// ── report ──────────────────────────────────────────────────────────────────────────────
say("## Task scopes and context windows (issue 3)");
say();
say(`Medians of ${RUNS} interleaved runs${QUICK ? " (BENCH_QUICK: figures meaningless)" : ""}; Node ${process.version}, ${process.platform}/${process.arch}, load average ${loadavg().map((l) => l.toFixed(1)).join(" ")} at the end.`);
say();
say("### Token counting (o200k)");
say();
say(`${MESSAGES.length.toLocaleString("en-US")} distinct messages of 40–640 characters.`);
say();
say(
  table(
    ["counter", "messages/s", "runs", "vs gpt-tokenizer", "messages per CPU-s", "vs gpt-tokenizer (CPU)"],
    Object.entries(counting).map(([name, r]) => [name, fmtRate(r.median), spread(r.runs), fmtRatio(r.median / base), fmtRate(r.cpuMedian), fmtRatio(r.cpuMedian / cpuBase)]),
  ),
);
say();
say(`Wrapper: ${fmtRatio(wrapRatio)} of gpt-tokenizer's own rate (${fmtRatio(wrapCpuRatio)} by CPU time) ${verdict(Math.min(wrapRatio, wrapCpuRatio) >= 0.8, "≥ 0.8×")}; counting a whole event (rendering its text first): ${fmtRatio(eventRatio)}.`);
say();
say("### Window of 8k tokens, SQLite");
say();
say(`Message events of ~40 tokens; the window keeps ${probe.events.length} events (${probe.tokens} tokens) and drops ${probe.dropped.toLocaleString("en-US")} in the large context.`);
say();
say(table(["history", "windows/s", "runs", "windows per CPU-s"], Object.entries(windows).map(([name, r]) => [name, fmtRate(r.median), spread(r.runs), fmtRate(r.cpuMedian)])));
say();
say(`Cost over ${largeName} vs ${smallName}: ${fmtRatio(windowRatio)} (${fmtRatio(windowCpuRatio)} by CPU time) ${verdict(Math.max(windowRatio, windowCpuRatio) <= 1.5, "≤ 1.5×")}.`);
say();
say("### Task scope on SQLite");
say();
say("One task: start (lookup + create + `task_start`), 10 records, 1 file, 1 model, 1 resource, end (release + `task_end`): 16 writes.");
say();
say(table(["run", "per second", "runs", "per CPU-s"], Object.entries(tasks).map(([name, r]) => [name, fmtRate(r.median), spread(r.runs), fmtRate(r.cpuMedian)])));
say();
say(`Task scope vs the raw commits it needs: ${fmtRatio(taskRatio)} (${fmtRatio(taskCpuRatio)} by CPU time).`);
say();
process.stdout.write(`${out.join("\n")}\n`);
