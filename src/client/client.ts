/**
 * `createClient()`: the {@link ContextStore} interface over HTTP, so code written against
 * the embedded store runs unchanged against a `contextd serve` elsewhere.
 */
import { ContextError, invalidInput, isContextError } from "../errors.js";
import { isPlainObject } from "../core/json.js";
import { nodeEvents } from "../agent/node-builtins.js";
import { contextStore, type LayerOverrides } from "../agent/store.js";
import type { ContextStore } from "../agent/types.js";
import type { UsageQuery, UsageReport } from "../agent/usage.js";
import type { MetricFamily } from "../agent/types.js";
import { assembleWindow } from "../agent/prompt-window.js";
import { checkWindowOptions, inProcessWindowOption } from "../agent/prompt-options.js";
import type { PromptWindow, PromptWindowOptions } from "../agent/prompt-types.js";
import type {
  AcquireLeaseOptions,
  CallOptions,
  CompactResult,
  ContextEvent,
  ContextInfo,
  CoreStore,
  CreateSnapshotInput,
  EventQuery,
  ForkInput,
  JsonPatchOperation,
  Lease,
  LeaseRef,
  ListContextsQuery,
  Page,
  RestoreTarget,
  Snapshot,
  StateRecord,
  StateSchema,
  StateWriteResult,
  StoreHealth,
  WatchOptions,
} from "../core/types.js";
import {
  checkCount,
  checkJson,
  checkJsonObject,
  checkObject,
  checkOptions,
  checkString,
  checkTenant,
  queryTime,
  throwIfAborted,
  wireTime,
} from "./checks.js";
import { memoryMethods } from "./memories.js";
import { blockMethods } from "./blocks.js";
import { send } from "./transport.js";
import { ctxPath, enc, eventFilters, guards, num, searchParams, str, types, wireContextFields, wireEvent } from "./wire.js";
import type { SearchHit } from "./wire.js";
import type { Query } from "./wire.js";
import type { RequestSpec, Transport } from "./transport.js";
import { watchOverSse } from "./watch.js";
import type { ReconnectOptions } from "./watch.js";

/** Options of {@link createClient}. */
export interface ClientOptions {
  /** The server, e.g. `http://127.0.0.1:7070`. */
  url: string;
  /** An API key made with `contextd keys create`; not needed for a server without keys. */
  apiKey?: string;
  /** The fetch to use. @default globalThis.fetch */
  fetch?: typeof globalThis.fetch;
  /** Closes the client when it fires. */
  signal?: AbortSignal;
  /**
   * The tenant this client acts in. The server decides from the API key; this is what
   * `tenant` reports until the first response says otherwise. @default "default"
   */
  tenant?: string;
  /** Reconnection of `watch` after a dropped stream. */
  reconnect?: Partial<ReconnectOptions>;
}

interface Shared {
  transport: Transport;
  close(): Promise<void>;
  reconnect: ReconnectOptions;
  defaultTenant: string;
}

/** Usage totals come from the server (`POST /v1/usage`): one request, not a read of every event. */
const serverUsage = new WeakMap<CoreStore, (query?: UsageQuery) => Promise<UsageReport>>();
/** The server's metrics (`GET /v1/metrics`). */
const serverMetrics = new WeakMap<CoreStore, (options?: CallOptions) => Promise<MetricFamily[]>>();
/** Sectioned windows come from the server (`POST /v1/contexts/{id}/window`): one request, no tokenizer here. */
const serverWindow = new WeakMap<CoreStore, (id: string, options: PromptWindowOptions) => Promise<PromptWindow>>();
const CLIENT_LAYER: LayerOverrides = {
  usage: (core, query) => (serverUsage.get(core) as (query?: UsageQuery) => Promise<UsageReport>)(query),
  metrics: (core, options) => (serverMetrics.get(core) as (options?: CallOptions) => Promise<MetricFamily[]>)(options),
  window: (core, id, options) => (serverWindow.get(core) as (id: string, options: PromptWindowOptions) => Promise<PromptWindow>)(id, options),
};

/**
 * Where a pointer into the window options lands, as the embedded store's checks say it: the
 * option (`maxTokens`, `sections.memories.filter`) as `field`, the rest as `path` inside it.
 */
function optionAt(pointer: string): { field: string; path: string } {
  const keys = pointer.slice(1).split("/");
  const n = keys[0] === "sections" ? 3 : 1;
  const field = keys.slice(0, n).map((k) => k.replaceAll("~1", "/").replaceAll("~0", "~")).join(".");
  return { field, path: keys.length > n ? `/${keys.slice(n).join("/")}` : "" };
}

