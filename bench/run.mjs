/**
 * `npm run bench`: runs every benchmark script that exists, each in its own child process,
 * and assembles `docs/benchmarks.md` from the machine description and their sections.
 *
 *   node bench/run.mjs                     all scripts, writes docs/benchmarks.md
 *   node bench/run.mjs --only core,http    some scripts, prints the document (writes only with --out)
 *   node bench/run.mjs --dist .tmp/dist    use a build in another directory (sets CONTEXTD_DIST)
 *   node bench/run.mjs --quick             tiny workloads to check the harness (figures meaningless; never written to docs/benchmarks.md)
 *   node bench/run.mjs --out FILE          write the document to FILE
 *
 * A script prints its Markdown section to stdout (progress to stderr), or writes
 * `docs/benchmarks-<name>.md` during the run.
 */
import { spawn, execFileSync } from "node:child_process";
import { cpSync, existsSync, readFileSync, rmSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { cpus, freemem, loadavg, totalmem, release, platform } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ROOT, table } from "./lib.mjs";

/** The benchmark scripts, in report order: name → file under bench/. */
const SCRIPTS = [
  ["core", "core.mjs", "core engine on embedded SQLite (issue 2)"],
  ["task-window", "task-window.mjs", "task context and context window (issue 3)"],
  ["tokens", "tokens.mjs", "token counting on adversarial text (issue 10)"],
  ["http", "http.mjs", "HTTP server and client (issue 4)"],
  ["client", "client.mjs", "light client: import time and bundle size (issue 9)"],
  ["metrics", "metrics.mjs", "metrics and tracing on versus off: embedded and HTTP appends (issue 13)"],
  ["postgres", "postgres.mjs", "PostgreSQL and Redis (issue 5)"],
  ["embeddings", "embeddings.mjs", "embedding models: load time, throughput, query latency (issue 11)"],
  ["tools", "tools.mjs", "tools and the concurrency controller (issue 14)"],
  ["memory", "memory.mjs", "long-term memory: LoCoMo retrieval against mem0 and LangGraph, search speed to 100k, adds (issue 11)"],
  ["langgraph", "langgraph.mjs", "LangGraph.js checkpointer against SqliteSaver and PostgresSaver (issue 15)"],
  ["prompt-window", "prompt-window.mjs", "sectioned window: every section within one budget, p50/p99, 100k vs 1k events (issue 12)"],
];
/** A script that runs longer than this is stopped and reported as failed. */
const SCRIPT_TIMEOUT_MS = 45 * 60 * 1000; // the memory bench embeds LoCoMo on its first run (~10 min)

const { values: args } = parseArgs({
  options: {
    only: { type: "string" },
    dist: { type: "string" },
    quick: { type: "boolean", default: false },
    out: { type: "string" },
  },
});

const env = { ...process.env };
if (args.dist !== undefined) env.CONTEXTD_DIST = resolve(args.dist);
if (args.quick) env.BENCH_QUICK = "1";
const only = args.only?.split(",").map((s) => s.trim());
if (only) {
  const unknown = only.filter((n) => !SCRIPTS.some(([name]) => name === n));
  if (unknown.length > 0) throw new Error(`unknown benchmark ${unknown.join(", ")} (known: ${SCRIPTS.map(([n]) => n).join(", ")})`);
}
const distDir = resolve(ROOT, env.CONTEXTD_DIST ?? "dist");
if (!existsSync(join(distDir, "index.js"))) {
  throw new Error(`${relative(ROOT, distDir) || distDir}/index.js is missing: run \`npm run build\` (or pass --dist DIR)`);
}
const builtAt = statSync(join(distDir, "index.js")).mtime.toISOString();
// Benchmark a private copy of the build, so that a rebuild of dist/ during the run (another
// terminal, a watcher) cannot mix two builds in one report. It lives under node_modules so
// that the copy still resolves the package's dependencies.
const snapshot = join(ROOT, "node_modules", ".cache", "contextd-bench", `dist-${process.pid}`);
rmSync(snapshot, { recursive: true, force: true });
cpSync(distDir, snapshot, { recursive: true });
env.CONTEXTD_DIST = snapshot;
process.on("exit", () => {
  rmSync(snapshot, { recursive: true, force: true });
  try {
    rmdirSync(dirname(snapshot)); // only when no other run is using it
  } catch {
    // another run's copy is still there
  }
});

