/**
 * The embedding model contract: what the engine asks of a model that turns text into
 * vectors (long-term memory and the history's vector search). Implementations live in
 * `src/embeddings/` and are chosen when the store opens; the engine only sees this interface.
 */

import type { CircuitSnapshot } from "./circuit.js";

/** Options of {@link Embedder.embed}. */
export interface EmbedOptions {
  /** Gives up (rejects with `ABORTED`) when it fires; texts not yet embedded are dropped. */
  signal?: AbortSignal | undefined;
}

/**
 * A text embedding model. Vectors are stored with `model` and `dimensions`, so a store knows
 * which model built its index and refuses to mix vectors of two models.
 *
 * @example
 * ```ts
 * const [v] = await embedder.embed(["where does Caroline work?"]);
 * console.log(embedder.model, embedder.dimensions, v?.length);
 * ```
 */
export interface Embedder {
  /** A stable id of the model and its version, e.g. `use-lite-512`; changing it means re-embedding. */
  readonly model: string;
  /** The length of every vector. */
  readonly dimensions: number;
  /**
   * One vector per text, in order, each of `dimensions` finite numbers. Batches as it sees fit.
   * @throws `EMBEDDING_FAILED` when the model cannot embed (a service that keeps failing, a
   *   malformed answer, vectors of the wrong length); `ABORTED` on the signal
   */
  embed(texts: readonly string[], options?: EmbedOptions): Promise<Float32Array[]>;
  /**
   * The circuit breaker in front of the model (`circuitEmbedder`), which `health()` reports;
   * a wrapper (metrics, cache) passes its inner model's on.
   */
  readonly circuit?: { snapshot(): CircuitSnapshot } | undefined;
  /** Releases workers, sockets and timers; safe to call twice. */
  close?(): Promise<void>;
}
