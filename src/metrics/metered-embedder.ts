/**
 * `meteredEmbedder(embedder, metrics)`: the embedding model with each call timed by model and
 * outcome (searches by meaning and memory writes wait on it).
 */
import { performance } from "node:perf_hooks";
import type { Embedder } from "../core/embedder.js";
import { outcomeOf } from "./metrics.js";
import type { StoreMetrics } from "./metrics.js";

/** Wraps `embedder` so that each `embed` call is recorded in `metrics`. */
export function meteredEmbedder(embedder: Embedder, metrics: StoreMetrics): Embedder {
  const out: Embedder = {
    get model() {
      return embedder.model;
    },
    get dimensions() {
      return embedder.dimensions;
    },
    get circuit() {
      return embedder.circuit;
    },
    async embed(texts, options) {
      const start = performance.now();
      try {
        const vectors = await embedder.embed(texts, options);
        metrics.embedding(embedder.model, texts.length, "ok", (performance.now() - start) / 1000);
        return vectors;
      } catch (e) {
        metrics.embedding(embedder.model, texts.length, outcomeOf(e), (performance.now() - start) / 1000);
        throw e;
      }
    },
  };
  if (embedder.close !== undefined) out.close = () => (embedder.close as () => Promise<void>).call(embedder);
  return out;
}
