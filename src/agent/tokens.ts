/**
 * Token counting with a real BPE tokenizer (gpt-tokenizer). Encodings load lazily, on the
 * first count that needs them, so importing contextd costs nothing until tokens are counted.
 * On Node they load synchronously (gpt-tokenizer's CommonJS build); where there is no
 * `require` (a browser bundle of the HTTP client) {@link loadTokenizer} imports them first,
 * as separate chunks a bundler can split off.
 *
 * What an event "costs" is defined once, here: the tokens of {@link eventText} (stored in
 * `ContextEvent.tokens` for the default encoding when the event is appended), plus a fixed
 * per-event overhead the window adds for the chat framing (role, separators).
 */
import { ContextError, invalidInput } from "../errors.js";
import type { EventInput, JsonValue } from "../core/types.js";
import { canonicalJson } from "../core/json.js";
import { nodeModule } from "./node-builtins.js";

/** The encodings contextd can count with. `o200k_base` is GPT-4o / GPT-4.1 / GPT-5 / o-series; `cl100k_base` is GPT-4 / GPT-3.5. */
export type TokenEncoding = "o200k_base" | "cl100k_base" | "p50k_base" | "r50k_base";

/** All encodings, default first. */
export const TOKEN_ENCODINGS: readonly TokenEncoding[] = ["o200k_base", "cl100k_base", "p50k_base", "r50k_base"];

/** The encoding stored token counts are computed with. */
export const DEFAULT_ENCODING: TokenEncoding = "o200k_base";

/**
 * Tokens the window adds per event for the chat framing (`<|im_start|>role<|im_sep|>…<|im_end|>`
 * is 3 tokens plus about 1 for the role, per OpenAI's counting guide).
 */
export const EVENT_OVERHEAD_TOKENS = 4;

/** Counts tokens of text and of events, in one encoding. */
export interface Tokenizer {
  readonly encoding: TokenEncoding;
  /** Tokens of `text`. Special-token strings such as `<|endoftext|>` count as plain text. */
  countText(text: string): number;
  /**
   * The longest prefix of `text` that is at most `maxTokens` tokens (cut at a token boundary;
   * a character split by the cut is dropped), and how many tokens the whole text has.
   */
  truncateText(text: string, maxTokens: number): { text: string; tokens: number; total: number };
  /** Tokens of {@link eventText} of the event: the value stored in `ContextEvent.tokens`. */
  countEvent(event: Pick<EventInput, "type" | "data">): number;
}

interface Encoder {
  countTokens(text: string, options?: { disallowedSpecial?: Set<string> }): number;
  encode(text: string, options?: { disallowedSpecial?: Set<string> }): number[];
  decode(tokens: number[]): string;
}

const loaded = new Map<TokenEncoding, Encoder>();
// Treat special-token strings in user text as text, not as an error (gpt-tokenizer's default throws).
const PLAIN_TEXT = Object.freeze({ disallowedSpecial: new Set<string>() });

let nodeRequire: NodeJS.Require | null | undefined;
const requireOnNode = (): NodeJS.Require | null => (nodeRequire ??= nodeModule()?.createRequire(import.meta.url) ?? null);

// Literal specifiers, so a bundler finds each encoding and can put it in a chunk of its own.
const IMPORT_ENCODING: { readonly [E in TokenEncoding]: () => Promise<Encoder> } = {
  o200k_base: () => import("gpt-tokenizer/encoding/o200k_base"),
  cl100k_base: () => import("gpt-tokenizer/encoding/cl100k_base"),
  p50k_base: () => import("gpt-tokenizer/encoding/p50k_base"),
  r50k_base: () => import("gpt-tokenizer/encoding/r50k_base"),
};

