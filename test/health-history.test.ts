/**
 * The health history end to end: a real `contextd serve` on a SQLite file keeps its reports
 * beside the file, a restarted server lists them and measures the trend against them, and
 * `contextd doctor --report` on the same file records into the same history.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { HealthHistoryPage, TrendedHealthReport } from "../src/server/index.js";
import { runCliProcess, startServerProcess } from "./helpers/cli-process.js";

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "contextd-health-e2e-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function get<T>(url: string): Promise<T> {
  const res = await fetch(url);
  expect(res.status, url).toBe(200);
  return (await res.json()) as T;
}

it("the history survives a restart of the server, and doctor on the same SQLite file adds to it", async () => {
  const db = join(dir, "s.db");
  const file = `${db}.health.jsonl`;
  const args = ["--store", `sqlite:${db}`, "--embedder", "none", "--log-level", "warn"];
  // No periodic reports: only the ones asked for, so the numbering is known.
  const env = { CONTEXTD_HEALTH_INTERVAL_MS: "0" };

  const first = await startServerProcess(args, env);
  try {
    expect((await get<TrendedHealthReport>(`${first.url}/v1/health/report`)).seq).toBe(1);
    expect((await get<TrendedHealthReport>(`${first.url}/v1/health/report`)).trend.previous?.seq).toBe(1);
  } finally {
    expect(await first.stop()).toBe(0);
  }
  expect(existsSync(file)).toBe(true);

  const second = await startServerProcess(args, env);
  try {
    const page = await get<HealthHistoryPage & { baseline: number }>(`${second.url}/v1/health/history`);
    expect(page.items.map((r) => r.seq)).toEqual([2, 1]);
    expect(page.baseline).toBe(1);
    const report = await get<TrendedHealthReport>(`${second.url}/v1/health/report`);
    expect(report).toMatchObject({ seq: 3, trend: { previous: { seq: 2 }, baseline: { seq: 1 } } });
    expect(report.trend.overall.vsPrevious?.direction).toMatch(/^(improved|unchanged|worse)$/);
  } finally {
    expect(await second.stop()).toBe(0);
  }

  // The doctor, embedded on the same file: report 4, with its trend against report 3 and the
  // baseline so far (1), then saved as the new baseline.
  const html = join(dir, "report.html");
  const doctor = await runCliProcess(["--store", `sqlite:${db}`, "doctor", "--save-baseline", "--html", html]);
  expect(doctor.stdout).toMatch(/^trend {2}report #4 \(saved as the baseline\); vs previous: (improved|unchanged|worse) .*\(from \d+\); vs baseline #1: /m);
  expect(doctor.stdout).toContain(`history ${file}`);
  const lines = readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { seq?: number; baseline?: number });
  expect(lines.filter((l) => l.seq !== undefined).map((l) => l.seq)).toEqual([1, 2, 3, 4]);
  expect(lines.at(-1)).toEqual({ baseline: 4 });
  const page = readFileSync(html, "utf8");
  expect(page).toContain("<h2>Trend</h2>");
  expect(page).toContain('aria-label="scores ');
  expect(page).not.toMatch(/<script|<link|src=|href=|https?:\/\//i);
}, 120_000);
