/**
 * The health report as one self-contained HTML page: inline CSS and SVG, no script, nothing
 * fetched (it opens offline and can be attached to a ticket); with the trend, a table per
 * category against the previous report and the baseline, and a sparkline of the history.
 */
import type { HealthCheck, HealthReport } from "./health-report.js";
import type { HealthTrend, RecordedHealthReport, ScoreChange } from "./health-history.js";

const esc = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** Options of {@link healthReportHtml}. */
export interface HealthReportHtmlOptions {
  /** @default "contextd health report" */
  title?: string;
  /** The trend of the report (a table: now, against the previous report and the baseline). */
  trend?: HealthTrend | undefined;
  /** Past reports, oldest first: a sparkline of the scores per category and overall. */
  history?: readonly RecordedHealthReport[] | undefined;
}

/** A line of scores 0–100 as inline SVG (no namespace URL: inline SVG in HTML needs none). */
function sparkline(scores: readonly number[]): string {
  if (scores.length === 0) return "";
  const w = 120;
  const h = 24;
  const step = scores.length === 1 ? 0 : w / (scores.length - 1);
  const points = scores.map((s, i) => `${(i * step).toFixed(1)},${(h - 1 - (Math.max(0, Math.min(100, s)) / 100) * (h - 2)).toFixed(1)}`).join(" ");
  const last = points.split(" ").at(-1) ?? "0,0";
  const [x, y] = last.split(",");
  return `<svg width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="scores ${scores.join(", ")}"><polyline fill="none" stroke="#0969da" stroke-width="1.5" points="${points}"/><circle cx="${x}" cy="${y}" r="2" fill="#0969da"/></svg>`;
}

function changeCell(c: ScoreChange | null): string {
  if (c === null) return "<td>—</td>";
  const sign = c.delta > 0 ? "+" : c.delta < 0 ? "−" : "±";
  const cls = c.direction === "improved" ? "up" : c.direction === "worse" ? "down" : "same";
  return `<td class="${cls}">${c.direction} ${sign}${Math.abs(c.delta)} (from ${c.from})</td>`;
}

function trendTable(trend: HealthTrend, history: readonly RecordedHealthReport[]): string {
  const series = (category: string | null) =>
    history.map((r) => (category === null ? r.score : r.categories.find((c) => c.category === category)?.score)).filter((s): s is number => s !== undefined);
  const row = (name: string, line: HealthTrend["overall"], category: string | null) =>
    `<tr><td>${esc(name)}</td><td>${line.score}</td>${changeCell(line.vsPrevious)}${changeCell(line.vsBaseline)}<td>${sparkline(series(category))}</td></tr>`;
  const against = [
    trend.previous === null ? "no previous report" : `previous: #${trend.previous.seq} at ${esc(trend.previous.at)}`,
    trend.baseline === null ? "no baseline" : `baseline: #${trend.baseline.seq} at ${esc(trend.baseline.at)}`,
  ].join("; ");
  return `<h2>Trend</h2>
<p>${against}${history.length > 0 ? `; ${history.length} reports in the history` : ""}</p>
<table class="trend"><thead><tr><th>category</th><th>score</th><th>vs previous</th><th>vs baseline</th><th>history</th></tr></thead><tbody>
${[row("overall", trend.overall, null), ...trend.categories.map((c) => row(c.category, c, c.category))].join("\n")}
</tbody></table>
<h2>Checks</h2>
`;
}

/** The report as one self-contained HTML page (inline CSS and SVG, no script, nothing fetched). */
export function healthReportHtml(r: HealthReport, options: string | HealthReportHtmlOptions = {}): string {
  const o = typeof options === "string" ? { title: options } : options;
  const title = o.title ?? "contextd health report";
  const trend = o.trend ?? (r as Partial<{ trend: HealthTrend }>).trend;
  const color = { pass: "#1a7f37", warn: "#9a6700", fail: "#cf222e" } as const;
  const badge = (s: HealthCheck["status"]) => `<span class="b" style="background:${color[s]}">${s}</span>`;
  const rows = r.checks
    .map((c) => `<tr><td>${esc(c.category)}</td><td>${esc(c.name)}</td><td>${badge(c.status)}</td><td>${c.score}</td><td>${esc(c.details)}</td><td>${c.fix === null ? "" : esc(c.fix)}</td></tr>`)
    .join("\n");
  const cats = r.categories.map((c) => `<li>${esc(c.category)}: ${c.score} ${badge(c.status)}</li>`).join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title>
<style>body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1f2328}h1{font-size:1.4rem}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}th{background:#f6f8fa}.b{color:#fff;border-radius:.6rem;padding:0 .5rem;font-size:.8rem}.score{font-size:2rem;font-weight:600}ul{list-style:none;padding:0;display:flex;gap:1.2rem;flex-wrap:wrap}h2{font-size:1.1rem;margin-top:1.6rem}.up{color:#1a7f37}.down{color:#cf222e}.same{color:#57606a}</style>
</head><body>
<h1>${esc(title)}</h1>
<p>${esc(r.at)} — overall <span class="score">${r.score}</span>/100 ${badge(r.status)}</p>
<ul>${cats}</ul>
${trend === undefined ? "" : trendTable(trend, o.history ?? [])}<table><thead><tr><th>category</th><th>check</th><th>status</th><th>score</th><th>details</th><th>fix</th></tr></thead><tbody>
${rows}
</tbody></table>
</body></html>
`;
}
