/**
 * Sectioned window benchmark (issue 12). Prints one Markdown section to stdout.
 *
 * `context(id).window({ maxTokens: 8000, model: "gpt-4o", sections })` with every section
 * on: pinned instructions, working memory (3 blocks in the store), long-term
 * memories retrieved from 10,000 memories of the user, recalled history with neighbours, the
 * recent conversation with tool outputs capped, and a summary of what was dropped. Measured
 * on SQLite over a context of 1,000 events and one of 100,000 events, each in a store of its
 * own (with the same 10,000 memories), interleaved call by call in one process, so the ratio
 * of the two is measured under the same machine noise. Latency p50 and p99 per history size,
 * for recall by meaning (hybrid, the default), recall by words (text), recall off, and both
 * searches off (what the window itself costs).
 *
 * The embedding model is the built-in hashing embedder (`hashingEmbedder()`: no model, a
 * vector per text in microseconds), so the figures measure the window and the searches, not
 * a neural model; with a real model each window also embeds its query once (see the
 * embeddings section for that cost).
 *
 *   node bench/prompt-window.mjs
 */
import { loadavg } from "node:os";
import { join } from "node:path";
import { QUICK, fmtRatio, importContextd, importDist, progress, table, tempDir, verdict } from "./lib.mjs";

const { openStore, defaultTokenCounter } = await importContextd();
const { hashingEmbedder } = await importDist("embeddings/index.js");

const SMALL = QUICK ? 200 : 1_000;
const LARGE = QUICK ? 5_000 : 100_000;
const MEMORIES = QUICK ? 500 : 10_000;
const SAMPLES = QUICK ? 15 : 100;

