#!/usr/bin/env node
// Fails on import cycles (type-only imports included) and on the layer rules of docs/design.md:
// - errors.ts imports nothing; the engine's leaf modules (LEAVES) import only each other's types;
// - core/ (the engine) never imports the agent layer, formats, outer layers or a concrete driver;
// - agent/ and formats/ are built on the store interface: they import the engine's pure modules
//   (CORE_PURE) only, never the engine's internals or a driver;
// - drivers import only their own folder, the contract (drivers/driver.ts, drivers/wrap.ts),
//   errors.ts and the engine's leaves;
// - client/ imports errors.ts, the engine's pure modules and agent/ only (it must stay light:
//   no driver, no native module, no server code);
// - server/, cli/, mcp/, integrations/ use the public API (src/index.ts and the sibling entries);
//   integrations/ may also use core/json-text.ts (trusted event data) and core/committed.ts (the
//   context an append committed to), both never exported to users;
// - concurrency/ and tools/ are built on the store interface like agent/ (tools/ may use
//   concurrency/, not the reverse); only concurrency/redis-limiter.ts reaches Redis, through
//   drivers/redis/redis-module.ts (the optional `redis` package, loaded on use).
// - metrics/ (tiers wrapped around the engine, driver and embedder) imports only the contracts,
//   and nothing below it imports metrics/.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..", "src");
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith(".ts") && !p.endsWith(".test.ts")) files.push(p);
  }
};
walk(root);

/** Engine modules with no imports of their own (type imports of each other aside): drivers may use them. */
const LEAVES = new Set(["core/json-types.ts", "core/words.ts", "core/porter.ts", "core/text-terms.ts", "core/circuit.ts"]);
/** Engine modules that neither reach a driver nor the engine's internals: the layers above may use them. */
const CORE_PURE = new Set([...LEAVES, "core/types.ts", "core/call-types.ts", "core/memory-types.ts", "core/block-types.ts", "core/json.ts", "core/json-text.ts", "core/validate.ts", "core/ids.ts", "core/embedder.ts"]);
/**
 * Internal modules an outer layer may use besides the public entries: JSON that contextd's own
 * code built, stored without the checks a user's data gets (not exported to users).
 */
const INTERNAL = new Map([["integrations", new Set(["core/json-text.ts", "core/committed.ts"])]]);
const OUTER = ["server", "client", "cli", "mcp", "integrations"];
/** Implementations plugged into the engine at open (like drivers): only the contract they implement. */
const PLUGINS = ["embeddings"];
const PUBLIC_ENTRIES = new Set(["index.ts", "errors.ts", "server/index.ts", "client/index.ts", "testing/index.ts", "tools/index.ts", "concurrency/index.ts"]);

