/**
 * A sectioned context window: one prompt for the next model call, assembled within one token
 * budget from pinned instructions, working memory, long-term memories, recalled history, the
 * recent conversation (tool outputs capped) and a summary of what it dropped. See
 * docs/windows.md; the budget arithmetic is prompt-budget.ts, the rendering prompt-render.ts
 * and safe-text.ts, the reads prompt-sources.ts.
 */
import { ContextError, invalidInput, isContextError } from "../errors.js";
import { canonicalJson, isPlainObject } from "../core/json.js";
import type { ContextEvent, ContextInfo, CoreStore, SearchHit } from "../core/types.js";
import type { MemoryHit, MemoryScope } from "../core/memory-types.js";
import { REPLY_PRIMING_TOKENS, windowEncoding } from "./chat-tokens.js";
import { allocate, type BudgetSection } from "./prompt-budget.js";
import { createRenderer } from "./prompt-render.js";
import { gatherRecent, readOlder, readPinned, readRanges, storeBlockLoader, type RecalledRange, type Unit } from "./prompt-sources.js";
import type {
  BlockScope,
  PromptMessage,
  PromptWindow,
  PromptWindowOptions,
  WindowSectionName,
  WindowSectionReport,
  WindowSections,
  WorkingMemoryBlock,
} from "./prompt-types.js";
import { checkWindowOptions, int } from "./prompt-options.js";
import { checkNonce, createNonce, dataBlock, dataPreamble } from "./safe-text.js";
import { extractiveSummary } from "./summarize.js";
import { DEFAULT_ENCODING, loadTokenizer } from "./tokens.js";
import { WINDOW_EXCLUDED_TYPES } from "./window.js";

/** A section's budget settings with its defaults. */
function limits(s: { priority?: number; min?: number; max?: number } | undefined, name: string, d: { priority: number; min: number; max: number }) {
  const priority = s?.priority ?? d.priority;
  if (typeof priority !== "number" || !Number.isFinite(priority)) throw invalidInput(`sections.${name}.priority`, "must be a finite number");
  const min = int(s?.min, `sections.${name}.min`, d.min);
  const max = int(s?.max, `sections.${name}.max`, d.max);
  if (min > max) throw invalidInput(`sections.${name}.min`, `is above max (${max})`);
  return { priority, min, max };
}

/**
 * A search's `INVALID_INPUT` for a section's own option (`minScore`, `scope.userId`) names the
 * option as the caller wrote it (`sections.memories.minScore`); others pass unchanged.
 */
function inSection(name: "memories" | "recall", e: unknown): unknown {
  const own = name === "memories" ? ["scope", "limit", "mode", "minScore", "tags", "filter", "boosts"] : ["minScore"];
  if (!isContextError(e, "INVALID_INPUT")) return e;
  const field = e.details["field"];
  if (typeof field !== "string" || !own.includes(/^[A-Za-z]+/.exec(field)?.[0] ?? "")) return e;
  const message = e.message.startsWith(`${field}: `) ? e.message.slice(field.length + 2) : e.message;
  return new ContextError("INVALID_INPUT", `sections.${name}.${field}: ${message}`, { cause: e, details: { ...e.details, field: `sections.${name}.${field}` } });
}

/** The default scope of memories: the context's user, else its agent, else the context. */
function defaultMemoryScope(id: string, info: ContextInfo | undefined): MemoryScope {
  if (info?.userId) return { userId: info.userId };
  if (info?.agentId) return { agentId: info.agentId };
  return { contextId: id };
}

function defaultBlockScopes(id: string, info: ContextInfo | undefined): BlockScope[] {
  const scopes: BlockScope[] = [{ contextId: id }];
  if (info?.userId) scopes.push({ userId: info.userId });
  if (info?.agentId) scopes.push({ agentId: info.agentId });
  return scopes;
}

/** At most 32 distinct words of ≤ 100 characters and 1000 characters: what a text-mode history search takes. */
function textQuery(query: string): string {
  const words = [...new Set(query.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])].filter((w) => w.length <= 100).slice(0, 32);
  return words.join(" ").slice(0, 1000);
}

const seqRef = (e: ContextEvent) => `seq:${e.seq}`;

/** The least room worth giving a summary: its block's delimiters and a few lines. */
const SUMMARY_LEAST = 64;

