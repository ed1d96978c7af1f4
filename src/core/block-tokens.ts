/**
 * Token counts of block values for token limits: the o200k_base encoding (GPT-4o, GPT-4.1,
 * GPT-5, o-series), the agent layer's default (`agent/tokens.ts`), loaded on the first count
 * from gpt-tokenizer's CommonJS build so that importing the engine reads no rank table.
 */
import { createRequire } from "node:module";

interface Encoder {
  countTokens(text: string, options?: { disallowedSpecial?: Set<string> }): number;
}

let encoder: Encoder | undefined;
// Special-token strings in a value are text, not an error (gpt-tokenizer's default throws).
const PLAIN_TEXT = Object.freeze({ disallowedSpecial: new Set<string>() });

/** The encoding token limits count with. */
export const BLOCK_TOKEN_ENCODING = "o200k_base";

/** The o200k_base tokens of `text`, as `agent/tokens.ts` counts them (special tokens as text). */
export function countBlockTokens(text: string): number {
  if (text.length === 0) return 0;
  encoder ??= createRequire(import.meta.url)("gpt-tokenizer/cjs/encoding/o200k_base") as Encoder;
  return encoder.countTokens(text, PLAIN_TEXT);
}
