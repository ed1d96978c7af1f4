/**
 * Embeddings cached by content: the key is the model id and the SHA-256 of the text, so the
 * same text is embedded once per process (an add and a later search for the same words, a
 * reindex after an interrupted one, an extractor that sees the same fact again). An LRU of
 * bounded size; a 512-dimension vector is 2 KiB.
 */
import { createHash } from "node:crypto";
import { ContextError } from "../errors.js";
import type { Embedder, EmbedOptions } from "../core/embedder.js";

/** Options of {@link cachedEmbedder}. */
export interface EmbeddingCacheOptions {
  /** Vectors kept; the least recently used go first. @default 4096 */
  maxEntries?: number;
}

/** An LRU of vectors by model id and text hash. */
export class EmbeddingCache {
  readonly maxEntries: number;
  readonly #map = new Map<string, Float32Array>();
  hits = 0;
  misses = 0;

  constructor(maxEntries = 4096) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new ContextError("INVALID_INPUT", `cache size: must be a positive whole number, got ${String(maxEntries)}`, { details: { field: "cache" } });
    }
    this.maxEntries = maxEntries;
  }

  /** The key of a text's vector: the model id and the SHA-256 of the text. */
  static key(model: string, text: string): string {
    return `${model}\0${createHash("sha256").update(text).digest("base64")}`;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: string): Float32Array | undefined {
    const v = this.#map.get(key);
    if (v === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    // Map order is insertion order: moving the entry to the end makes it the most recent.
    this.#map.delete(key);
    this.#map.set(key, v);
    return v;
  }

  set(key: string, vector: Float32Array): void {
    this.#map.delete(key);
    this.#map.set(key, vector);
    while (this.#map.size > this.maxEntries) {
      const oldest = this.#map.keys().next().value as string;
      this.#map.delete(oldest);
    }
  }

  clear(): void {
    this.#map.clear();
  }
}

/** An embedder with its cache (see {@link cachedEmbedder}). */
export interface CachedEmbedder extends Embedder {
  readonly cache: EmbeddingCache;
  /** The embedder it wraps. */
  readonly inner: Embedder;
}

/**
 * Wraps `inner` so that a text it has embedded (in this process, while cached) is not
 * embedded again; repeated texts in one call are embedded once. Callers get their own copies.
 * @example
 * ```ts
 * import { cachedEmbedder, hashingEmbedder } from "contextd";
 * const e = cachedEmbedder(hashingEmbedder(), { maxEntries: 1000 });
 * await e.embed(["a fact", "a fact"]); // embedded once
 * console.log(e.cache.size); // 1
 * ```
 */
export function cachedEmbedder(inner: Embedder, options: EmbeddingCacheOptions = {}): CachedEmbedder {
  const cache = new EmbeddingCache(options.maxEntries);
  return {
    model: inner.model,
    dimensions: inner.dimensions,
    cache,
    inner,
    get circuit() {
      return inner.circuit;
    },
    async embed(texts: readonly string[], embedOptions?: EmbedOptions): Promise<Float32Array[]> {
      const keys = texts.map((t) => EmbeddingCache.key(inner.model, t));
      const out: (Float32Array | undefined)[] = keys.map((k) => cache.get(k));
      // The texts not cached, each once.
      const missing = new Map<string, string>();
      keys.forEach((k, i) => {
        if (out[i] === undefined && !missing.has(k)) missing.set(k, texts[i] as string);
      });
      if (missing.size > 0) {
        const vectors = await inner.embed([...missing.values()], embedOptions);
        // Only well-formed answers are kept: a malformed one is the engine's EMBEDDING_FAILED, never a cached vector.
        const wellFormed = vectors.length === missing.size && vectors.every((v) => v instanceof Float32Array && v.length === inner.dimensions);
        if (!wellFormed) return vectors;
        const fresh = new Map<string, Float32Array>();
        [...missing.keys()].forEach((k, i) => {
          fresh.set(k, vectors[i] as Float32Array);
          cache.set(k, vectors[i] as Float32Array);
        });
        keys.forEach((k, i) => (out[i] ??= fresh.get(k)));
      }
      return out.map((v) => (v as Float32Array).slice());
    },
    close: () => inner.close?.() ?? Promise.resolve(),
  };
}