/** Options of a sectioned window: they name a `model` or `sections` (`sections: {}` for every default). */
export type SectionedWindowOptions = PromptWindowOptions & ({ model: string } | { sections: WindowSections });

/** Whether `context(id).window(options)` builds a sectioned window: the options name a `model` or `sections`. */
export function isSectionedWindow(options: unknown): options is PromptWindowOptions {
  return isPlainObject(options) && (options["model"] !== undefined || options["sections"] !== undefined);
}

/**
 * Assembles a sectioned window (see the module comment and docs/windows.md): reads pinned
 * events, the newest events up to the budget, the working-memory blocks, the best memories
 * and history hits for the query, allocates the budget by priority, and renders the messages.
 *
 * @throws `INVALID_INPUT` for bad options (unknown names included) or an unknown model;
 *   `NOT_FOUND` for a missing context
 * @example
 * ```ts
 * const w = await assembleWindow(store, chatId, { maxTokens: 8000, model: "gpt-4o", instructions: "Be brief." });
 * const messages = toOpenAIMessages(w);
 * ```
 */
export async function assembleWindow(store: CoreStore, id: string, options: PromptWindowOptions): Promise<PromptWindow> {
  checkWindowOptions(options);
  const sections = options.sections ?? {};
  const maxTokens = int(options.maxTokens, "maxTokens", 0, 1);
  const reserve = int(options.reserveTokens, "reserveTokens", 0);
  const budget = maxTokens - reserve;
  if (budget <= REPLY_PRIMING_TOKENS) throw invalidInput("reserveTokens", `leaves no budget: maxTokens ${maxTokens} − reserveTokens ${reserve}`);
  const { signal } = options;
  const tokenizer = await loadTokenizer(windowEncoding(options.model, options.encoding));
  const nonce = options.nonce === undefined ? createNonce() : checkNonce(options.nonce);
  const pinOpts = sections.pinned ?? {};
  const pinnedTypes = pinOpts.types ?? ["system"];
  const recentOpts = sections.recent ?? {};
  const types = recentOpts.types;
  const excluded = types === undefined ? new Set<string>(WINDOW_EXCLUDED_TYPES.filter((t) => !pinnedTypes.includes(t))) : null;
  const considered = (e: ContextEvent) => excluded === null || !excluded.has(e.type);
  const toolCap = int(sections.toolOutputs?.maxTokensPerItem, "sections.toolOutputs.maxTokensPerItem", Math.min(2000, Math.floor(budget / 4)), 1);
  const r = createRenderer({ tokenizer, nonce, toolCap, useStored: tokenizer.encoding === DEFAULT_ENCODING });
  // What one event's message costs does not depend on its unit: computed once per event.
  const eventCosts = new Map<number, number>();
  const unitCost = (events: ContextEvent[]) =>
    events.reduce((n, e) => {
      let c = eventCosts.get(e.seq);
      if (c === undefined) eventCosts.set(e.seq, (c = r.unitMessages([e]).reduce((k, m) => k + r.cost(m), 0)));
      return n + c;
    }, 0);

  const wmOpts = sections.workingMemory === false ? false : (sections.workingMemory ?? {});
  const memOpts = sections.memories === false ? false : (sections.memories ?? {});
  const recallOpts = sections.recall === false ? false : (sections.recall ?? {});
  const sumOpts = sections.summary === false ? false : (sections.summary ?? {});
  const L = {
    workingMemory: limits(wmOpts || undefined, "workingMemory", { priority: 90, min: 0, max: budget }),
    memories: limits(memOpts || undefined, "memories", { priority: 70, min: 0, max: Math.floor(budget * 0.15) }),
    recall: limits(recallOpts || undefined, "recall", { priority: 60, min: 0, max: Math.floor(budget * 0.15) }),
    summary: limits(sumOpts || undefined, "summary", { priority: 50, min: 0, max: Math.min(512, Math.floor(budget / 10)) }),
    recent: limits(recentOpts, "recent", { priority: 40, min: Math.floor(budget / 4), max: budget }),
  };

  // ── 1. Reads that need nothing else: pinned events, the newest events, the context. ──
  const needInfo = (wmOpts !== false && wmOpts.blocks === undefined && wmOpts.scopes === undefined) || (memOpts !== false && memOpts.scope === undefined);
  const pinned = await readPinned(store, id, pinnedTypes, int(pinOpts.scanLimit, "sections.pinned.scanLimit", 100), considered, signal);
  const [gather, info] = await Promise.all([
    gatherRecent(store, id, {
      types,
      considered,
      pinned,
      cap: budget,
      cost: unitCost,
      pageSize: int(recentOpts.pageSize, "sections.recent.pageSize", 200, 1),
      scanLimit: int(recentOpts.scanLimit, "sections.recent.scanLimit", 10_000, 1),
      dedupe: recentOpts.dedupe ?? true,
      signal,
    }),
    needInfo ? store.getContext(id, { signal }) : undefined,
  ]);
  for (const e of gather.flagged) pinned.set(e.seq, e);
  const query = options.query ?? gather.lastUserText ?? null;
  if (options.query !== undefined && (typeof options.query !== "string" || options.query.trim() === "")) throw invalidInput("query", "must be a non-empty string");

  // ── 2. Searches and blocks, in parallel. ──
  const skipped: Partial<Record<WindowSectionName, string>> = {};
  const skip = <T>(name: WindowSectionName, why: string, empty: T): T => {
    skipped[name] = why;
    return empty;
  };
  const loadBlocks = async (): Promise<readonly WorkingMemoryBlock[]> => {
    if (wmOpts === false) return skip("workingMemory", "off", []);
    if (wmOpts.blocks !== undefined) return wmOpts.blocks;
    const load = wmOpts.load ?? storeBlockLoader(store);
    return load(wmOpts.scopes ?? defaultBlockScopes(id, info), { signal });
  };
  const searchMemories = async (): Promise<MemoryHit[]> => {
    if (memOpts === false) return skip("memories", "off", []);
    if (query === null) return skip("memories", "no query (no user message and no `query`)", []);
    const { priority: _p, min: _n, max: _x, scope, limit, ...rest } = memOpts;
    try {
      return await store.searchMemories({ ...rest, text: query.slice(0, 4096), scope: scope ?? defaultMemoryScope(id, info), limit: limit ?? 10, signal });
    } catch (e) {
      if (isContextError(e, "NOT_SUPPORTED")) return skip("memories", `not supported: ${(e as Error).message}`, []);
      throw inSection("memories", e);
    }
  };
  const recall = async (): Promise<{ hits: SearchHit[]; mode: string }> => {
    if (recallOpts === false) return skip("recall", "off", { hits: [], mode: "off" });
    if (query === null) return skip("recall", "no query (no user message and no `query`)", { hits: [], mode: "off" });
    const limit = int(recallOpts.limit, "sections.recall.limit", 3, 1);
    // Hits inside the recent section are left out: ask for more than shown.
    const search = (mode: "text" | "vector" | "hybrid") =>
      store.searchEvents({
        text: mode === "text" ? textQuery(query) : query.slice(0, 1000),
        mode,
        contextId: id,
        limit: Math.min(1000, limit * 2 + 4),
        ...(types !== undefined && { types }),
        ...(recallOpts.minScore !== undefined && { minScore: recallOpts.minScore }),
        signal,
      });
    const mode = recallOpts.mode ?? "hybrid";
    try {
      if (mode === "text" && textQuery(query) === "") return skip("recall", "the query has no words", { hits: [], mode });
      return { hits: await search(mode), mode };
    } catch (e) {
      if (!isContextError(e, "NOT_SUPPORTED")) throw inSection("recall", e);
      if (recallOpts.mode === undefined && textQuery(query) !== "") return { hits: await search("text"), mode: "text" };
      return skip("recall", `not supported: ${(e as Error).message}`, { hits: [], mode });
    }
  };
  const [blocks, memoryHits, recalled] = await Promise.all([loadBlocks(), searchMemories(), recall()]);
  const recallLimit = recallOpts === false ? 0 : int(recallOpts.limit, "sections.recall.limit", 3, 1);
  const range = recallOpts === false ? 1 : (recallOpts.range ?? 1);
  const before = typeof range === "number" ? range : range.before;
  const after = typeof range === "number" ? range : range.after;
  // Hits in what the recent section keeps for sure (its minimum) are never recalled; of the
  // rest, the best are read with their neighbours (the final cut-off is known after allocation).
  let sure = Infinity;
  let spent = 0;
  for (const u of gather.units) {
    if ((spent += u.cost) > L.recent.min) break;
    sure = u.minSeq;
  }
  const recallCandidates = recalled.hits.filter((h) => !pinned.has(h.event.seq) && h.event.seq < sure).slice(0, recallLimit + 2);
  const ranges = await readRanges(store, id, recallCandidates, before, after, types, considered, signal);

  // ── 3. Items and their costs. ──
  const USER_OVERHEAD = r.cost({ role: "user", content: "" });
  const blockItems = blocks.map((b) => {
    const value = typeof b.value === "string" ? b.value : canonicalJson(b.value);
    const limit = b.limit?.chars ?? b.limit?.tokens;
    const unit = b.limit?.chars !== undefined ? "chars" : "tokens";
    const attrs = { label: b.label, description: b.description ?? undefined, ...(limit !== undefined && { limit: `${value.length}/${limit} ${unit}` }) };
    const text = `${dataBlock(nonce, "working-memory", attrs, value)}\n`;
    return { ref: `block:${b.label}`, text, cost: tokenizer.countText(text) };
  });
  const memoryItems = memoryHits.map((h) => {
    const text = `${dataBlock(nonce, "memory", { id: h.memory.id, updated: h.memory.updatedAt, score: h.score.toFixed(3) }, h.memory.text)}\n`;
    return { ref: `memory:${h.memory.id}`, text, cost: tokenizer.countText(text) };
  });

  const pinnedEvents = [...pinned.values()].sort((a, b) => a.seq - b.seq);
  const instructions = typeof options.instructions === "string" ? [options.instructions] : (options.instructions ?? []);
  if (!Array.isArray(instructions) || instructions.some((s) => typeof s !== "string")) throw invalidInput("instructions", "must be a string or an array of strings");

  // Recall items depend on where the recent section ends, which depends on the budget left:
  // allocate, move the recall cut-off to the recent section's oldest kept event, repeat.
  let cutoff = sure;
  let summaryWanted = sumOpts !== false && (!gather.exhausted || gather.units.reduce((n, u) => n + u.cost, 0) > budget);
  let recallItems: { ref: string; text: string; cost: number; seqs: number[] }[] = [];
  let alloc!: ReturnType<typeof allocate>;
  let render!: ReturnType<typeof renderAll>;
  const renderAll = (taken: Map<string, boolean[]>) => {
    const pick = <T>(name: string, items: T[]) => items.filter((_, i) => taken.get(name)?.[i] === true);
    return {
      blocks: pick("workingMemory", blockItems),
      memories: pick("memories", memoryItems),
      recall: pick("recall", recallItems),
      recent: pick("recent", gather.units),
    };
  };
  const buildRecallItems = (limitSeq: number) => {
    const shown = new Set<number>();
    const items: typeof recallItems = [];
    for (const rg of ranges) {
      if (items.length >= recallLimit) break;
      if (rg.hitSeq >= limitSeq || shown.has(rg.hitSeq)) continue;
      const events = rg.events.filter((e) => e.seq < limitSeq && !pinned.has(e.seq) && !shown.has(e.seq));
      if (events.length === 0) continue;
      for (const e of events) shown.add(e.seq);
      items.push(recallItem(rg, events));
    }
    return items;
  };
  const recallItem = (rg: RecalledRange, events: ContextEvent[]) => {
    const from = events[0]!.seq;
    const to = events[events.length - 1]!.seq;
    const text = `${dataBlock(nonce, "history", { seq: `${from}-${to}`, match: rg.hitSeq, score: rg.score.toFixed(3) }, events.map((e) => r.historyLine(e)).join("\n"))}\n`;
    return { ref: `seq:${from}-${to}`, text, cost: tokenizer.countText(text), seqs: events.map((e) => e.seq) };
  };

  // The system message: instructions, pinned system events, and the data note.
  const systemParts = [...instructions, ...pinnedEvents.filter((e) => e.type === "system").map((e) => (r.unitMessages([e])[0] as { content: string }).content)];
  // A pinned tool call or result has no pair in this section: it is shown as data.
  const pinnedOthers = pinnedEvents
    .filter((e) => e.type !== "system")
    .flatMap((e) => (e.type === "tool_call" || e.type === "tool_result" ? [r.asData(e)] : r.unitMessages([e])));
  let pinnedCost = 0;
  let systemMessage: PromptMessage | undefined;
  for (let pass = 0; pass < 4; pass++) {
    recallItems = buildRecallItems(cutoff);
    const anyData = blockItems.length + memoryItems.length + recallItems.length > 0 || summaryWanted || r.dataBlocks > 0;
    const parts = anyData ? [...systemParts, dataPreamble(nonce)] : systemParts;
    systemMessage = parts.length > 0 ? { role: "system", content: parts.join("\n\n") } : undefined;
    pinnedCost = (systemMessage === undefined ? 0 : r.cost(systemMessage)) + pinnedOthers.reduce((n, m) => n + r.cost(m), 0);
    const sectionList: BudgetSection[] = [
      { name: "workingMemory", ...L.workingMemory, costs: blockItems.map((b) => b.cost), overhead: USER_OVERHEAD, contiguous: false },
      { name: "memories", ...L.memories, costs: memoryItems.map((m) => m.cost), overhead: USER_OVERHEAD, contiguous: false },
      { name: "recall", ...L.recall, costs: recallItems.map((m) => m.cost), overhead: USER_OVERHEAD, contiguous: false },
      { name: "summary", ...L.summary, costs: summaryWanted ? [Math.min(L.summary.max, SUMMARY_LEAST)] : [], contiguous: true, elastic: true },
      { name: "recent", ...L.recent, costs: gather.units.map((u) => u.cost), contiguous: true },
    ];
    alloc = allocate(budget - REPLY_PRIMING_TOKENS - pinnedCost, sectionList);
    render = renderAll(alloc.taken);
    const kept = render.recent;
    const newCutoff = kept.length > 0 ? kept[kept.length - 1]!.minSeq : Infinity;
    const recentDropped = kept.length < gather.units.length || !gather.exhausted;
    const wanted = sumOpts !== false && recentDropped;
    if (newCutoff === cutoff && wanted === summaryWanted) break;
    cutoff = newCutoff;
    summaryWanted = wanted;
  }

  // ── 4. The summary of what the recent section dropped, in the room it was given. ──
  const keptUnits = new Set(render.recent);
  const droppedUnits = gather.units.filter((u) => !keptUnits.has(u));
  const droppedEvents = droppedUnits.flatMap((u) => u.events);
  let summaryMessage: PromptMessage | undefined;
  let summaryRef: string | undefined;
  if (sumOpts !== false && summaryWanted) {
    const room = (alloc.used.get("summary") ?? 0) - USER_OVERHEAD;
    const scanLimit = int(sumOpts.scanLimit, "sections.summary.scanLimit", 100, 0);
    let covered = [...droppedEvents, ...gather.leftOut.filter((e) => e.seq < cutoff)].sort((a, b) => a.seq - b.seq);
    if (!gather.exhausted && gather.oldestRead !== undefined && covered.length < scanLimit) {
      const older = await readOlder(store, id, gather.oldestRead, scanLimit - covered.length, types, (e) => considered(e) && !pinned.has(e.seq), signal);
      covered = [...older.reverse(), ...covered];
    }
    covered = covered.slice(-Math.max(1, scanLimit));
    if (room > 0 && covered.length > 0) {
      const summarize = sumOpts.summarize ?? extractiveSummary;
      // Leave room for the block's delimiters around the text.
      const frame = tokenizer.countText(`${dataBlock(nonce, "summary", { seq: `${covered[0]!.seq}-${covered[covered.length - 1]!.seq}`, events: covered.length }, "")}\n`);
      let text = (await summarize({ events: covered, maxTokens: Math.max(1, room - frame - 1), tokenizer, signal })).trim();
      const from = covered[0]!.seq;
      const to = covered[covered.length - 1]!.seq;
      // Neutralizing can make the text longer than the summarizer measured it: cut it to fit.
      for (let attempt = 0; text !== "" && attempt < 6; attempt++) {
        const m: PromptMessage = { role: "user", content: `${dataBlock(nonce, "summary", { seq: `${from}-${to}`, events: covered.length }, text)}\n` };
        const c = r.cost(m);
        if (c <= room + USER_OVERHEAD) {
          summaryMessage = m;
          summaryRef = `seq:${from}-${to}`;
          break;
        }
        const n = tokenizer.countText(text);
        text = `${tokenizer.truncateText(text, Math.floor((n * (room + USER_OVERHEAD)) / c) - 4 * (attempt + 1)).text.trimEnd()} …`;
      }
    }
  }

  // ── 5. Messages, in prompt order, and the report. ──
  const section = (items: { text: string }[]): PromptMessage | undefined =>
    items.length === 0 ? undefined : { role: "user", content: items.map((i) => i.text).join("") };
  const wmMessage = section(render.blocks);
  const memMessage = section(render.memories);
  const recallMessage = section(render.recall);
  const recentMessages = [...render.recent].sort((a, b) => a.minSeq - b.minSeq).flatMap((u: Unit) => r.unitMessages(u.events));
  const messages: PromptMessage[] = [
    ...(systemMessage === undefined ? [] : [systemMessage]),
    ...pinnedOthers,
    ...[wmMessage, memMessage, recallMessage, summaryMessage].filter((m): m is PromptMessage => m !== undefined),
    ...recentMessages,
  ];
  const cost = (m: PromptMessage | undefined) => (m === undefined ? 0 : r.cost(m));
  const recentTokens = recentMessages.reduce((n, m) => n + cost(m), 0);
  const sectionTokens = {
    pinned: pinnedCost,
    workingMemory: cost(wmMessage),
    memories: cost(memMessage),
    recall: cost(recallMessage),
    recent: recentTokens,
    summary: cost(summaryMessage),
  };
  const tokens = REPLY_PRIMING_TOKENS + Object.values(sectionTokens).reduce((a, b) => a + b, 0);
  const refs = <T>(all: T[], kept: T[], ref: (x: T) => string) => ({
    included: kept.map(ref),
    dropped: all.filter((x) => !kept.includes(x)).map(ref),
  });
  const report = (name: WindowSectionName, lim: { priority: number; min: number; max: number } | null, extra: Omit<WindowSectionReport, "name" | "priority" | "min" | "max">): WindowSectionReport => {
    const out: WindowSectionReport = { name, priority: lim?.priority ?? null, min: lim?.min ?? 0, max: lim === null ? null : lim.max, ...extra };
    if (skipped[name] !== undefined) out.skipped = skipped[name];
    return out;
  };
  const recallDropped = recallItems.filter((i) => !render.recall.includes(i)).map((i) => i.ref);
  const truncatedShown = [...r.truncated].filter((s) => messages.some((m) => m.content.includes(`seq="${s}"`)) || render.recall.some((i) => i.seqs.includes(s)));
  const sectionsReport: WindowSectionReport[] = [
    report("pinned", null, { tokens: pinnedCost, included: pinnedEvents.map(seqRef), dropped: [] }),
    report("workingMemory", L.workingMemory, { tokens: sectionTokens.workingMemory, ...refs(blockItems, render.blocks, (b) => b.ref) }),
    report("memories", L.memories, { tokens: sectionTokens.memories, ...refs(memoryItems, render.memories, (m) => m.ref) }),
    report("recall", L.recall, { tokens: sectionTokens.recall, included: render.recall.map((i) => i.ref), dropped: recallDropped }),
    report("recent", L.recent, {
      tokens: recentTokens,
      included: render.recent.flatMap((u) => u.events).sort((a, b) => a.seq - b.seq).map(seqRef),
      dropped: [...droppedEvents, ...gather.leftOut].sort((a, b) => a.seq - b.seq).map(seqRef),
      notRead: gather.exhausted || gather.oldestRead === undefined ? 0 : Math.max(0, gather.oldestRead - 1 - [...pinned.keys()].filter((s) => s < gather.oldestRead!).length),
    }),
    report("toolOutputs", null, { tokens: 0, included: truncatedShown.map((s) => `seq:${s}`), dropped: [] }),
    report("summary", sumOpts === false ? null : L.summary, {
      tokens: sectionTokens.summary,
      included: summaryRef === undefined ? [] : [summaryRef],
      dropped: [],
      ...(sumOpts === false ? { skipped: "off" } : summaryWanted ? {} : { skipped: "nothing dropped" }),
    }),
  ];
  const toolReport = sectionsReport[5]!;
  toolReport.max = toolCap;
  return {
    messages,
    tokens,
    budget,
    overBudget: pinnedCost + REPLY_PRIMING_TOKENS > budget,
    encoding: tokenizer.encoding,
    model: options.model ?? null,
    query,
    nonce,
    sections: sectionsReport,
  };
}
