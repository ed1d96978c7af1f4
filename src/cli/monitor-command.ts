/**
 * `contextd monitor`: the performance monitor of a running server (`GET /v1/monitor`), live in
 * the terminal (redrawn every `--interval`), or once as a table, JSON (`--json`) or CSV (`--csv`).
 * A fresh CLI process has no history of its own, so it needs `--url`.
 */
import type { Command } from "commander";
import { ContextError, invalidInput } from "../index.js";
import type { MonitorReport } from "../index.js";
import type { GlobalOptions } from "./connect.js";
import type { CliIo } from "./output.js";
import { println } from "./output.js";
import { integerFlag } from "./flags.js";

interface MonitorFlags {
  csv?: boolean;
  once?: boolean;
  interval: string;
  last?: string;
}

async function fetchMonitor(url: string, apiKey: string | undefined, query: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(`${url.replace(/\/$/, "")}/v1/monitor${query}`, { headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {} });
  } catch (e) {
    throw new ContextError("DRIVER_UNAVAILABLE", `cannot reach ${url}: ${(e as Error).message}`, { cause: e });
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
    throw new ContextError(res.status === 403 ? "FORBIDDEN" : res.status === 401 ? "UNAUTHORIZED" : "INTERNAL", body.message ?? `server answered ${res.status}`, {
      details: { status: res.status },
    });
  }
  return res;
}

const ms = (s: number) => (s * 1000 >= 100 ? (s * 1000).toFixed(0) : (s * 1000).toFixed(2));

/** The report as text: operations, cache, resources, alerts, recommendations. */
export function formatMonitor(r: MonitorReport): string {
  const lines = [`contextd monitor  ${r.from} → ${r.to}  (windows of ${r.windowMs / 1000} s)`, ""];
  const ops = [...r.operations].filter((o) => o.layer !== "driver").sort((a, b) => b.count - a.count).slice(0, 20);
  lines.push(`${"layer".padEnd(10)}${"operation".padEnd(34)}${"count".padStart(8)}${"/s".padStart(9)}${"err%".padStart(7)}${"p50 ms".padStart(9)}${"p95 ms".padStart(9)}${"p99 ms".padStart(9)}`);
  for (const o of ops) {
    lines.push(
      `${o.layer.padEnd(10)}${o.operation.slice(0, 33).padEnd(34)}${String(o.count).padStart(8)}${o.throughput.toFixed(1).padStart(9)}${(o.errorRate * 100).toFixed(1).padStart(7)}${ms(o.p50).padStart(9)}${ms(o.p95).padStart(9)}${ms(o.p99).padStart(9)}`,
    );
  }
  if (ops.length === 0) lines.push("(no operations yet)");
  const last = r.resources.at(-1);
  if (last !== undefined) {
    const mb = (b: number | null) => (b === null ? "—" : `${(b / 1048576).toFixed(1)} MiB`);
    lines.push("", `rss ${mb(last.rssBytes)}  heap ${mb(last.heapUsedBytes)}  cpu ${(last.cpu * 100).toFixed(0)} %  event loop p99 ${ms(last.eventLoopDelayP99)} ms  db ${mb(last.databaseBytes)}  wal ${mb(last.walBytes)}`);
  }
  if (r.cache !== null) lines.push(`cache: ${r.cache.hits} hits, ${r.cache.misses} misses, ${r.cache.fallbacks} fall-backs${r.cache.hitRate === null ? "" : ` (hit rate ${(r.cache.hitRate * 100).toFixed(0)} %)`}`);
  const active = r.alerts.filter((a) => a.state !== "inactive");
  lines.push("", active.length === 0 ? `alerts: none firing (${r.alerts.length} rules)` : "alerts:");
  for (const a of active) lines.push(`  ${a.state.toUpperCase()} ${a.rule.severity} ${a.rule.name}: ${a.rule.metric} = ${a.value ?? "—"} (${a.rule.op} ${a.rule.threshold}) since ${a.since ?? "?"}`);
  for (const rec of r.recommendations) lines.push(`recommendation ${rec.code}: ${rec.reason} → ${rec.action}`);
  return lines.join("\n");
}

/** Registers `monitor`. */
export function registerMonitorCommand(program: Command, io: CliIo): void {
  program
    .command("monitor")
    .description("performance monitor of a running server (--url): live in the terminal, or --once / --json / --csv")
    .option("--csv", "print the windows as CSV (one row per window and operation) and exit")
    .option("--once", "print the report once and exit (the default when stdout is not a terminal)")
    .option("--interval <ms>", "refresh every this many ms when live", "2000")
    .option("--last <ms>", "only the windows of the last this many ms")
    .action(async (flags: MonitorFlags, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const url = global.url ?? io.env.CONTEXTD_URL;
      if (url === undefined) throw invalidInput("--url", "contextd monitor reads a running server: pass --url (or CONTEXTD_URL)");
      const apiKey = global.apiKey ?? io.env.CONTEXTD_API_KEY;
      const interval = integerFlag(flags.interval, "--interval", 100);
      if (flags.last !== undefined && !/^[1-9][0-9]{0,12}$/.test(flags.last)) throw invalidInput("--last", "must be a positive whole number of ms");
      const params = new URLSearchParams();
      if (flags.csv) params.set("format", "csv");
      if (flags.last !== undefined) params.set("lastMs", flags.last);
      const query = params.size === 0 ? "" : `?${params.toString()}`;
      const live = !flags.csv && !global.json && !flags.once && (io.stdout as { isTTY?: boolean }).isTTY === true;
      if (!live) {
        const res = await fetchMonitor(url, apiKey, query);
        if (flags.csv) io.stdout.write(await res.text());
        else if (global.json) println(io.stdout, JSON.stringify(await res.json(), null, 2));
        else println(io.stdout, formatMonitor((await res.json()) as MonitorReport));
        return;
      }
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once("SIGINT", onSignal);
      try {
        while (!stop.signal.aborted) {
          const report = (await (await fetchMonitor(url, apiKey, query)).json()) as MonitorReport;
          io.stdout.write(`\x1b[2J\x1b[H${formatMonitor(report)}\n\n(refreshing every ${interval} ms; Ctrl-C to stop)\n`);
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, interval);
            stop.signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
          });
        }
      } finally {
        process.off("SIGINT", onSignal);
      }
    });
}
