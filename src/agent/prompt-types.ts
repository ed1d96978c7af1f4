/**
 * The types of a sectioned context window (`context(id).window({ maxTokens, model, sections })`):
 * its options, the provider-neutral messages it renders, and its per-section report.
 * See docs/windows.md.
 */
import type { CallOptions, EventType, JsonValue } from "../core/types.js";
import type { BlockScope } from "../core/block-types.js";
import type { MemoryBoosts, MemoryScope, MetadataFilter } from "../core/memory-types.js";
import type { Summarizer } from "./summarize.js";
import type { TokenEncoding } from "./tokens.js";

/** A tool call of an assistant message. */
export interface PromptToolCall {
  id: string;
  name: string;
  /** The arguments as JSON text. */
  arguments: string;
}

/**
 * One chat message of a window, provider-neutral (see `toOpenAIMessages`,
 * `toAnthropicMessages`, `toModelMessages`). Only instructions (the caller's `instructions`,
 * pinned `system` events and the app's own `system` messages) are `system`; memories,
 * recalled history, tool outputs and summaries are `user` (or `tool`) messages whose text is
 * in delimited data blocks.
 */
export type PromptMessage =
  | { role: "system"; content: string; name?: string }
  | { role: "user"; content: string; name?: string }
  | { role: "assistant"; content: string; name?: string; toolCalls?: PromptToolCall[] }
  | { role: "tool"; toolCallId: string; toolName: string; content: string };

/** The sections of a window, in the order they are reported. */
export type WindowSectionName = "pinned" | "workingMemory" | "memories" | "recall" | "recent" | "toolOutputs" | "summary";

/** What every section can set. A higher `priority` gets its share of the budget first. */
export interface SectionLimits {
  /** @default per section: workingMemory 90, memories 70, recall 60, summary 50, recent 40 */
  priority?: number;
  /** Tokens held for this section (when it has that much to show) before any section is filled. @default recent: 25% of the budget, others 0 */
  min?: number;
  /** At most this many tokens. @default memories and recall: 15% of the budget; summary: min(512, 10%); others none */
  max?: number;
}

/** A working-memory block as the window needs it (the block store's blocks have more fields). */
export interface WorkingMemoryBlock {
  label: string;
  description?: string | null;
  /** Text, or JSON (rendered as canonical JSON). */
  value: string | JsonValue;
  limit?: { chars?: number; tokens?: number };
}

/** Whose working-memory blocks to load (the store's block scope). */
export type { BlockScope };

/** Loads working-memory blocks of scopes, in order (e.g. the store's `listBlocks`). */
export type BlockLoader = (scopes: BlockScope[], options: CallOptions) => Promise<readonly WorkingMemoryBlock[]>;

/** Options of the working-memory section. */
export interface WorkingMemorySection extends SectionLimits {
  /** These blocks, instead of loading any. */
  blocks?: readonly WorkingMemoryBlock[];
  /** Scopes to load. @default the context, then its user and agent when it has them */
  scopes?: BlockScope[];
  /** The loader. @default the store's `listBlocks(scope)` per scope, when the store has it */
  load?: BlockLoader;
}

/** Options of the long-term memory section (`store.searchMemories`). */
export interface MemoriesSection extends SectionLimits {
  /** @default the context's user, else its agent, else the context */
  scope?: MemoryScope;
  /** Memories asked for, best first. @default 10 */
  limit?: number;
  /** @default "hybrid" */
  mode?: "hybrid" | "text" | "vector";
  minScore?: number;
  tags?: string[];
  filter?: MetadataFilter;
  boosts?: MemoryBoosts;
}

/** Options of the recalled-history section (`store.searchEvents` in this context). */
export interface RecallSection extends SectionLimits {
  /** @default "hybrid" ("text" when the store has no long-term memory area) */
  mode?: "text" | "vector" | "hybrid";
  /** Hits shown, best first (each with its neighbours). @default 3 */
  limit?: number;
  /** Neighbouring events shown around each hit (at most 1000 each side), like Mastra's `messageRange`. @default 1 (before and after) */
  range?: number | { before: number; after: number };
  minScore?: number;
}

