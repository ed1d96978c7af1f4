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

/** Prints rows as an aligned table with a header; long cells are cut at `maxWidth`. */
export function printTable(out: Writable, columns: string[], rows: unknown[][], maxWidth = 60): void {
  const text = rows.map((r) =>
    r.map((v) => {
      const s = cell(v).replace(/\s+/g, " ");
      return s.length > maxWidth ? `${s.slice(0, maxWidth - 1)}…` : s;
    }),
  );
  const widths = columns.map((c, i) => Math.max(c.length, ...text.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  println(out, line(columns.map((c) => c.toUpperCase())));
  for (const r of text) println(out, line(r));
}

/** Prints `key: value` pairs aligned. */
export function printFields(out: Writable, fields: [string, unknown][]): void {
  const width = Math.max(...fields.map(([k]) => k.length));
  for (const [k, v] of fields) println(out, `${`${k}:`.padEnd(width + 1)} ${cell(v)}`);
}
