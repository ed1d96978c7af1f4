/**
 * `contextStore(core)`: the {@link ContextStore} users hold, over any {@link CoreStore} (the
 * embedded engine or the HTTP client): the core's methods unchanged, plus `context(id)`
 * handles, task scopes and usage reports from the agent layer. Both `createStore` and
 * `createClient` return one, so the agent layer behaves the same over both.
 */
import { checkId } from "../core/validate.js";
import type { CoreStore } from "../core/types.js";
import { contextHandle } from "./handle.js";
import { startTask } from "./task.js";
import type { StartTaskInput } from "./task-types.js";
import type { Task } from "./task.js";
import type { ContextHandle, ContextStore, MetricFamily } from "./types.js";
import type { CallOptions, EventInput, JsonObject, StateWriteOptions, WriteOptions } from "../core/types.js";
import { usage, type UsageQuery, type UsageReport } from "./usage.js";
import { updateBlock, type BlockUpdate, type UpdateBlockOptions } from "./blocks.js";
import type { Block, BlockScope } from "../core/block-types.js";
import type { PromptWindow, PromptWindowOptions } from "./prompt-types.js";

/** The methods of {@link CoreStore} a {@link ContextStore} passes through unchanged. */
const PASSED = [
  "createContext", "getContext", "listContexts", "updateContext", "archiveContext", "deleteContext",
  "getState", "replaceState", "patchState", "setStateAt", "removeStateAt", "stateAt", "diff", "append",
  "readEvents", "countEvents", "lastEvents", "searchEvents", "createSnapshot", "listSnapshots",
  "getSnapshot", "restore", "fork", "activate", "deactivate", "switchContext", "currentContext",
  "setDefaultContext", "setSchema", "getSchema", "listSchemas", "deleteSchema", "acquireLease", "renewLease",
  "releaseLease", "getLease", "watch", "purgeExpired", "compact", "addMemories", "getMemory", "updateMemory",
  "deleteMemory", "listMemories", "searchMemories", "memoryHistory", "purgeMemories", "reindexMemories",
  "listBlocks", "getBlock", "putBlock", "editBlock", "deleteBlock", "blockHistory", "health", "close",
] as const satisfies readonly (keyof CoreStore)[];

type Passed = (typeof PASSED)[number];
// A method added to CoreStore must be listed above (or wrapped below): this fails to compile otherwise.
type Unlisted = Exclude<keyof CoreStore, Passed | "tenant" | "withTenant" | typeof Symbol.asyncDispose>;
const everyMethodListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyMethodListed;

/**
 * What a {@link CoreStore} may answer itself instead of the agent layer: the HTTP client asks
 * the server for usage totals (one request) rather than reading every `model_usage` event.
 */
export interface LayerOverrides {
  /** Replaces {@link ContextStore.usage} for `core` (the view of the calling tenant). */
  usage?: (core: CoreStore, query?: UsageQuery) => Promise<UsageReport>;
  /** Answers {@link ContextStore.metrics} (the embedded store's registry, or the server's). */
  metrics?: (core: CoreStore, options?: CallOptions) => Promise<MetricFamily[]>;
  /**
   * Builds the sectioned windows of `context(id).window(…)` for `core`: the HTTP client asks
   * the server (one request) instead of assembling the window from a dozen reads.
   */
  window?: (core: CoreStore, id: string, options: PromptWindowOptions) => Promise<PromptWindow>;
}

class LayeredStore {
  readonly #core: CoreStore;
  readonly #overrides: LayerOverrides;

  constructor(core: CoreStore, overrides: LayerOverrides) {
    this.#core = core;
    this.#overrides = overrides;
  }

  // The hottest pass-through calls, written out: in the shared pass-through below, one
  // property read sees every method's name, and V8 makes that read megamorphic (a hash lookup).
  getState(id: string, options?: CallOptions): ReturnType<CoreStore["getState"]> {
    return this.#core.getState(id, options);
  }

  patchState(id: string, patch: JsonObject, options?: StateWriteOptions): ReturnType<CoreStore["patchState"]> {
    return this.#core.patchState(id, patch, options);
  }

  replaceState(id: string, state: JsonObject, options?: StateWriteOptions): ReturnType<CoreStore["replaceState"]> {
    return this.#core.replaceState(id, state, options);
  }

  append(id: string, events: EventInput | EventInput[], options?: WriteOptions): ReturnType<CoreStore["append"]> {
    return this.#core.append(id, events, options);
  }

  static {
    // The other pass-through methods, made once on the prototype; each calls the core as a method.
    for (const name of PASSED) {
      if (Object.hasOwn(LayeredStore.prototype, name)) continue;
      Object.defineProperty(LayeredStore.prototype, name, {
        value(this: LayeredStore, ...args: unknown[]): unknown {
          return (this.#core[name] as (...a: unknown[]) => unknown).apply(this.#core, args);
        },
        writable: true,
        configurable: true,
      });
    }
  }

  get tenant(): string {
    return this.#core.tenant;
  }

  withTenant(tenant: string): ContextStore {
    return contextStore(this.#core.withTenant(tenant), this.#overrides);
  }

  context(id: string): ContextHandle {
    const own = this.#overrides.window;
    const core = this.#core;
    return contextHandle(this as unknown as ContextStore, checkId(id, "id"), own === undefined ? undefined : (i, o) => own(core, i, o));
  }

  startTask(input?: StartTaskInput): Promise<Task> {
    return startTask(this as unknown as ContextStore, input);
  }

  metrics(options?: CallOptions): Promise<MetricFamily[]> {
    const own = this.#overrides.metrics;
    return own === undefined ? Promise.resolve([]) : own(this.#core, options);
  }

  usage(query?: UsageQuery): Promise<UsageReport> {
    const own = this.#overrides.usage;
    return own === undefined ? usage(this as unknown as ContextStore, query) : own(this.#core, query);
  }

  updateBlock(scope: BlockScope, label: string, fn: BlockUpdate, options?: UpdateBlockOptions): Promise<Block> {
    return updateBlock(this.#core, scope, label, fn, options);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.#core.close();
  }
}

/**
 * The {@link ContextStore} over `core`: what `createStore` and `createClient` return.
 * @example
 * ```ts
 * const store = contextStore(await createCoreStore(inMemoryDriver()));
 * await using task = await store.startTask({ chatId: "c1" });
 * ```
 */
export function contextStore(core: CoreStore, overrides: LayerOverrides = {}): ContextStore {
  return new LayeredStore(core, overrides) as unknown as ContextStore;
}
