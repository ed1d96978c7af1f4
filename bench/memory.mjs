/**
 * Long-term memory (issue 11): retrieval quality on LoCoMo for contextd's text, vector and
 * hybrid search against mem0 OSS and LangGraph.js `InMemoryStore` with the same corpus and the
 * same embedding model (the Universal Sentence Encoder); search speed at 1k, 10k and 100k
 * memories in one scope; end-to-end search with the model; adds with precomputed vectors
 * against raw SQLite inserts. Prints a Markdown section.
 *
 *   LOCOMO_PATH=…/locomo10.json node bench/memory.mjs
 *   BENCH_MEMORY_PEERS=0 skips the peers (mem0 installs on first use: npm ci --prefix bench/peers)
 *   BENCH_MEMORY_ONLY=speed runs only the speed parts (throughput with the model, search at
 *     each size, end to end), not retrieval quality nor adds; BENCH_MEMORY_SIZES=10000,100000
 *     picks the sizes
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { loadavg } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { LOCOMO_HOWTO, firstHit, loadLocomo, locomoPath, summarize } from "./locomo-data.mjs";
import { QUICK, ROOT, cleanup, importContextd, progress, table, tempDir } from "./lib.mjs";

const { createStore, openStore, inMemoryDriver, useEmbedder, BM25_K1, BM25_B, HYBRID_VECTOR_WEIGHT } = await importContextd();
const path = locomoPath();
if (path === null || !existsSync(path)) {
  console.log(`## Long-term memory\n\nSkipped: the LoCoMo data is not here. ${LOCOMO_HOWTO}\n`);
  process.exit(0);
}
const load0 = loadavg()[0];
const convs = loadLocomo(path).slice(0, QUICK ? 1 : undefined);
const use = useEmbedder();
const PEERS = process.env.BENCH_MEMORY_PEERS !== "0";
const SPEED_ONLY = process.env.BENCH_MEMORY_ONLY === "speed";

// ── embeddings, cached on disk between runs (the model is the same; embedding dominates) ──
const cacheDir = join(ROOT, "node_modules", ".cache", "contextd-bench");
mkdirSync(cacheDir, { recursive: true });
const cacheFile = join(cacheDir, `locomo-${use.model}.json`);
const cached = existsSync(cacheFile) ? new Map(Object.entries(JSON.parse(readFileSync(cacheFile, "utf8")))) : new Map();
const key = (t) => createHash("sha1").update(t).digest("hex");
const texts = [...new Set(convs.flatMap((c) => [...c.turns.map((t) => t.memory), ...c.questions.map((q) => q.question)]))];
const missing = texts.filter((t) => !cached.has(key(t)));
if (missing.length > 0) {
  progress(`memory: embedding ${missing.length} texts with ${use.model} (cached for the next run)`);
  for (let i = 0; i < missing.length; i += 64) {
    const batch = missing.slice(i, i + 64);
    const vs = await use.embed(batch);
    batch.forEach((t, j) => cached.set(key(t), Array.from(vs[j])));
    if (i % 640 === 0) progress(`memory: embedded ${Math.min(i + 64, missing.length)}/${missing.length}`);
  }
  writeFileSync(cacheFile, JSON.stringify(Object.fromEntries(cached)));
}
const vectorOf = (t) => {
  const v = cached.get(key(t));
  if (v === undefined) throw new Error(`no cached vector for ${t.slice(0, 40)}`);
  return Float32Array.from(v);
};
/**
 * The same model answering from the cache: latency below is the index's, not the model's.
 * A text the cache lacks (mem0 also embeds the entities it finds in a query) goes to the model
 * and joins the cache, so no peer ranks without a vector it asked for.
 */
let cacheGrew = false;
const cachedModel = {
  model: use.model,
  dimensions: use.dimensions,
  embed: async (ts) => {
    const miss = [...new Set(ts.filter((t) => !cached.has(key(t))))];
    if (miss.length > 0) {
      const vs = await use.embed(miss);
      miss.forEach((t, j) => cached.set(key(t), Array.from(vs[j])));
      cacheGrew = true;
    }
    return ts.map(vectorOf);
  },
};

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const f3 = (x) => x.toFixed(3);
const ms = (x) => `${x.toFixed(2)} ms`;
const questions = convs.flatMap((c) => c.questions.map((q) => ({ ...q, conv: c.id })));

