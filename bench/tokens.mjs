/**
 * Token counting on adversarial text (issue 10): BPE merging is quadratic in the length of a
 * pre-token, so a long run without spaces or breaks (one letter repeated, a run of spaces or
 * newlines, a long URL) took minutes per megabyte. contextd cuts runs longer than 64
 * characters into pieces; this measures 1 MB of each kind next to ordinary text, how the
 * time grows with the size, and how the count differs from gpt-tokenizer's unsplit count
 * (on 30k-character prefixes, where the unsplit count still finishes).
 *
 *   node bench/tokens.mjs
 */
import { loadavg } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { countTokens as gptCountTokens } from "gpt-tokenizer/encoding/o200k_base";
import { DIST, QUICK, RUNS, median, progress, table, text } from "./lib.mjs";

const load = (file) => import(pathToFileURL(join(DIST, "agent", file)).href);
const { tokenizerFor, boundedPieces } = await load("tokens.js");
const tokenizer = tokenizerFor("o200k_base");
const plain = { disallowedSpecial: new Set() };

const MB = QUICK ? 1 << 16 : 1 << 20;
const fill = (unit, size) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
const INPUTS = {
  "ordinary text": (n) => text(n, 7),
  "one letter repeated": (n) => "a".repeat(n),
  "spaces": (n) => " ".repeat(n),
  "newlines": (n) => "\n".repeat(n),
  "one long URL": (n) => `https://example.com/${fill("abcdefghijklmnopqrstuvwxyz", n - 20)}`,
  "base64 blob": (n) => Buffer.from(Array.from({ length: Math.ceil((n * 3) / 4) }, (_, i) => (i * 7919) % 256)).toString("base64").slice(0, n),
};

/**
 * Median time of `count(make(size - i))` over the runs: a fresh input each run (one character
 * shorter), because gpt-tokenizer caches the tokens of pre-tokens it has seen.
 */
function time(count, make, size) {
  const runs = [];
  let result = 0;
  for (let i = 0; i < RUNS; i++) {
    const input = make(size - i);
    const t0 = performance.now();
    result = count(input);
    runs.push(performance.now() - t0);
  }
  return { ms: median(runs), result };
}

const out = [];
const say = (line = "") => out.push(line);
say("## Token counting on adversarial text (issue 10)");
say();
say(`Medians of ${RUNS} runs, each on a fresh input; Node ${process.version}, ${process.platform}/${process.arch}.`);
say();
const rows = [];
for (const [name, make] of Object.entries(INPUTS)) {
  progress("tokens", name);
  const whole = time((t) => tokenizer.countText(t), make, MB);
  const part = time((t) => tokenizer.countText(t), make, MB / 16);
  rows.push([
    name,
    `${whole.ms.toFixed(0)} ms`,
    `${(MB / 1e6 / (whole.ms / 1000)).toFixed(1)}`,
    whole.result.toLocaleString("en-US"),
    `${(whole.ms / part.ms).toFixed(1)}×`,
  ]);
}
say(`### Counting ${MB === 1 << 20 ? "1 MiB" : `${MB} characters`} with contextd's countText (o200k)`);
say();
say(table(["input", "time", "MB/s", "tokens", `time vs 1/16 of the size (16× is linear)`], rows));
say();

const PREFIX = QUICK ? 5_000 : 30_000;
const diff = [];
for (const [name, make] of Object.entries(INPUTS)) {
  progress("tokens: unsplit", name);
  const unsplit = time((t) => gptCountTokens(t, plain), make, PREFIX);
  const split = time((t) => tokenizer.countText(t), make, PREFIX);
  const cuts = boundedPieces(make(PREFIX - RUNS + 1)).length - 1;
  diff.push([
    name,
    unsplit.result.toLocaleString("en-US"),
    split.result.toLocaleString("en-US"),
    `${split.result - unsplit.result >= 0 ? "+" : ""}${split.result - unsplit.result}`,
    cuts.toLocaleString("en-US"),
    `${unsplit.ms.toFixed(0)} ms`,
    `${split.ms.toFixed(1)} ms`,
  ]);
}
say(`### Count and time against the unsplit count, ${PREFIX.toLocaleString("en-US")} characters`);
say();
say(table(["input", "gpt-tokenizer (unsplit)", "contextd", "difference", "cuts", "unsplit time", "contextd time"], diff));
say();
say(
  "Runs of letters, whitespace or punctuation longer than 64 characters are counted in pieces of 64; text without such runs is " +
    "one piece and its count is exactly gpt-tokenizer's. Where a run is cut, no token spans the cut: the count can be higher " +
    "than the unsplit one (above: the same for one repeated letter and for newlines, one token per 64 spaces instead of per 128, about three more per cut " +
    "for a repeated alphabet). gpt-tokenizer's unsplit time grows with the square of a run's length; contextd's is linear.",
);
say();
say(`Load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(" ")}.`);
console.log(out.join("\n"));
