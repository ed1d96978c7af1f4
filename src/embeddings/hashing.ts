/**
 * The hashing embedder: no model, deterministic and instant. A text's vector is signed
 * feature hashing of its terms (the words full-text search ranks, `core/text-terms.ts`), so
 * texts that share words point in similar directions and nothing else is understood. An
 * explicit choice for tests and minimal installs; never the default.
 */
import { ContextError } from "../errors.js";
import type { Embedder } from "../core/embedder.js";
import { textTerms } from "../core/text-terms.js";

/** Options of {@link hashingEmbedder}. */
export interface HashingEmbedderOptions {
  /** The length of the vectors (8–4096). @default 256 */
  dimensions?: number;
}

/** FNV-1a of a string's UTF-16 code units. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The hashing vector of one text, unit length. */
export function hashingVector(text: string, dimensions: number): Float32Array {
  const v = new Float32Array(dimensions);
  for (const t of textTerms(text)) {
    const h = fnv1a(t);
    const i = h % dimensions;
    v[i] = (v[i] as number) + ((h >>> 31) & 1 ? 1 : -1);
  }
  let norm = 0;
  for (const x of v) norm += x * x;
  // A text without terms (only stop words or punctuation) still gets a direction, the same for all such texts.
  if (norm === 0) {
    v[0] = 1;
    return v;
  }
  const inv = 1 / Math.sqrt(norm);
  for (let i = 0; i < dimensions; i++) v[i] = (v[i] as number) * inv;
  return v;
}

/**
 * A deterministic embedder without a model (feature hashing of terms).
 * @throws `INVALID_INPUT` for dimensions outside 8–4096
 * @example
 * ```ts
 * import { hashingEmbedder } from "contextd";
 * const e = hashingEmbedder({ dimensions: 128 });
 * const [v] = await e.embed(["the same words, the same vector"]);
 * console.log(e.model, v?.length); // hashing-v1-128 128
 * ```
 */
export function hashingEmbedder(options: HashingEmbedderOptions = {}): Embedder {
  const dimensions = options.dimensions ?? 256;
  if (!Number.isSafeInteger(dimensions) || dimensions < 8 || dimensions > 4096) {
    throw new ContextError("INVALID_INPUT", `dimensions: must be a whole number from 8 to 4096, got ${String(dimensions)}`, {
      details: { field: "dimensions" },
    });
  }
  return {
    model: `hashing-v1-${dimensions}`,
    dimensions,
    embed(texts) {
      return Promise.resolve(texts.map((t) => hashingVector(t, dimensions)));
    },
  };
}