// ── 1. retrieval quality: contextd ─────────────────────────────────────────────────────
const quality = {};
const byCat = {};
if (!SPEED_ONLY) {
  progress("memory: contextd on LoCoMo");
  const store = await createStore(inMemoryDriver(), { embedder: cachedModel });
  for (const c of convs) {
    const inputs = c.turns.map((t) => ({ scope: { userId: `conv${c.id}` }, text: t.memory, metadata: { idx: t.idx } }));
    for (let i = 0; i < inputs.length; i += 500) await store.addMemories(inputs.slice(i, i + 500));
}
for (const mode of ["text", "vector", "hybrid"]) {
  const rows = [];
  for (const q of questions) {
    const hits = await store.searchMemories({ text: q.question, mode, scope: { userId: `conv${q.conv}` }, limit: 20 });
    rows.push({ cat: q.category, rank: firstHit(hits.map((h) => h.memory.metadata.idx), q.evidence) });
  }
  quality[`contextd ${mode}`] = summarize(rows.map((r) => r.rank));
  byCat[mode] = Object.fromEntries([1, 2, 3, 4].map((cat) => [cat, summarize(rows.filter((r) => r.cat === cat).map((r) => r.rank))]));
}
await store.close();
}

// ── 2. retrieval quality and search throughput: the peers ──────────────────────────────
/** LangChain's Embeddings shape over a contextd embedder (what both peers take). */
const lcEmbeddings = (embedder) => ({
  embedQuery: async (t) => Array.from((await embedder.embed([t]))[0]),
  embedDocuments: async (ts) => (await embedder.embed(ts)).map((v) => Array.from(v)),
});

async function langGraphPeer(embedder, qs) {
  const { InMemoryStore } = await import("@langchain/langgraph-checkpoint");
  const lg = new InMemoryStore({ index: { dims: embedder.dimensions, embeddings: lcEmbeddings(embedder), fields: ["text"] } });
  for (const c of convs) {
    const ops = c.turns.map((t) => ({ namespace: ["conv", String(c.id)], key: String(t.idx), value: { text: t.memory, idx: t.idx } }));
    for (let i = 0; i < ops.length; i += 200) await lg.batch(ops.slice(i, i + 200).map((o) => ({ ...o, index: undefined })));
  }
  const ranks = [];
  for (const q of qs) {
    const hits = await lg.search(["conv", String(q.conv)], { query: q.question, limit: 20 });
    ranks.push(firstHit(hits.map((h) => h.value.idx), q.evidence));
  }
  return summarize(ranks);
}

async function importMem0() {
  const dir = join(ROOT, "bench", "peers");
  if (!existsSync(join(dir, "node_modules", "mem0ai"))) {
    progress("memory: installing mem0ai into bench/peers (npm ci --prefix bench/peers)");
    execFileSync("npm", ["ci", "--no-audit", "--no-fund", "--prefix", dir], { stdio: ["ignore", "ignore", "inherit"] });
  }
  // No telemetry to mem0's servers (this machine has no network beyond the registries).
  process.env.MEM0_TELEMETRY = "false";
  const require = createRequire(join(dir, "package.json"));
  return import(pathToFileURL(require.resolve("mem0ai/oss")).href);
}

/** mem0 OSS with `infer: false` (memories stored as given, no LLM), its in-process vector store. */
async function mem0Peer(embedder, dir, only = convs) {
  const { Memory } = await importMem0();
  const m = new Memory({
    embedder: { provider: "langchain", config: { model: lcEmbeddings(embedder) } },
    vectorStore: { provider: "memory", config: { collectionName: "locomo", dimension: embedder.dimensions, dbPath: join(dir, "mem0-vectors.db") } },
    llm: { provider: "openai", config: { apiKey: "unused: infer is false" } },
    disableHistory: true,
  });
  for (const c of only) {
    progress(`memory: mem0 adds conversation ${c.id}`);
    for (const t of c.turns) await m.add(t.memory, { userId: `conv${c.id}`, infer: false, metadata: { idx: t.idx } });
  }
  return m;
}

