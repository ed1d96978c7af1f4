/**
 * `meteredStore(core, metrics)`: the engine's operations ({@link CoreStore}), each timed by
 * operation and outcome and traced as an OpenTelemetry span (`contextd.<operation>`), with
 * what an operation means counted on the side: appended events, state writes, version
 * conflicts, leases, searches, watchers, and the model usage an application records.
 *
 * Spans go through `@opentelemetry/api`, which is a no-op until the application registers an
 * SDK: then contextd's operations appear in its traces as children of its active span.
 */
import { performance } from "node:perf_hooks";
import { ProxyTracerProvider, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { Span, Tracer } from "@opentelemetry/api";
import type { ContextEvent, CoreStore } from "../core/types.js";
import { readModelCall } from "../agent/usage.js";
import { priceCall } from "../agent/prices.js";
import { outcomeOf } from "./metrics.js";
import type { StoreMetrics } from "./metrics.js";

/** Every operation of {@link CoreStore} (all are timed; `watch` counts watchers instead). */
const OPERATIONS = [
  "createContext", "getContext", "listContexts", "updateContext", "archiveContext", "deleteContext",
  "getState", "replaceState", "patchState", "setStateAt", "removeStateAt", "stateAt", "diff", "append",
  "readEvents", "countEvents", "lastEvents", "searchEvents", "createSnapshot", "listSnapshots",
  "getSnapshot", "restore", "fork", "activate", "deactivate", "switchContext", "currentContext",
  "setDefaultContext", "setSchema", "getSchema", "listSchemas", "deleteSchema", "acquireLease", "renewLease",
  "releaseLease", "getLease", "purgeExpired", "compact", "addMemories", "getMemory", "updateMemory",
  "deleteMemory", "listMemories", "searchMemories", "memoryHistory", "purgeMemories", "reindexMemories",
  "listBlocks", "getBlock", "putBlock", "editBlock", "deleteBlock", "blockHistory", "health",
] as const satisfies readonly (keyof CoreStore)[];

type Operation = (typeof OPERATIONS)[number];
// A method added to CoreStore must be listed above (or handled below): this fails to compile otherwise.
type Unlisted = Exclude<keyof CoreStore, Operation | "tenant" | "withTenant" | "watch" | "close" | typeof Symbol.asyncDispose>;
const everyOperationListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyOperationListed;

const STATE_WRITES = new Set<string>(["replaceState", "patchState", "setStateAt", "removeStateAt", "restore"]);
/** The operations whose success {@link afterSuccess} counts. */
const COUNTING = new Set<string>([...STATE_WRITES, "append", "acquireLease", "renewLease", "releaseLease"]);
/** What the API's global provider delegates to while no SDK is registered. */
const NO_SDK = new ProxyTracerProvider().getDelegate();
/**
 * Where `@opentelemetry/api` 1.x keeps whatever an application registers (a tracer provider,
 * a context manager, a propagator), shared by every copy of the API in the process: until
 * something is registered there, no SDK can be.
 */
const OTEL_GLOBALS = Symbol.for("opentelemetry.js.api.1");

/**
 * The tracer of the SDK an application registered, or undefined without one. Checked on every
 * operation, so an SDK registered after the store opened is seen at once; without one no span
 * is made at all, not even the API's non-recording one. Most processes register nothing: one
 * property read then. The tracer is asked of the provider each time, not kept: a tracer got
 * through the API's proxy stays bound to the first SDK it saw, even after that one is
 * unregistered and another registered.
 */
function activeTracer(): Tracer | undefined {
  if ((globalThis as Record<symbol, unknown>)[OTEL_GLOBALS] === undefined) return undefined;
  const provider = trace.getTracerProvider();
  if (provider instanceof ProxyTracerProvider && provider.getDelegate() === NO_SDK) return undefined;
  return provider.getTracer("contextd");
}

/** Counts what the events an operation stored mean: how many, and the model calls among them. */
function countEvents(metrics: StoreMetrics, events: readonly ContextEvent[] | undefined): void {
  if (events === undefined) return;
  metrics.appended(events.length);
  for (const e of events) {
    if (e.type !== "model_usage") continue;
    const call = readModelCall(e.data);
    const model = call.modelId ?? "unknown";
    const cost = call.costUsd ?? (call.modelId === null ? undefined : priceCall(call.modelId, call));
    metrics.model(call.provider ?? "unknown", model, call.inputTokens, call.outputTokens, cost);
  }
}

/** What an operation that succeeded adds to the counters beyond its timing. */
function afterSuccess(metrics: StoreMetrics, op: Operation, result: unknown): void {
  if (op === "append") countEvents(metrics, result as ContextEvent[]);
  else if (STATE_WRITES.has(op)) {
    metrics.stateWrite();
    countEvents(metrics, (result as { events?: ContextEvent[] }).events);
  } else if (op === "acquireLease") metrics.lease("acquired");
  else if (op === "renewLease") metrics.lease("renewed");
  else if (op === "releaseLease") metrics.lease("released");
}

function searchMode(op: Operation, args: readonly unknown[]): string {
  const mode = (args[0] as { mode?: unknown } | undefined)?.mode;
  if (typeof mode === "string" && ["text", "vector", "hybrid"].includes(mode)) return mode;
  return op === "searchEvents" ? "text" : "hybrid";
}

function endSpan(span: Span, error: unknown): void {
  if (error !== undefined) {
    span.setAttribute("contextd.error_code", outcomeOf(error));
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  }
  span.end();
}

/** Wraps `core` so that each operation is recorded in `metrics` and traced. */
export function meteredStore(core: CoreStore, metrics: StoreMetrics): CoreStore {
  const out: Record<string | symbol, unknown> = {
    get tenant() {
      return core.tenant;
    },
    withTenant: (tenant: string) => meteredStore(core.withTenant(tenant), metrics),
    close: () => core.close(),
    [Symbol.asyncDispose]: () => core.close(),
    watch: (...args: Parameters<CoreStore["watch"]>) => watched(core.watch(...args), metrics),
  };
  for (const op of OPERATIONS) {
    const fn = core[op] as (...a: unknown[]) => Promise<unknown>;
    const name = `contextd.${op}`;
    const isSearch = op === "searchEvents" || op === "searchMemories";
    // Most operations count nothing beyond their timing: their success path skips the checks.
    const counts = isSearch || COUNTING.has(op);
    const ok = metrics.operationOk(op);
    // One options object per operation, not one per call (the span API does not keep it).
    const spanOptions = { kind: SpanKind.INTERNAL, attributes: { "contextd.operation": op } };
    out[op] = (...args: unknown[]): Promise<unknown> => {
      const span = activeTracer()?.startSpan(name, spanOptions);
      const start = performance.now();
      let p: Promise<unknown>;
      try {
        p = fn.apply(core, args);
      } catch (e) {
        p = Promise.reject(e as Error);
      }
      return p.then(
        (v) => {
          const seconds = (performance.now() - start) / 1000;
          ok(seconds);
          if (counts) {
            if (isSearch) metrics.search(op === "searchEvents" ? "events" : "memories", searchMode(op, args), "ok", seconds);
            afterSuccess(metrics, op, v);
          }
          if (span !== undefined) endSpan(span, undefined);
          return v;
        },
        (e: unknown) => {
          const seconds = (performance.now() - start) / 1000;
          const outcome = outcomeOf(e);
          metrics.operation(op, outcome, seconds);
          if (isSearch) metrics.search(op === "searchEvents" ? "events" : "memories", searchMode(op, args), outcome, seconds);
          if (op === "acquireLease" && outcome === "LOCK_TIMEOUT") metrics.lease("timed_out");
          if (span !== undefined) endSpan(span, e);
          throw e;
        },
      );
    };
  }
  return out as unknown as CoreStore;
}

/** A watch iterator that counts itself in `contextd_watchers` from creation until it ends. */
function watched(inner: AsyncIterableIterator<ContextEvent>, metrics: StoreMetrics): AsyncIterableIterator<ContextEvent> {
  metrics.watchers(1);
  let open = true;
  const end = (): void => {
    if (open) {
      open = false;
      metrics.watchers(-1);
    }
  };
  const it: AsyncIterableIterator<ContextEvent> = {
    async next(...a: [] | [unknown]) {
      try {
        const r = await inner.next(...a);
        if (r.done === true) end();
        return r;
      } catch (e) {
        end();
        throw e;
      }
    },
    async return(value?: unknown) {
      end();
      return inner.return !== undefined ? inner.return(value) : { done: true as const, value: undefined };
    },
    async throw(e?: unknown) {
      end();
      if (inner.throw !== undefined) return inner.throw(e);
      throw e;
    },
    [Symbol.asyncIterator]() {
      return it;
    },
  };
  return it;
}
