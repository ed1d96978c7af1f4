/**
 * A differential test of `ContextdStore` against LangGraph's `InMemoryStore`: random sequences
 * of puts (with and without index fields, `index: false`), deletes, gets, searches (filters
 * with every operator, namespace prefixes, limit/offset, queries) and listNamespaces (prefix
 * and suffix with `*`, maxDepth, limit/offset), single and batched, from a seeded PRNG; both
 * stores must give the same answers.
 *
 * Where InMemoryStore's answer is an artifact rather than a definition, the comparison says so:
 * - search without a query: InMemoryStore orders by namespace (in the order each namespace was
 *   first created), then by key in insertion order. Within one namespace that is insertion
 *   order, which ContextdStore keeps everywhere; across namespaces the expected page is
 *   InMemoryStore's full result (the set) in insertion order, then cut by offset and limit.
 * - search with a query: the rankings differ by design (contextd's hybrid BM25 + cosine vs
 *   InMemoryStore's cosine per field), so results are compared as sets, and only when the page
 *   holds every match (offset 0, limit above the count; fewer than contextd's 50 candidates).
 * - listNamespaces: InMemoryStore also lists namespaces whose items were all deleted (and ones
 *   only a delete of a missing key touched); ContextdStore lists namespaces holding items, so
 *   the expected list is InMemoryStore's without the empty ones.
 * - filters use values where the two definitions agree: LangGraph compares with `===` and
 *   `Number()`, contextd structurally and by type; the values are strings, integers and booleans
 *   and ordered operators get numbers.
 */
import { expect, it } from "vitest";
import { InMemoryStore } from "@langchain/langgraph-checkpoint";
import type { BaseStore, Item, Operation, SearchItem } from "@langchain/langgraph-checkpoint";
import type { ContextStore } from "../../src/index.js";
import { ContextdStore } from "../../src/integrations/langgraph/index.js";
import { compareNamespaces } from "../../src/integrations/langgraph/store-namespaces.js";
import { testEmbedding } from "../../src/testing/index.js";
import { prng } from "../helpers/prng.js";