function quiet(cmd, argv) {
  try {
    return execFileSync(cmd, argv, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return null;
  }
}

function machine() {
  const pkg = (name) => {
    try {
      return JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")).version;
    } catch {
      return "not installed";
    }
  };
  const cpu = cpus();
  const commit = quiet("git", ["rev-parse", "--short", "HEAD"]);
  const dirty = quiet("git", ["status", "--porcelain", "--untracked-files=no"]);
  return {
    date: new Date().toISOString(),
    cpus: `${cpu.length} × ${cpu[0]?.model.trim() ?? "unknown CPU"}`,
    nproc: quiet("nproc", []) ?? String(cpu.length),
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB (${(freemem() / 2 ** 30).toFixed(1)} GiB free at start)`,
    os: `${platform()} ${release()}`,
    node: process.version,
    versions: `better-sqlite3 ${pkg("better-sqlite3")}, @langchain/langgraph-checkpoint-sqlite ${pkg("@langchain/langgraph-checkpoint-sqlite")}, pg ${pkg("pg")}`,
    commit: commit === null ? "unknown" : `${commit}${dirty ? " (with uncommitted changes)" : ""}`,
    load: loadavg().map((l) => l.toFixed(2)).join(", "),
  };
}

/** Runs one script; resolves with its section (or a failure note). */
function runScript(name, file) {
  const path = join(ROOT, "bench", file);
  const sideFile = join(ROOT, "docs", `benchmarks-${name}.md`);
  const started = Date.now();
  return new Promise((done) => {
    const child = spawn(process.execPath, [path], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d) => {
      stderr += d;
      process.stderr.write(d);
    });
    const timer = setTimeout(() => child.kill("SIGTERM"), SCRIPT_TIMEOUT_MS);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const seconds = (Date.now() - started) / 1000;
      let section = stdout.trim();
      if (section === "" && existsSync(sideFile) && statSync(sideFile).mtimeMs >= started) {
        section = readFileSync(sideFile, "utf8").trim();
      }
      if (code !== 0 || section === "") {
        const why = code !== 0 ? `exited with ${signal ?? `code ${code}`}` : "printed no section";
        const tail = stderr.trim().split("\n").slice(-15).join("\n");
        section = [
          `## ${name} — failed\n`,
          `\`node bench/${file}\` ${why} after ${seconds.toFixed(0)} s. Its last output:\n`,
          "```",
          tail,
          "```",
          ...(section === "" ? [] : ["\nWhat it printed before failing:\n", section]),
        ].join("\n");
      }
      done({ name, file, seconds, ok: code === 0, section });
    });
  });
}

/** The GitHub-style anchor of a section's first heading. */
function anchor(section) {
  const heading = section.split("\n").find((l) => l.startsWith("## ")) ?? "";
  return heading
    .slice(3)
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s-]/gu, "")
    .replace(/\s/g, "-");
}

const before = machine();
const present = SCRIPTS.filter(([name, file]) => (!only || only.includes(name)) && existsSync(join(ROOT, "bench", file)));
const missing = SCRIPTS.filter(([name, file]) => (!only || only.includes(name)) && !existsSync(join(ROOT, "bench", file)));
const results = [];
for (const [name, file] of present) {
  process.stderr.write(`[bench] ▶ ${name} (bench/${file})\n`);
  const r = await runScript(name, file);
  process.stderr.write(`[bench] ■ ${name}: ${r.ok ? "done" : "FAILED"} in ${r.seconds.toFixed(0)} s\n`);
  results.push(r);
}
const loadAfter = loadavg().map((l) => l.toFixed(2)).join(", ");
const total = results.reduce((s, r) => s + r.seconds, 0);

