/**
 * The body of the Universal Sentence Encoder's worker thread. It runs from its source text
 * (`new Worker(source, { eval: true })`), so that the same code works from `src/` under the
 * test runner and from `dist/`: it may use only its parameters' shapes and Node's globals,
 * never an import of this module. The model's packages are required by the absolute paths the
 * host resolved (`workerData`).
 *
 * Protocol: the host posts `{ id, texts }`, one batch at a time; the worker answers
 * `{ id, vectors }` (unit-length Float32Arrays, their buffers transferred) or `{ id, error }`.
 * When the model has loaded it posts `{ type: "ready", loadMs }`, or `{ type: "failed", error }`.
 */

/** What the host passes as `workerData`. */
export interface UseWorkerData {
  embeddingsPath: string;
  modelPath: string;
}

/** A message from the worker. */
export type UseWorkerMessage =
  | { type: "ready"; loadMs: number }
  | { type: "failed"; error: string }
  | { id: number; vectors: Float32Array[] }
  | { id: number; error: string };

/** The worker's main function; its text is the worker's script. */
export function useWorkerMain(): void {
  // The script may run as CommonJS or as a module (a parent started with --input-type=module
  // passes it on to its workers): Node's built-ins come through process.getBuiltinModule.
  const threads = process.getBuiltinModule("node:worker_threads");
  const port = threads.parentPort;
  if (port === null) return;
  const data = threads.workerData as UseWorkerData;
  const require = process.getBuiltinModule("node:module").createRequire(data.modelPath);
  type Model = { embed(input: string[]): Promise<number[][]> };
  const started = performance.now();
  const loading: Promise<Model> = (async () => {
    const { initModel } = require(data.embeddingsPath) as { initModel(source: unknown): Promise<Model> };
    const { modelSource } = require(data.modelPath) as { modelSource: unknown };
    // The source is passed explicitly: initModel's default downloads the model from the network.
    return initModel(modelSource);
  })();
  const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
  loading.then(
    () => port.postMessage({ type: "ready", loadMs: performance.now() - started }),
    (e: unknown) => port.postMessage({ type: "failed", error: message(e) }),
  );
  port.on("message", (m: { id: number; texts: string[] }) => {
    void (async () => {
      try {
        const model = await loading;
        const out = m.texts.length === 0 ? [] : await model.embed(m.texts);
        const vectors = out.map((row) => {
          const v = Float32Array.from(row);
          let n = 0;
          for (const x of v) n += x * x;
          // The model's vectors are unit length to float precision; make it exact for cosine = dot.
          if (n > 0) {
            const inv = 1 / Math.sqrt(n);
            for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) * inv;
          }
          return v;
        });
        port.postMessage({ id: m.id, vectors }, vectors.map((v) => v.buffer as ArrayBuffer));
      } catch (e) {
        port.postMessage({ id: m.id, error: message(e) });
      }
    })();
  });
}
