/**
 * Tokens of chat messages as the provider counts them, and the tokenizer of a model.
 *
 * The rule (OpenAI cookbook, "How to count tokens with tiktoken", `num_tokens_from_messages`
 * for gpt-3.5-turbo-0613, gpt-4 and gpt-4o): every message costs 3 tokens
 * (`<|start|>{role}<|message|>…<|end|>`) plus the tokens of each of its string fields — the
 * role and the content included — plus 1 more when it has a `name`; every reply is primed with
 * `<|start|>assistant<|message|>`, 3 tokens, once per request. The cookbook checks it against
 * the `prompt_tokens` the API reports (its example: 129 tokens with gpt-4, 124 with gpt-4o;
 * chat-tokens.test.ts reproduces both). Beyond the cookbook, which does not cover them, an
 * assistant's tool calls count the string fields of each call (id, `"function"`, name,
 * arguments) and a tool message its `tool_call_id`, as the cookbook's loop counts every string
 * field: an estimate for those messages, exact for the others.
 */
import { invalidInput } from "../errors.js";
import type { PromptMessage } from "./prompt-types.js";
import { resolveEncoding, type TokenEncoding, type Tokenizer } from "./tokens.js";

/** Tokens every message costs besides its fields. */
export const TOKENS_PER_MESSAGE = 3;
/** Tokens a `name` field costs besides its text. */
export const TOKENS_PER_NAME = 1;
/** Tokens priming the reply, once per request. */
export const REPLY_PRIMING_TOKENS = 3;

// Prefix → encoding, longest prefixes first where they overlap (gpt-4o before gpt-4).
const MODEL_ENCODINGS: readonly [RegExp, TokenEncoding][] = [
  [/^(gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-oss|o1|o3|o4)(\b|[-_.:]|$)/, "o200k_base"],
  [/^(gpt-4|gpt-3\.5|gpt-35|text-embedding-3|text-embedding-ada-002)(\b|[-_.:]|$)/, "cl100k_base"],
];

/**
 * The encoding of an OpenAI model by its name: `gpt-4o`, `gpt-4.1`, `gpt-4.5`, `gpt-5`, `o1`,
 * `o3`, `o4-mini` → o200k_base; `gpt-4`, `gpt-4-turbo`, `gpt-3.5-turbo` → cl100k_base. A
 * provider prefix (`openai/gpt-4o`) and a dated suffix (`gpt-4o-2024-08-06`) are allowed.
 *
 * @throws `INVALID_INPUT` for a model whose tokenizer contextd does not know (pass `encoding`)
 */
export function encodingForModel(model: string): TokenEncoding {
  const name = model.trim().toLowerCase().replace(/^openai\//, "");
  for (const [pattern, encoding] of MODEL_ENCODINGS) if (pattern.test(name)) return encoding;
  throw invalidInput("model", `no known tokenizer for ${JSON.stringify(model)}; pass encoding (one of o200k_base, cl100k_base) to count with one`);
}

/** The encoding a window counts with: `encoding` if given, else the model's, else o200k. */
export function windowEncoding(model: string | undefined, encoding: string | undefined): TokenEncoding {
  if (encoding !== undefined) return resolveEncoding(encoding);
  if (model !== undefined) return encodingForModel(model);
  return resolveEncoding(undefined);
}

/** Tokens of one message by the rule above (without the reply priming). */
export function countChatMessage(tokenizer: Tokenizer, message: PromptMessage): number {
  const t = (s: string) => tokenizer.countText(s);
  let n = TOKENS_PER_MESSAGE + t(message.role) + t(message.content);
  if (message.role !== "tool" && message.name !== undefined) n += t(message.name) + TOKENS_PER_NAME;
  if (message.role === "assistant" && message.toolCalls !== undefined) {
    for (const c of message.toolCalls) n += t(c.id) + t("function") + t(c.name) + t(c.arguments);
  }
  if (message.role === "tool") n += t(message.toolCallId);
  return n;
}

/**
 * Tokens of a request's messages as the provider counts them: each message by
 * {@link countChatMessage}, plus the reply priming.
 *
 * @example
 * ```ts
 * countChatMessages(tokenizerFor("o200k_base"), [{ role: "user", content: "dog dog dog" }]); // 3 + 1 + 3 + 3 = 10
 * ```
 */
export function countChatMessages(tokenizer: Tokenizer, messages: readonly PromptMessage[]): number {
  let n = REPLY_PRIMING_TOKENS;
  for (const m of messages) n += countChatMessage(tokenizer, m);
  return n;
}
