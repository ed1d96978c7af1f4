/**
 * ContextdStore (LangGraph's BaseStore on contextd's long-term memory) against LangGraph's
 * InMemoryStore: put (new keys), put (replacing), get, search with a filter, search with a
 * query; operations per second, one contender after the other in this process. Neither side
 * embeds (InMemoryStore without an index, contextd without an embedding model: the query is
 * BM25 only), so the figures are the stores' own cost. Called by bench/langgraph.mjs.
 */
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { InMemoryStore } from "@langchain/langgraph-checkpoint";
import { QUICK, fmtRatio, importContextd, importDist, progress, table, tempDir, text } from "./lib.mjs";

const N = QUICK ? 200 : 2000;
const value = (i) => ({ text: `note ${i}: ${text(200, i)}`, kind: ["fact", "pref", "event"][i % 3], n: i % 100 });

async function rate(n, fn) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  return n / ((performance.now() - t0) / 1000);
}

/** Puts/s of new keys given 100 to a batch. */
async function batched(store, ns) {
  const t0 = performance.now();
  for (let b = 0; b < N; b += 100) {
    await store.batch(Array.from({ length: 100 }, (_, j) => ({ namespace: ns(b + j), key: `b${b + j}`, value: value(b + j) })));
  }
  return N / ((performance.now() - t0) / 1000);
}

/** Ops/s of each operation on `store` with N items in 20 namespaces. */
async function measure(store) {
  const ns = (i) => ["users", `u${i % 20}`];
  return {
    put: await rate(N, (i) => store.put(ns(i), `k${i}`, value(i))),
    // LangGraph's AsyncBatchedStore hands a store the puts made together as one batch.
    batch: await batched(store, ns),
    replace: await rate(N, (i) => store.put(ns(i), `k${i}`, value(i + 1))),
    get: await rate(N, (i) => store.get(ns(i), `k${(i * 7) % N}`)),
    filter: await rate(N / 4, (i) => store.search(ns(i), { filter: { kind: "pref", n: { $gte: 50 } }, limit: 10 })),
    query: await rate(N / 4, (i) => store.search(ns(i), { query: `note ${i} memory agent`, limit: 10 })),
  };
}

/** The Markdown section. */
export async function storeSection() {
  const { createStore, inMemoryDriver, sqliteDriver } = await importContextd();
  const { ContextdStore } = await importDist("integrations/langgraph/index.js");
  const dir = tempDir("contextd-bench-lgstore-");
  progress("langgraph: store, InMemoryStore");
  const ref = await measure(new InMemoryStore());
  progress("langgraph: store, ContextdStore in memory");
  const mem = await createStore(inMemoryDriver(), { embedder: null });
  const ours = await measure(new ContextdStore(mem));
  await mem.close();
  progress("langgraph: store, ContextdStore on SQLite");
  const file = await createStore(sqliteDriver({ path: join(dir, "store.db") }), { embedder: null });
  const onFile = await measure(new ContextdStore(file));
  await file.close();
  const ops = [
    ["put (new key)", "put"],
    ["put (new keys, batches of 100)", "batch"],
    ["put (replacing)", "replace"],
    ["get", "get"],
    ["search, filter only", "filter"],
    ["search, query (BM25)", "query"],
  ];
  const f = (x) => Math.round(x).toLocaleString("en-US");
  return [
    `### ContextdStore against InMemoryStore (${N} items in 20 namespaces, no embedding model)`,
    "",
    table(
      ["operation", "InMemoryStore ops/s", "ContextdStore in memory", "ContextdStore on SQLite", "SQLite / InMemoryStore"],
      ops.map(([label, k]) => [label, f(ref[k]), f(ours[k]), f(onFile[k]), fmtRatio(onFile[k] / ref[k])]),
    ),
    "",
    "InMemoryStore keeps objects in a Map and does not persist, check or version anything; its query",
    "search without an index returns the first items unranked. ContextdStore writes each put as a",
    "versioned memory (an update for a replacing put, after a lookup of the key) and ranks a query by BM25.",
    "",
  ].join("\n");
}