async function mem0Quality(m, qs) {
  const ranks = [];
  for (const q of qs) {
    const r = await m.search(q.question, { filters: { user_id: `conv${q.conv}` }, topK: 20 });
    const hits = r.results ?? r;
    ranks.push(firstHit(hits.map((h) => h.metadata?.idx), q.evidence));
  }
  return summarize(ranks);
}

const dir = tempDir("contextd-bench-memory-");
let mem0 = null;
if (PEERS && SPEED_ONLY) mem0 = true;
else if (PEERS) {
  progress("memory: LangGraph InMemoryStore on LoCoMo");
  quality["LangGraph InMemoryStore"] = await langGraphPeer(cachedModel, questions);
  try {
    mem0 = await mem0Peer(cachedModel, dir);
    progress("memory: mem0 searches");
    quality["mem0 OSS 3.3.1 (infer: false)"] = await mem0Quality(mem0, questions);
  } catch (e) {
    progress(`memory: mem0 failed: ${e.stack ?? e}`);
    quality["mem0 OSS 3.3.1 (infer: false)"] = null;
    mem0 = null;
  }
}

// ── 3. searches per second with the real model (query embedding included) ────────────────
progress("memory: search throughput with the model");
const THROUGHPUT_N = QUICK ? 10 : 100;
const tq = questions.slice(0, THROUGHPUT_N);
const throughput = {};
{
  const s = await createStore(inMemoryDriver(), { embedder: use });
  for (const c of convs) {
    const inputs = c.turns.map((t) => ({ scope: { userId: `conv${c.id}` }, text: t.memory, vector: vectorOf(t.memory), metadata: { idx: t.idx } }));
    for (let i = 0; i < inputs.length; i += 500) await s.addMemories(inputs.slice(i, i + 500));
  }
  // mem0 only on the conversations the timed questions ask about (mem0 embeds every add).
  const m = mem0 === null ? null : await mem0Peer(use, tempDir("contextd-bench-mem0-"), convs.filter((c) => tq.some((q) => q.conv === c.id)));
  await use.embed(["warm up"]);
  // One search each before timing: contextd builds its in-process index on the first search
  // after opening (~0.2–0.5 s for these 5,882 memories), which is not a search's cost.
  await s.searchMemories({ text: "warm up", scope: { userId: `conv${tq[0].conv}` }, limit: 10 });
  await m?.search("warm up", { filters: { user_id: `conv${tq[0].conv}` }, topK: 10 });
  // Interleaved: each question goes to every contender in turn (the order rotating), so a
  // change of the machine's load falls on all of them alike. Wall time and the process's CPU
  // time (main thread and the model's worker) per contender.
  const contenders = {
    embedOnly: (q) => use.embed([q.question]),
    contextd: (q) => s.searchMemories({ text: q.question, scope: { userId: `conv${q.conv}` }, limit: 10 }),
    ...(m !== null && { mem0: (q) => m.search(q.question, { filters: { user_id: `conv${q.conv}` }, topK: 10 }) }),
  };
  const names = Object.keys(contenders);
  const wall = Object.fromEntries(names.map((n) => [n, 0]));
  const cpu = Object.fromEntries(names.map((n) => [n, 0]));
  for (const [i, q] of tq.entries()) {
    for (let j = 0; j < names.length; j++) {
      const name = names[(i + j) % names.length];
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await contenders[name](q);
      wall[name] += performance.now() - t0;
      const c = process.cpuUsage(c0);
      cpu[name] += (c.user + c.system) / 1000;
    }
  }
  for (const n of names) {
    throughput[n] = THROUGHPUT_N / (wall[n] / 1000);
    throughput[`${n}Cpu`] = cpu[n] / THROUGHPUT_N;
  }
  await s.close();
}

