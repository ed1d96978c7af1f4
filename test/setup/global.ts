/**
 * Once per run (vitest `globalSetup`): names the run, so every process a test starts carries
 * `CONTEXTD_TEST_CHILD=<run>` (test/helpers/children.ts); at the end (also after an
 * interrupted or failed run) kills any such process still alive and says so.
 */
import { randomBytes } from "node:crypto";
import { survivors } from "./survivors.js";

export default function setup(): () => void {
  process.env.CONTEXTD_TEST_RUN ??= `vitest-${process.pid}-${randomBytes(4).toString("hex")}`;
  const run = process.env.CONTEXTD_TEST_RUN;
  return () => {
    const left = survivors(run);
    for (const p of left) {
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {
        // Gone meanwhile.
      }
    }
    if (left.length > 0) {
      process.stderr.write(`test run ${run}: killed ${left.length} process(es) a test left running:\n${left.map((p) => `  ${p.pid} ${p.args}`).join("\n")}\n`);
    }
  };
}
