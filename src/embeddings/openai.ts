/**
 * An embedder over an OpenAI-compatible `POST {baseURL}/embeddings` endpoint (OpenAI, Ollama,
 * vLLM, LM Studio, …): batches, a timeout per request, retries with exponential backoff on
 * 429, 5xx and network failures honouring `Retry-After`, and a check of every vector's length.
 * What keeps failing is `EMBEDDING_FAILED` with the HTTP status and the service's message.
 */
import { abortedError, ContextError } from "../errors.js";
import type { Embedder, EmbedOptions } from "../core/embedder.js";

/** Options of {@link openAIEmbedder}. */
export interface OpenAIEmbedderOptions {
  /** The model name the service knows, e.g. `text-embedding-3-small` or `nomic-embed-text`. */
  model: string;
  /** The API's base URL (the part before `/embeddings`). @default "https://api.openai.com/v1" */
  baseURL?: string;
  /** Sent as `Authorization: Bearer <apiKey>` when given. */
  apiKey?: string;
  /**
   * The vectors' length. Known for OpenAI's own models; required for any other. For the
   * `text-embedding-3` models a length below the model's is asked of the service (`dimensions`).
   */
  dimensions?: number;
  /** Texts per request. @default 64 */
  batchSize?: number;
  /** Deadline of one request (ms). @default 30000 */
  timeoutMs?: number;
  /** Retries of a request after a 429, a 5xx, a timeout or a network failure. @default 4 */
  maxRetries?: number;
  /** The first retry's delay (ms); each next one doubles, with jitter. @default 500 */
  retryDelayMs?: number;
  /** The longest wait before a retry (ms), `Retry-After` included. @default 30000 */
  maxRetryDelayMs?: number;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** The model id vectors are stored with. @default `openai:<model>:<dimensions>` */
  id?: string;
  /** The fetch to use. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** How a retry waits (tests replace it to observe the delays). @default an abortable timer */
  sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
}

/** OpenAI's embedding models and their vectors' lengths. */
const KNOWN_DIMENSIONS: Record<string, number> = {
  "text-embedding-3-small": 1536,
  "text-embedding-3-large": 3072,
  "text-embedding-ada-002": 1536,
};

const invalid = (field: string, message: string) => new ContextError("INVALID_INPUT", `${field}: ${message}`, { details: { field } });

function positiveInt(value: number | undefined, field: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) throw invalid(field, `must be a whole number ≥ ${min}, got ${String(value)}`);
  return value;
}