const importRe = /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[^"';]*?\s+from\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;
const graph = new Map();
const problems = [];
const rel = (p) => relative(root, p).replaceAll("\\", "/");
const topOf = (r) => r.split("/")[0];
/** The contract: the interface and the wrapping helper every driver may use. */
const CONTRACT = new Set(["drivers/driver.ts", "drivers/driver-call.ts", "drivers/wrap.ts", "drivers/memory-area.ts", "drivers/block-area.ts", "drivers/circuit-breaker.ts"]);
const driverArea = (r) => (CONTRACT.has(r) ? "contract" : r.split("/")[1]);

function checkEdge(from, target) {
  const top = topOf(from);
  const tTop = topOf(target);
  const bad = (why) => problems.push(`${from} → ${target}: ${why}`);
  if (from === "errors.ts") return bad("errors.ts must import nothing");
  if (LEAVES.has(from) && !LEAVES.has(target)) return bad("a leaf module may import only other leaves");
  if (CONTRACT.has(from) && !LEAVES.has(target) && !CONTRACT.has(target) && target !== "errors.ts") {
    return bad("the driver contract imports only the engine's leaves");
  }
  if (top === "core") {
    if (tTop === "drivers" && !CONTRACT.has(target)) return bad("the engine must not import a concrete driver");
    if (!["core", "drivers"].includes(tTop) && target !== "errors.ts") return bad(`the engine must not import ${tTop}`);
  }
  if (top === "agent" || top === "formats") {
    const allowed = target === "errors.ts" || CORE_PURE.has(target) || tTop === "agent" || (top === "formats" && tTop === "formats");
    if (!allowed) return bad(`${top}/ is built on the store interface: only errors.ts, agent/ and the engine's pure modules (${[...CORE_PURE].join(", ")})`);
  }
  if (top === "concurrency" || top === "tools") {
    const redis = from === "concurrency/redis-limiter.ts" && target === "drivers/redis/redis-module.ts";
    const allowed = redis || target === "errors.ts" || CORE_PURE.has(target) || tTop === "agent" || tTop === top || (top === "tools" && tTop === "concurrency");
    if (!allowed) return bad(`${top}/ is built on the store interface: only errors.ts, agent/, ${top === "tools" ? "concurrency/, " : ""}its own folder and the engine's pure modules`);
  }
  if (top === "drivers" && !CONTRACT.has(from)) {
    const sameArea = tTop === "drivers" && driverArea(target) === driverArea(from);
    const allowed = sameArea || CONTRACT.has(target) || target === "errors.ts" || LEAVES.has(target);
    if (!allowed) return bad("a driver imports only its own folder, drivers/driver.ts, errors.ts and the engine's leaves");
  }
  if (top === "client") {
    const allowed = tTop === "client" || target === "errors.ts" || CORE_PURE.has(target) || tTop === "agent";
    if (!allowed) return bad("the client stays light: only errors.ts, agent/ and the engine's pure modules");
  }
  if (OUTER.includes(top) && top !== "client") {
    const allowed = tTop === top || PUBLIC_ENTRIES.has(target) || INTERNAL.get(top)?.has(target) === true;
    if (!allowed) return bad(`${top}/ must use the public API (index.ts, errors.ts, server/index.ts, client/index.ts)`);
  }
  if (top === "testing" && (OUTER.includes(tTop) || tTop === "cli")) return bad(`the conformance suite must not import ${tTop}/`);
  if (PLUGINS.includes(top)) {
    const allowed = tTop === top || target === "errors.ts" || CORE_PURE.has(target);
    if (!allowed) return bad(`${top}/ implements a contract: only its own folder, errors.ts and the engine's pure modules`);
  }
  if (top === "core" && PLUGINS.includes(tTop)) return bad(`the engine must not import a concrete ${tTop} implementation`);
  if (top === "metrics") {
    // Tiers wrapped around the engine, the driver and the embedder from outside: the contracts only.
    const allowed = tTop === "metrics" || target === "errors.ts" || CORE_PURE.has(target) || CONTRACT.has(target) || tTop === "agent";
    if (!allowed) return bad("metrics/ wraps from outside: only itself, errors.ts, the driver contract, agent/ and the engine's pure modules");
  }
  if ((top === "core" || top === "agent" || top === "drivers" || top === "formats" || top === "client") && tTop === "metrics") {
    return bad(`${top}/ must not import metrics/ (the tiers wrap it from outside, in open.ts)`);
  }
}

for (const file of files) {
  const text = readFileSync(file, "utf8");
  const from = rel(file);
  const edges = [];
  for (const m of text.matchAll(importRe)) {
    const spec = m[1] ?? m[2];
    if (!spec || !spec.startsWith(".")) continue;
    const target = rel(resolve(dirname(file), spec.replace(/\.js$/, ".ts")));
    edges.push({ target, dynamic: m[2] !== undefined });
    checkEdge(from, target);
  }
  graph.set(from, edges);
}

// Cycles among static imports, type-only ones included (a type cycle still ties two modules
// together: neither can be read, moved or split without the other).
const state = new Map();
const stack = [];
const visit = (node) => {
  state.set(node, 1);
  stack.push(node);
  for (const e of graph.get(node) ?? []) {
    if (e.dynamic || !graph.has(e.target)) continue;
    const s = state.get(e.target);
    if (s === 1) problems.push(`import cycle: ${[...stack.slice(stack.indexOf(e.target)), e.target].join(" → ")}`);
    else if (s === undefined) visit(e.target);
  }
  stack.pop();
  state.set(node, 2);
};
for (const node of graph.keys()) if (!state.has(node)) visit(node);

if (problems.length > 0) {
  console.error(`layer check failed (${problems.length}):\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`layer check: ${files.length} files, no cycles (type-only included), layers respected`);
