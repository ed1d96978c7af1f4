/**
 * Every TypeScript block of README.md and docs/*.md compiles and runs as written, so no
 * example can rot. Blocks are found by their fence (```ts or ```typescript); a page added to
 * docs/ later is picked up by itself.
 *
 * - Compiled together, each as its own module, with the repository's compiler options; the
 *   package's entries (`contextd`, `contextd/client`, `contextd/server`, `contextd/testing`)
 *   are this checkout's sources.
 * - Run one by one with plain `node`, hermetically: the block transpiled into a fresh temp dir
 *   that is also its working directory, where `contextd` is installed as a package whose
 *   `exports` are those of package.json pointing at the transpiled sources; no `CONTEXTD_*`
 *   variable of the machine reaches it; it must exit 0 within a minute and write nothing to
 *   stderr.
 *
 * Words after the language in the fence's info string:
 * - `server`: the block talks to a server. The test starts one (in-memory store, one API key)
 *   and gives the block `CONTEXTD_URL` and `CONTEXTD_API_KEY`, the variables the CLI reads.
 * - `compile-only (why)`: compiled, not run; the reason in parentheses is required (e.g. a
 *   vitest test file, or a deployment that needs services at the addresses it names).
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../src/index.js";
import type { ContextStore } from "../src/index.js";
import { createKeyRing, generateApiKey, serve } from "../src/server/index.js";
import type { RunningServer } from "../src/server/index.js";
import { buildSources } from "./fixtures/build-sources.js";
import { childEnv, track } from "./helpers/children.js";

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));

interface Block {
  /** `README.md:23`: the page and the line of the opening fence. */
  name: string;
  code: string;
  /** Line of the page where the code starts (1-based). */
  firstLine: number;
  server: boolean;
  /** Why the block is not run, or null when it is. */
  compileOnly: string | null;
  /** A problem with the fence itself (an unknown word, a compile-only without a reason). */
  fenceError: string | null;
}

function pages(): string[] {
  const docs = readdirSync(join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => join("docs", f));
  return ["README.md", ...docs];
}

function blocksOf(page: string): Block[] {
  const lines = readFileSync(join(ROOT, page), "utf8").split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(ts|typescript)\b(.*)$/.exec(lines[i] as string);
    if (open === null) {
      // Skip other fenced blocks whole, so a ```ts inside one is not taken for a block.
      const other = /^(\s*)(`{3,}|~{3,})/.exec(lines[i] as string);
      if (other !== null) {
        const fence = other[2] as string;
        for (i++; i < lines.length && !(lines[i] as string).trimStart().startsWith(fence); i++);
      }
      continue;
    }
    const fence = open[2] as string;
    const info = (open[4] as string).trim();
    const start = i + 1;
    for (i++; i < lines.length && !(lines[i] as string).trimStart().startsWith(fence); i++);
    const only = /^compile-only(?:\s*\(([^)]*)\))?/.exec(info);
    const rest = info.replace(/^compile-only(?:\s*\([^)]*\))?/, "").trim();
    let fenceError: string | null = null;
    if (only !== null && (only[1] ?? "").trim() === "") fenceError = "compile-only needs a reason: ```ts compile-only (why it cannot run)";
    else if (rest !== "" && rest !== "server") fenceError = `unknown word in the fence: ${JSON.stringify(rest)} (known: server, compile-only (why))`;
    blocks.push({
      name: `${page}:${start}`,
      code: lines.slice(start, i).join("\n"),
      firstLine: start + 1,
      server: rest === "server",
      compileOnly: only === null ? null : (only[1] ?? "").trim(),
      fenceError,
    });
  }
  return blocks;
}

const BLOCKS = pages().flatMap(blocksOf);

interface PackageJson {
  exports: Record<string, string | { types?: string; default?: string }>;
}
const PKG = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as PackageJson;

/** package.json's code entries: subpath → path under dist/ (`./client` → `client/index.js`). */
function codeEntries(): [string, string][] {
  const out: [string, string][] = [];
  for (const [subpath, target] of Object.entries(PKG.exports)) {
    const file = typeof target === "string" ? target : target.default;
    if (file?.startsWith("./dist/") && file.endsWith(".js")) out.push([subpath, file.slice("./dist/".length)]);
  }
  return out;
}

// ── compile ─────────────────────────────────────────────────────────────────────────────

const virtualDir = join(ROOT, "test", ".docs-examples");
const virtualPath = (b: Block, i: number): string => join(virtualDir, `${i}-${b.name.replace(/[^A-Za-z0-9]+/g, "-")}.ts`);

/** Compiler diagnostics of every block, as `page:line:col message` lines. */
function compileAll(): Map<Block, string[]> {
  const config = ts.readConfigFile(join(ROOT, "tsconfig.json"), (p) => ts.sys.readFile(p));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  const paths: Record<string, string[]> = {};
  for (const [subpath, file] of codeEntries()) {
    paths[join("contextd", subpath).replace(/\/$/, "")] = [join(ROOT, "src", file.replace(/\.js$/, ".ts"))];
  }
  const options: ts.CompilerOptions = { ...parsed.options, noEmit: true, paths, baseUrl: undefined };
  const sources = new Map(BLOCKS.map((b, i) => [virtualPath(b, i), b] as const));
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.readFile = (p) => sources.get(p)?.code ?? readFile(p);
  host.fileExists = (p) => sources.has(p) || fileExists(p);
  const program = ts.createProgram([...sources.keys()], options, host);
  const result = new Map<Block, string[]>();
  for (const [path, block] of sources) {
    const file = program.getSourceFile(path);
    const diagnostics = file === undefined ? [] : [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)];
    result.set(
      block,
      diagnostics.map((d) => {
        const text = ts.flattenDiagnosticMessageText(d.messageText, "\n");
        if (d.file === undefined || d.start === undefined) return text;
        const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
        const where = d.file.fileName === path ? `${block.name.split(":")[0]}:${block.firstLine + line}` : relative(ROOT, d.file.fileName);
        return `${where}:${character + 1} TS${d.code}: ${text}`;
      }),
    );
  }
  return result;
}