/** Waits `ms`, or rejects with `ABORTED` when the signal fires first. */
function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortedError(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** `Retry-After` as milliseconds: delta seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** What one failed attempt tells: retry it (after `waitMs` if the service said) or give up. */
interface Attempt {
  retry: boolean;
  waitMs?: number | undefined;
  message: string;
  status?: number;
  cause?: unknown;
}

/**
 * An embedder over an OpenAI-compatible embeddings endpoint.
 * @throws `INVALID_INPUT` for a bad option (no `dimensions` for a model it does not know)
 * @example
 * ```ts compile-only (needs an embeddings service)
 * import { openAIEmbedder } from "contextd";
 * const e = openAIEmbedder({ model: "nomic-embed-text", baseURL: "http://127.0.0.1:11434/v1", dimensions: 768 });
 * const [v] = await e.embed(["where does Caroline work?"]);
 * ```
 */
export function openAIEmbedder(options: OpenAIEmbedderOptions): Embedder {
  const model = options.model;
  if (typeof model !== "string" || model.length === 0) throw invalid("model", "must name the service's embedding model");
  const known = KNOWN_DIMENSIONS[model];
  if (options.dimensions === undefined && known === undefined) {
    throw invalid("dimensions", `the length of ${model}'s vectors is needed (contextd knows only OpenAI's own models)`);
  }
  const dimensions = positiveInt(options.dimensions, "dimensions", known ?? 0);
  const batchSize = positiveInt(options.batchSize, "batchSize", 64);
  const timeoutMs = positiveInt(options.timeoutMs, "timeoutMs", 30_000);
  const maxRetries = positiveInt(options.maxRetries, "maxRetries", 4, 0);
  const retryDelayMs = positiveInt(options.retryDelayMs, "retryDelayMs", 500, 0);
  const maxRetryDelayMs = positiveInt(options.maxRetryDelayMs, "maxRetryDelayMs", 30_000, 0);
  const baseURL = (options.baseURL ?? "https://api.openai.com/v1").replace(/\/+$/, "");
  const url = `${baseURL}/embeddings`;
  const doFetch = options.fetch ?? globalThis.fetch;
  const sleep = options.sleep ?? abortableSleep;
  const id = options.id ?? `openai:${model}:${dimensions}`;
  // Only the text-embedding-3 models accept a shorter length; other services may reject the field.
  const askDimensions = known !== undefined && model.startsWith("text-embedding-3") && dimensions !== known;
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json",
    ...(options.apiKey !== undefined && { authorization: `Bearer ${options.apiKey}` }),
    ...options.headers,
  };

  const failed = (message: string, details: Record<string, unknown>, cause?: unknown) =>
    new ContextError("EMBEDDING_FAILED", `the embedding service at ${url} failed for ${model}: ${message}`, {
      cause,
      details: { model: id, url, ...details },
    });

  async function attempt(texts: string[], signal: AbortSignal | undefined): Promise<Float32Array[] | Attempt> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    let res: Response;
    let body: string;
    try {
      res = await doFetch(url, {
        method: "POST",
        headers,
        body: JSON.stringify({ model, input: texts, encoding_format: "float", ...(askDimensions && { dimensions }) }),
        signal: combined,
      });
      body = await res.text();
    } catch (e) {
      if (signal?.aborted) throw abortedError(signal);
      const timedOut = timeout.aborted;
      return { retry: true, message: timedOut ? `no answer within ${timeoutMs} ms` : `the request failed: ${(e as Error)?.message ?? String(e)}`, cause: e };
    }
    if (!res.ok) {
      const retry = res.status === 429 || res.status >= 500;
      return { retry, waitMs: retryAfterMs(res.headers.get("retry-after")), status: res.status, message: `HTTP ${res.status}: ${serviceMessage(body)}` };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (e) {
      throw failed("the answer is not JSON", { status: res.status }, e);
    }
    return vectorsOf(parsed, texts.length);
  }

  function vectorsOf(parsed: unknown, count: number): Float32Array[] {
    const data = (parsed as { data?: unknown } | null)?.data;
    if (!Array.isArray(data) || data.length !== count) {
      throw failed(`the answer has ${Array.isArray(data) ? data.length : "no"} embeddings for ${count} texts`, {});
    }
    const out: Float32Array[] = new Array(count);
    data.forEach((item: { index?: unknown; embedding?: unknown }, i) => {
      const at = typeof item?.index === "number" ? item.index : i;
      const e = item?.embedding;
      if (!Array.isArray(e) || !Number.isSafeInteger(at) || at < 0 || at >= count) throw failed("the answer has a malformed embedding", { index: i });
      if (e.length !== dimensions) {
        throw failed(`a vector has ${e.length} dimensions, expected ${dimensions} (set \`dimensions\` to the model's)`, { expected: dimensions, actual: e.length });
      }
      const v = Float32Array.from(e as number[]);
      if (v.some((x) => !Number.isFinite(x))) throw failed("a vector has a value that is not a finite number", { index: at });
      out[at] = v;
    });
    if (out.some((v) => v === undefined)) throw failed("the answer's indexes do not cover the texts", {});
    return out;
  }

  async function embedBatch(texts: string[], signal: AbortSignal | undefined): Promise<Float32Array[]> {
    for (let tries = 0; ; tries++) {
      const r = await attempt(texts, signal);
      if (Array.isArray(r)) return r;
      if (!r.retry || tries >= maxRetries) {
        throw failed(r.retry ? `${r.message} (after ${tries + 1} attempts)` : r.message, { attempts: tries + 1, ...(r.status !== undefined && { status: r.status }) }, r.cause);
      }
      // Full jitter keeps many clients that failed together from retrying together.
      const backoff = Math.random() * retryDelayMs * 2 ** tries;
      await sleep(Math.min(maxRetryDelayMs, r.waitMs ?? backoff), signal);
    }
  }

  return {
    model: id,
    dimensions,
    async embed(texts: readonly string[], embedOptions?: EmbedOptions): Promise<Float32Array[]> {
      const signal = embedOptions?.signal;
      if (signal?.aborted) throw abortedError(signal);
      const out: Float32Array[] = [];
      for (let i = 0; i < texts.length; i += batchSize) out.push(...(await embedBatch(texts.slice(i, i + batchSize), signal)));
      return out;
    },
  };
}

/** The service's own error message (OpenAI's `{ error: { message } }`), else the body's start. */
function serviceMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown };
    const m = typeof parsed.error === "string" ? parsed.error : (parsed.error?.message ?? parsed.message);
    if (typeof m === "string") return m.slice(0, 500);
  } catch {
    // not JSON: the text itself
  }
  return body.slice(0, 500) || "(empty body)";
}