// A deterministic vocabulary of made-up words, so texts differ (and memories are not deduplicated).
const SYLLABLES = ["ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "ve", "da", "fi", "go", "hu", "ja", "ze", "bo"];
const WORDS = Array.from({ length: 4096 }, (_, i) => SYLLABLES[i % 16] + SYLLABLES[(i >> 4) % 16] + SYLLABLES[(i >> 8) % 16]);
let seed = 12345;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / 2 ** 24;
const sentence = (n) => Array.from({ length: n }, () => WORDS[Math.floor(rnd() ** 2 * WORDS.length)]).join(" ");

// Each history in a store of its own: history search by meaning ranks the tenant's embedded
// events, so a small context beside a large one would pay for the large one.
const dir = tempDir();
const MEMORY_TEXTS = Array.from({ length: MEMORIES }, (_, i) => `memory ${i}: ${sentence(14)}`);
async function openWithMemories(name) {
  const s = await openStore(`sqlite:${join(dir, `${name}.db`)}`, { tokenCounter: defaultTokenCounter, embedder: hashingEmbedder() });
  progress(`${name}: adding ${MEMORIES.toLocaleString("en-US")} memories`);
  for (let i = 0; i < MEMORIES; i += 1000) await s.addMemories(MEMORY_TEXTS.slice(i, i + 1000).map((text) => ({ scope: { userId: "bench" }, text })));
  return s;
}
const smallStore = await openWithMemories("small");
const largeStore = await openWithMemories("large");

const BLOCKS = [
  { label: "persona", description: "who the assistant is", value: `A concise assistant. ${sentence(60)}`, limit: { chars: 2000 } },
  { label: "human", description: "what is known about the user", value: { name: "Bench", notes: sentence(80) }, schema: { type: "object" }, limit: { chars: 2000 } },
  { label: "task", description: "the current task", value: sentence(40), limit: { chars: 1000 } },
];

/** A context of `n` events: a system prompt, then turns with a tool call and its result every 20 events. */
async function fill(store, n) {
  const { id } = await store.createContext({ userId: "bench", kind: "bench" });
  await store.append(id, { type: "system", data: "You are a helpful assistant. Answer briefly." });
  // Working memory in the store's blocks: the context's own two and the user's one.
  for (const b of BLOCKS) await store.putBlock(b.label === "human" ? { userId: "bench" } : { contextId: id }, b);
  let made = 1;
  while (made < n) {
    const batch = [];
    while (batch.length < 1000 && made + batch.length < n) {
      const k = made + batch.length;
      if (k % 20 === 0 && made + batch.length + 1 < n) {
        batch.push({ type: "tool_call", data: { id: `call_${k}`, name: "lookup", arguments: { q: sentence(3) } } });
        batch.push({ type: "tool_result", data: { toolCallId: `call_${k}`, content: sentence(k % 100 === 0 ? 3000 : 60) } });
      } else {
        batch.push({ type: "message", data: { role: k % 2 ? "user" : "assistant", content: `${sentence(30)} (turn ${k})` } });
      }
    }
    await store.append(id, batch);
    made += batch.length;
    if (made % 20_000 < 1000) progress(`  ${made.toLocaleString("en-US")} of ${n.toLocaleString("en-US")} events`);
  }
  return id;
}
progress("filling contexts");
seed = 777;
const small = await fill(smallStore, SMALL);
seed = 777;
const large = await fill(largeStore, LARGE);
const contexts = { small: [smallStore, small], large: [largeStore, large] };

// The first search by meaning of a history embeds it (once; docs/memory.md).
progress("first search by meaning of each history (embeds it, once)");
const catchUp = {};
for (const [name, [store, id]] of Object.entries(contexts)) {
  const t0 = performance.now();
  await store.searchEvents({ text: "warm up", mode: "hybrid", contextId: id });
  catchUp[name] = performance.now() - t0;
}

const QUERIES = Array.from({ length: 50 }, () => sentence(12));
const optionsFor = (mode, q) => ({
  maxTokens: 8000,
  model: "gpt-4o",
  instructions: "Answer from the data below when it is relevant.",
  query: q,
  sections: { workingMemory: {}, recall: mode === "hybrid" || mode === "text" ? { mode } : false, memories: mode === "none" ? false : { limit: 10 } },
});

const probe = await largeStore.context(large).window(optionsFor("hybrid", QUERIES[0]));

progress("measuring");
const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const results = {};
for (const mode of ["hybrid", "text", "off", "none"]) {
  const lat = { small: [], large: [] };
  // Warm-up, then interleave: each round times one window over each history.
  for (let i = 0; i < 5; i++) for (const [store, id] of Object.values(contexts)) await store.context(id).window(optionsFor(mode, QUERIES[i]));
  for (let i = 0; i < SAMPLES; i++) {
    const q = QUERIES[i % QUERIES.length];
    for (const name of i % 2 ? ["small", "large"] : ["large", "small"]) {
      const [store, id] = contexts[name];
      const t0 = performance.now();
      await store.context(id).window(optionsFor(mode, q));
      lat[name].push(performance.now() - t0);
    }
  }
  results[mode] = lat;
}
// The searches alone, for the breakdown.
const searches = { small: { meaning: [], words: [] }, large: { meaning: [], words: [] } };
const memSearch = { small: [], large: [] };
for (let i = 0; i < SAMPLES; i++) {
  for (const name of i % 2 ? ["small", "large"] : ["large", "small"]) {
    const [store, id] = contexts[name];
    const text = QUERIES[i % QUERIES.length];
    let t0 = performance.now();
    await store.searchEvents({ text, mode: "hybrid", contextId: id, limit: 10 });
    searches[name].meaning.push(performance.now() - t0);
    t0 = performance.now();
    await store.searchEvents({ text, mode: "text", contextId: id, limit: 10 });
    searches[name].words.push(performance.now() - t0);
    t0 = performance.now();
    await store.searchMemories({ text, scope: { userId: "bench" }, limit: 10 });
    memSearch[name].push(performance.now() - t0);
  }
}
await smallStore.close();
await largeStore.close();

// ── report ──────────────────────────────────────────────────────────────────────────────
const out = [];
const say = (line = "") => out.push(line);
const ms = (x) => `${x.toFixed(2)} ms`;
const MODE_NAME = { hybrid: "by meaning (hybrid)", text: "by words (text)", off: "off", none: "off, memories off too (no search)" };
say("## Sectioned window: one budget for the whole prompt (issue 12)");
say();
say(
  `\`context(id).window({ maxTokens: 8000, model: "gpt-4o", sections })\` on SQLite with every section on: instructions and the pinned system event, ` +
    `3 working-memory blocks (the store's blocks: two of the context, one of the user, read by the window with \`listBlocks\`), the 10 best of ${MEMORIES.toLocaleString("en-US")} memories of the user, ` +
    "3 recalled hits of the history with one neighbour each side, the recent conversation (a tool call and its result every 20 events; 1 in 5 outputs is ~3000 words, cut at the per-item cap), and the summary of what was dropped. " +
    `Each query is one of 50 fixed 12-word texts, the same for both histories. Each history is in a store of its own holding the same ${MEMORIES.toLocaleString("en-US")} memories. ${SAMPLES} windows per history and recall mode, the two histories interleaved call by call in one process. ` +
    `Embeddings by the built-in **hashing embedder** (no model: it keeps the bench fast; with a real model every window also embeds its query once). ` +
    `Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(" ")} at the end${QUICK ? " (BENCH_QUICK: figures meaningless)" : ""}.`,
);
say();
const p = probe.sections.map((s) => `${s.name} ${s.tokens}`).join(", ");
say(`The window over ${LARGE.toLocaleString("en-US")} events: ${probe.tokens} tokens of ${probe.budget} (${p}); ${probe.messages.length} messages.`);
say();
say(
  table(
    ["recall", "history", "p50", "p99", "mean"],
    Object.entries(results).flatMap(([mode, lat]) =>
      Object.entries(lat).map(([name, xs]) => [
        MODE_NAME[mode],
        `${(name === "small" ? SMALL : LARGE).toLocaleString("en-US")} events`,
        ms(percentile(xs, 50)),
        ms(percentile(xs, 99)),
        ms(xs.reduce((a, b) => a + b, 0) / xs.length),
      ]),
    ),
  ),
);
say();
for (const [mode, lat] of Object.entries(results)) {
  const r50 = percentile(lat.large, 50) / percentile(lat.small, 50);
  const r99 = percentile(lat.large, 99) / percentile(lat.small, 99);
  say(
    `- ${mode === "none" ? "No search (recall and memories off)" : `Recall ${MODE_NAME[mode]}`}: cost at ${LARGE.toLocaleString("en-US")} events vs ${SMALL.toLocaleString("en-US")}: ` +
      `${fmtRatio(r50)} at p50, ${fmtRatio(r99)} at p99 ${verdict(r50 <= 1.5, "p50 ≤ 1.5×")}.`,
  );
}
const sm = (name, kind) => ms(percentile(searches[name][kind], 50));
say(
  `- Where the time goes: \`searchEvents\` alone (p50, limit 10) by meaning ${sm("small", "meaning")} at ${SMALL.toLocaleString("en-US")} events vs ${sm("large", "meaning")} at ${LARGE.toLocaleString("en-US")}; ` +
    `by words ${sm("small", "words")} vs ${sm("large", "words")}; \`searchMemories\` (10 of the user's 10,000) ${ms(percentile(memSearch.small, 50))} vs ${ms(percentile(memSearch.large, 50))}. ` +
    "The window itself reads a bounded amount of history (the no-search ratio above). The searches are the engine's: a search by meaning ranks every embedded event of the context " +
    "(core/history-search.ts), a full-text search scores every event holding the query's words, and a memory search first selects the scope's memories in a pass over the tenant's " +
    "whole memory index — which holds the embedded history too (docs/memory.md) — so all three grow with the history.",
);
say(
  `- One-time catch-up (the first search by meaning of a history embeds it): ${(catchUp.small / 1000).toFixed(1)} s for ${SMALL.toLocaleString("en-US")} events, ` +
    `${(catchUp.large / 1000).toFixed(1)} s for ${LARGE.toLocaleString("en-US")} (not in the figures above).`,
);
say();
process.stdout.write(`${out.join("\n")}\n`);
