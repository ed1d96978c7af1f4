/**
 * Values of command-line flags that the commands of several areas parse alike.
 */
import { invalidInput } from "../index.js";
import type { JsonValue } from "../index.js";

/** The JSON a flag holds. @throws `INVALID_INPUT` naming the flag, with the text's start */
export function jsonFlag(text: string, flag: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    throw invalidInput(flag, `must be JSON, got ${JSON.stringify(text.slice(0, 40))}`);
  }
}

/**
 * A whole-number flag, written in decimal digits only: `Number()` alone would take `""` and
 * `" "` as 0, `"1e3"` as 1000 and `"0x10"` as 16. @throws `INVALID_INPUT` naming the flag
 */
export function integerFlag(text: string, flag: string, min = 0): number {
  const n = Number(text);
  if (!/^[0-9]{1,15}$/.test(text) || n < min) throw invalidInput(flag, `must be a whole number of at least ${min} in decimal digits, got ${JSON.stringify(text)}`);
  return n;
}
