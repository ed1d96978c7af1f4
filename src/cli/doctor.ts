/**
 * `contextd doctor`: checks the Node version, the store (or server), the keys file and the
 * data directory, and says what is wrong and how to fix it.
 */
import { accessSync, constants, existsSync, statSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { ContextError, invalidInput, isContextError, parseSetting, SETTINGS } from "../index.js";
import type { ContextErrorCode } from "../index.js";
import { createHealthHistory, defaultHealthHistoryFile, healthReport, healthReportHtml, readKeysFile } from "../server/index.js";
import type { HealthHistoryPage, RecordedHealthReport, ScoreChange, TrendedHealthReport } from "../server/index.js";
import type { GlobalOptions } from "./connect.js";
import { connect, describeTarget } from "./connect.js";
import { defaultKeysFile } from "./keys-command.js";
import type { CliIo } from "./output.js";
import { printJson, println } from "./output.js";

/** One finding. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

function nodeCheck(): Check {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  const ok = major > 20 || (major === 20 && minor >= 19);
  return ok
    ? { name: "node", ok, detail: `Node ${process.versions.node}` }
    : { name: "node", ok, detail: `Node ${process.versions.node} is too old`, fix: "install Node 20.19 or newer" };
}

async function storeCheck(options: GlobalOptions, env: NodeJS.ProcessEnv): Promise<Check> {
  const target = describeTarget(options, env);
  let store;
  try {
    // A check only reads: it never creates the store it checks.
    store = await connect(options, env, "read");
    const health = await store.health({ signal: AbortSignal.timeout(10_000) });
    await store.listContexts({ limit: 1 });
    return health.ok
      ? { name: "store", ok: true, detail: `${target}: ${health.driver}, ${health.latencyMs.toFixed(1)} ms, tenant ${store.tenant}` }
      : { name: "store", ok: false, detail: `${target}: ${health.driver} reports not ok ${JSON.stringify(health.details)}`, fix: "check that the backend is running" };
  } catch (e) {
    const code = isContextError(e) ? e.code : "ERROR";
    const message = e instanceof Error ? e.message : String(e);
    if (code === "NOT_FOUND" && isContextError(e) && typeof e.details.path === "string") {
      return { name: "store", ok: true, detail: `${target}: no store yet at ${e.details.path}; the first command that writes creates it` };
    }
    const fixes: Record<string, string> = {
      UNAUTHORIZED: "pass a valid key with --api-key or CONTEXTD_API_KEY (contextd keys create on the server)",
      FORBIDDEN: "this key lacks a scope or is bound to another tenant; create one with the right --tenant/--scope",
      DRIVER_UNAVAILABLE: "start the server or database, or fix --url / --store",
      STORE_INCOMPATIBLE: "this file is not a contextd store or is from a newer version; point --store elsewhere or upgrade",
      CORRUPT: "restore the database from a backup (contextd export/import) or point --store at a new file",
      INVALID_INPUT: "fix the store URL: in-memory:, sqlite:./path.db or postgres://…",
    };
    return { name: "store", ok: false, detail: `${target}: ${code}: ${message}`, fix: fixes[code] ?? "see the message above" };
  } finally {
    await store?.close();
  }
}

async function keysCheck(env: NodeJS.ProcessEnv): Promise<Check> {
  const path = defaultKeysFile(env);
  if (!existsSync(path)) {
    return { name: "keys", ok: true, detail: `no keys file at ${path}: serve runs without auth, on loopback only` };
  }
  try {
    const file = await readKeysFile(path);
    const active = file.keys.filter((k) => k.revokedAt === null).length;
    const mode = statSync(path).mode & 0o077;
    if (mode !== 0 && process.platform !== "win32") {
      return { name: "keys", ok: false, detail: `${path} is readable by other users`, fix: `chmod 600 ${path}` };
    }
    return { name: "keys", ok: true, detail: `${path}: ${active} active key(s) of ${file.keys.length}` };
  } catch (e) {
    return { name: "keys", ok: false, detail: `${path}: ${e instanceof Error ? e.message : String(e)}`, fix: "fix or remove the keys file, then recreate keys" };
  }
}

function dataDirCheck(options: GlobalOptions, env: NodeJS.ProcessEnv): Check | null {
  const target = options.url ?? env.CONTEXTD_URL ? null : (options.store ?? env.CONTEXTD_STORE ?? "sqlite:./.contextd/contextd.db");
  if (target === null || !target.startsWith("sqlite:") || target.includes(":memory:")) return null;
  const dir = resolve(dirname(target.slice("sqlite:".length).split("?")[0] ?? "."));
  // Nothing is created: a missing directory is fine when its nearest existing parent is writable.
  let existing = dir;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  try {
    accessSync(existing, constants.W_OK);
    return { name: "data dir", ok: true, detail: existing === dir ? `${dir} is writable` : `${dir} will be created (${existing} is writable)` };
  } catch {
    return { name: "data dir", ok: false, detail: `${dir} is not writable`, fix: `make ${dir} writable or choose another --store path` };
  }
}

/** Runs every check. */
export async function runDoctor(options: GlobalOptions, env: NodeJS.ProcessEnv): Promise<Check[]> {
  const checks = [nodeCheck()];
  const dir = dataDirCheck(options, env);
  if (dir) checks.push(dir);
  checks.push(await storeCheck(options, env));
  checks.push(await keysCheck(env));
  return checks;
}

/** A report with its trend and the history it belongs to (oldest first). */
interface DoctorReport {
  report: TrendedHealthReport;
  history: RecordedHealthReport[];
  /** Where the history lives (`null`: memory only, or the server's). */
  file: string | null;
}

async function serverCall<T>(url: string, path: string, apiKey: string | undefined, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`${url.replace(/\/$/, "")}${path}`, {
    ...init,
    headers: { ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}), ...(init.body !== undefined && { "content-type": "application/json" }) },
  }).catch((e: unknown) => {
    throw new ContextError("DRIVER_UNAVAILABLE", `cannot reach ${url}: ${(e as Error).message}`, { cause: e });
  });
  const body = (await res.json()) as T & { code?: ContextErrorCode; message?: string };
  if (!res.ok) throw new ContextError(body.code ?? "INTERNAL", body.message ?? `server answered ${res.status}`);
  return body;
}

