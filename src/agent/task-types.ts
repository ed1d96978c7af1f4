/**
 * The data types of task scopes (see `task.ts`): inputs, trackers, outcome and the
 * `toJSON()` shape with the AIECS field names.
 */
import type { CallOptions, JsonObject, JsonValue } from "../core/types.js";

/** Input of {@link startTask}. */
export interface StartTaskInput extends CallOptions {
  userId?: string | null;
  chatId?: string | null;
  agentId?: string | null;
  metadata?: JsonObject;
  /** Work in this context. Without it, the newest context of this `userId` + `chatId` is continued, or a new one is made. */
  contextId?: string;
  /** Kind of a context the task creates. @default "task" */
  kind?: string;
  /** Title of a context the task creates. */
  title?: string;
  /**
   * Read the context's earlier history into `toJSON().context_history` and the trackers:
   * `true` for all of it, a number for the newest that many events. @default false
   */
  loadHistory?: boolean | number;
}

/** How a task ended. */
export type TaskOutcome = "ok" | "error" | "aborted";

/** The per-path file tracker entry (AIECS `file_tracker`). */
export interface FileTrack {
  operation: string;
  source: string;
  /** ISO 8601. */
  timestamp: string;
  /** `deleted` after a `delete` operation, else `active`. */
  state: "active" | "deleted";
}

/** Input of {@link Task.trackModel}. */
export interface ModelUsageInput {
  modelId: string;
  provider: string;
  /** e.g. `chat`, `embedding`, `text_extraction`. @default "chat" */
  mode?: string;
  inputTokens?: number;
  outputTokens?: number;
  cachedTokens?: number;
  /** When absent, `usage()` prices the call from its price table. */
  costUsd?: number;
  latencyMs?: number;
}

/** A model tracker entry. */
export interface ModelTrack extends ModelUsageInput {
  mode: string;
  timestamp: string;
}

/** Options of {@link Task.end}. */
export interface EndTaskOptions {
  outcome?: TaskOutcome;
  /** The error the task failed with (outcome `error`, or the abort reason). */
  error?: unknown;
}

/**
 * `task.toJSON()`: the AIECS `TaskContext.to_dict()` fields, so existing consumers can read
 * it, plus contextd's own. AIECS timestamps are epoch **seconds** (floats); `user_id` and
 * `chat_id` fall back to AIECS's `"anonymous"` and `"none"`.
 */
export interface TaskJSON {
  user_id: string;
  chat_id: string;
  metadata: JsonObject;
  /** History in AIECS form, oldest first (this task's events, after any loaded with `loadHistory`). */
  context_history: { timestamp: number; update_type: string; data: JsonValue; metadata: JsonObject; seq: number }[];
  /** Latest operation per path. */
  file_tracker: Record<string, { operation: string; source: string; timestamp: number; state: string }>;
  model_tracker: {
    model_id: string;
    provider_id: string;
    mode: string;
    timestamp: number;
    input_tokens?: number;
    output_tokens?: number;
    cached_tokens?: number;
    cost_usd?: number;
    latency_ms?: number;
  }[];
  /** Names of the registered resources, in registration order. */
  resources: string[];
  task_id: string;
  context_id: string;
  agent_id: string | null;
  started_at: string;
  ended_at: string | null;
  duration_ms: number | null;
  outcome: TaskOutcome | null;
}
