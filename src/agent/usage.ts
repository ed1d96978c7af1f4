/**
 * Usage and cost: token and cost totals from `model_usage` events, grouped as asked.
 *
 * `model_usage` data is read in contextd's form (`modelId`, `provider`, `inputTokens`,
 * `outputTokens`, `cachedTokens`, `costUsd`) and in AIECS's (`model_id`, `provider_id`,
 * snake_case counts). A call without `costUsd` is priced from the price table; a call
 * whose model has no price counts in `unpricedCalls` and adds nothing to `costUsd`.
 */
import { invalidInput } from "../errors.js";
import { isPlainObject } from "../core/json.js";
import { DEFAULT_PRICES, priceCall, type PriceTable } from "./prices.js";
import type { CallOptions, ContextEvent, ContextInfo, CoreStore, JsonObject, TimeInput } from "../core/types.js";

/** A dimension to group usage by. `day` is the UTC date of the event. */
export type UsageGroup = "model" | "provider" | "user" | "context" | "day";

const GROUPS: readonly UsageGroup[] = ["model", "provider", "user", "context", "day"];

/** Input of {@link usage}. */
export interface UsageQuery extends CallOptions {
  /** Another tenant of the same store. @default the store's tenant */
  tenant?: string;
  userId?: string;
  contextId?: string;
  kind?: string;
  /** Only events at or after this time. */
  from?: TimeInput;
  /** Only events at or before this time. */
  to?: TimeInput;
  /** @default [] (totals only) */
  groupBy?: UsageGroup[];
  /** @default DEFAULT_PRICES */
  prices?: PriceTable;
}

/** Token and cost totals. */
export interface UsageTotals {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  /** `inputTokens + outputTokens`. */
  totalTokens: number;
  costUsd: number;
  /** Calls with no `costUsd` whose model is not in the price table. */
  unpricedCalls: number;
}

/** One group of a {@link UsageReport}. */
export interface UsageRow extends UsageTotals {
  /** The value of each grouped dimension (`null` when unknown, e.g. a context without user). */
  key: Partial<Record<UsageGroup, string | null>>;
}

/** What {@link usage} returns. */
export interface UsageReport {
  totals: UsageTotals;
  /** Groups sorted by key; empty without `groupBy`. */
  groups: UsageRow[];
}

/** One `model_usage` event, normalised. */
export interface ModelCall {
  modelId: string | null;
  provider: string | null;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  costUsd: number | undefined;
}

const num = (d: JsonObject, ...keys: string[]): number | undefined => {
  for (const k of keys) {
    const v = d[k];
    if (typeof v === "number" && Number.isFinite(v) && v >= 0) return v;
  }
  return undefined;
};
const str = (d: JsonObject, ...keys: string[]): string | null => {
  for (const k of keys) if (typeof d[k] === "string") return d[k];
  return null;
};

/** Reads a `model_usage` event's data in contextd or AIECS form. */
export function readModelCall(data: ContextEvent["data"]): ModelCall {
  const d: JsonObject = isPlainObject(data) ? (data as JsonObject) : {};
  return {
    modelId: str(d, "modelId", "model_id", "model"),
    provider: str(d, "provider", "provider_id", "providerId"),
    inputTokens: num(d, "inputTokens", "input_tokens", "promptTokens", "prompt_tokens") ?? 0,
    outputTokens: num(d, "outputTokens", "output_tokens", "completionTokens", "completion_tokens") ?? 0,
    cachedTokens: num(d, "cachedTokens", "cached_tokens") ?? 0,
    costUsd: num(d, "costUsd", "cost_usd"),
  };
}

const zero = (): UsageTotals => ({
  calls: 0,
  inputTokens: 0,
  outputTokens: 0,
  cachedTokens: 0,
  totalTokens: 0,
  costUsd: 0,
  unpricedCalls: 0,
});

function add(t: UsageTotals, call: ModelCall, cost: number | undefined): void {
  t.calls++;
  t.inputTokens += call.inputTokens;
  t.outputTokens += call.outputTokens;
  t.cachedTokens += call.cachedTokens;
  t.totalTokens += call.inputTokens + call.outputTokens;
  if (cost === undefined) t.unpricedCalls++;
  else t.costUsd += cost;
}

async function* contextsOf(store: CoreStore, q: UsageQuery): AsyncGenerator<ContextInfo> {
  if (q.contextId !== undefined) {
    yield await store.getContext(q.contextId, { signal: q.signal });
    return;
  }
  let cursor: string | undefined;
  do {
    const page = await store.listContexts({
      ...(q.userId !== undefined && { userId: q.userId }),
      ...(q.kind !== undefined && { kind: q.kind }),
      limit: 1000,
      cursor,
      signal: q.signal,
    });
    yield* page.items;
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
}

/**
 * Token and cost totals of `model_usage` events: lists the matching contexts, reads only
 * their `model_usage` events (paged), and groups them.
 *
 * @example
 * ```ts
 * const { totals, groups } = await usage(store, { userId: "u1", groupBy: ["model", "day"] });
 * ```
 */
export async function usage(store: CoreStore, query: UsageQuery = {}): Promise<UsageReport> {
  const groupBy = query.groupBy ?? [];
  for (const g of groupBy) if (!GROUPS.includes(g)) throw invalidInput("groupBy", `unknown group ${JSON.stringify(g)}; use ${GROUPS.join(", ")}`);
  const prices = query.prices ?? DEFAULT_PRICES;
  const scoped = query.tenant === undefined ? store : store.withTenant(query.tenant);
  const totals = zero();
  const groups = new Map<string, UsageRow>();
  for await (const ctx of contextsOf(scoped, query)) {
    if (query.userId !== undefined && ctx.userId !== query.userId) continue;
    let cursor: string | undefined;
    do {
      const page = await scoped.readEvents(ctx.id, {
        types: ["model_usage"],
        ...(query.from !== undefined && { since: query.from }),
        ...(query.to !== undefined && { until: query.to }),
        limit: 1000,
        cursor,
        signal: query.signal,
      });
      for (const e of page.items) {
        const call = readModelCall(e.data);
        const cost = call.costUsd ?? (call.modelId === null ? undefined : priceCall(call.modelId, call, prices));
        add(totals, call, cost);
        if (groupBy.length === 0) continue;
        const key: UsageRow["key"] = {};
        for (const g of groupBy) {
          key[g] =
            g === "model" ? call.modelId
            : g === "provider" ? call.provider
            : g === "user" ? ctx.userId
            : g === "context" ? ctx.id
            : e.timestamp.slice(0, 10);
        }
        const k = JSON.stringify(groupBy.map((g) => key[g]));
        let row = groups.get(k);
        if (row === undefined) {
          row = { key, ...zero() };
          groups.set(k, row);
        }
        add(row, call, cost);
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
  }
  const sorted = [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
  return { totals, groups: sorted };
}