const doc = [
  "# contextd benchmarks",
  "",
  `> Generated by \`npm run bench\` (\`bench/run.mjs\`) on ${before.date}${args.quick ? " — **QUICK MODE: tiny workloads, figures are not meaningful**" : ""}. ` +
    "Do not edit by hand: run it again. The figures are measurements of one run on the machine below, never asserted by tests.",
  "",
  "## Machine",
  "",
  "| | |",
  "| --- | --- |",
  `| CPUs (\`nproc\`) | ${before.nproc} (${before.cpus}) |`,
  `| memory | ${before.memory} |`,
  `| OS | ${before.os} |`,
  `| Node.js | ${before.node} |`,
  `| packages | ${before.versions} |`,
  `| contextd commit | ${before.commit}; benchmarked build: \`${relative(ROOT, distDir)}/\` as built at ${builtAt} (copied at start) |`,
  `| load average (1, 5, 15 min) | ${before.load} at start; ${loadAfter} at end |`,
  `| run time | ${(total / 60).toFixed(1)} min (${results.map((r) => `${r.name} ${(r.seconds / 60).toFixed(1)}`).join(", ")}) |`,
  "",
  "## Summary",
  "",
  table(
    ["benchmark", "targets met", "missed (✗)", "time"],
    results.map((r) => {
      const met = (r.section.match(/✓ \(/g) ?? []).length;
      const missedCount = (r.section.match(/✗ \(/g) ?? []).length;
      return [
        `[${r.name}](#${anchor(r.section)})`,
        r.ok ? `${met} of ${met + missedCount}` : "run failed",
        r.ok ? String(missedCount) : "—",
        `${(r.seconds / 60).toFixed(1)} min`,
      ];
    }),
  ),
  "",
  "## Reproduce",
  "",
  "```sh",
  "npm install",
  "npm run bench                        # build, run every benchmark, write docs/benchmarks.md",
  "node bench/run.mjs --only core       # one benchmark; prints the document (add --out FILE to write it)",
  "node bench/core.mjs                  # the core section alone, Markdown on stdout",
  "BENCH_RUNS=9 node bench/core.mjs     # more runs per median",
  "```",
  "",
  "Databases live in temp dirs that are removed afterwards. Benchmarks need nothing beyond `npm install`, except the PostgreSQL/Redis ones, which use the services of `.ci/run`.",
  "",
  "Throughput and latency as concurrent clients grow (1 to 64; one hot context or many; embedded or over HTTP; SQLite or PostgreSQL), with the knee of each curve and what limits it: [scalability.md](scalability.md), written by `npm run loadtest`.",
  "",
  "## How to read this",
  "",
  "- Rates are **medians** of several runs (the count is stated per section), in operations per second unless the unit says otherwise; higher is better.",
  "- A **ratio** is contextd's rate divided by the baseline's rate, measured in the same process with contenders interleaved round by round, so machine noise hits both alike. A ratio of 0.7× means contextd does 70 % of the baseline's operations per second.",
  "- **Targets** come from the issues; ✓ met, ✗ missed. A missed target comes with a profile of where the time goes and what to change.",
  "- Absolute rates depend on the machine and on what else runs on it (see the load average above: on a shared machine they swing by 2× between runs); the ratios are the figures to compare between runs.",
  "- `synchronous=NORMAL` in WAL mode (contextd's default) makes an acknowledged commit survive a crash of the process but not necessarily a power loss; `FULL` survives both and is bound by the disk's fsync latency.",
  "",
  ...results.map((r) => `${r.section}\n`),
  ...(missing.length > 0
    ? ["## Not measured in this run", "", ...missing.map(([name, file, what]) => `- ${name} (${what}): \`bench/${file}\` does not exist yet.`), ""]
    : []),
].join("\n");

const outFile = args.out ?? (only || args.quick ? undefined : join(ROOT, "docs", "benchmarks.md"));
if (outFile === undefined) process.stdout.write(doc);
else {
  writeFileSync(outFile, doc);
  process.stderr.write(`[bench] wrote ${relative(ROOT, outFile)}\n`);
}
process.exitCode = results.every((r) => r.ok) ? 0 : 1;
