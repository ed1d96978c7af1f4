/**
 * Progress on stderr for long commands (`import`, `memory reindex`): a cli-progress bar on a
 * terminal, plain lines elsewhere (with `--progress`).
 */
import type { Writable } from "node:stream";
import cliProgress from "cli-progress";
import { println } from "./output.js";

/** Progress of a long command, in phases, each counting up to a total of some unit. */
export interface Progress {
  /** Starts a phase at 0 of `total` `unit`. */
  phase(name: string, total: number, unit: string): void;
  /** The count of the current phase so far. */
  update(value: number): void;
  /** Ends the current phase at `value`, which becomes its total: 100%. */
  done(value: number): void;
  /** Ends the display early (on an error). */
  stop(): void;
}

/** A cli-progress bar per phase, for a terminal. */
export function barProgress(out: Writable): Progress {
  let bar: cliProgress.SingleBar | null = null;
  const stop = (): void => {
    bar?.stop();
    bar = null;
  };
  return {
    phase(name, total, unit) {
      stop();
      const format = `${name.padEnd(8)} [{bar}] {percentage}% | {value}/{total} ${unit}`;
      bar = new cliProgress.SingleBar({ format, stream: out }, cliProgress.Presets.shades_classic);
      bar.start(total, 0);
    },
    update: (value) => bar?.update(value),
    done(value) {
      bar?.setTotal(value);
      bar?.update(value);
      stop();
    },
    stop,
  };
}

/**
 * Plain lines for a log or a pipe: `import: checking 120/600 lines (20%)` (`command` first),
 * one at the start of a phase, one per 10% step and one at its end.
 */
export function textProgress(out: Writable, command: string): Progress {
  let name = "";
  let unit = "";
  let total = 0;
  let nextPercent = 0;
  let last = "";
  const show = (value: number, always: boolean): void => {
    const percent = total === 0 ? 100 : Math.floor((Math.min(value, total) * 100) / total);
    if (!always && percent < nextPercent) return;
    nextPercent = Math.floor(percent / 10) * 10 + 10;
    const text = `${command}: ${name} ${value}/${total} ${unit} (${percent}%)`;
    if (text !== last) println(out, text);
    last = text;
  };
  return {
    phase(phaseName, phaseTotal, phaseUnit) {
      [name, total, unit, nextPercent] = [phaseName, phaseTotal, phaseUnit, 0];
      show(0, true);
    },
    update: (value) => show(value, false),
    done(value) {
      total = value;
      show(value, true);
    },
    stop: () => undefined,
  };
}
