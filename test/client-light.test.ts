/**
 * `contextd/client` is what a browser dashboard, an MCP bridge or a serverless function
 * imports. It must load no driver, no native module, no server code, no engine internals and
 * no Node built-in, and it must bundle for a browser and work there.
 *
 * The import is traced in a child process (`scripts/import-trace.mjs`) on the transpiled
 * sources, entered through the package's `exports` map as users enter the build; the browser
 * bundle is made by esbuild and run in a child process with Node's globals removed.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import type { BuildResult } from "esbuild";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../src/index.js";
import type { ContextStore } from "../src/index.js";
import { serve } from "../src/server/index.js";
import type { RunningServer } from "../src/server/index.js";
import { buildSources } from "./fixtures/build-sources.js";
import { childEnv, track } from "./helpers/children.js";

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
const TRACE = join(ROOT, "scripts", "import-trace.mjs");

interface Trace {
  modules: { url: string; parent: string | null }[];
  commonjs: string[];
  addons: string[];
}

/** Node with the environment minus contextd's variables, in a temp cwd; killed after `timeoutMs`. */
function runNode(args: string[], cwd: string, timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = childEnv();
  return new Promise((done) => {
    track(
      execFile(process.execPath, args, { cwd, env, timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        done({ code, stdout, stderr });
      }),
    );
  });
}

/** The file a package subpath (`.`, `./client`) maps to in a tree of compiled sources (`<dir>/src/…`). */
function entryOf(built: string, subpath: string): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { exports: Record<string, { default: string }> };
  const target = pkg.exports[subpath]?.default;
  if (target === undefined || !target.startsWith("./dist/")) throw new Error(`package.json exports has no ${subpath} under ./dist/`);
  return join(built, "src", target.slice("./dist/".length));
}

let built: string;
let cwd: string;

beforeAll(async () => {
  built = await buildSources();
  cwd = mkdtempSync(join(tmpdir(), "contextd-client-light-"));
}, 120_000);

afterAll(() => {
  if (cwd !== undefined) rmSync(cwd, { recursive: true, force: true });
});

async function trace(subpath: string): Promise<Trace & { own: string[]; packages: string[]; builtins: string[] }> {
  const r = await runNode([TRACE, entryOf(built, subpath)], cwd);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const t = JSON.parse(r.stdout) as Trace;
  const src = join(built, "src") + sep;
  const files = t.modules.filter((m) => m.url.startsWith("file:")).map((m) => fileURLToPath(m.url));
  const packageOf = (path: string): string => {
    const rest = path.slice(path.lastIndexOf(`node_modules${sep}`) + "node_modules/".length).split(sep);
    return rest[0]?.startsWith("@") ? `${rest[0]}/${rest[1]}` : (rest[0] ?? path);
  };
  return {
    ...t,
    own: files.filter((f) => f.startsWith(src)).map((f) => relative(src, f).replaceAll(sep, "/")),
    packages: [...new Set([...files, ...t.commonjs].filter((f) => !f.startsWith(src)).map(packageOf))].sort(),
    builtins: t.modules.filter((m) => m.url.startsWith("node:")).map((m) => `${m.url} (from ${m.parent === null ? "?" : relative(src, fileURLToPath(m.parent))})`),
  };
}

// What the client may load: itself, the agent layer, errors and the engine's pure modules.
const ALLOWED = /^(client\/[^/]+|agent\/[^/]+|errors|core\/(types|json-types|json|json-text|validate|ids|words|block-types))\.js$/;
// The model SDKs too: the window's formats name their types only (type imports, erased).
const HEAVY = ["better-sqlite3", "pg", "redis", "@redis/client", "ajv", "ajv-formats", "zod", "hono", "@hono/node-server", "@hono/zod-openapi", "pino", "openai", "@anthropic-ai/sdk", "ai"];

