/**
 * Which store a CLI command acts on: a server (`--url` / `CONTEXTD_URL`, with `--api-key` /
 * `CONTEXTD_API_KEY`) or the embedded store (`--store` / `CONTEXTD_STORE`, default
 * `./.contextd/contextd.db`; its embedding model from `CONTEXTD_EMBEDDER`, default `use`).
 */
import { openStore } from "../index.js";
import type { ContextStore } from "../index.js";
import { createClient } from "../client/index.js";
import { embedderOption } from "./serve-command.js";

/** The global options every command accepts. */
export interface GlobalOptions {
  store?: string;
  url?: string;
  apiKey?: string;
  tenant?: string;
  json?: boolean;
}

/** Where the options point, for messages. */
export function describeTarget(options: GlobalOptions, env: NodeJS.ProcessEnv): string {
  const url = options.url ?? env.CONTEXTD_URL;
  if (url) return `server ${url}`;
  return `store ${options.store ?? env.CONTEXTD_STORE ?? "sqlite:./.contextd/contextd.db (default)"}`;
}

/**
 * Opens the store the options name. The caller closes it. With `access: "read"` a missing
 * embedded store is `NOT_FOUND` naming the path, and nothing is created.
 */
export async function connect(options: GlobalOptions, env: NodeJS.ProcessEnv, access: "read" | "write" = "write"): Promise<ContextStore> {
  const url = options.url ?? env.CONTEXTD_URL;
  let store: ContextStore;
  if (url) {
    const apiKey = options.apiKey ?? env.CONTEXTD_API_KEY;
    store = createClient({ url, ...(apiKey ? { apiKey } : {}) });
  } else {
    const target = options.store ?? env.CONTEXTD_STORE;
    const create = access === "write";
    // The embedding model of long-term memory: the default one (USE), or CONTEXTD_EMBEDDER's
    // (the same variable `serve` reads), so the CLI embeds as the server of the same store does.
    const embedder = env.CONTEXTD_EMBEDDER === undefined ? {} : { embedder: embedderOption(env.CONTEXTD_EMBEDDER, env) };
    store = await openStore(target ? { url: target, create, ...embedder } : { create, ...embedder });
  }
  const tenant = options.tenant ?? env.CONTEXTD_TENANT;
  return tenant ? store.withTenant(tenant) : store;
}
