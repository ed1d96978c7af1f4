/**
 * `circuitEmbedder(embedder)`: a circuit breaker in front of an embedding model (an
 * embedding service that keeps failing). After `failureThreshold` calls in a row fail with
 * `EMBEDDING_FAILED`, calls fail at once with `EMBEDDING_FAILED` (details `{ circuit, state:
 * "open", retryInMs }`, the last failure as `cause`) instead of waiting for the service's
 * timeouts and retries; after `openMs` one call goes through as the probe, and its success
 * closes the circuit. The state machine is `core/circuit.ts`.
 */
import { ContextError, isContextError } from "../errors.js";
import { createCircuit } from "../core/circuit.js";
import type { Circuit, CircuitOptions, CircuitTransition } from "../core/circuit.js";
import type { Embedder } from "../core/embedder.js";

/** Options of {@link circuitEmbedder}. */
export interface CircuitEmbedderOptions extends CircuitOptions {
  /** The circuit's name. @default "embedder" */
  name?: string;
  onTransition?: (t: CircuitTransition) => void;
}

/**
 * Wraps `embedder` with a circuit breaker; model, dimensions and `close` are the embedder's.
 * @example
 * ```ts
 * const embedder = circuitEmbedder(createEmbedder("openai:text-embedding-3-small"), { failureThreshold: 3 });
 * ```
 */
export function circuitEmbedder(embedder: Embedder, options: CircuitEmbedderOptions = {}): Embedder & { readonly circuit: Circuit; close(): Promise<void> } {
  const name = options.name ?? "embedder";
  const circuit = createCircuit(name, "embedder", options);
  return {
    model: embedder.model,
    dimensions: embedder.dimensions,
    circuit,
    async embed(texts, embedOptions) {
      const admission = circuit.admit();
      if (admission === "reject") {
        const cause = circuit.lastFailure;
        const retryInMs = circuit.retryInMs();
        throw new ContextError(
          "EMBEDDING_FAILED",
          `the embedding model ${embedder.model} is unavailable: its circuit is ${circuit.state} after repeated failures` +
            (circuit.state === "open" ? `; the next probe goes out in ${retryInMs} ms` : "; a probe is in flight"),
          { ...(cause !== undefined && { cause }), details: { circuit: name, state: circuit.state, retryInMs, model: embedder.model } },
        );
      }
      const probe = admission === "probe";
      try {
        const vectors = await embedder.embed(texts, embedOptions);
        circuit.succeed(probe);
        return vectors;
      } catch (e) {
        if (isContextError(e, "EMBEDDING_FAILED") || probe) circuit.fail(e, probe);
        throw e;
      }
    },
    async close() {
      circuit.dispose();
      await embedder.close?.();
    },
  };
}
