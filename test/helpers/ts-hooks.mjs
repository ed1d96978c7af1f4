// Module hooks that let plain `node` run the TypeScript sources (for child-process tests on a
// fresh clone, without a build): `./x.js` resolves to `./x.ts` when only the .ts exists, and
// .ts files are transpiled with the TypeScript compiler already in devDependencies.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

// Transpiled files are cached by content, so only the first start pays for TypeScript.
const cacheDir = join(tmpdir(), "contextd-ts-cache");
mkdirSync(cacheDir, { recursive: true });
let ts;

export async function resolve(specifier, context, next) {
  if ((specifier.startsWith(".") || specifier.startsWith("file:")) && specifier.endsWith(".js") && context.parentURL?.startsWith("file:")) {
    const url = new URL(specifier, context.parentURL);
    if (!existsSync(fileURLToPath(url))) {
      const tsUrl = new URL(url.href.replace(/\.js$/, ".ts"));
      if (existsSync(fileURLToPath(tsUrl))) return { url: tsUrl.href, shortCircuit: true, format: "module" };
    }
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (url.startsWith("file:") && url.endsWith(".ts")) {
    const source = await readFile(fileURLToPath(url), "utf8");
    const cached = join(cacheDir, `${createHash("sha1").update(url).update("\0").update(source).digest("hex")}.mjs`);
    try {
      return { format: "module", source: await readFile(cached, "utf8"), shortCircuit: true };
    } catch {
      // not cached yet
    }
    ts ??= (await import("typescript")).default;
    const { outputText } = ts.transpileModule(source, {
      fileName: fileURLToPath(url),
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
        sourceMap: false,
        inlineSourceMap: true,
      },
    });
    const tmp = `${cached}.${process.pid}.tmp`;
    await writeFile(tmp, outputText);
    await rename(tmp, cached);
    return { format: "module", source: outputText, shortCircuit: true };
  }
  return next(url, context);
}