function loadEncoder(encoding: TokenEncoding): Encoder {
  let encoder = loaded.get(encoding);
  if (encoder === undefined) {
    const require = requireOnNode();
    if (require === null) {
      throw new ContextError("INVALID_INPUT", `the ${encoding} tokenizer is not loaded: without Node's require, await loadTokenizer("${encoding}") before counting`, {
        details: { field: "encoding" },
      });
    }
    // The CommonJS build loads synchronously, so counting stays synchronous while the
    // multi-megabyte rank tables are only read when first needed.
    encoder = require(`gpt-tokenizer/cjs/encoding/${encoding}`) as Encoder;
    loaded.set(encoding, encoder);
  }
  return encoder;
}

/**
 * The shared tokenizer of an encoding, ready to count where encodings cannot load
 * synchronously (a browser): there it imports the encoding first. On Node it is
 * {@link tokenizerFor}, and the encoding still loads on the first count.
 *
 * @throws `INVALID_INPUT` for an unknown encoding
 * @example
 * ```ts
 * const tokenizer = await loadTokenizer("o200k_base");
 * tokenizer.countText("hello world"); // 2
 * ```
 */
export async function loadTokenizer(encoding: TokenEncoding | string = DEFAULT_ENCODING): Promise<Tokenizer> {
  const name = resolveEncoding(encoding);
  if (!loaded.has(name) && requireOnNode() === null) loaded.set(name, await IMPORT_ENCODING[name]());
  return tokenizerFor(name);
}

/**
 * Validates an encoding name; accepts the short forms `o200k`, `cl100k`, `p50k`, `r50k`.
 *
 * @throws `INVALID_INPUT` naming the allowed encodings
 */
export function resolveEncoding(name: string | undefined): TokenEncoding {
  if (name === undefined) return DEFAULT_ENCODING;
  const full = name.endsWith("_base") ? name : `${name}_base`;
  if ((TOKEN_ENCODINGS as readonly string[]).includes(full)) return full as TokenEncoding;
  throw invalidInput("encoding", `unknown encoding ${JSON.stringify(name)}; use one of ${TOKEN_ENCODINGS.join(", ")}`);
}

/**
 * The text of an event as a model sees it: for a `message` (or `system`) event, its
 * `content` (a string `data` is the content itself); for other events `"<type>: <data>"`,
 * with `data` as a string or canonical JSON.
 */
export function eventText(event: Pick<EventInput, "type" | "data">): string {
  const data = event.data ?? null;
  if (event.type === "message" || event.type === "system") {
    if (typeof data === "string") return data;
    const content = contentOf(data);
    if (content !== undefined) return content;
    return canonicalJson(data);
  }
  return `${event.type}: ${typeof data === "string" ? data : canonicalJson(data)}`;
}

/** The string `content` of a message-like object, if it has one. */
export function contentOf(data: JsonValue | undefined): string | undefined {
  if (data !== null && typeof data === "object" && !Array.isArray(data)) {
    const content = data["content"];
    if (typeof content === "string") return content;
    if (content !== undefined && content !== null) return canonicalJson(content);
  }
  return undefined;
}

/**
 * Longest run of letters, of whitespace or of punctuation counted in one piece. BPE merging
 * is quadratic in the length of a pre-token (openai/tiktoken#195): a megabyte of one letter
 * took minutes. Runs longer than this are cut into pieces of this length and counted piece by
 * piece, which makes counting linear in the input.
 */
export const MAX_RUN_CHARS = 64;

// Runs the pre-tokenizers of every encoding keep whole: letters (with marks), whitespace,
// and punctuation (anything but letters, digits and whitespace). Digits are pre-tokenized in
// groups of at most three already.
const LONG_RUN = new RegExp(`[\\p{L}\\p{M}]{${MAX_RUN_CHARS + 1},}|\\s{${MAX_RUN_CHARS + 1},}|[^\\s\\p{L}\\p{M}\\p{N}]{${MAX_RUN_CHARS + 1},}`, "gu");

/**
 * `text` cut inside its runs longer than {@link MAX_RUN_CHARS}, and nowhere else: text
 * without such runs is one piece, so its count is exactly the tokenizer's. Where a run is cut,
 * no token spans the cut and each piece is tokenized on its own, so the count of such text can
 * differ from the unsplit count: measured on 30,000 characters (docs/benchmarks.md), the same
 * for one repeated letter and for newlines, one token per 64 spaces instead of per 128, about
 * three more per cut for a long repeated alphabet. Only degenerate text has such runs.
 */
