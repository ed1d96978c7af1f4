import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { isContextError } from "../index.js";
import { runCli } from "./program.js";
import { embedderOption } from "./serve-command.js";

describe("contextd serve --embedder", () => {
  it("names the embedding model: use (the default), hashing[:dims], openai:<model> with its service from the environment, or none", () => {
    expect(embedderOption("use", {})?.model).toBe("use-lite-512-l2");
    expect(embedderOption("hashing:32", {})?.dimensions).toBe(32);
    expect(embedderOption("none", {})).toBeNull();
    const openai = embedderOption("openai:nomic-embed-text", { CONTEXTD_EMBEDDER_URL: "http://127.0.0.1:11434/v1", CONTEXTD_EMBEDDER_DIMENSIONS: "768" });
    expect(openai).toMatchObject({ model: "openai:nomic-embed-text:768", dimensions: 768 });
    const e = (() => {
      try {
        return embedderOption("openai:nomic-embed-text", {});
      } catch (x) {
        return x;
      }
    })();
    expect(isContextError(e, "INVALID_INPUT")).toBe(true);
    expect((e as Error).message).toContain("--embedder");
  });

  it("an unknown embedder fails before the store opens or a port is bound", async () => {
    const stderr = new PassThrough();
    let err = "";
    stderr.on("data", (d: Buffer) => (err += d.toString()));
    const code = await runCli(["--store", "in-memory:", "serve", "--port", "0", "--embedder", "word2vec"], {
      io: { stdout: new PassThrough(), stderr, env: {} },
    });
    expect(code).not.toBe(0);
    expect(err).toMatch(/INVALID_INPUT: --embedder: embedder: unknown embedder "word2vec"/);
  });
});
