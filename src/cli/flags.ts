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