export function boundedPieces(text: string): string[] {
  if (text.length <= MAX_RUN_CHARS) return [text];
  const pieces: string[] = [];
  let from = 0;
  LONG_RUN.lastIndex = 0;
  for (let m = LONG_RUN.exec(text); m !== null; m = LONG_RUN.exec(text)) {
    const end = m.index + m[0].length;
    let cut = m.index + MAX_RUN_CHARS;
    while (cut < end) {
      // Never between the two halves of a surrogate pair.
      const c = text.charCodeAt(cut);
      if (c >= 0xdc00 && c <= 0xdfff) cut++;
      if (cut >= end) break;
      pieces.push(text.slice(from, cut));
      from = cut;
      cut += MAX_RUN_CHARS;
    }
  }
  pieces.push(text.slice(from));
  return pieces;
}

/**
 * A counter for one encoding. The encoding loads on the first count.
 *
 * @example
 * ```ts
 * const tokenizer = createTokenizer("cl100k_base");
 * tokenizer.countText("hello world"); // 2
 * ```
 */
export function createTokenizer(encoding: TokenEncoding | string = DEFAULT_ENCODING): Tokenizer {
  const name = resolveEncoding(encoding);
  let encoder: Encoder | undefined;
  const countText = (text: string): number => {
    if (text.length === 0) return 0;
    const e = (encoder ??= loadEncoder(name));
    let total = 0;
    for (const piece of boundedPieces(text)) total += e.countTokens(piece, PLAIN_TEXT);
    return total;
  };
  const truncateText = (text: string, maxTokens: number): { text: string; tokens: number; total: number } => {
    const e = (encoder ??= loadEncoder(name));
    let kept = "";
    let tokens = 0;
    let total = 0;
    let cut = false;
    for (const piece of boundedPieces(text)) {
      const n = e.countTokens(piece, PLAIN_TEXT);
      total += n;
      if (cut) continue;
      if (tokens + n <= maxTokens) {
        kept += piece;
        tokens += n;
        continue;
      }
      cut = true;
      const room = maxTokens - tokens;
      if (room > 0) {
        // A prefix of the tokens can end inside a character: drop the replacement character it decodes to.
        const head = e.decode(e.encode(piece, PLAIN_TEXT).slice(0, room)).replace(/\uFFFD+$/u, "");
        kept += head;
        tokens += e.countTokens(head, PLAIN_TEXT);
      }
    }
    return { text: kept, tokens, total };
  };
  return {
    encoding: name,
    countText,
    truncateText,
    countEvent: (event) => countText(eventText(event)),
  };
}

const tokenizers = new Map<TokenEncoding, Tokenizer>();

/** The shared tokenizer of an encoding (one per encoding per process). */
export function tokenizerFor(encoding: TokenEncoding | string = DEFAULT_ENCODING): Tokenizer {
  const name = resolveEncoding(encoding);
  let tokenizer = tokenizers.get(name);
  if (tokenizer === undefined) {
    tokenizer = createTokenizer(name);
    tokenizers.set(name, tokenizer);
  }
  return tokenizer;
}

/**
 * Counts an event's tokens in the default encoding (o200k). Pass it as
 * `createStore(driver, { tokenCounter: defaultTokenCounter })` so every appended event
 * stores its count and windows never re-tokenize history.
 *
 * @example
 * ```ts
 * defaultTokenCounter({ type: "message", data: { role: "user", content: "hello world" } }); // 2
 * ```
 */
export function defaultTokenCounter(event: { type: string; data: JsonValue }): number {
  return tokenizerFor(DEFAULT_ENCODING).countEvent(event);
}

/** Counts the tokens of `text` (default encoding: o200k). */
export function countTokens(text: string, encoding?: TokenEncoding | string): number {
  return tokenizerFor(encoding).countText(text);
}
