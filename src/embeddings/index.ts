/**
 * The embedding models a store can use, chosen by a short spec: `use` (the default, the
 * Universal Sentence Encoder in a worker thread), `hashing[:dimensions]` (no model) and
 * `openai:<model>` (an OpenAI-compatible service). The engine sees only the `Embedder`
 * contract (`core/embedder.ts`); this folder is plugged in when a store opens.
 */
import { ContextError } from "../errors.js";
import type { Embedder } from "../core/embedder.js";
import { cachedEmbedder, type CachedEmbedder } from "./cache.js";
import { hashingEmbedder } from "./hashing.js";
import { openAIEmbedder, type OpenAIEmbedderOptions } from "./openai.js";
import { useEmbedder } from "./use.js";

export { circuitEmbedder, type CircuitEmbedderOptions } from "./circuit.js";
export { cachedEmbedder, EmbeddingCache, type CachedEmbedder, type EmbeddingCacheOptions } from "./cache.js";
export { hashingEmbedder, type HashingEmbedderOptions } from "./hashing.js";
export { openAIEmbedder, type OpenAIEmbedderOptions } from "./openai.js";
export { useEmbedder, USE_MODEL, type UseEmbedder, type UseEmbedderOptions } from "./use.js";

/** A spec of {@link createEmbedder}: `use`, `hashing`, `hashing:<dimensions>` or `openai:<model>`. */
export type EmbedderSpec = "use" | "hashing" | `hashing:${number}` | `openai:${string}`;

/** The spec of the embedder stores use when given none: the Universal Sentence Encoder. */
export const DEFAULT_EMBEDDER = "use" satisfies EmbedderSpec;

/** Options of {@link createEmbedder}. */
export interface CreateEmbedderOptions extends Partial<Omit<OpenAIEmbedderOptions, "model">> {
  /** Vectors cached by content hash (model id + SHA-256 of the text); `false` for none. @default 4096 */
  cache?: number | false;
}

let sharedUse: CachedEmbedder | undefined;

/**
 * The process's one Universal Sentence Encoder (with its cache): every store opened without
 * an `embedder` shares it, so the model loads once per process, on the first embedding.
 */
export function defaultEmbedder(): CachedEmbedder {
  sharedUse ??= cachedEmbedder(useEmbedder());
  return sharedUse;
}

/**
 * Makes the embedder a spec names, cached by content hash unless `cache: false`.
 * `createEmbedder("use")` with no options is the process's shared model ({@link defaultEmbedder}).
 * @throws `INVALID_INPUT` for an unknown spec or a bad option
 * @example
 * ```ts
 * import { createEmbedder, createStore, inMemoryDriver } from "contextd";
 * const store = await createStore(inMemoryDriver(), { embedder: createEmbedder("hashing:128") });
 * console.log((await store.health()).embedder); // { model: "hashing-v1-128", dimensions: 128 }
 * await store.close();
 * ```
 */
export function createEmbedder(spec: EmbedderSpec | (string & {}), options: CreateEmbedderOptions = {}): Embedder {
  const { cache = 4096, ...rest } = options;
  if (cache !== false && (typeof cache !== "number" || !Number.isSafeInteger(cache) || cache < 1)) {
    throw new ContextError("INVALID_INPUT", `cache: must be a positive whole number or false, got ${String(cache)}`, { details: { field: "cache" } });
  }
  const wrap = (e: Embedder) => (cache === false ? e : cachedEmbedder(e, { maxEntries: cache }));
  if (spec === "use") {
    if (cache === 4096 && rest.batchSize === undefined) return defaultEmbedder();
    return wrap(useEmbedder(rest.batchSize === undefined ? {} : { batchSize: rest.batchSize }));
  }
  if (spec === "hashing" || spec.startsWith("hashing:")) {
    const text = spec.slice("hashing:".length);
    const dimensions = spec === "hashing" ? undefined : Number(text);
    if (dimensions !== undefined && (text.length === 0 || !Number.isSafeInteger(dimensions))) throw badSpec(spec);
    // Hashing is cheaper than hashing the text for a cache key: no cache.
    return hashingEmbedder(dimensions === undefined ? {} : { dimensions });
  }
  if (spec.startsWith("openai:") && spec.length > "openai:".length) {
    return wrap(openAIEmbedder({ ...rest, model: spec.slice("openai:".length) }));
  }
  throw badSpec(spec);
}

function badSpec(spec: string): ContextError {
  return new ContextError(
    "INVALID_INPUT",
    `embedder: unknown embedder ${JSON.stringify(spec.slice(0, 60))} (use "use", "hashing", "hashing:<dimensions>" or "openai:<model>")`,
    { details: { field: "embedder" } },
  );
}
