#!/usr/bin/env node
// Fails on import cycles and on the layer rules of DESIGN.md:
// - core/ never imports server/, client/, cli/, mcp/, integrations/ or a concrete driver;
// - drivers never import each other (only driver.ts, the contract, and core/ + errors);
// - server/, client/, mcp/, cli/, integrations/ use the public API (src/index.ts), not core/ or drivers/ internals.
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

const importRe = /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[^"';]*?\s+from\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;
const graph = new Map();
const problems = [];
const rel = (p) => relative(root, p).replaceAll("\\", "/");
const area = (r) => {
  const [top, second] = r.split("/");
  if (top === "drivers") return second === "driver.ts" || second === "memory.ts" ? `drivers/${second}` : `drivers/${second}`;
  return top.endsWith(".ts") ? top : top;
};

for (const file of files) {
  const text = readFileSync(file, "utf8");
  const from = rel(file);
  const edges = [];
  for (const m of text.matchAll(importRe)) {
    const spec = m[1] ?? m[2];
    if (!spec || !spec.startsWith(".")) continue;
    const target = rel(resolve(dirname(file), spec.replace(/\.js$/, ".ts")));
    const isTypeOnly = /^\s*(?:import|export)\s+type\s/.test(m[0].trimStart());
    edges.push({ target, dynamic: m[2] !== undefined, typeOnly: isTypeOnly });
    const fromArea = area(from);
    const toArea = area(target);
    const top = from.split("/")[0];
    const targetTop = target.split("/")[0];
    // core never imports outer layers or a concrete driver
    if (top === "core" || from === "errors.ts") {
      if (["server", "client", "cli", "mcp", "integrations"].includes(targetTop)) problems.push(`${from} → ${target}: core must not import ${targetTop}/`);
      if (targetTop === "drivers" && target !== "drivers/driver.ts") problems.push(`${from} → ${target}: core must not import a concrete driver`);
      if (target === "index.ts" || target === "open.ts") problems.push(`${from} → ${target}: core must not import the package entry`);
    }
    // drivers never import each other
    if (top === "drivers" && targetTop === "drivers" && fromArea !== toArea && target !== "drivers/driver.ts") {
      problems.push(`${from} → ${target}: drivers must not import each other`);
    }
    if (top === "drivers" && ["server", "client", "cli", "mcp", "integrations", "testing"].includes(targetTop)) {
      problems.push(`${from} → ${target}: drivers must not import ${targetTop}/`);
    }
    // outer layers use the public API
    if (["server", "client", "cli", "mcp", "integrations"].includes(top) && (targetTop === "core" || targetTop === "drivers" || target === "open.ts")) {
      problems.push(`${from} → ${target}: ${top}/ must use what src/index.ts exports`);
    }
  }
  graph.set(from, edges);
}

// Cycles among runtime (non-type, static) imports.
const state = new Map();
const stack = [];
const visit = (node) => {
  state.set(node, 1);
  stack.push(node);
  for (const e of graph.get(node) ?? []) {
    if (e.typeOnly || e.dynamic || !graph.has(e.target)) continue;
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
console.log(`layer check: ${files.length} files, no cycles, layers respected`);
