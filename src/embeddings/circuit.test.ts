import { describe, expect, it } from "vitest";
import { ContextError, isContextError } from "../errors.js";
import type { Embedder } from "../core/embedder.js";
import { circuitEmbedder } from "./circuit.js";

describe("circuitEmbedder", () => {
  it("fails fast with EMBEDDING_FAILED once open, without calling the model, and recovers after the probe", async () => {
    let t = 0;
    let down = true;
    let calls = 0;
    const model: Embedder = {
      model: "fake-2",
      dimensions: 2,
      embed: (texts) => {
        calls++;
        if (down) return Promise.reject(new ContextError("EMBEDDING_FAILED", "service answered 503"));
        return Promise.resolve(texts.map(() => new Float32Array([1, 0])));
      },
    };
    const embedder = circuitEmbedder(model, { failureThreshold: 2, openMs: 1000, now: () => t });
    try {
      expect(embedder.model).toBe("fake-2");
      for (let i = 0; i < 2; i++) await expect(embedder.embed(["a"])).rejects.toMatchObject({ code: "EMBEDDING_FAILED" });
      const fast = await embedder.embed(["a"]).catch((e: unknown) => e);
      expect(isContextError(fast, "EMBEDDING_FAILED")).toBe(true);
      expect((fast as ContextError).details).toMatchObject({ circuit: "embedder", state: "open", retryInMs: 1000 });
      expect(calls).toBe(2);
      down = false;
      t += 1000;
      expect(await embedder.embed(["a", "b"])).toHaveLength(2);
      expect(embedder.circuit.state).toBe("closed");
      expect(calls).toBe(3);
    } finally {
      await embedder.close();
    }
  });
});
