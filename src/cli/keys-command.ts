/**
 * `contextd keys create|list|revoke`: API keys in the keys file (hashed; a new key's secret
 * is printed once).
 */
import type { Command } from "commander";
import { ContextError } from "../index.js";
import { API_KEY_SCOPES, createApiKey, listApiKeys, revokeApiKey } from "../server/index.js";
import type { ApiKeyScope } from "../server/index.js";
import type { CliIo } from "./output.js";
import { printJson, printTable, println } from "./output.js";

/** The keys file the CLI uses unless told otherwise. */
export function defaultKeysFile(env: NodeJS.ProcessEnv): string {
  return env.CONTEXTD_KEYS ?? "./.contextd/keys.json";
}

function parseScopes(text: string): ApiKeyScope[] {
  const scopes = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  for (const s of scopes) {
    if (!API_KEY_SCOPES.includes(s as ApiKeyScope)) {
      throw new ContextError("INVALID_INPUT", `unknown scope ${JSON.stringify(s)}: use ${API_KEY_SCOPES.join(", ")}`);
    }
  }
  return scopes as ApiKeyScope[];
}

/** Registers the `keys` command group. */
export function registerKeysCommand(program: Command, io: CliIo, json: () => boolean): void {
  const keys = program.command("keys").description("manage API keys (stored hashed in the keys file)");
  keys
    .command("create")
    .description("create an API key bound to a tenant; the key is shown once")
    .option("--tenant <tenant>", "the tenant the key acts in ('*' with admin: any tenant); required")
    .option("--scope <scopes>", "comma-separated: read, write, admin, metrics (scraping only)", "read,write")
    .option("--label <label>", "a note to recognise the key by")
    .option("--keys <file>", "the keys file", defaultKeysFile(io.env))
    .action(async (o: { scope: string; label?: string; keys: string }, command: Command) => {
      // --tenant is also a global option; commander hands it to the program.
      const tenant = command.optsWithGlobals<{ tenant?: string }>().tenant;
      if (tenant === undefined) throw new ContextError("INVALID_INPUT", "keys create needs --tenant <tenant>");
      const { key, record } = await createApiKey(o.keys, { tenant, scopes: parseScopes(o.scope), label: o.label ?? null });
      if (json()) return printJson(io.stdout, { key, id: record.id, tenant: record.tenant, scopes: record.scopes, file: o.keys });
      println(io.stdout, key);
      println(io.stderr, `created key ${record.id} for tenant ${record.tenant} (${record.scopes.join(",")}) in ${o.keys}; store it now, it is not shown again`);
      // Said here because nothing else would: from now on a plain `contextd serve` (npm start) loads this file.
      const serveFlag = o.keys === defaultKeysFile(io.env) ? "" : ` --keys ${o.keys}`;
      println(
        io.stderr,
        `note: \`contextd serve${serveFlag}\` now requires an API key on every request (Authorization: Bearer <key>); a server already using ${o.keys} picks the change up within a second`,
      );
    });
  keys
    .command("list")
    .description("list keys (ids, tenants, scopes; never the secrets)")
    .option("--keys <file>", "the keys file", defaultKeysFile(io.env))
    .action(async (o: { keys: string }) => {
      const list = await listApiKeys(o.keys);
      if (json()) return printJson(io.stdout, list.map(({ hash: _hash, ...rest }) => rest));
      printTable(
        io.stdout,
        ["id", "tenant", "scopes", "label", "created", "revoked"],
        list.map((k) => [k.id, k.tenant, k.scopes.join(","), k.label, k.createdAt, k.revokedAt]),
      );
    });
  keys
    .command("revoke <id>")
    .description("revoke a key by id (a running server stops accepting it within a second)")
    .option("--keys <file>", "the keys file", defaultKeysFile(io.env))
    .action(async (id: string, o: { keys: string }) => {
      const record = await revokeApiKey(o.keys, id);
      if (json()) return printJson(io.stdout, { id: record.id, revokedAt: record.revokedAt });
      println(io.stdout, `revoked ${record.id}`);
    });
}
