/**
 * Registers LangGraph's checkpointer validator for `ContextdSaver` over one store. The
 * validator's spec files use vitest's globals, so they are handed over before it loads.
 * Every checkpointer it asks for gets a prefix of its own (the validator lists all threads).
 */
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ContextStore } from "../../src/index.js";
import { ContextdSaver } from "../../src/integrations/langgraph/index.js";

Object.assign(globalThis, { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it });
const { validate } = await import("@langchain/langgraph-checkpoint-validation");

/** Runs the whole validator against savers on the store `open` gives; `cleanup` runs after. */
export function validateSaver(name: string, open: () => Promise<ContextStore>, cleanup?: () => Promise<void>): void {
  let store: ContextStore | undefined;
  validate({
    checkpointerName: `ContextdSaver(${name})`,
    async beforeAll() {
      store = await open();
    },
    beforeAllTimeout: 30_000,
    async afterAll() {
      await store?.close();
      await cleanup?.();
    },
    createCheckpointer() {
      if (!store) throw new Error("store not open");
      return new ContextdSaver(store, { prefix: `v${randomBytes(5).toString("hex")}` });
    },
  });
}
