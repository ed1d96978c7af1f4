/**
 * Model prices, to fill in `costUsd` of `model_usage` events that do not carry it.
 * The built-in table is a convenience snapshot of public list prices (USD per million
 * tokens, checked 2025); pass your own table for your contract prices or other models.
 */

/** Price of one model, in USD per million tokens. */
export interface ModelPrice {
  input: number;
  output: number;
  /** Price of cached input tokens. @default input */
  cachedInput?: number;
}

/** Prices by model id. A key also prices ids that extend it (`gpt-4o` prices `gpt-4o-2024-08-06`); the longest key wins. */
export type PriceTable = Readonly<Record<string, ModelPrice>>;

/** The built-in price table (list prices; see the module note). */
export const DEFAULT_PRICES: PriceTable = Object.freeze({
  "gpt-4o": { input: 2.5, cachedInput: 1.25, output: 10 },
  "gpt-4o-mini": { input: 0.15, cachedInput: 0.075, output: 0.6 },
  "gpt-4.1": { input: 2, cachedInput: 0.5, output: 8 },
  "gpt-4.1-mini": { input: 0.4, cachedInput: 0.1, output: 1.6 },
  "gpt-4.1-nano": { input: 0.1, cachedInput: 0.025, output: 0.4 },
  "gpt-4-turbo": { input: 10, output: 30 },
  "gpt-4": { input: 30, output: 60 },
  "gpt-3.5-turbo": { input: 0.5, output: 1.5 },
  "gpt-5": { input: 1.25, cachedInput: 0.125, output: 10 },
  "gpt-5-mini": { input: 0.25, cachedInput: 0.025, output: 2 },
  "gpt-5-nano": { input: 0.05, cachedInput: 0.005, output: 0.4 },
  o1: { input: 15, cachedInput: 7.5, output: 60 },
  o3: { input: 2, cachedInput: 0.5, output: 8 },
  "o3-mini": { input: 1.1, cachedInput: 0.55, output: 4.4 },
  "o4-mini": { input: 1.1, cachedInput: 0.275, output: 4.4 },
  "text-embedding-3-small": { input: 0.02, output: 0 },
  "text-embedding-3-large": { input: 0.13, output: 0 },
  "claude-opus-4": { input: 15, cachedInput: 1.5, output: 75 },
  "claude-sonnet-4": { input: 3, cachedInput: 0.3, output: 15 },
  "claude-3-5-haiku": { input: 0.8, cachedInput: 0.08, output: 4 },
});

/** The price of `modelId`: an exact key, else the longest key it starts with (followed by `-`, `@` or `:`). */
export function findPrice(modelId: string, table: PriceTable = DEFAULT_PRICES): ModelPrice | undefined {
  // Own keys only: a model id such as "constructor" or "toString" must not find Object.prototype's.
  const exact = Object.hasOwn(table, modelId) ? table[modelId] : undefined;
  if (exact !== undefined) return exact;
  let best: string | undefined;
  for (const key of Object.keys(table)) {
    if (modelId.length > key.length && modelId.startsWith(key) && "-@:".includes(modelId[key.length]!)) {
      if (best === undefined || key.length > best.length) best = key;
    }
  }
  return best === undefined ? undefined : table[best];
}

/** Token counts of one model call. */
export interface TokenUsage {
  inputTokens?: number;
  outputTokens?: number;
  /** Part of `inputTokens` served from the prompt cache. */
  cachedTokens?: number;
}

/**
 * The cost of a call in USD, or undefined when the model has no price.
 *
 * @example
 * ```ts
 * priceCall("gpt-4o-mini", { inputTokens: 1_000_000, outputTokens: 0 }); // 0.15
 * ```
 */
export function priceCall(modelId: string, usage: TokenUsage, table: PriceTable = DEFAULT_PRICES): number | undefined {
  const price = findPrice(modelId, table);
  if (price === undefined) return undefined;
  const input = usage.inputTokens ?? 0;
  const cached = Math.min(usage.cachedTokens ?? 0, input);
  const output = usage.outputTokens ?? 0;
  return ((input - cached) * price.input + cached * (price.cachedInput ?? price.input) + output * price.output) / 1_000_000;
}
