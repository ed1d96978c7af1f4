/**
 * Node's built-in modules, reached without importing them. The HTTP client and the agent
 * layer are what a browser bundle holds, and a bundler cannot resolve a `node:` import for a
 * browser; so they ask `process.getBuiltinModule` (Node ≥ 20.16) at the moment they need a
 * built-in, and do without it where there is none.
 */
import type { setMaxListeners } from "node:events";
import type { createRequire } from "node:module";

interface MaybeNode {
  process?: { getBuiltinModule?: NodeJS.Process["getBuiltinModule"] };
}

const node = (): MaybeNode["process"] => (globalThis as MaybeNode).process;

/** `node:events` on Node; `undefined` elsewhere (a browser). */
export function nodeEvents(): { setMaxListeners: typeof setMaxListeners } | undefined {
  return node()?.getBuiltinModule?.("node:events");
}

/** `node:module` on Node; `undefined` elsewhere (a browser). */
export function nodeModule(): { createRequire: typeof createRequire } | undefined {
  return node()?.getBuiltinModule?.("node:module");
}