/** `value` without the object keys whose value is `undefined` (an absent option, to the window as to JSON). */
function withoutUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUndefined);
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = withoutUndefined(v);
  return out;
}

function makeCore(shared: Shared, tenantHeader: string | null): CoreStore {
  const { transport } = shared;
  const call = async <T>(spec: Omit<RequestSpec, "tenant">): Promise<T> => {
    if (transport.lifetime.aborted) throw new ContextError("CLOSED", "the client is closed");
    throwIfAborted({ signal: spec.signal } as CallOptions);
    return (await send(transport, { ...spec, tenant: tenantHeader })) as T;
  };
  // Every method validates before anything goes on the wire; errors surface as rejections.
  const run = <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return fn();
    } catch (e) {
      return Promise.reject(e);
    }
  };
  const opts = (o: unknown): AbortSignal | undefined => checkOptions<CallOptions>(o).signal;
  const closedCheck = (): void => {
    if (transport.lifetime.aborted) throw new ContextError("CLOSED", "the client is closed");
  };

  const store: CoreStore = {
    get tenant() {
      return tenantHeader ?? transport.observedTenant ?? shared.defaultTenant;
    },
    withTenant(tenant) {
      return makeCore(shared, checkTenant(tenant));
    },

    createContext: (input, options) =>
      run(() => {
        closedCheck();
        const body = input === undefined ? {} : wireContextFields(checkObject(input, "input"));
        if (body.state !== undefined) checkJsonObject(body.state, "state");
        return call<ContextInfo>({ method: "POST", path: "/v1/contexts", body, signal: opts(options) });
      }),
    getContext: (id, options) => run(() => call<ContextInfo>({ method: "GET", path: ctxPath(id), signal: opts(options) })),
    listContexts: (query) =>
      run(() => {
        const q = checkOptions<ListContextsQuery>(query, "query");
        return call<Page<ContextInfo>>({
          method: "GET",
          path: "/v1/contexts",
          signal: q.signal,
          query: {
            kind: str(q.kind, "kind"),
            userId: str(q.userId, "userId"),
            chatId: str(q.chatId, "chatId"),
            agentId: str(q.agentId, "agentId"),
            status: str(q.status, "status"),
            updatedSince: q.updatedSince === undefined ? undefined : queryTime(q.updatedSince, "updatedSince"),
            order: str(q.order, "order"),
            limit: num(q.limit, "limit"),
            cursor: str(q.cursor, "cursor"),
          },
        });
      }),
    updateContext: (id, input, options) =>
      run(() => {
        const path = ctxPath(id);
        const body = wireContextFields(checkObject(input, "input"));
        return call<ContextInfo>({ method: "PATCH", path, body, signal: opts(options) });
      }),
    archiveContext: (id, options) => run(() => call<ContextInfo>({ method: "POST", path: ctxPath(id, "/archive"), signal: opts(options) })),
    deleteContext: (id, options) => run(() => call<void>({ method: "DELETE", path: ctxPath(id), signal: opts(options) })),

    getState: (id, options) => run(() => call<StateRecord>({ method: "GET", path: ctxPath(id, "/state"), signal: opts(options) })),
    replaceState: (id, state, options) =>
      run(() => {
        const path = ctxPath(id, "/state");
        checkJsonObject(state, "state");
        const g = guards(options, true);
        return call<StateWriteResult>({ method: "PUT", path, body: { state, ...g.body }, signal: g.signal });
      }),
    patchState: (id, patch, options) =>
      run(() => {
        const path = ctxPath(id, "/state");
        checkJsonObject(patch, "patch");
        const g = guards(options, true);
        return call<StateWriteResult>({ method: "PATCH", path, body: { patch, ...g.body }, signal: g.signal });
      }),
    setStateAt: (id, statePath, value, options) =>
      run(() => {
        const path = ctxPath(id, "/state/set");
        if (value === undefined) throw invalidInput("value", "is required (use removeStateAt to remove)");
        checkJson(statePath, "path");
        checkJson(value, "value");
        const g = guards(options, true);
        return call<StateWriteResult>({ method: "POST", path, body: { path: statePath, value, ...g.body }, signal: g.signal });
      }),
    removeStateAt: (id, statePath, options) =>
      run(() => {
        const path = ctxPath(id, "/state/remove");
        checkJson(statePath, "path");
        const g = guards(options, true);
        return call<StateWriteResult>({ method: "POST", path, body: { path: statePath, ...g.body }, signal: g.signal });
      }),
    stateAt: (id, selector, options) =>
      run(() => {
        const path = ctxPath(id, "/state");
        const sel = checkObject(selector, "selector") as Partial<{ version: unknown; at: unknown }>;
        const query: Query =
          sel.version !== undefined
            ? { version: num(sel.version, "version") }
            : sel.at !== undefined
              ? { at: queryTime(sel.at, "at") }
              : {};
        if (Object.keys(query).length === 0 || (sel.version !== undefined && sel.at !== undefined)) {
          throw invalidInput("selector", "give { version } or { at }");
        }
        return call<StateRecord>({ method: "GET", path, query, signal: opts(options) });
      }),
    diff: (id, from, to, options) =>
      run(() =>
        call<JsonPatchOperation[]>({
          method: "GET",
          path: ctxPath(id, "/diff"),
          query: { from: num(from, "from") ?? "x", to: num(to, "to") ?? "x" },
          signal: opts(options),
        }),
      ),

    append: (id, events, options) =>
      run(() => {
        const path = ctxPath(id, "/events");
        if (events === undefined || events === null) throw invalidInput("events", "an event or an array of events is required");
        const list = Array.isArray(events) ? events.map((e, i) => wireEvent(e, `events[${i}]`)) : [wireEvent(events, "event")];
        const g = guards(options);
        return call<ContextEvent[]>({ method: "POST", path, body: { events: list, ...g.body }, signal: g.signal });
      }),
    readEvents: (id, query) =>
      run(() => {
        const path = ctxPath(id, "/events");
        const q = checkOptions<EventQuery>(query, "query");
        return call<Page<ContextEvent>>({
          method: "GET",
          path,
          signal: q.signal,
          query: { ...eventFilters(q), order: str(q.order, "order"), limit: num(q.limit, "limit"), cursor: str(q.cursor, "cursor") },
        });
      }),
    countEvents: (id, query) =>
      run(async () => {
        const path = ctxPath(id, "/events/count");
        const q = checkOptions<EventQuery>(query, "query");
        const r = await call<{ count: number }>({ method: "GET", path, signal: q.signal, query: eventFilters(q) });
        return r.count;
      }),
    lastEvents: (id, n, query) =>
      run(() => {
        const path = ctxPath(id, "/events/last");
        const q = checkOptions<EventQuery>(query, "query");
        return call<ContextEvent[]>({ method: "GET", path, signal: q.signal, query: { n: String(checkCount(n, "n")), types: types(q.types) } });
      }),
    searchEvents: (query) =>
      run(async () => {
        const { signal, params } = searchParams(query);
        return (await call<{ items: SearchHit[] }>({ method: "GET", path: "/v1/search", signal, query: params })).items;
      }),

    createSnapshot: (id, input) =>
      run(() => {
        const path = ctxPath(id, "/snapshots");
        const i = checkOptions<CreateSnapshotInput>(input, "input");
        return call<Snapshot>({ method: "POST", path, body: wireContextFields(i), signal: i.signal });
      }),
    listSnapshots: (id, options) => run(() => call<Snapshot[]>({ method: "GET", path: ctxPath(id, "/snapshots"), signal: opts(options) })),
    getSnapshot: (id, name, options) =>
      run(() => {
        const path = ctxPath(id, `/snapshots/${enc(checkString(name, "name"))}`);
        return call<Snapshot>({ method: "GET", path, signal: opts(options) });
      }),
    restore: (id, target, options) =>
      run(() => {
        const path = ctxPath(id, "/restore");
        const t = wireContextFields(checkObject(target, "target") as RestoreTarget as Record<string, unknown>);
        const g = guards(options, true);
        return call<StateWriteResult>({ method: "POST", path, body: { ...t, ...g.body }, signal: g.signal });
      }),
    fork: (id, input) =>
      run(() => {
        const path = ctxPath(id, "/fork");
        const i = checkOptions<ForkInput>(input, "input") as Record<string, unknown>;
        return call<ContextInfo>({ method: "POST", path, body: wireContextFields(i), signal: i.signal as AbortSignal | undefined });
      }),

    activate: (holder, contextId, options) =>
      run(() => {
        const path = `/v1/holders/${enc(checkString(holder, "holder"))}/active`;
        return call<void>({ method: "PUT", path, body: { contextId: checkString(contextId, "contextId") }, signal: opts(options) });
      }),
    deactivate: (holder, options) =>
      run(async () => {
        const path = `/v1/holders/${enc(checkString(holder, "holder"))}/active`;
        return (await call<{ previous: string | null }>({ method: "DELETE", path, signal: opts(options) })).previous;
      }),
    switchContext: (holder, contextId, options) =>
      run(async () => {
        const path = `/v1/holders/${enc(checkString(holder, "holder"))}/switch`;
        const body = { contextId: checkString(contextId, "contextId") };
        return (await call<{ previous: string | null }>({ method: "POST", path, body, signal: opts(options) })).previous;
      }),
    currentContext: (holder, options) =>
      run(() => call<ContextInfo | null>({ method: "GET", path: `/v1/holders/${enc(checkString(holder, "holder"))}/current`, signal: opts(options) })),
    setDefaultContext: (holder, contextId, options) =>
      run(() => {
        const path = `/v1/holders/${enc(checkString(holder, "holder"))}/default`;
        const body = { contextId: contextId === null ? null : checkString(contextId, "contextId") };
        return call<void>({ method: "PUT", path, body, signal: opts(options) });
      }),

    setSchema: (kind, schema, options) =>
      run(() => {
        const path = `/v1/schemas/${enc(checkString(kind, "kind"))}`;
        checkJsonObject(schema, "schema");
        return call<StateSchema>({ method: "PUT", path, body: { schema }, signal: opts(options) });
      }),
    getSchema: (kind, options) =>
      run(() => call<StateSchema | null>({ method: "GET", path: `/v1/schemas/${enc(checkString(kind, "kind"))}`, signal: opts(options) })),
    listSchemas: (options) => run(() => call<StateSchema[]>({ method: "GET", path: "/v1/schemas", signal: opts(options) })),
    deleteSchema: (kind, options) =>
      run(async () => {
        const path = `/v1/schemas/${enc(checkString(kind, "kind"))}`;
        return (await call<{ deleted: boolean }>({ method: "DELETE", path, signal: opts(options) })).deleted;
      }),

    acquireLease: (id, options) =>
      run(() => {
        const path = ctxPath(id, "/lease");
        const { signal, ...body } = checkOptions<AcquireLeaseOptions>(checkObject(options, "options"));
        checkJson(body, "options");
        return call<Lease>({ method: "POST", path, body, signal });
      }),
    renewLease: (id, lease) =>
      run(() => {
        const path = ctxPath(id, "/lease/renew");
        const { signal, ...rest } = checkOptions<LeaseRef>(checkLeaseOf(id, lease), "lease");
        // A Lease as acquireLease returned it carries contextId and expiresAt: send the reference only.
        const body = { holder: rest.holder, token: rest.token, ...(rest.ttlMs !== undefined && { ttlMs: rest.ttlMs }) };
        checkJson(body, "lease");
        return call<Lease>({ method: "POST", path, body, signal });
      }),
    releaseLease: (id, lease) =>
      run(() => {
        const path = ctxPath(id, "/lease/release");
        const { signal, ...rest } = checkOptions<LeaseRef>(checkLeaseOf(id, lease), "lease");
        // ttlMs means nothing to a release; the route does not take it.
        const body = { holder: rest.holder, token: rest.token };
        checkJson(body, "lease");
        return call<void>({ method: "POST", path, body, signal });
      }),
    getLease: (id, options) => run(() => call<Lease | null>({ method: "GET", path: ctxPath(id, "/lease"), signal: opts(options) })),

    watch(id: string, options?: WatchOptions): AsyncIterableIterator<ContextEvent> {
      return watchOverSse(transport, tenantHeader, id, options, shared.reconnect);
    },

    purgeExpired: (options) =>
      run(async () => (await call<{ removed: number }>({ method: "POST", path: "/v1/purge-expired", signal: opts(options) })).removed),
    compact: (id, options) =>
      run(() => {
        const path = ctxPath(id, "/compact");
        const o = checkObject(options, "options") as { beforeSeq?: unknown; signal?: unknown };
        const signal = checkOptions<CallOptions>(o).signal;
        return call<CompactResult>({ method: "POST", path, body: { beforeSeq: checkCount(o.beforeSeq, "beforeSeq") }, signal });
      }),

    ...memoryMethods(call),
    ...blockMethods(call),

    health: (options) => run(() => call<StoreHealth>({ method: "GET", path: "/v1/health", signal: opts(options) })),
    close: () => shared.close(),
    [Symbol.asyncDispose]: () => shared.close(),
  };
  serverWindow.set(store, (id, options) =>
    run(() => {
      checkWindowOptions(options);
      // A summarizer or a block loader is code: the window is assembled here, over this client.
      if (inProcessWindowOption({ ...options, signal: undefined }) !== undefined) return assembleWindow(store, id, options);
      const { signal, ...rest } = checkOptions<PromptWindowOptions>(options);
      const body = withoutUndefined(rest);
      try {
        checkJson(body, "options");
      } catch (e) {
        // Name the option, as the embedded store's checks do (`sections.memories.filter.at`).
        const pointer = isContextError(e, "INVALID_INPUT") ? e.details["path"] : undefined;
        if (typeof pointer !== "string" || pointer === "") throw e;
        const { field, path } = optionAt(pointer);
        throw invalidInput(field, path === "" ? "is not JSON" : `${(e as Error).message.replace(/^options: /, "")}`, { path });
      }
      return call<PromptWindow>({ method: "POST", path: ctxPath(id, "/window"), body, signal });
    }),
  );
  serverMetrics.set(store, (options) => run(() => call<MetricFamily[]>({ method: "GET", path: "/v1/metrics", signal: opts(options) })));
  serverUsage.set(store, (query) =>
    run(() => {
      const { signal, tenant, from, to, ...rest } = checkOptions<UsageQuery>(query, "query");
      const view = tenant === undefined ? null : checkTenant(tenant);
      if (view !== null && view !== store.tenant) {
        return contextStore(store.withTenant(view), CLIENT_LAYER).usage({ ...rest, from, to, signal } as UsageQuery);
      }
      const body: Record<string, unknown> = { ...rest };
      if (from !== undefined) body.from = wireTime(from, "from");
      if (to !== undefined) body.to = wireTime(to, "to");
      checkJson(body, "query");
      return call<UsageReport>({ method: "POST", path: "/v1/usage", body, signal });
    }),
  );
  return store;
}