describe("contextd/client loads light", () => {
  it("importing contextd/client loads only the client, the agent layer, errors and the engine's pure modules", async () => {
    const t = await trace("./client");
    expect(t.own).toContain("client/index.js");
    // Named files, so a failure says what came in (a driver, server/, cli/, core/store.js, index.js …).
    expect(t.own.filter((f) => !ALLOWED.test(f))).toEqual([]);
  });

  it("importing contextd/client loads no native addon, no heavy package and no Node built-in", async () => {
    const t = await trace("./client");
    expect(t.addons).toEqual([]);
    expect([...t.modules.map((m) => m.url), ...t.commonjs].filter((u) => u.endsWith(".node"))).toEqual([]);
    expect(t.packages.filter((p) => HEAVY.includes(p))).toEqual([]);
    // A browser bundle could not resolve one.
    expect(t.builtins).toEqual([]);
  });

  it("the same trace of the full contextd entry sees the drivers, better-sqlite3, ajv and zod (the check can see what it forbids)", async () => {
    const t = await trace(".");
    expect(t.own).toEqual(expect.arrayContaining(["index.js", "core/store.js", "drivers/sqlite/driver.js", "drivers/in-memory/driver.js"]));
    expect(t.packages).toEqual(expect.arrayContaining(["better-sqlite3", "ajv", "zod"]));
    expect(t.builtins.length).toBeGreaterThan(0);
  });
});

describe("contextd/client in a browser", () => {
  let store: ContextStore;
  let server: RunningServer | undefined;
  let out: string;
  let bundled: BuildResult<{ metafile: true }>;

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), "contextd-client-bundle-"));
    bundled = await build({
      entryPoints: [entryOf(built, "./client")],
      bundle: true,
      platform: "browser",
      format: "esm",
      splitting: true,
      minify: true,
      outdir: out,
      metafile: true,
      logLevel: "silent",
    });
    // No token counter: events carry no stored count, so a window counts them in the "browser".
    store = await openStore("in-memory:");
    server = await serve({ store, port: 0, closeStore: false, logger: pino({ level: "silent" }) });
  });

  afterAll(async () => {
    await server?.close();
    await store?.close();
    if (out !== undefined) rmSync(out, { recursive: true, force: true });
  });

  it("bundles for platform browser with no Node built-in, the tokenizer's encodings in lazy chunks", async () => {
    expect(bundled.errors).toEqual([]);
    const imports = Object.values(bundled.metafile.inputs).flatMap((input) => input.imports.map((i) => i.path));
    expect(imports.filter((p) => p.startsWith("node:") || ["events", "module", "crypto", "buffer"].includes(p))).toEqual([]);
    // The entry chunk does not hold the multi-megabyte rank tables: they are only imported when needed.
    const [entry] = Object.entries(bundled.metafile.outputs).filter(([, o]) => o.entryPoint !== undefined);
    expect(entry).toBeDefined();
    const [, entryOut] = entry as [string, (typeof bundled.metafile.outputs)[string]];
    expect(Object.keys(entryOut.inputs).some((p) => p.includes("bpeRanks"))).toBe(false);
    expect(entryOut.imports.filter((i) => i.kind === "dynamic-import").length).toBeGreaterThanOrEqual(4);
  });

  it("the browser bundle works without Node's globals: contexts, events, watch, typed errors and a token-counted window", async () => {
    const { id } = await store.createContext({ kind: "chat" });
    await store.append(id, [
      { type: "message", data: { role: "user", content: "Summarise the quarterly report, please." } },
      { type: "message", data: { role: "assistant", content: "Revenue rose 12 %; costs were flat." } },
    ]);
    const expected = await store.context(id).window({ maxTokens: 1000 });
    const realm = join(ROOT, "test", "fixtures", "browser-realm.mjs");
    const page = join(ROOT, "test", "fixtures", "browser-client.mjs");
    const input = JSON.stringify({ url: (server as RunningServer).url, contextId: id });
    // The entry chunk is named after the entry point.
    const r = await runNode(["--experimental-vm-modules", "--no-warnings", realm, page, join(out, "index.js"), input], cwd);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ seen: [1], code: "NOT_FOUND", tokens: expected.tokens, kept: expected.events.length });
    expect(expected.tokens).toBeGreaterThan(0);
  });
});
