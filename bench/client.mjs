/**
 * The light client (issue 9). Prints one Markdown section to stdout.
 *
 * - import time: `contextd/client` against the full `contextd` entry, each imported by a fresh
 *   `node` process, interleaved round by round (the order flips every round); medians of N.
 *   Reported: the `import()` itself (timed inside the process), the whole process from spawn to
 *   exit (against a bare `node -e ""`), and the RSS after the import;
 * - what each import loads (files of contextd, packages, native addons, Node built-ins), traced
 *   by scripts/import-trace.mjs;
 * - the bundle of `contextd/client` made by esbuild (minified, ESM, code splitting) for the
 *   browser and for Node: what loads at import, and the token encodings, which are split into
 *   chunks loaded by the first window() / optimize() that counts; gzip sizes too.
 *
 *   node bench/client.mjs
 */
import { spawn } from "node:child_process";
import { loadavg } from "node:os";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { build, version as esbuildVersion } from "esbuild";
import { DIST, QUICK, ROOT, fmtRatio, median, progress, table, tempDir } from "./lib.mjs";

const ROUNDS = QUICK ? 3 : Number(process.env.BENCH_RUNS ?? 21);
const ENTRIES = {
  "contextd/client": join(DIST, "client", "index.js"),
  "contextd (full entry)": join(DIST, "index.js"),
};
const out = [];
const say = (line = "") => out.push(line);

/** Runs node with `args`; resolves with stdout and the wall time from spawn to exit, ms. */
function node(args) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = performance.now() - started;
      if (code === 0) resolve({ stdout, ms });
      else reject(new Error(`node ${args.join(" ")} exited with ${code}`));
    });
  });
}

const IMPORT = `const t0 = performance.now();
await import(process.argv[1]);
const ms = performance.now() - t0;
process.stdout.write(JSON.stringify({ ms, rss: process.memoryUsage.rss() }));`;

// ── import time ─────────────────────────────────────────────────────────────────────────
progress(`import time: ${ROUNDS} rounds`);
const contenders = [...Object.entries(ENTRIES), ["bare node", null]];
const runs = Object.fromEntries(contenders.map(([name]) => [name, { importMs: [], processMs: [], rss: [] }]));
// One untimed round first: the files come into the page cache.
for (const [, file] of contenders) if (file !== null) await node(["--input-type=module", "-e", IMPORT, pathToFileURL(file).href]);
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, file] of round % 2 === 0 ? contenders : [...contenders].reverse()) {
    if (file === null) {
      const r = await node(["-e", ""]);
      runs[name].processMs.push(r.ms);
      continue;
    }
    const r = await node(["--input-type=module", "-e", IMPORT, pathToFileURL(file).href]);
    const { ms, rss } = JSON.parse(r.stdout);
    runs[name].importMs.push(ms);
    runs[name].processMs.push(r.ms);
    runs[name].rss.push(rss);
  }
}
const med = (name, key) => median(runs[name][key]);
const [clientName, fullName] = Object.keys(ENTRIES);

// ── what each import loads ──────────────────────────────────────────────────────────────
progress("tracing the imports");
async function trace(file) {
  const { stdout } = await node([join(ROOT, "scripts", "import-trace.mjs"), file]);
  const t = JSON.parse(stdout);
  const files = [...t.modules.map((m) => m.url).filter((u) => u.startsWith("file:")).map((u) => new URL(u).pathname), ...t.commonjs];
  const unique = [...new Set(files)];
  const own = unique.filter((f) => f.startsWith(`${DIST}/`));
  const packages = new Set(
    unique
      .filter((f) => !f.startsWith(`${DIST}/`) && f.includes("/node_modules/"))
      .map((f) => {
        const [a, b] = f.slice(f.lastIndexOf("/node_modules/") + 14).split("/");
        return a.startsWith("@") ? `${a}/${b}` : a;
      }),
  );
  return {
    own: own.length,
    other: unique.length - own.length,
    packages: [...packages].sort(),
    builtins: t.modules.filter((m) => m.url.startsWith("node:")).length,
    addons: t.addons.length,
  };
}
const traces = {};
for (const [name, file] of Object.entries(ENTRIES)) traces[name] = await trace(file);