/**
 * The health report of the server (`GET /v1/health/report`, admin key: the server records it
 * in its history) or of the embedded store (computed here: system, memory, storage and backend
 * checks), recorded in the history beside a SQLite file (`<file>.health.jsonl`, the one `serve`
 * keeps for that file). `saveBaseline`: the report becomes the baseline.
 */
async function fetchHealthReport(options: GlobalOptions, env: NodeJS.ProcessEnv, saveBaseline: boolean, warn: (line: string) => void): Promise<DoctorReport> {
  const url = options.url ?? env.CONTEXTD_URL;
  if (url === undefined) {
    const store = await connect(options, env, "read");
    try {
      const report = await healthReport({ store });
      const file = env.CONTEXTD_HEALTH_HISTORY_FILE ?? defaultHealthHistoryFile(await store.health({ signal: AbortSignal.timeout(10_000) }));
      // The server's bound, when set in the environment: a smaller one here would trim its file.
      const size = SETTINGS.find((s) => s.key === "health.historySize");
      const parsed = size === undefined || env.CONTEXTD_HEALTH_HISTORY_SIZE === undefined ? null : parseSetting(size, env.CONTEXTD_HEALTH_HISTORY_SIZE, true);
      if (parsed !== null && !parsed.ok) throw invalidInput("CONTEXTD_HEALTH_HISTORY_SIZE", parsed.issue);
      const history = createHealthHistory({ file, ...(parsed?.ok === true && { maxReports: parsed.value as number }), onError: (e) => warn(`health history ${file}: ${e.message} (kept in memory only)`) });
      const recorded = history.record(report);
      if (saveBaseline) Object.assign(recorded, history.setBaseline(recorded.seq));
      return { report: recorded, history: history.reports(), file };
    } finally {
      await store.close();
    }
  }
  const apiKey = options.apiKey ?? env.CONTEXTD_API_KEY;
  const report = await serverCall<TrendedHealthReport>(url, "/v1/health/report", apiKey);
  if (saveBaseline) Object.assign(report, await serverCall<RecordedHealthReport>(url, "/v1/health/baseline", apiKey, { method: "POST", body: JSON.stringify({ seq: report.seq }) }));
  const page = await serverCall<HealthHistoryPage>(url, "/v1/health/history?limit=200", apiKey);
  return { report, history: page.items.reverse(), file: null };
}

