#!/usr/bin/env node
// Imports one module and prints, as JSON, every module that import loaded:
//
//   node scripts/import-trace.mjs <path or URL>
//   → { "modules": [{ "url", "parent" }], "commonjs": [path], "addons": [path] }
//
// `modules` are the ES modules and built-ins resolved during the import (recorded by a resolve
// hook, with the module that asked for each), `commonjs` the files in require's cache after it
// (on Node 20 a CommonJS module's own require() passes no hook), `addons` the native `.node`
// files opened (process.dlopen). The test of the light client and the client benchmark use it.
import { createRequire, register } from "node:module";
import { pathToFileURL } from "node:url";
import { MessageChannel } from "node:worker_threads";

const target = process.argv[2];
if (target === undefined) {
  process.stderr.write("usage: node scripts/import-trace.mjs <path or URL>\n");
  process.exit(2);
}

const hooks = `data:text/javascript,${encodeURIComponent(`
let port;
export function initialize(data) {
  port = data.port;
  port.on("message", (m) => port.postMessage({ flushed: m }));
}
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  port.postMessage({ url: result.url, parent: context.parentURL ?? null });
  return result;
}`)}`;

const { port1, port2 } = new MessageChannel();
const modules = [];
const seen = new Set();
let flushed;
const drained = new Promise((resolve) => (flushed = resolve));
port1.on("message", (m) => {
  if ("flushed" in m) flushed();
  else if (!seen.has(m.url)) {
    seen.add(m.url);
    modules.push(m);
  }
});
register(hooks, { data: { port: port2 }, transferList: [port2] });

const addons = [];
const dlopen = process.dlopen;
process.dlopen = function traced(module, filename, ...rest) {
  addons.push(filename);
  return dlopen.call(this, module, filename, ...rest);
};

await import(/^[a-z]+:/.test(target) ? target : pathToFileURL(target).href);
// Messages from the hooks thread arrive in order: once the flush answer is here, all are.
port1.postMessage("flush");
await drained;
port1.close();
const commonjs = Object.keys(createRequire(import.meta.url).cache);
process.stdout.write(`${JSON.stringify({ modules, commonjs, addons })}\n`);
