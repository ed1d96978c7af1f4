/**
 * The event types contextd writes for its own bookkeeping, as opposed to what an application
 * recorded: the engine's state writes, snapshots and restores, the task scope's start and end,
 * and the AIECS import marker. AIECS `TaskContext` has none of them, so they are never part
 * of an AIECS view or its size budget (`optimize`).
 */
import { RESERVED_EVENT_TYPES } from "../core/validate.js";

/** The marker event type recording what an AIECS import took from a file. */
export const AIECS_IMPORT_EVENT = "aiecs_import";

/** The task scope's own events. */
export const TASK_EVENT_TYPES: readonly string[] = Object.freeze(["task_start", "task_end"]);

const BOOKKEEPING = new Set<string>([...RESERVED_EVENT_TYPES, ...TASK_EVENT_TYPES, AIECS_IMPORT_EVENT]);

/** Whether events of `type` are contextd's bookkeeping (see the module docs). */
export function isBookkeeping(type: string): boolean {
  return BOOKKEEPING.has(type);
}