// ── 4. speed at 1k, 10k, 100k memories in one scope ──────────────────────────────────────
// Memories beyond the corpus are blends of two of its turns (text and vector), so the
// vectors keep the shape of real text embeddings.
const baseTurns = convs.flatMap((c) => c.turns.map((t) => t.memory));
const baseVectors = baseTurns.map(vectorOf);
// mulberry32: a full-period generator (a multiplicative LCG in doubles loses bits and cycles).
let seed = 7;
const rnd = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
function synthetic(i) {
  if (i < baseTurns.length) return { text: baseTurns[i], vector: baseVectors[i] };
  const a = Math.floor(rnd() * baseTurns.length);
  const b = Math.floor(rnd() * baseTurns.length);
  const w = 0.5 + 0.4 * rnd();
  const va = baseVectors[a];
  const vb = baseVectors[b];
  const v = new Float32Array(va.length);
  for (let j = 0; j < v.length; j++) v[j] = w * va[j] + (1 - w) * vb[j];
  return { text: `${baseTurns[a]} ${baseTurns[b].split(": ").slice(1).join(": ")}`, vector: v };
}
const SIZES = process.env.BENCH_MEMORY_SIZES ? process.env.BENCH_MEMORY_SIZES.split(",").map(Number).filter((n) => n > 0) : QUICK ? [1000] : [1000, 10_000, 100_000];
const speed = [];
const queryVectors = questions.slice(0, QUICK ? 20 : 200).map((q) => ({ text: q.question, vector: vectorOf(q.question) }));
let e2e = null;
for (const n of SIZES) {
  progress(`memory: ${n} memories in one scope`);
  const s = await createStore(inMemoryDriver(), { embedder: cachedModel });
  const all = [];
  for (let i = 0; i < n; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, n - i) }, (_, j) => synthetic(i + j));
    all.push(...batch.map((b) => b.vector));
    await s.addMemories(batch.map((b, j) => ({ scope: { userId: "one" }, text: b.text, vector: b.vector, metadata: { i: i + j } })));
  }
  await s.searchMemories({ text: queryVectors[0].text, vector: queryVectors[0].vector, scope: { userId: "one" }, limit: 10 });
  const row = { n };
  for (const mode of ["vector", "hybrid"]) {
    const times = [];
    for (const q of queryVectors) {
      const t = performance.now();
      await s.searchMemories({ text: q.text, vector: q.vector, mode, scope: { userId: "one" }, limit: 10 });
      times.push(performance.now() - t);
    }
    row[mode] = { p50: pct(times, 0.5), p99: pct(times, 0.99) };
  }
  // Recall@10 of the vector mode against an exact scan, and what the exact scan costs.
  let found = 0;
  const exactTimes = [];
  for (const q of queryVectors) {
    const t = performance.now();
    const sims = all.map((v, i) => {
      let d = 0;
      let norm = 0;
      for (let j = 0; j < v.length; j++) {
        d += v[j] * q.vector[j];
        norm += v[j] * v[j];
      }
      return [d / Math.sqrt(norm), i];
    });
    sims.sort((x, y) => y[0] - x[0]);
    exactTimes.push(performance.now() - t);
    const want = new Set(sims.slice(0, 10).map((x) => x[1]));
    const hits = await s.searchMemories({ text: q.text, vector: q.vector, mode: "vector", scope: { userId: "one" }, limit: 10 });
    found += hits.filter((h) => want.has(h.memory.metadata.i)).length;
  }
  row.recall = found / (queryVectors.length * 10);
  row.exactScan = pct(exactTimes, 0.5);
  speed.push(row);
  if (n === 10_000 || (QUICK && n === SIZES[0])) {
    // End to end at 10k: the store embeds the query (the model's cache is bypassed: each query
    // is new to it) against embedding the same query alone.
    const s2 = await createStore(inMemoryDriver(), { embedder: use });
    for (let i = 0; i < n; i += 1000) {
      const batch = Array.from({ length: Math.min(1000, n - i) }, (_, j) => synthetic(i + j));
      await s2.addMemories(batch.map((b) => ({ scope: { userId: "one" }, text: b.text, vector: b.vector })));
    }
    const qs = questions.slice(QUICK ? -10 : -100).map((q) => q.question);
    await s2.searchMemories({ text: "warm up the index", scope: { userId: "one" }, limit: 10 });
    const embedTimes = [];
    const searchTimes = [];
    for (const [i, q] of qs.entries()) {
      let t = performance.now();
      await use.embed([`${q} (${i} alone)`]);
      embedTimes.push(performance.now() - t);
      t = performance.now();
      await s2.searchMemories({ text: `${q} (${i} store)`, scope: { userId: "one" }, limit: 10 });
      searchTimes.push(performance.now() - t);
    }
    e2e = { embed: pct(embedTimes, 0.5), search: pct(searchTimes, 0.5) };
    await s2.close();
  }
  await s.close();
}

