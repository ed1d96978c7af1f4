/**
 * The processes of a test run still alive: those whose environment carries the run's marker
 * (read from /proc, so Linux only; elsewhere the list is empty).
 */
import { readFileSync, readdirSync } from "node:fs";

/** A process that carries the run marker. */
export interface Survivor {
  pid: number;
  args: string;
}

export function survivors(run: string): Survivor[] {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const marker = `CONTEXTD_TEST_CHILD=${run}`;
  const out: Survivor[] = [];
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, "latin1").split("\0");
      if (!environ.includes(marker)) continue;
      const args = readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").join(" ").trim();
      out.push({ pid: Number(pid), args });
    } catch {
      // Exited meanwhile, or not ours to read.
    }
  }
  return out;
}
