/**
 * The embedding model the conformance suite expects: deterministic and instant, so that
 * vector and hybrid rankings can be checked exactly on every store. Texts that share terms
 * (`core/text-terms.ts`) point in similar directions. Open stores under test with it:
 * `createStore(driver, { embedder: testEmbedder() })`.
 */
import type { Embedder } from "../core/embedder.js";
import { textTerms } from "../core/text-terms.js";

/** The model id of {@link testEmbedder}. */
export const TEST_EMBEDDER_MODEL = "contextd-test-hashing-64";
const DIMENSIONS = 64;

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The test embedding of one text: signed feature hashing of its terms, unit length. */
export function testEmbedding(text: string): Float32Array {
  const v = new Float32Array(DIMENSIONS);
  for (const t of textTerms(text)) {
    const h = fnv1a(t);
    v[h % DIMENSIONS] = (v[h % DIMENSIONS] as number) + ((h >>> 16) & 1 ? 1 : -1);
  }
  let norm = 0;
  for (const x of v) norm += x * x;
  // A text of stop words only still gets a direction (the same for all such texts).
  if (norm === 0) {
    v[0] = 1;
    return v;
  }
  const inv = 1 / Math.sqrt(norm);
  return v.map((x) => x * inv);
}

/**
 * A deterministic embedder for tests (64 dimensions, hashing of terms).
 * @example
 * ```ts
 * import { createStore, inMemoryDriver } from "contextd";
 * import { testEmbedder } from "contextd/testing";
 * const store = await createStore(inMemoryDriver(), { embedder: testEmbedder() });
 * ```
 */
export function testEmbedder(): Embedder {
  return {
    model: TEST_EMBEDDER_MODEL,
    dimensions: DIMENSIONS,
    async embed(texts) {
      return texts.map(testEmbedding);
    },
  };
}