// ── 5. adds with precomputed vectors on SQLite against raw inserts of the same rows ─────────
const ADD_N = QUICK ? 500 : 10_000;
let adds = null;
if (!SPEED_ONLY) {
  try {
    progress("memory: adds with precomputed vectors on SQLite");
    const rows = Array.from({ length: ADD_N }, (_, i) => synthetic(i));
    const s = await openStore(`sqlite:${join(dir, "adds.db")}`, { embedder: cachedModel });
    let t0 = performance.now();
    for (let i = 0; i < ADD_N; i += 100) {
      await s.addMemories(rows.slice(i, i + 100).map((r) => ({ scope: { userId: "one" }, text: r.text, vector: r.vector })));
    }
    const ours = ADD_N / ((performance.now() - t0) / 1000);
    await s.close();
    // The raw baseline writes the same rows into the same schema (contextd's migrations made the
    // file): per memory its row, its vector and its first version, and the tenant's rev, with the
    // same per-scope duplicate check, 100 per transaction; what it leaves out is contextd's own
    // work (validation, ids, hashing the scope, JSON encoding, the driver's mapping).
    const schema = await openStore(`sqlite:${join(dir, "raw-adds.db")}`, { embedder: null });
    await schema.close();
    const db = new Database(join(dir, "raw-adds.db"));
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    const nextRev = db.prepare("INSERT INTO memory_revs (tenant, rev) VALUES (?, 1) ON CONFLICT (tenant) DO UPDATE SET rev = rev + 1 RETURNING rev");
    const holder = db.prepare("SELECT id FROM memories WHERE tenant = ? AND scope_key = ? AND text_hash = ? AND deleted = 0");
    const insert = db.prepare(`INSERT INTO memories (tenant, id, user_id, agent_id, context_id, namespace, scope_key, text, text_hash, value, metadata,
         tags, importance, source_context_id, source_seq, created_at, updated_at, expires_at, ttl_ms, version, rev, deleted, model)
       VALUES (?, ?, ?, NULL, NULL, '[]', ?, ?, ?, 'null', '{}', '[]', 0.5, NULL, NULL, ?, ?, NULL, NULL, 1, ?, 0, ?)`);
    const insertVector = db.prepare("INSERT INTO memory_vectors (tenant, id, vector) VALUES (?, ?, ?)");
    const insertVersion = db.prepare(`INSERT INTO memory_versions (tenant, memory_id, version, op, text, value, metadata, tags, importance, expires_at, actor, at)
       VALUES (?, ?, 1, 'add', ?, 'null', '{}', '[]', 0.5, NULL, NULL, ?)`);
    const tx = db.transaction((batch, at) => {
      batch.forEach((r, j) => {
        const h = createHash("sha256").update(r.text).digest("hex");
        if (holder.get("default", "u:one", h) !== undefined) return;
        const { rev } = nextRev.get("default");
        const id = `m${at + j}`;
        const now = Date.now();
        insert.run("default", id, "one", "u:one", r.text, h, now, now, rev, use.model);
        insertVector.run("default", id, Buffer.from(r.vector.buffer, r.vector.byteOffset, r.vector.byteLength));
        insertVersion.run("default", id, r.text, now);
      });
    }).immediate;
    t0 = performance.now();
    for (let i = 0; i < ADD_N; i += 100) tx(rows.slice(i, i + 100), i);
    const raw = ADD_N / ((performance.now() - t0) / 1000);
    db.close();
    adds = { ours, raw };
  } catch (e) {
    progress(`memory: SQLite adds failed: ${e.message}`);
  }
}
await use.close();
cleanup();