// ── bundle size ─────────────────────────────────────────────────────────────────────────
progress("bundling with esbuild");
async function bundle(platform) {
  const result = await build({
    entryPoints: [ENTRIES[clientName]],
    bundle: true,
    minify: true,
    format: "esm",
    splitting: true,
    platform,
    outdir: tempDir(),
    metafile: true,
    logLevel: "silent",
  });
  // Output paths are relative to the working directory.
  const outputs = result.metafile.outputs;
  const entry = Object.keys(outputs).find((p) => outputs[p].entryPoint !== undefined);
  // What the entry needs at import: itself and the chunks it imports statically, transitively.
  const initial = new Set([entry]);
  for (const p of initial) for (const i of outputs[p].imports) if (i.kind === "import-statement") initial.add(i.path);
  const size = (paths) => {
    let raw = 0;
    let gz = 0;
    for (const p of paths) {
      const c = readFileSync(resolve(p));
      raw += c.length;
      gz += gzipSync(c).length;
    }
    return { raw, gz, files: paths.length };
  };
  const js = Object.keys(outputs).filter((p) => p.endsWith(".js"));
  // The default encoding as a window() loads it: its chunk and what that imports beyond the initial code.
  const o200k = new Set(js.filter((p) => Object.keys(outputs[p].inputs).some((i) => i.includes("bpeRanks/o200k_base"))));
  for (const p of o200k) for (const i of outputs[p].imports) if (i.kind === "import-statement" && !initial.has(i.path)) o200k.add(i.path);
  return {
    initial: size([...initial]),
    o200k: size([...o200k]),
    lazy: size(js.filter((p) => !initial.has(p))),
    nodeImports: Object.values(result.metafile.inputs).flatMap((i) => i.imports.map((x) => x.path)).filter((p) => p.startsWith("node:")).length,
  };
}
const bundles = { browser: await bundle("browser"), node: await bundle("node") };

// ── report ──────────────────────────────────────────────────────────────────────────────
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
const mb = (n) => `${(n / 1024 / 1024).toFixed(2)} MiB`;
const ms = (n) => `${n.toFixed(1)} ms`;
const spreadMs = (xs) => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;

say("## Light client (issue 9)");
say();
say(
  `\`contextd/client\` (built \`dist/client/index.js\`) against the full \`contextd\` entry (\`dist/index.js\`), each imported by a fresh \`node\` process, ${ROUNDS} interleaved rounds (order flipped every round, one untimed round first), medians; load average ${loadavg().map((l) => l.toFixed(2)).join(", ")} at the end.`,
);
say();
say(
  table(
    ["measure", clientName, fullName, "ratio (client / full)"],
    [
      ["`await import()` in a fresh process", ms(med(clientName, "importMs")), ms(med(fullName, "importMs")), fmtRatio(med(clientName, "importMs") / med(fullName, "importMs"))],
      ["  runs (min–max)", spreadMs(runs[clientName].importMs), spreadMs(runs[fullName].importMs), ""],
      [
        `whole process, spawn to exit (bare \`node -e ""\`: ${ms(median(runs["bare node"].processMs))})`,
        ms(med(clientName, "processMs")),
        ms(med(fullName, "processMs")),
        fmtRatio(med(clientName, "processMs") / med(fullName, "processMs")),
      ],
      ["RSS after the import", mb(med(clientName, "rss")), mb(med(fullName, "rss")), fmtRatio(med(clientName, "rss") / med(fullName, "rss"))],
      ["contextd files loaded", String(traces[clientName].own), String(traces[fullName].own), ""],
      ["files of packages loaded", String(traces[clientName].other), String(traces[fullName].other), ""],
      ["packages", traces[clientName].packages.join(", ") || "none", traces[fullName].packages.join(", ") || "none", ""],
      ["Node built-ins", String(traces[clientName].builtins), String(traces[fullName].builtins), ""],
      ["native addons opened", String(traces[clientName].addons), String(traces[fullName].addons), ""],
    ],
  ),
);
say();
say(
  `**Bundle of \`contextd/client\`** by esbuild ${esbuildVersion} (\`bundle\`, \`minify\`, ESM, \`splitting\`). "At import" is the entry chunk and the chunks it imports statically; the token encodings (o200k, cl100k, p50k, r50k rank tables) are dynamic imports, each its own chunk, fetched by the first \`window()\` or \`optimize()\` that has to count (outside Node; on Node the tokenizer requires gpt-tokenizer's CommonJS build at the first count, and the bundle's encoding chunks are never loaded). gzip at Node's default level.`,
);
say();
say(
  table(
    ["target", "at import", "gzip", "o200k (default encoding, lazy)", "gzip", "all encodings (lazy)", "gzip", "`node:` imports"],
    Object.entries(bundles).map(([target, b]) => [
      `\`platform: "${target}"\``,
      `${kb(b.initial.raw)} (${b.initial.files} file${b.initial.files === 1 ? "" : "s"})`,
      kb(b.initial.gz),
      `${mb(b.o200k.raw)} (${b.o200k.files} files)`,
      mb(b.o200k.gz),
      `${mb(b.lazy.raw)} (${b.lazy.files} files: 4 encodings and the code they share)`,
      mb(b.lazy.gz),
      String(b.nodeImports),
    ]),
  ),
);
say();
say(
  "`test/client-light.test.ts` holds the client to this: importing it loads no driver, server, CLI or engine internals, no native addon, no heavy package and no Node built-in, and its browser bundle works in a realm without Node's globals.",
);
process.stdout.write(`${out.join("\n")}\n`);
