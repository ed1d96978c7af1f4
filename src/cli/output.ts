/**
 * How the CLI prints: readable tables for people, JSON for machines (`--json`).
 */
import type { Writable } from "node:stream";

/** Where the CLI writes. */
export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  /** Read a file argument or stdin. */
  env: NodeJS.ProcessEnv;
}

/** Writes a line. */
export function println(out: Writable, text = ""): void {
  out.write(`${text}\n`);
}

/** Writes a value as pretty JSON. */
export function printJson(out: Writable, value: unknown): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return "-";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

/** The column widths of a printed table, to print later rows in line with it ({@link printRow}). */
export interface TableLayout {
  widths: number[];
  maxWidth: number;
}

function cells(row: unknown[], maxWidth: number): string[] {
  return row.map((v) => {
    const s = cell(v).replace(/\s+/g, " ");
    return s.length > maxWidth ? `${s.slice(0, maxWidth - 1)}…` : s;
  });
}

function line(texts: string[], widths: number[]): string {
  return texts
    .map((c, i) => c.padEnd(widths[i] ?? 0))
    .join("  ")
    .trimEnd();
}

/**
 * Prints rows as an aligned table with a header; long cells are cut at `maxWidth`. Returns its
 * layout; `minWidths` reserve room for rows printed later ({@link printRow}).
 */
export function printTable(out: Writable, columns: string[], rows: unknown[][], maxWidth = 60, minWidths: number[] = []): TableLayout {
  const text = rows.map((r) => cells(r, maxWidth));
  const widths = columns.map((c, i) => Math.max(c.length, minWidths[i] ?? 0, ...text.map((r) => (r[i] ?? "").length)));
  println(out, line(columns.map((c) => c.toUpperCase()), widths));
  for (const r of text) println(out, line(r, widths));
  return { widths, maxWidth };
}

/** Prints one more row of a table printed before, in its columns and with the same cell format. */
export function printRow(out: Writable, layout: TableLayout, row: unknown[]): void {
  println(out, line(cells(row, layout.maxWidth), layout.widths));
}

/** Prints `key: value` pairs aligned. */
export function printFields(out: Writable, fields: [string, unknown][]): void {
  const width = Math.max(...fields.map(([k]) => k.length));
  for (const [k, v] of fields) println(out, `${`${k}:`.padEnd(width + 1)} ${cell(v)}`);
}
