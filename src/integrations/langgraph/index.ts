/**
 * `contextd/langgraph`: LangGraph.js on contextd — a checkpointer (`ContextdSaver`) and a
 * long-term memory store (`ContextdStore`) for any contextd store. Needs the optional peer
 * dependencies `@langchain/langgraph-checkpoint` and `@langchain/core`.
 */
export { ContextdSaver } from "./saver.js";
export type { ContextdSaverOptions } from "./saver.js";
export type { ThreadStore } from "./thread-reader.js";
export type { PruneOptions, PruneResult } from "./thread-maintenance.js";
export { ContextdStore } from "./store.js";
export type { ContextdStoreOptions, ItemStore } from "./store.js";