// ── report ──────────────────────────────────────────────────────────────────────────────
const out = [];
out.push("## Long-term memory (issue 11)\n");
out.push(
  `LoCoMo (\`locomo10.json\`, ${convs.length} conversations, ${baseTurns.length} turns as memories, ${questions.length} questions of categories 1–4; ` +
    `a hit at k when any evidence turn is in the top k). One embedding model for all: ${use.model} (the Universal Sentence Encoder, 512 dimensions, offline). ` +
    `contextd's ranking: BM25 k1 ${BM25_K1}, b ${BM25_B}; hybrid = BM25/max + ${HYBRID_VECTOR_WEIGHT} × cosine over the union of both top lists (docs/memory.md). Load average at the start: ${load0.toFixed(1)}.\n`,
);
if (!SPEED_ONLY) {
  out.push(
    table(
      ["", "recall@1", "recall@5", "recall@10", "recall@20", "MRR@10"],
      Object.entries(quality).map(([name, q]) => (q === null ? [name, "failed", "", "", "", ""] : [name, f3(q["r@1"]), f3(q["r@5"]), f3(q["r@10"]), f3(q["r@20"]), f3(q.mrr10)])),
    ),
  );
  out.push("\nBy question category (recall@1 / recall@10):\n");
  out.push(
    table(
      ["mode", ...[1, 2, 3, 4].map((c) => `category ${c} (n=${byCat.text[c].n})`)],
      Object.entries(byCat).map(([mode, cats]) => [mode, ...[1, 2, 3, 4].map((c) => `${f3(cats[c]["r@1"])} / ${f3(cats[c]["r@10"])}`)]),
    ),
  );
  const hy = quality["contextd hybrid"];
  out.push(`\nTargets: hybrid recall@10 ≥ 0.72 (${f3(hy["r@10"])}: ${hy["r@10"] >= 0.72 ? "met" : "not met"}), recall@1 ≥ 0.35 (${f3(hy["r@1"])}: ${hy["r@1"] >= 0.35 ? "met" : "not met"}).\n`);
}
out.push(`\nSearches per second with the model embedding each query (${THROUGHPUT_N} questions, one at a time, the contenders interleaved question by question):\n`);
const cpuMs = (n) => (throughput[`${n}Cpu`] === undefined ? "-" : ms(throughput[`${n}Cpu`]));
out.push(
  table(
    ["", "searches/s", "ratio to mem0", "process CPU per search"],
    [
      ["embedding the query alone", throughput.embedOnly.toFixed(1), throughput.mem0 ? (throughput.embedOnly / throughput.mem0).toFixed(2) : "-", cpuMs("embedOnly")],
      ["contextd hybrid search", throughput.contextd.toFixed(1), throughput.mem0 ? `${(throughput.contextd / throughput.mem0).toFixed(2)} (target ≥ 4)` : "-", cpuMs("contextd")],
      ["mem0 search", throughput.mem0 ? throughput.mem0.toFixed(1) : "-", "1", cpuMs("mem0")],
    ],
  ),
);
out.push(`\nSearch in one scope (query vectors given; ${queryVectors.length} questions; memories past the corpus are blends of two turns):\n`);
out.push(
  table(
    ["memories", "vector p50", "vector p99", "hybrid p50", "hybrid p99", "recall@10 vs exact", "exact scan p50"],
    speed.map((r) => [r.n.toLocaleString("en"), ms(r.vector.p50), ms(r.vector.p99), ms(r.hybrid.p50), ms(r.hybrid.p99), f3(r.recall), ms(r.exactScan)]),
  ),
);
if (e2e !== null) {
  out.push(
    `\nEnd to end at ${QUICK ? SIZES[0] : "10,000"} memories: hybrid search with the store embedding the query p50 ${ms(e2e.search)}, embedding the query alone p50 ${ms(e2e.embed)}: ` +
      `${(e2e.search / e2e.embed).toFixed(2)}× (target ≤ 1.3×).\n`,
  );
}
if (adds !== null) {
  out.push(
    `\nAdding ${ADD_N.toLocaleString("en")} memories with precomputed vectors on SQLite, 100 per call: ${adds.ours.toFixed(0)}/s; raw better-sqlite3 writing the same rows into the same schema (memory, vector, first version, rev; duplicate check; 100 per transaction): ${adds.raw.toFixed(0)}/s: ` +
      `${(adds.ours / adds.raw).toFixed(2)}× (target ≥ 0.6×).\n`,
  );
}
if (cacheGrew) writeFileSync(cacheFile, JSON.stringify(Object.fromEntries(cached)));
process.stdout.write(`${out.join("\n")}\n`);
