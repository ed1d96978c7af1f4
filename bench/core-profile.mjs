/**
 * CPU profiles of single benchmark workloads (the V8 sampling profiler that `--cpu-prof`
 * uses, driven in-process through `node:inspector` so only the workload is sampled),
 * summarised as self time by layer and by function. Used by `bench/core.mjs` to explain
 * missed targets.
 */
import { Session } from "node:inspector/promises";

const SQLITE = "SQLite + driver (SQL execution, BEGIN/COMMIT, the driver's row mapping)";

/** better-sqlite3's native methods, as the profiler names them (they have no script URL). */
const SQLITE_NATIVE = new Set(["run", "get", "all", "iterate", "exec", "pragma", "prepare"]);

/** Which layer a profile node belongs to, from its script URL. */
function layerOf(url, name) {
  if (name === "(garbage collector)") return "GC";
  if (name === "(program)" || name === "(idle)") return "V8 / idle";
  if (url === "" && SQLITE_NATIVE.has(name)) return SQLITE;
  // V8 attributes a native call sometimes to itself, sometimes to its JS caller: one layer.
  if (url.includes("/drivers/sqlite/") || url.includes("/better-sqlite3/")) return SQLITE;
  if (url.includes("/core/")) return "core (validation, JSON, state ops, mapping)";
  if (url.includes("/bench/")) return "benchmark harness (building inputs)";
  if (url.startsWith("node:") || url === "") return "Node.js / V8 internals";
  return "other";
}

/** Samples `fn` (async, runs the workload) and returns self time by layer and the top functions. */
export async function profile(fn, { top = 8 } = {}) {
  const session = new Session();
  session.connect();
  try {
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 200 });
    await session.post("Profiler.start");
    // The profiler's clock is the monotonic clock of process.hrtime: keep only the samples
    // taken while the workload ran (not the inspector's own start/stop work).
    const from = Number(process.hrtime.bigint() / 1000n);
    await fn();
    const to = Number(process.hrtime.bigint() / 1000n);
    const { profile: p } = await session.post("Profiler.stop");
    return summarize(p, top, from, to);
  } finally {
    session.disconnect();
  }
}

function summarize(p, top, from, to) {
  const nodes = new Map(p.nodes.map((n) => [n.id, n]));
  const selfByNode = new Map();
  let total = 0;
  let at = p.startTime;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    at += dt;
    if (at < from || at > to) return;
    selfByNode.set(id, (selfByNode.get(id) ?? 0) + dt);
    total += dt;
  });
  const byLayer = new Map();
  const byFunction = new Map();
  for (const [id, t] of selfByNode) {
    const { functionName, url, lineNumber } = nodes.get(id).callFrame;
    const name = functionName || "(anonymous)";
    const layer = layerOf(url, name);
    byLayer.set(layer, (byLayer.get(layer) ?? 0) + t);
    const where = url ? `${url.split("/").slice(-2).join("/")}:${lineNumber + 1}` : "";
    const key = `\`${name}\` ${where}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + t);
  }
  const pct = (t) => (100 * t) / total;
  const sorted = (m) => [...m].sort((a, b) => b[1] - a[1]).map(([k, t]) => ({ name: k, pct: pct(t) }));
  return { layers: sorted(byLayer), functions: sorted(byFunction).slice(0, top), ms: total / 1000 };
}

/** Renders a profile summary as Markdown. */
export function renderProfile(title, s) {
  const layers = s.layers.filter((l) => l.pct >= 1).map((l) => `${l.name} ${l.pct.toFixed(0)}%`).join(" · ");
  const fns = s.functions.map((f) => `${f.pct.toFixed(1)}% ${f.name}`).join("; ");
  return `- **${title}** (${(s.ms / 1000).toFixed(1)} s sampled) — by layer: ${layers}.\n  Top self time: ${fns}.`;
}