/** Options of the recent-conversation section. */
export interface RecentSection extends SectionLimits {
  /** @default all but WINDOW_EXCLUDED_TYPES */
  types?: EventType[];
  /** Remove older duplicates (same type and data). @default true */
  dedupe?: boolean;
  /** At most this many events are read. @default 10000 */
  scanLimit?: number;
  /** Events per page (at most 10,000). @default 200 */
  pageSize?: number;
}

/** Options of the pinned section: always kept, never dropped. */
export interface PinnedSection {
  /** Event types always kept. @default ["system"] */
  types?: EventType[];
  /** How many of the oldest events are checked for `metadata.pinned` (at most 10,000). @default 100 */
  scanLimit?: number;
}

/** The cap on each tool output. */
export interface ToolOutputsSection {
  /** Tokens of one tool output's text beyond which it is cut, with a visible marker. @default 25% of the budget, at most 2000 */
  maxTokensPerItem?: number;
}

/** Options of the summary of what the recent section dropped. */
export interface SummarySection extends SectionLimits {
  /** @default the built-in extractive summary */
  summarize?: Summarizer;
  /** At most this many dropped events (the newest of them) are summarized. @default 100 */
  scanLimit?: number;
}

/** Per-section options; `false` turns a section off. */
export interface WindowSections {
  pinned?: PinnedSection;
  workingMemory?: WorkingMemorySection | false;
  memories?: MemoriesSection | false;
  recall?: RecallSection | false;
  recent?: RecentSection;
  toolOutputs?: ToolOutputsSection;
  summary?: SummarySection | false;
}

/** Options of a sectioned window (`context(id).window({ maxTokens, model, sections })`). */
export interface PromptWindowOptions extends CallOptions {
  /** The model's context budget in tokens. */
  maxTokens: number;
  /** Tokens left free (for the reply, tool definitions…). @default 0 */
  reserveTokens?: number;
  /** The model, to pick its tokenizer (`gpt-4o`, `gpt-4.1`, `o3` → o200k; `gpt-4`, `gpt-3.5-turbo` → cl100k). */
  model?: string;
  /** The encoding, when the model is not known to contextd. @default from `model`, else o200k_base */
  encoding?: TokenEncoding | string;
  /** Trusted instructions, first in the system message. */
  instructions?: string | string[];
  /** What memories and recall search for. @default the last user message of the history */
  query?: string;
  /**
   * The delimiter nonce (8–64 letters or digits). @default a random one per window. A fixed
   * one keeps the system message byte-identical between calls (provider prompt caching);
   * delimiters stay safe without secrecy, because text that looks like them is neutralized.
   */
  nonce?: string;
  /** Per-section options. */
  sections?: WindowSections;
}

/** What one section holds and what it left out. */
export interface WindowSectionReport {
  name: WindowSectionName;
  /** `null` for the sections outside the allocation: `pinned` (always kept) and `toolOutputs` (a cap per item, in `max`). */
  priority: number | null;
  min: number;
  max: number | null;
  /** Tokens of the section's messages by the chat counting rule (0 for `toolOutputs`, counted where the outputs are). */
  tokens: number;
  /**
   * What is in the window: `seq:12` (an event), `seq:118-121` (a recalled range), `memory:<id>`,
   * `block:<label>`; for `toolOutputs`, the events whose output was cut.
   */
  included: string[];
  /** What was considered and left out, in the same forms. */
  dropped: string[];
  /** For `recent`: events older than those read, left out without being read (a count by sequence numbers). */
  notRead?: number;
  /** Why the section is empty: off, no query, not supported by the store… */
  skipped?: string;
}

/** A sectioned window: the messages for the next model call and how the budget was spent. */
export interface PromptWindow {
  /** Instructions, working memory, memories, recall, summary, then the recent conversation. */
  messages: PromptMessage[];
  /** Tokens of `messages` by the chat counting rule (per-message overhead and reply priming included). */
  tokens: number;
  /** `maxTokens - reserveTokens`. */
  budget: number;
  /** True only when the pinned section alone exceeds the budget (pinned content is never dropped). */
  overBudget: boolean;
  encoding: TokenEncoding;
  model: string | null;
  /** What memories and recall searched for (`null`: no query, both skipped). */
  query: string | null;
  /** The nonce of this window's data delimiters. */
  nonce: string;
  /** Per section, in report order (`pinned` … `summary`). */
  sections: WindowSectionReport[];
}
