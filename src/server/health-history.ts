/**
 * The history of health reports and their trend against a baseline. A bounded ring of past
 * reports, numbered (`seq`), kept in memory and, when it has a file, in a JSON-lines file so
 * it survives a restart (the server's: `<sqlite file>.health.jsonl` beside the database, or
 * `health.historyFile`; `contextd doctor` on a SQLite store appends to the same file).
 *
 * The file: one JSON object per line, `{"seq":n,"report":{…}}` for a report and
 * `{"baseline":n}` when report n becomes the baseline (the last such line wins). Each record
 * is one `appendFileSync` of one line (O_APPEND: records of two processes never interleave
 * within a line); a line torn by a crash is skipped when read. When the file holds more than
 * `maxReports` plus a quarter, it is rewritten with the newest `maxReports` (and the baseline,
 * which is pinned) to a temporary file renamed over it, so a reader sees the old or the new
 * file, never a half. Another process's appends are picked up before each use (the file's
 * size or inode changed).
 *
 * The baseline is the first report recorded, until the operator marks another one
 * (`POST /v1/health/baseline`, `contextd doctor --save-baseline`).
 */
import { appendFileSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { ContextError } from "../index.js";
import type { HealthCategory, HealthReport } from "./health-report.js";

/** A report as the history holds it. */
export interface RecordedHealthReport extends HealthReport {
  /** Its number in the history (1, 2, …). */
  seq: number;
  /** Whether it is the baseline. */
  baseline: boolean;
}

/** How a score moved. */
export type TrendDirection = "improved" | "unchanged" | "worse";

/** A score against an earlier one. */
export interface ScoreChange {
  /** The earlier score. */
  from: number;
  /** Now minus then. */
  delta: number;
  direction: TrendDirection;
}

/** One line of the trend: the score now against the baseline and the previous report. */
export interface TrendLine {
  score: number;
  /** `null` when there is no baseline, or it has no such category. */
  vsBaseline: ScoreChange | null;
  /** `null` for the first report, or when the previous one has no such category. */
  vsPrevious: ScoreChange | null;
}

/** The trend of a report: overall and per category. */
export interface HealthTrend {
  baseline: { seq: number; at: string } | null;
  previous: { seq: number; at: string } | null;
  overall: TrendLine;
  categories: ({ category: HealthCategory } & TrendLine)[];
}

/** A recorded report with its trend (what `GET /v1/health/report` answers). */
export interface TrendedHealthReport extends RecordedHealthReport {
  trend: HealthTrend;
}

/** A page of the history, newest first. */
export interface HealthHistoryPage {
  items: RecordedHealthReport[];
  /** Pass as `before` for the next (older) page; `null` at the end. */
  next: number | null;
}

/** Options of {@link createHealthHistory}. */
export interface HealthHistoryOptions {
  /** The JSON-lines file; `null` or left out: memory only (lost on restart). */
  file?: string | null | undefined;
  /** Reports kept (the baseline is kept besides). @default 288 (a day at one per 5 min) */
  maxReports?: number | undefined;
  /** Called when the file cannot be read or written (the history goes on in memory). */
  onError?: ((error: Error) => void) | undefined;
}

/** The history (see the module docs). */
export interface HealthHistory {
  readonly file: string | null;
  readonly maxReports: number;
  /** Records a report and returns it with its trend against the baseline and the report before it. */
  record(report: HealthReport): TrendedHealthReport;
  /** The trend of a report against the baseline and the newest recorded report. */
  trend(report: HealthReport): HealthTrend;
  /**
   * A page of reports, newest first: `limit` of them (default 20) older than `before`.
   * @throws `INVALID_INPUT` for a limit outside 1–1000 or a `before` that is not a positive integer
   */
  list(options?: { limit?: number | undefined; before?: number | undefined }): HealthHistoryPage;
  /** Reports kept, oldest first (what a sparkline draws). */
  reports(): RecordedHealthReport[];
  baseline(): RecordedHealthReport | null;
  /**
   * Makes report `seq` the baseline.
   * @throws `NOT_FOUND` when the history does not hold it
   */
  setBaseline(seq: number): RecordedHealthReport;
  /**
   * Takes a report with `take` every `intervalMs` (and records it); replaces the previous
   * schedule; 0 stops it. The timer is unref()ed.
   */
  schedule(intervalMs: number, take: () => Promise<HealthReport>): void;
  /** Stops the schedule; safe to call twice. */
  close(): void;
}

const DEFAULT_MAX_REPORTS = 288;

interface Entry {
  seq: number;
  report: HealthReport;
}

function change(now: number, then: number | undefined): ScoreChange | null {
  if (then === undefined) return null;
  const delta = now - then;
  return { from: then, delta, direction: delta > 0 ? "improved" : delta < 0 ? "worse" : "unchanged" };
}

function trendOf(report: HealthReport, baseline: Entry | undefined, previous: Entry | undefined): HealthTrend {
  const scoreOf = (e: Entry | undefined, category: HealthCategory) => e?.report.categories.find((c) => c.category === category)?.score;
  return {
    baseline: baseline === undefined ? null : { seq: baseline.seq, at: baseline.report.at },
    previous: previous === undefined ? null : { seq: previous.seq, at: previous.report.at },
    overall: { score: report.score, vsBaseline: change(report.score, baseline?.report.score), vsPrevious: change(report.score, previous?.report.score) },
    categories: report.categories.map((c) => ({
      category: c.category,
      score: c.score,
      vsBaseline: change(c.score, scoreOf(baseline, c.category)),
      vsPrevious: change(c.score, scoreOf(previous, c.category)),
    })),
  };
}

function isReport(v: unknown): v is HealthReport {
  const r = v as HealthReport | null;
  return typeof r === "object" && r !== null && typeof r.at === "string" && typeof r.score === "number" && Array.isArray(r.categories) && Array.isArray(r.checks);
}

/**
 * Makes a history, reading its file when it has one (a missing file is an empty history).
 * @example
 * ```ts
 * const history = createHealthHistory({ file: "./.contextd/contextd.db.health.jsonl" });
 * const { trend } = history.record(await healthReport({ store }));
 * console.log(trend.overall.vsBaseline?.direction);
 * ```
 */
export function createHealthHistory(options: HealthHistoryOptions = {}): HealthHistory {
  const file = options.file ?? null;
  const maxReports = options.maxReports ?? DEFAULT_MAX_REPORTS;
  if (!Number.isSafeInteger(maxReports) || maxReports < 1) {
    throw new ContextError("INVALID_INPUT", `maxReports: must be a whole number ≥ 1, got ${String(maxReports)}`, { details: { field: "maxReports" } });
  }
  const slack = Math.max(4, Math.ceil(maxReports / 4));
  let entries: Entry[] = [];
  let baselineSeq: number | null = null;
  let lastSeq = 0;
  // What the file looked like after our last read or write (another process changes it).
  let seen: { size: number; ino: number } | null = null;
  let endsWithNewline = true;
  // Report lines in the file (it is rewritten when they pass maxReports + slack).
  let fileReports = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const fail = (e: unknown) => options.onError?.(e instanceof Error ? e : new Error(String(e)));

  const load = (): void => {
    if (file === null) return;
    let st;
    try {
      st = statSync(file, { throwIfNoEntry: false });
    } catch (e) {
      fail(e);
      return;
    }
    if (st === undefined) {
      // Removed: what we hold stays; the next write starts a new file.
      seen = null;
      return;
    }
    if (seen !== null && seen.size === st.size && seen.ino === st.ino) return;
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      fail(e);
      return;
    }
    const read: Entry[] = [];
    let base: number | null = null;
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch {
        continue; // torn by a crash
      }
      const o = v as { seq?: unknown; report?: unknown; baseline?: unknown };
      if (typeof o.seq === "number" && Number.isSafeInteger(o.seq) && isReport(o.report)) read.push({ seq: o.seq, report: o.report });
      else if (typeof o.baseline === "number") base = o.baseline;
    }
    read.sort((a, b) => a.seq - b.seq);
    entries = read.filter((e, i) => i === 0 || read[i - 1]?.seq !== e.seq);
    fileReports = read.length;
    baselineSeq = base;
    keep();
    lastSeq = Math.max(lastSeq, entries.at(-1)?.seq ?? 0);
    endsWithNewline = text.length === 0 || text.endsWith("\n");
    seen = { size: Buffer.byteLength(text), ino: st.ino };
  };

  const remember = (): void => {
    if (file === null) return;
    const st = statSync(file, { throwIfNoEntry: false });
    seen = st === undefined ? null : { size: st.size, ino: st.ino };
  };

  const append = (records: object[]): void => {
    if (file === null) return;
    try {
      const text = (endsWithNewline ? "" : "\n") + records.map((r) => JSON.stringify(r) + "\n").join("");
      appendFileSync(file, text, { mode: 0o600 });
      fileReports += records.filter((r) => "report" in r).length;
      endsWithNewline = true;
      remember();
    } catch (e) {
      fail(e);
    }
  };

  const baselineEntry = (): Entry | undefined => (baselineSeq === null ? undefined : entries.find((e) => e.seq === baselineSeq));

  /** Keeps the newest `maxReports` and the baseline in memory. */
  function keep(): void {
    if (entries.length <= maxReports) return;
    const base = baselineEntry();
    const kept = entries.slice(-maxReports);
    entries = base !== undefined && !kept.includes(base) ? [base, ...kept] : kept;
  }

  /** Rewrites the file atomically with what memory keeps once it holds `slack` reports too many. */
  const trim = (): void => {
    keep();
    if (file === null || fileReports <= maxReports + slack) return;
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      const lines = entries.map((e) => JSON.stringify({ seq: e.seq, report: e.report }) + "\n");
      if (baselineSeq !== null) lines.push(JSON.stringify({ baseline: baselineSeq }) + "\n");
      writeFileSync(tmp, lines.join(""), { mode: 0o600 });
      renameSync(tmp, file);
      fileReports = entries.length;
      endsWithNewline = true;
      remember();
    } catch (e) {
      fail(e);
    }
  };

  const recorded = (e: Entry): RecordedHealthReport => ({ ...e.report, seq: e.seq, baseline: e.seq === baselineSeq });

  load();

  const history: HealthHistory = {
    file,
    maxReports,
    record(report) {
      load();
      const previous = entries.at(-1);
      const entry: Entry = { seq: ++lastSeq, report };
      entries.push(entry);
      const records: object[] = [{ seq: entry.seq, report }];
      // The first report of a history is its baseline until one is marked.
      if (baselineEntry() === undefined) {
        baselineSeq = entry.seq;
        records.push({ baseline: entry.seq });
      }
      append(records);
      trim();
      return { ...recorded(entry), trend: trendOf(report, baselineEntry(), previous) };
    },
    trend(report) {
      load();
      return trendOf(report, baselineEntry(), entries.at(-1));
    },
    list(o = {}) {
      const limit = o.limit ?? 20;
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) {
        throw new ContextError("INVALID_INPUT", `limit: must be a whole number from 1 to 1000, got ${String(limit)}`, { details: { field: "limit" } });
      }
      if (o.before !== undefined && (!Number.isSafeInteger(o.before) || o.before < 1)) {
        throw new ContextError("INVALID_INPUT", `before: must be a whole number ≥ 1, got ${String(o.before)}`, { details: { field: "before" } });
      }
      load();
      const before = o.before ?? Number.POSITIVE_INFINITY;
      const older = entries.filter((e) => e.seq < before);
      const page = older.slice(-limit).reverse();
      const last = page.at(-1);
      return { items: page.map(recorded), next: older.length > limit && last !== undefined ? last.seq : null };
    },
    reports() {
      load();
      return entries.map(recorded);
    },
    baseline() {
      load();
      const e = baselineEntry();
      return e === undefined ? null : recorded(e);
    },
    setBaseline(seq) {
      load();
      const e = entries.find((x) => x.seq === seq);
      if (e === undefined) {
        throw new ContextError("NOT_FOUND", `the health history holds no report ${seq} (it keeps the newest ${maxReports})`, { details: { seq } });
      }
      baselineSeq = seq;
      append([{ baseline: seq }]);
      return recorded(e);
    },
    schedule(intervalMs, take) {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      if (closed || intervalMs <= 0) return;
      let running = false;
      timer = setInterval(() => {
        // One at a time: a slow report (a database that does not answer) is not stacked.
        if (running) return;
        running = true;
        take()
          .then((r) => {
            if (!closed) history.record(r);
          })
          .catch(fail)
          .finally(() => (running = false));
      }, intervalMs);
      timer.unref();
    },
    close() {
      closed = true;
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
  return history;
}

/**
 * Where the history of a store's health lives by default: beside a SQLite file
 * (`<file>.health.jsonl`); `null` (memory only) for other stores. `details` is what
 * `store.health()` answered.
 */
export function defaultHealthHistoryFile(health: { driver: string; details: Record<string, unknown> }): string | null {
  const path = health.details["path"];
  if (!health.driver.startsWith("sqlite") || typeof path !== "string" || path === "" || path === ":memory:") return null;
  return `${path}.health.jsonl`;
}
