import { execFile } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { buildSources } from "../../test/fixtures/build-sources.js";
import { isContextError } from "../errors.js";
import { useEmbedder, USE_MODEL } from "./use.js";

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * (b[i] as number), 0);

// One worker for the file: loading the model costs about half a second of CPU.
const use = useEmbedder({ batchSize: 4 });
afterAll(() => use.close());

describe("the Universal Sentence Encoder (offline, in a worker thread)", () => {
  it("loads on the first embed, not when made", async () => {
    const fresh = useEmbedder();
    expect(fresh.loadMs).toBeUndefined();
    await fresh.close();
    expect(fresh.loadMs).toBeUndefined();
  });

  it("embeds texts into 512-dimension unit vectors that are close for texts of the same meaning", async () => {
    const [age1, age2, weather] = await use.embed(["How old are you?", "What is your age?", "The weather is lovely today."]);
    expect(use.model).toBe(USE_MODEL);
    expect(use.dimensions).toBe(512);
    expect(use.loadMs).toBeGreaterThan(0);
    for (const v of [age1, age2, weather]) {
      expect(v).toBeInstanceOf(Float32Array);
      expect(v?.length).toBe(512);
      expect(dot(v as Float32Array, v as Float32Array)).toBeCloseTo(1, 5);
    }
    expect(dot(age1 as Float32Array, age2 as Float32Array)).toBeGreaterThan(dot(age1 as Float32Array, weather as Float32Array) + 0.2);
  });

  it("gives a text the same vector alone and in a batch of many (batches are split and reassembled in order)", async () => {
    const texts = Array.from({ length: 10 }, (_, i) => `memory number ${i}: Caroline went to the support group`);
    const batched = await use.embed(texts);
    expect(batched).toHaveLength(10);
    for (const i of [0, 5, 9]) {
      const [alone] = await use.embed([texts[i] as string]);
      expect(dot(alone as Float32Array, batched[i] as Float32Array)).toBeCloseTo(1, 4);
    }
  });

  it("a short embed queued behind a bulk one gets its turn after one batch, not after the whole bulk", async () => {
    const order: string[] = [];
    const bulk = use.embed(Array.from({ length: 40 }, (_, i) => `bulk import turn ${i} about painting and the lake`)).then(() => order.push("bulk"));
    const query = use.embed(["where does Melanie paint?"]).then(() => order.push("query"));
    await Promise.all([bulk, query]);
    expect(order).toEqual(["query", "bulk"]);
  });

  it("an aborted embed rejects with ABORTED, and the next embed gets its own vectors", async () => {
    const controller = new AbortController();
    const texts = Array.from({ length: 12 }, (_, i) => `text to drop ${i}`);
    const aborted = use.embed(texts, { signal: controller.signal });
    controller.abort();
    const e = await aborted.catch((x: unknown) => x);
    expect(isContextError(e, "ABORTED")).toBe(true);
    const [a] = await use.embed(["a sentence about kites"]);
    const [b] = await use.embed(["a sentence about kites"]);
    expect(dot(a as Float32Array, b as Float32Array)).toBeCloseTo(1, 5);
    const pre = new AbortController();
    pre.abort();
    expect(isContextError(await use.embed(["x"], { signal: pre.signal }).catch((x: unknown) => x), "ABORTED")).toBe(true);
  });

  it("close ends the worker and fails what waits with CLOSED; embedding again starts a new one", async () => {
    const own = useEmbedder();
    const pending = own.embed(["a text that will not be embedded"]).catch((x: unknown) => x);
    await own.close();
    expect(isContextError(await pending, "CLOSED")).toBe(true);
    await own.close();
    const [v] = await own.embed(["embedded after a restart"]);
    expect(v?.length).toBe(512);
    await own.close();
  });

  it("runs in a process started as a module too (the worker inherits --input-type=module)", async () => {
    const dir = await buildSources();
    const code = `const { useEmbedder } = await import(${JSON.stringify(pathToFileURL(join(dir, "src", "embeddings", "use.js")).href)});
const e = useEmbedder();
const [v] = await e.embed(["hello from a module"]);
process.stdout.write(String(v.length));
await e.close();`;
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", code], { env: { PATH: process.env.PATH ?? "" } });
    expect(stdout).toBe("512");
  });
});
