/**
 * `store.context(id)`: the per-context methods of any {@link ContextStore}, bound to an id.
 * Works the same over the embedded store and the HTTP client.
 */
import type { ContextHandle, ContextStore } from "./types.js";
import { optimize } from "./optimize.js";
import { buildWindow, type WindowOptions } from "./window.js";
import { assembleWindow, isSectionedWindow } from "./prompt-window.js";
import type { PromptWindow, PromptWindowOptions } from "./prompt-types.js";
import { invalidInput } from "../errors.js";
import { isPlainObject } from "../core/json.js";
import { blocksOf } from "./blocks.js";

/** The options of `handle.search`: an object without `text` or `contextId` (given by the call and the handle). */
function searchOptions(q: unknown): object {
  if (q === undefined) return {};
  if (!isPlainObject(q)) throw invalidInput("query", "must be an object");
  for (const key of ["text", "contextId"]) {
    if (key in q) throw invalidInput(`query.${key}`, "unknown option (given by the call and the handle)");
  }
  return q;
}

/** Builds the sectioned window of context `id` (see {@link contextHandle}). */
export type SectionedWindowBuilder = (id: string, options: PromptWindowOptions) => Promise<PromptWindow>;

/**
 * Binds the per-context methods of `store` to `id`. A sectioned window is `sectioned`'s (the
 * HTTP client asks its server) or else assembled here on `store`.
 * @example
 * ```ts
 * const chat = store.context("chat-1");
 * await chat.append({ type: "message", data: { role: "user", content: "hi" } });
 * ```
 */
export function contextHandle(store: ContextStore, id: string, sectioned?: SectionedWindowBuilder): ContextHandle {
  return {
    id,
    store,
    info: (o) => store.getContext(id, o),
    update: (input, o) => store.updateContext(id, input, o),
    archive: (o) => store.archiveContext(id, o),
    delete: (o) => store.deleteContext(id, o),
    getState: (o) => store.getState(id, o),
    replaceState: (state, o) => store.replaceState(id, state, o),
    patchState: (patch, o) => store.patchState(id, patch, o),
    setStateAt: (path, value, o) => store.setStateAt(id, path, value, o),
    removeStateAt: (path, o) => store.removeStateAt(id, path, o),
    stateAt: (selector, o) => store.stateAt(id, selector, o),
    diff: (from, to, o) => store.diff(id, from, to, o),
    append: (events, o) => store.append(id, events, o),
    readEvents: (q) => store.readEvents(id, q),
    countEvents: (q) => store.countEvents(id, q),
    lastEvents: (n, q) => store.lastEvents(id, n, q),
    search: async (text, q) => store.searchEvents({ ...searchOptions(q), text, contextId: id }),
    createSnapshot: (input) => store.createSnapshot(id, input),
    listSnapshots: (o) => store.listSnapshots(id, o),
    restore: (target, o) => store.restore(id, target, o),
    fork: (input) => store.fork(id, input),
    acquireLease: (o) => store.acquireLease(id, o),
    watch: (o) => store.watch(id, o),
    compact: (o) => store.compact(id, o),
    window: ((o: WindowOptions | PromptWindowOptions) =>
      isSectionedWindow(o) ? (sectioned?.(id, o) ?? assembleWindow(store, id, o)) : buildWindow(store, id, o as WindowOptions)) as ContextHandle["window"],
    optimize: (o) => optimize(store, id, o),
    blocks: blocksOf(store, { contextId: id }),
  };
}
