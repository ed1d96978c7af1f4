/**
 * Which store a CLI command acts on: a server (`--url` / `CONTEXTD_URL`, with `--api-key` /
 * `CONTEXTD_API_KEY`) or the embedded store (`--store` / `CONTEXTD_STORE`, default
 * `./.contextd/contextd.db`).
 */
import { openStore } from "../index.js";
import type { ContextStore } from "../index.js";
import { createClient } from "../client/index.js";

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
    store = await openStore(target ? { url: target, create } : { create });
  }
  const tenant = options.tenant ?? env.CONTEXTD_TENANT;
  return tenant ? store.withTenant(tenant) : store;
}
