/**
 * The public data model of working memory: labelled blocks per scope (a context, a user or an
 * agent), each with a hard size limit, a version and a history. See docs/working-memory.md.
 */
import type { JsonObject, JsonValue } from "./json-types.js";
import type { CallOptions } from "./call-types.js";

/** The most versions one `blockHistory` page holds (embedded, over HTTP and in the client's own check). */
export const MAX_BLOCK_HISTORY_PAGE = 10_000;

/** Whose block: exactly one of a context, a user or an agent. */
export type BlockScope = { contextId: string } | { userId: string } | { agentId: string };

/**
 * A block's hard limit: in characters (UTF-16 code units, JavaScript's `length`) and/or in
 * o200k tokens, of the value's text (a JSON value's text is its JSON). At least one is given;
 * every write that would exceed one fails with `LIMIT_EXCEEDED`.
 */
export interface BlockLimit {
  /** 1 to 1048576. */
  chars?: number;
  /** 1 to 262144, counted with the o200k_base tokenizer. */
  tokens?: number;
}

/** One working-memory block. */
export interface Block {
  scope: BlockScope;
  /** Unique per scope: 1–64 of `a–z A–Z 0–9 _ - .`, starting with a letter. */
  label: string;
  /** What the block is for (shown to the model beside it). */
  description: string;
  /** Text, or (for a block with a `schema`) a JSON value that matches it. */
  value: string | JsonValue;
  /** The JSON Schema every value of the block must match; absent for a text block. */
  schema?: JsonObject;
  limit: BlockLimit;
  /** 1 when created; every write increments it (a block deleted and created again continues). */
  version: number;
  createdAt: string;
  updatedAt: string;
  /** Who or what made the last write, if the writer said (`actor`). */
  updatedBy?: string;
}

/** A block to create or overwrite with `putBlock`. */
export interface BlockInput {
  label: string;
  /** @default "" */
  description?: string;
  /** A string for a text block; with `schema`, any JSON value the schema accepts. */
  value: string | JsonValue;
  /** Makes a JSON block: every value is checked against it (`INVALID_INPUT` with a JSON pointer). */
  schema?: JsonObject;
  limit: BlockLimit;
}

/**
 * An edit an agent can make as a tool call. `append` adds text at the end of a text block;
 * `replace` swaps the one occurrence of `old` (an error when it is missing or not unique);
 * `rewrite` replaces the whole value (text, or JSON for a JSON block).
 */
export type BlockEdit =
  | { op: "append"; text: string }
  | { op: "replace"; old: string; new: string }
  | { op: "rewrite"; value: string | JsonValue };

/** Options of block writes. */
export interface BlockWriteOptions extends CallOptions {
  /**
   * Fails with `VERSION_CONFLICT` unless the block is at this version; `0` means "must not
   * exist yet" (for `putBlock`).
   */
  ifVersion?: number;
  /** Who or what made the change: the block's `updatedBy` and its history. */
  actor?: string;
}

/** Options of `blockHistory`: a page of the versions, oldest first. */
export interface BlockHistoryOptions extends CallOptions {
  /** Versions after this one (default 0: from the first). */
  afterVersion?: number;
  /** At most this many versions, 1–10000 (default: all after `afterVersion`). */
  limit?: number;
}

/** One version of a block, as its history keeps it. */
export interface BlockVersion {
  label: string;
  version: number;
  /** What made this version. */
  op: "put" | "append" | "replace" | "rewrite" | "delete";
  description: string;
  /** The value at this version (for `delete`: the last value). */
  value: string | JsonValue;
  schema?: JsonObject;
  limit: BlockLimit;
  /** Who or what made the change, if the writer said. */
  actor: string | null;
  at: string;
}