// ── run ─────────────────────────────────────────────────────────────────────────────────

/** A fresh dir where `contextd` is an installed package whose entries are the transpiled sources. */
function workDir(built: string): string {
  const dir = mkdtempSync(join(tmpdir(), "contextd-docs-example-"));
  const pkg = join(dir, "node_modules", "contextd");
  mkdirSync(pkg, { recursive: true });
  symlinkSync(join(built, "src"), join(pkg, "src"), "dir");
  const exports = Object.fromEntries(codeEntries().map(([subpath, file]) => [subpath, `./src/${file}`]));
  writeFileSync(join(pkg, "package.json"), JSON.stringify({ name: "contextd", type: "module", exports }));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module", private: true }));
  return dir;
}

function runBlock(file: string, cwd: string, extraEnv: Record<string, string>): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const env = childEnv(extraEnv);
  return new Promise((done) => {
    track(
      execFile(process.execPath, [file], { cwd, env, timeout: 60_000, killSignal: "SIGKILL", maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
        done({ code: error === null ? 0 : (error.code ?? error.signal ?? "killed"), stdout, stderr });
      }),
    );
  });
}

describe("TypeScript blocks of README.md and docs/", () => {
  let diagnostics: Map<Block, string[]>;
  let built: string;
  let store: ContextStore | undefined;
  let server: RunningServer | undefined;
  let apiKey = "";
  const dirs: string[] = [];

  beforeAll(async () => {
    diagnostics = compileAll();
    built = await buildSources();
    if (BLOCKS.some((b) => b.server && b.compileOnly === null)) {
      const { key, record } = generateApiKey({ tenant: "docs", scopes: ["read", "write"] });
      apiKey = key;
      store = await openStore("in-memory:");
      server = await serve({ store, keys: createKeyRing([record]), port: 0, closeStore: false, logger: pino({ level: "silent" }) });
    }
  }, 180_000);

  afterAll(async () => {
    await server?.close();
    await store?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("are found (README.md has some)", () => {
    expect(BLOCKS.filter((b) => b.name.startsWith("README.md:")).length).toBeGreaterThan(0);
  });

  for (const block of BLOCKS) {
    const what = block.compileOnly === null ? `compiles and runs${block.server ? " against a server" : ""}` : `compiles (not run: ${block.compileOnly})`;
    it(`${block.name} ${what}`, async () => {
      expect(block.fenceError).toBeNull();
      expect(diagnostics.get(block)).toEqual([]);
      if (block.compileOnly !== null) return;
      const dir = workDir(built);
      dirs.push(dir);
      const js = ts.transpileModule(block.code, {
        fileName: "example.ts",
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
      }).outputText;
      writeFileSync(join(dir, "example.mjs"), js);
      const env: Record<string, string> = block.server ? { CONTEXTD_URL: (server as RunningServer).url, CONTEXTD_API_KEY: apiKey } : {};
      const r = await runBlock(join(dir, "example.mjs"), dir, env);
      expect({ code: r.code, stderr: r.stderr }, r.stdout).toEqual({ code: 0, stderr: "" });
    }, 90_000);
  }
});