function describeChange(c: ScoreChange | null): string {
  if (c === null) return "—";
  return `${c.direction} ${c.delta > 0 ? "+" : ""}${c.delta} (from ${c.from})`;
}

/** Registers `doctor`. */
export function registerDoctorCommand(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  program
    .command("doctor")
    .description("check the store, server, keys and environment; say what is wrong and how to fix it")
    .option("--html <file>", "also write the health report (checks by category, scores, fixes) as a self-contained HTML page")
    .option("--report", "print the health report (checks by category with scores) instead of the quick checks")
    .option("--save-baseline", "record this health report as the baseline its trend is measured against (implies --report)")
    .action(async (o: { html?: string; report?: boolean; saveBaseline?: boolean }, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions>();
      const saveBaseline = o.saveBaseline === true;
      if (o.html !== undefined || o.report === true || saveBaseline) {
        const { report, history, file } = await fetchHealthReport(options, io.env, saveBaseline, (line) => println(io.stderr, line));
        if (o.html !== undefined) {
          writeFileSync(o.html, healthReportHtml(report, { history }));
          println(io.stderr, `wrote ${resolve(o.html)} (score ${report.score}/100, ${report.status})`);
        }
        if (options.json) printJson(io.stdout, report);
        else {
          println(io.stdout, `health ${report.score}/100 ${report.status}`);
          const t = report.trend;
          println(
            io.stdout,
            `trend  report #${report.seq}${saveBaseline ? " (saved as the baseline)" : report.baseline ? " (the baseline)" : ""}; vs previous: ${describeChange(t.overall.vsPrevious)}; vs baseline${t.baseline === null ? "" : ` #${t.baseline.seq}`}: ${describeChange(t.overall.vsBaseline)}` +
              (file === null ? "" : `; history ${file}`),
          );
          for (const c of t.categories) {
            if (c.vsPrevious?.direction === "worse" || c.vsBaseline?.direction === "worse") {
              println(io.stdout, `       ${c.category.padEnd(13)}  ${c.score}: vs previous ${describeChange(c.vsPrevious)}, vs baseline ${describeChange(c.vsBaseline)}`);
            }
          }
          for (const c of report.checks) {
            println(io.stdout, `${c.status.padEnd(4)}  ${c.category.padEnd(13)}  ${c.name.padEnd(16)}  ${c.details}`);
            if (c.fix !== null) println(io.stdout, `      fix: ${c.fix}`);
          }
        }
        if (report.status === "fail") setExitCode(1);
        return;
      }
      const checks = await runDoctor(options, io.env);
      if (options.json) printJson(io.stdout, checks);
      else {
        for (const c of checks) {
          println(io.stdout, `${c.ok ? "ok  " : "FAIL"}  ${c.name.padEnd(8)}  ${c.detail}`);
          if (!c.ok && c.fix) println(io.stdout, `            fix: ${c.fix}`);
        }
      }
      if (checks.some((c) => !c.ok)) setExitCode(1);
    });
}