const LABELS = ["a", "b", "ab", "c"];
const KEYS = ["k1", "k2", "k3", "k4", "key with spaces", ""];
const WORDS = ["ramen", "spicy", "window", "seat", "travel", "painting", "lake", "sunrise"];

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
const int = (r: Rand, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

function namespace(r: Rand, min: number, max: number): string[] {
  return Array.from({ length: int(r, min, max) }, () => pick(r, LABELS));
}

function value(r: Rand): Record<string, unknown> {
  const v: Record<string, unknown> = {};
  if (r() < 0.8) v.n = int(r, 0, 9);
  if (r() < 0.8) v.s = pick(r, ["x", "y", "z"]);
  if (r() < 0.5) v.flag = r() < 0.5;
  if (r() < 0.7) v.text = Array.from({ length: int(r, 1, 4) }, () => pick(r, WORDS)).join(" ");
  if (r() < 0.2) v.nested = { deep: pick(r, ["p", "q"]) };
  return v;
}

function filter(r: Rand): Record<string, unknown> | undefined {
  if (r() < 0.4) return undefined;
  const f: Record<string, unknown> = {};
  for (let i = int(r, 1, 2); i > 0; i--) {
    switch (int(r, 0, 7)) {
      case 0:
        f.s = pick(r, ["x", "y", "z"]);
        break;
      case 1:
        f.n = { [pick(r, ["$gt", "$gte", "$lt", "$lte"])]: int(r, 0, 9) };
        break;
      case 2:
        f.s = { $ne: pick(r, ["x", "y"]) };
        break;
      case 3:
        f.s = { [pick(r, ["$in", "$nin"])]: ["x", pick(r, ["y", "z"])] };
        break;
      case 4:
        f.flag = r() < 0.5;
        break;
      case 5:
        f.n = { $eq: int(r, 0, 9) };
        break;
      case 6:
        f.n = { $gte: int(r, 0, 4), $lt: int(r, 5, 9) };
        break;
      default:
        f.flag = { $ne: true };
    }
  }
  return f;
}

function put(r: Rand): Operation {
  const index = r() < 0.6 ? undefined : r() < 0.5 ? false : ["text"];
  return { namespace: namespace(r, 1, 3), key: pick(r, KEYS), value: value(r), ...(index !== undefined && { index }) };
}

function operation(r: Rand): Operation {
  const x = r();
  if (x < 0.4) return put(r);
  if (x < 0.5) return { namespace: namespace(r, 1, 3), key: pick(r, KEYS), value: null };
  if (x < 0.65) return { namespace: namespace(r, 1, 3), key: pick(r, KEYS) };
  if (x < 0.9) {
    const query = r() < 0.25 ? pick(r, WORDS) : undefined;
    const f = filter(r);
    return {
      namespacePrefix: namespace(r, 0, 2),
      ...(f !== undefined && { filter: f }),
      limit: query !== undefined ? 1000 : int(r, 1, 8),
      offset: query !== undefined ? 0 : int(r, 0, 4),
      ...(query !== undefined && { query }),
    };
  }
  const matchConditions = [];
  if (r() < 0.5) matchConditions.push({ matchType: "prefix" as const, path: namespace(r, 1, 2).map((l) => (r() < 0.2 ? "*" : l)) });
  if (r() < 0.3) matchConditions.push({ matchType: "suffix" as const, path: namespace(r, 1, 2).map((l) => (r() < 0.2 ? "*" : l)) });
  return {
    ...(matchConditions.length > 0 && { matchConditions }),
    ...(r() < 0.4 && { maxDepth: int(r, 1, 3) }),
    limit: int(r, 1, 20),
    offset: int(r, 0, 3),
  };
}

const itemId = (i: { namespace: string[]; key: string }): string => JSON.stringify([i.namespace, i.key]);
const shown = (i: Item | SearchItem | null) => (i === null ? null : { namespace: i.namespace, key: i.key, value: i.value });
const sameNs = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((l, i) => l === b[i]);

/** InMemoryStore with an index (the test embedder), so queries rank there too. */
function reference(): InMemoryStore {
  const embeddings = {
    embedDocuments: async (texts: string[]) => texts.map((t) => [...testEmbedding(t)]),
    embedQuery: async (text: string) => [...testEmbedding(text)],
  };
  return new InMemoryStore({ index: { dims: 64, embeddings: embeddings as never, fields: ["$"] } });
}

/** How many reads of each kind had a non-empty answer: the test must compare real results. */
interface Coverage {
  get: number;
  search: number;
  query: number;
  filtered: number;
  namespaces: number;
}

function count(coverage: Coverage, op: Operation, answer: unknown): void {
  const nonEmpty = Array.isArray(answer) ? answer.length > 0 : answer !== null;
  if (!nonEmpty) return;
  if ("key" in op) coverage.get++;
  else if ("namespacePrefix" in op) {
    if (op.query !== undefined) coverage.query++;
    else if (op.filter !== undefined) coverage.filtered++;
    else coverage.search++;
  } else coverage.namespaces++;
}

/** The expected answer of one read, from InMemoryStore's state and the insertion order. */
async function expected(ref: BaseStore, op: Operation, order: Map<string, number>): Promise<unknown> {
  if ("key" in op) return shown(await ref.get(op.namespace, op.key));
  if ("namespacePrefix" in op) {
    const all = await ref.search(op.namespacePrefix, { ...(op.filter !== undefined && { filter: op.filter }), limit: 100_000 });
    const seq = (i: Item) => order.get(itemId(i)) ?? Infinity;
    if (all.every((i) => sameNs(i.namespace, all[0]?.namespace ?? []))) {
      // One namespace: InMemoryStore's own order is insertion order.
      expect(all.map(seq)).toEqual([...all.map(seq)].sort((a, b) => a - b));
    }
    if (op.query !== undefined) return all.map(shown).sort((a, b) => itemId(a as Item).localeCompare(itemId(b as Item)));
    const offset = op.offset ?? 0;
    return [...all].sort((a, b) => seq(a) - seq(b)).slice(offset, offset + (op.limit ?? 10)).map(shown);
  }
  if ("matchConditions" in op || "limit" in op) {
    const live = new Set((await ref.search([], { limit: 100_000 })).map((i) => JSON.stringify(i.namespace)));
    const listed = await ref.listNamespaces({
      ...(op.matchConditions?.find((c) => c.matchType === "prefix") && { prefix: op.matchConditions.find((c) => c.matchType === "prefix")?.path }),
      ...(op.matchConditions?.find((c) => c.matchType === "suffix") && { suffix: op.matchConditions.find((c) => c.matchType === "suffix")?.path }),
      limit: 100_000,
    });
    const cut = new Map<string, string[]>();
    for (const ns of listed.filter((n) => live.has(JSON.stringify(n)))) {
      const c = op.maxDepth === undefined ? ns : ns.slice(0, op.maxDepth);
      cut.set(JSON.stringify(c), c);
    }
    const offset = op.offset ?? 0;
    return [...cut.values()].sort(compareNamespaces).slice(offset, offset + (op.limit ?? 100));
  }
  return null;
}

async function actual(store: ContextdStore, op: Operation): Promise<unknown> {
  if ("key" in op) return shown(await store.get(op.namespace, op.key));
  if ("namespacePrefix" in op) {
    const found = await store.search(op.namespacePrefix, {
      ...(op.filter !== undefined && { filter: op.filter }),
      ...(op.query !== undefined && { query: op.query }),
      limit: op.limit ?? 10,
      offset: op.offset ?? 0,
    });
    const items = found.map(shown);
    return op.query !== undefined ? items.sort((a, b) => itemId(a as Item).localeCompare(itemId(b as Item))) : items;
  }
  if ("matchConditions" in op || "limit" in op) return (await store.batch([op]))[0];
  return null;
}

/** Tracks insertion order as InMemoryStore keeps it: a key's place stays until it is deleted. */
function record(order: Map<string, number>, op: Operation, counter: { n: number }): void {
  if (!("value" in op)) return;
  const id = itemId(op);
  if (op.value === null) order.delete(id);
  else if (!order.has(id)) order.set(id, counter.n++);
}

/**
 * Registers `runs` differential runs of `steps` operations each on a fresh contextd store.
 * @param open a fresh contextd store (with the test embedder)
 */
export function differentialRuns(name: string, open: () => Promise<ContextStore>, runs: number, steps: number): void {
  for (let run = 0; run < runs; run++) {
    const seed = 1000 + run;
    it(`${name}: seed ${seed}, ${steps} random operations give InMemoryStore's answers`, async () => {
      const r = prng(seed);
      const ref = reference();
      const cd = await open();
      const store = new ContextdStore(cd);
      const order = new Map<string, number>();
      const counter = { n: 0 };
      const coverage: Coverage = { get: 0, search: 0, query: 0, filtered: 0, namespaces: 0 };
      try {
        for (let step = 0; step < steps; step++) {
          if (r() < 0.1) {
            // A batch: its reads see the state before its writes, on both stores.
            const ops = Array.from({ length: int(r, 2, 5) }, () => operation(r));
            const expectedReads = await Promise.all(ops.map((op) => ("value" in op ? Promise.resolve(null) : expected(ref, op, order))));
            const got = await store.batch(ops);
            await ref.batch(ops);
            ops.forEach((op, i) => {
              if ("value" in op) return;
              let g: unknown = got[i];
              if ("key" in op) g = shown(g as Item | null);
              else if ("namespacePrefix" in op) {
                const items = (g as SearchItem[]).map(shown);
                g = op.query !== undefined ? items.sort((a, b) => itemId(a as Item).localeCompare(itemId(b as Item))) : items;
              }
              expect(g, `seed ${seed} step ${step} batch op ${i}: ${JSON.stringify(op)}`).toEqual(expectedReads[i]);
              count(coverage, op, g);
            });
            // Like both stores: the last write of each namespace and key, in first-seen order.
            const last = new Map<string, Operation>();
            for (const op of ops) if ("value" in op) last.set(itemId(op), op);
            for (const op of last.values()) record(order, op, counter);
            continue;
          }
          const op = operation(r);
          if ("value" in op) {
            await ref.batch([op]);
            await store.batch([op]);
            record(order, op, counter);
            continue;
          }
          const answer = await actual(store, op);
          expect(answer, `seed ${seed} step ${step}: ${JSON.stringify(op)}`).toEqual(await expected(ref, op, order));
          count(coverage, op, answer);
        }
        // Every kind of read compared something (not only empty answers).
        for (const [kind, n] of Object.entries(coverage)) expect(n, `${kind} reads with results`).toBeGreaterThan(0);
      } finally {
        await cd.close();
      }
    });
  }
}