/** A lease reference for context `id`; a `Lease` of another context is refused, as the embedded store does. */
function checkLeaseOf(id: string, lease: unknown): Record<string, unknown> {
  const o = checkObject(lease, "lease");
  if (o.contextId !== undefined && o.contextId !== id) {
    throw invalidInput("lease.contextId", `is the lease of another context (${String(o.contextId)}), not of ${id}`);
  }
  return o;
}

/**
 * A {@link ContextStore} backed by a contextd server. Errors are the same typed
 * `ContextError`s as the embedded store's (a 409 is a `VersionConflictError` with
 * `expected` and `actual`); `watch` streams over SSE and resumes after a dropped connection.
 *
 * Tenancy: the API key decides the tenant. `withTenant(t)` returns a view that names `t`
 * in each request; the server refuses it with `FORBIDDEN` unless `t` is the key's tenant,
 * the key is an admin key for any tenant (`*`), or the server runs without keys (loopback).
 *
 * @example
 * ```ts
 * const store = createClient({ url: "http://127.0.0.1:7070", apiKey: process.env.CONTEXTD_API_KEY });
 * const ctx = await store.createContext({ kind: "chat" });
 * await store.append(ctx.id, { type: "message", data: { role: "user", content: "hi" } });
 * ```
 */
export function createClient(options: ClientOptions): ContextStore {
  if (typeof options !== "object" || options === null) throw invalidInput("options", "must be an object with a url");
  let base: URL;
  try {
    base = new URL(options.url);
  } catch {
    throw invalidInput("url", `${JSON.stringify(String(options.url))} is not a URL`);
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") throw invalidInput("url", "must be an http(s) URL");
  const life = new AbortController();
  const lifetime = options.signal === undefined ? life.signal : AbortSignal.any([life.signal, options.signal]);
  // Every watcher listens on it: lift Node's leak warning (browsers have none).
  nodeEvents()?.setMaxListeners(0, lifetime);
  const transport: Transport = {
    baseUrl: base.toString().replace(/\/+$/, ""),
    apiKey: options.apiKey,
    fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
    lifetime,
    observedTenant: null,
  };
  const shared: Shared = {
    transport,
    defaultTenant: options.tenant === undefined ? "default" : checkTenant(options.tenant),
    reconnect: { minDelayMs: 100, maxDelayMs: 2000, ...options.reconnect },
    close: async () => {
      life.abort(new ContextError("CLOSED", "the client is closed"));
    },
  };
  return contextStore(makeCore(shared, null), CLIENT_LAYER);
}

