/**
 * The zod schemas of the HTTP API: they validate every request and generate the OpenAPI
 * document, so the two cannot drift apart. Request objects are strict: unknown fields are 400.
 */
import { z } from "@hono/zod-openapi";
import { MAX_BLOCK_HISTORY_PAGE } from "../index.js";

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describeType(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
}

// ---- building blocks -------------------------------------------------------------------

/** Any JSON value (the core checks it further). */
export const JsonValueSchema = z.unknown().openapi("JsonValue", { description: "Any JSON value." });
/**
 * A JSON object, passed on exactly as sent: `z.record` would rebuild it and drop a key named
 * `__proto__` without a word (the core checks the values and stores every key as given).
 */
export const JsonObjectSchema = z
  .custom<Record<string, unknown>>(isPlainObject, { error: (issue) => `Invalid input: expected object, received ${describeType(issue.input)}` })
  .openapi("JsonObject", { type: "object", additionalProperties: true, description: "A JSON object." });
/** A time: epoch milliseconds or an ISO 8601 string. */
export const TimeSchema = z.union([z.string().min(1).max(64), z.number()]).openapi("Time", {
  description: "Epoch milliseconds or an ISO 8601 string.",
});
const nonNegInt = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/**
 * A non-negative integer in a query string, written in decimal digits only: `z.coerce`
 * would take `0x10` as 16, `1e2` as 100, ` 5` as 5 and the empty string as 0.
 */
const queryInt = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,15})$/, "must be a non-negative integer in decimal digits")
  .transform(Number)
  .pipe(z.number().int().min(0).max(Number.MAX_SAFE_INTEGER))
  .openapi({ type: "integer", minimum: 0 });

/**
 * A page size in a query string: decimal digits here; the range is the store's to check, so
 * the error matches the embedded store's (the document states it).
 */
export function queryLimit(max: number) {
  return z
    .string()
    .regex(/^(0|[1-9][0-9]{0,15})$/, "must be a non-negative integer in decimal digits")
    .transform(Number)
    .openapi({ type: "integer", minimum: 1, maximum: max });
}
const shortText = z.string().max(1024);
const idText = z.string().min(1).max(256);

/** Path parameter `id`. */
export const IdParams = z.strictObject({ id: idText.openapi({ param: { name: "id", in: "path" }, example: "01JD7X3M0000000000000000AB" }) });
/** Path parameters `id` and `name`. */
export const IdNameParams = z.strictObject({
  id: idText.openapi({ param: { name: "id", in: "path" } }),
  name: idText.openapi({ param: { name: "name", in: "path" } }),
});
/** Path parameter `holder`. */
export const HolderParams = z.strictObject({ holder: idText.openapi({ param: { name: "holder", in: "path" } }) });
/** Path parameter `kind`. */
export const KindParams = z.strictObject({ kind: idText.openapi({ param: { name: "kind", in: "path" } }) });

// ---- responses -------------------------------------------------------------------------

/** The error body of every 4xx/5xx. */
export const ErrorSchema = z
  .object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()) })
  .openapi("Error");

/** A context. */
export const ContextInfoSchema = z
  .object({
    id: z.string(),
    tenant: z.string(),
    kind: z.string(),
    userId: z.string().nullable(),
    chatId: z.string().nullable(),
    agentId: z.string().nullable(),
    title: z.string().nullable(),
    metadata: JsonObjectSchema,
    version: z.number().int(),
    lastSeq: z.number().int(),
    status: z.enum(["active", "archived"]),
    createdAt: z.string(),
    updatedAt: z.string(),
    expiresAt: z.string().nullable(),
    parentId: z.string().nullable(),
    parentVersion: z.number().int().nullable(),
    parentSeq: z.number().int().nullable(),
  })
  .openapi("Context");

/** A page of contexts. */
export const ContextPageSchema = z
  .object({ items: z.array(ContextInfoSchema), nextCursor: z.string().nullable() })
  .openapi("ContextPage");

/** State and version. */
export const StateRecordSchema = z.object({ state: JsonObjectSchema, version: z.number().int() }).openapi("StateRecord");
/** An event of a context's history. */
export const ContextEventSchema = z
  .object({
    contextId: z.string(),
    seq: z.number().int(),
    type: z.string(),
    timestamp: z.string(),
    data: JsonValueSchema,
    metadata: JsonObjectSchema,
    tokens: z.number().nullable(),
    version: z.number().int().nullable(),
  })
  .openapi("Event");
/** What a state write returns. */
export const StateWriteResultSchema = z
  .object({
    state: JsonObjectSchema,
    version: z.number().int(),
    seq: z.number().int(),
    timestamp: z.string(),
    events: z.array(ContextEventSchema).optional(),
  })
  .openapi("StateWriteResult");

/** A page of events. */
export const EventPageSchema = z
  .object({ items: z.array(ContextEventSchema), nextCursor: z.string().nullable() })
  .openapi("EventPage");

/** A JSON Patch operation. */
export const PatchOperationSchema = z
  .object({ op: z.enum(["add", "remove", "replace"]), path: z.string(), value: JsonValueSchema.optional() })
  .openapi("PatchOperation");

/** A snapshot. */
export const SnapshotSchema = z
  .object({
    contextId: z.string(),
    name: z.string(),
    label: z.string().nullable(),
    metadata: JsonObjectSchema,
    version: z.number().int(),
    seq: z.number().int(),
    state: JsonObjectSchema,
    createdAt: z.string(),
  })
  .openapi("Snapshot");

/** A lease. */
export const LeaseSchema = z
  .object({ contextId: z.string(), holder: z.string(), token: z.number().int(), expiresAt: z.string() })
  .openapi("Lease");

/** A registered state schema. */
export const StateSchemaSchema = z
  .object({ kind: z.string(), schema: JsonObjectSchema, revision: z.number().int(), updatedAt: z.string() })
  .openapi("StateSchema");

/** Store health. */
/** A circuit breaker as it is now. */
export const CircuitSnapshotSchema = z
  .object({
    name: z.string(),
    backend: z.string(),
    state: z.enum(["closed", "open", "half-open"]),
    failures: z.number().int().openapi({ description: "Failures in a row" }),
    openedAt: z.number().nullable(),
    nextProbeAt: z.number().nullable(),
    lastError: z.string().nullable(),
    counters: z.object({ opened: z.number(), halfOpened: z.number(), closed: z.number(), rejected: z.number(), failures: z.number(), successes: z.number() }),
  })
  .openapi("CircuitSnapshot");

export const HealthSchema = z
  .object({
    ok: z.boolean(),
    driver: z.string(),
    latencyMs: z.number(),
    capabilities: z
      .object({ crossProcessWatch: z.boolean(), durable: z.boolean(), search: z.boolean(), memory: z.boolean(), blocks: z.boolean() })
      .openapi("StoreCapabilities", { description: "What the store's driver can do; optional areas it lacks answer 501 NOT_SUPPORTED" }),
    embedder: z
      .object({
        model: z.string(),
        dimensions: z.number().int(),
        circuit: CircuitSnapshotSchema.optional().openapi({ description: "The model's circuit breaker, when it has one (an open one fails embeddings fast)" }),
      })
      .nullable()
      .openapi({ description: "The embedding model of long-term memory, or null" }),
    details: z.record(z.string(), z.unknown()),
  })
  .openapi("Health");

/** Result of compaction. */
export const CompactResultSchema = z
  .object({ removed: z.number().int(), firstSeq: z.number().int(), firstVersion: z.number().int() })
  .openapi("CompactResult");

// ---- requests --------------------------------------------------------------------------

/** One event to append. */
export const EventInputSchema = z
  .strictObject({
    type: z.string().min(1).max(256),
    data: JsonValueSchema.optional(),
    metadata: JsonObjectSchema.optional(),
    tokens: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable().optional(),
    timestamp: TimeSchema.optional(),
  })
  .openapi("EventInput");
/** Guards every write may carry. */
const writeGuards = {
  expectedVersion: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional().openapi({ description: "Fail with 409 unless the context is at this version. `If-Match` works too." }),
  fencingToken: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional().openapi({ description: "Fail with 423 LEASE_LOST unless this is the current lease's token." }),
  metadata: JsonObjectSchema.optional().openapi({ description: "Metadata of the event the write records." }),
};

/** Guards of state writes, plus events appended in the same transaction (an agent step). */
const stateWriteGuards = {
  ...writeGuards,
  events: z
    .array(EventInputSchema)
    .optional()
    .openapi({ description: "Events appended after the state event, in the same transaction." }),
};

const contextFields = {
  kind: z.string().min(1).max(256).optional(),
  userId: shortText.nullable().optional(),
  chatId: shortText.nullable().optional(),
  agentId: shortText.nullable().optional(),
  title: z.string().max(4096).nullable().optional(),
  metadata: JsonObjectSchema.optional(),
  expiresAt: TimeSchema.nullable().optional(),
  ttlMs: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
};

/** Body of `POST /v1/contexts`. */
export const CreateContextBody = z
  .strictObject({
    id: idText.optional(),
    ...contextFields,
    state: JsonObjectSchema.optional(),
    parent: z
      .strictObject({ id: idText, version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER) })
      .nullable()
      .optional()
      .openapi({ description: "The lineage to record, as a fork records it (used by imports)." }),
  })
  .openapi("CreateContext");

/** Body of `PATCH /v1/contexts/{id}`. */
export const UpdateContextBody = z
  .strictObject({
    title: z.string().max(4096).nullable().optional(),
    metadata: JsonObjectSchema.optional(),
    expiresAt: TimeSchema.nullable().optional(),
    status: z.enum(["active", "archived"]).optional(),
  })
  .openapi("UpdateContext");

/** Query of `GET /v1/contexts`. */
export const ListContextsQuery = z.strictObject({
  kind: z.string().min(1).max(256).optional(),
  userId: shortText.optional(),
  chatId: shortText.optional(),
  agentId: shortText.optional(),
  status: z.enum(["active", "archived"]).optional(),
  updatedSince: z.string().min(1).max(64).optional(),
  order: z.enum(["asc", "desc"]).optional(),
  limit: queryLimit(1000).optional(),
  cursor: z.string().max(1024).optional(),
});

/** Query of `GET /v1/contexts/{id}/state`: current, or a past version / time. */
export const GetStateQuery = z.strictObject({
  version: queryInt.optional().openapi({ description: "Rebuild this past version." }),
  at: z.string().min(1).max(64).optional().openapi({ description: "The state in force at this time." }),
});

/** Body of `PUT /v1/contexts/{id}/state`. */
export const ReplaceStateBody = z.strictObject({ state: JsonObjectSchema, ...stateWriteGuards }).openapi("ReplaceState");
/** Body of `PATCH /v1/contexts/{id}/state` (RFC 7396 merge patch). */
export const PatchStateBody = z.strictObject({ patch: JsonObjectSchema, ...stateWriteGuards }).openapi("PatchState");
const statePath = z.union([z.string().max(4096), z.array(z.union([z.string().max(1024), z.number().int().min(0)])).max(256)]);
/** Body of `POST /v1/contexts/{id}/state/set`. */
export const SetStateBody = z.strictObject({ path: statePath, value: JsonValueSchema, ...stateWriteGuards }).openapi("SetStateAt");
/** Body of `POST /v1/contexts/{id}/state/remove`. */
export const RemoveStateBody = z.strictObject({ path: statePath, ...stateWriteGuards }).openapi("RemoveStateAt");
/** Query of the diff route. */
export const DiffQuery = z.strictObject({ from: queryInt, to: queryInt });

/** Body of `POST /v1/contexts/{id}/events`. */
export const AppendBody = z
  .strictObject({ events: z.array(EventInputSchema).openapi({ description: "One or more events, appended atomically." }), ...writeGuards })
  .openapi("Append");

const eventFilters = {
  afterSeq: queryInt.optional(),
  beforeSeq: queryInt.optional(),
  since: z.string().min(1).max(64).optional(),
  until: z.string().min(1).max(64).optional(),
  types: z.string().max(4096).optional().openapi({ description: "Comma-separated event types." }),
};
/** Query of `GET /v1/contexts/{id}/events`. */
export const EventQuerySchema = z.strictObject({
  ...eventFilters,
  order: z.enum(["asc", "desc"]).optional(),
  limit: queryLimit(10_000).optional(),
  cursor: z.string().max(1024).optional(),
});
/** Query of the count route. */
export const CountQuerySchema = z.strictObject(eventFilters);
/** Query of the last-events route. */
export const LastQuerySchema = z.strictObject({ n: queryInt, types: eventFilters.types });
/** Query of the event stream. */
export const StreamQuerySchema = z.strictObject({
  afterSeq: queryInt.optional().openapi({ description: "Replay events after this seq first; `Last-Event-ID` wins." }),
});

/** Body of `POST /v1/contexts/{id}/snapshots`. */
export const CreateSnapshotBody = z
  .strictObject({ name: idText.optional(), label: z.string().max(4096).nullable().optional(), metadata: JsonObjectSchema.optional() })
  .openapi("CreateSnapshot");

const targetFields = {
  snapshot: idText.optional(),
  version: nonNegInt.optional(),
  before: TimeSchema.optional(),
  at: TimeSchema.optional(),
};
/** Body of `POST /v1/contexts/{id}/restore`: exactly one of snapshot, version, before, at. */
export const RestoreBody = z.strictObject({ ...targetFields, ...stateWriteGuards }).openapi("Restore");
/** Body of `POST /v1/contexts/{id}/fork`: at most one of snapshot, version, before, at. */
export const ForkBody = z.strictObject({ ...targetFields, id: idText.optional(), ...contextFields }).openapi("Fork");
/** Body of `POST /v1/contexts/{id}/compact`. */
export const CompactBody = z.strictObject({ beforeSeq: nonNegInt }).openapi("Compact");

/** Body of `POST /v1/contexts/{id}/lease`. */
export const AcquireLeaseBody = z
  .strictObject({ holder: idText, ttlMs: z.number().int().positive().max(86_400_000).optional(), waitMs: nonNegInt.optional() })
  .openapi("AcquireLease");
/** Body of lease renew and release. */
export const LeaseRefBody = z
  .strictObject({ holder: idText, token: nonNegInt, ttlMs: z.number().int().positive().max(86_400_000).optional() })
  .openapi("LeaseRef");

/** Body naming a context. */
export const ContextIdBody = z.strictObject({ contextId: idText }).openapi("ContextRef");
/** Body naming a context or none. */
export const NullableContextIdBody = z.strictObject({ contextId: idText.nullable() }).openapi("NullableContextRef");
/** Body of `PUT /v1/schemas/{kind}`. */
export const SchemaBody = z.strictObject({ schema: JsonObjectSchema }).openapi("SetSchema");

/** Body of `POST /v1/usage`. */
export const UsageBody = z
  .strictObject({
    userId: z.string().min(1).max(1024).optional(),
    contextId: idText.optional(),
    kind: z.string().min(1).max(256).optional(),
    from: TimeSchema.optional(),
    to: TimeSchema.optional(),
    groupBy: z.array(z.enum(["model", "provider", "user", "context", "day"])).max(5).optional(),
    prices: z
      .record(z.string(), z.strictObject({ input: z.number().min(0), output: z.number().min(0), cachedInput: z.number().min(0).optional() }))
      .optional(),
  })
  .openapi("UsageQuery");

const usageTotals = {
  calls: z.number(),
  inputTokens: z.number(),
  outputTokens: z.number(),
  cachedTokens: z.number(),
  totalTokens: z.number(),
  costUsd: z.number(),
  unpricedCalls: z.number(),
};
/** A usage report. */
export const UsageReportSchema = z
  .object({
    totals: z.object(usageTotals),
    groups: z.array(z.object({ ...usageTotals, key: z.record(z.string(), z.string().nullable()) })),
  })
  .openapi("UsageReport");

/** Body of `POST /v1/contexts/{id}/window` (the JSON subset of the window options). */
export const WindowBody = z
  .strictObject({
    maxTokens: z.number().int().positive().max(100_000_000),
    reserveTokens: z.number().int().min(0).optional(),
    encoding: z.string().min(1).max(64).optional(),
    types: z.array(z.string().min(1).max(256)).max(256).optional(),
    pinned: z.array(z.string().min(1).max(256)).max(256).optional(),
    strategies: z.array(z.enum(["dedupe", "recent"])).max(2).optional(),
    summarize: z.boolean().optional().openapi({ description: "true: the built-in extractive summary of dropped events" }),
    summaryMaxTokens: z.number().int().positive().optional(),
    summaryScanLimit: z.number().int().positive().optional(),
    eventOverheadTokens: z.number().int().min(0).optional(),
    pageSize: z.number().int().positive().max(10_000).optional(),
    pinScanLimit: z.number().int().min(0).optional(),
    scanLimit: z.number().int().positive().optional(),
  })
  .openapi("WindowOptions");

/** A context window. */
export const ContextWindowSchema = z
  .object({
    events: z.array(ContextEventSchema),
    tokens: z.number(),
    dropped: z.number(),
    duplicates: z.number(),
    pinned: z.number(),
    budget: z.number(),
    encoding: z.string(),
    summary: z
      .object({ text: z.string(), tokens: z.number(), count: z.number(), fromSeq: z.number(), toSeq: z.number() })
      .optional(),
  })
  .openapi("ContextWindow");

// ---- long-term memory ------------------------------------------------------------------
//
// Memory requests are checked by the store, not by zod: the HTTP API then refuses exactly
// what the embedded store refuses, with the same `details.field` (`memory.text`,
// `memories[2].vector[5]`, `scope.namespace[0]`…). The zod shapes below document the
// requests in the OpenAPI document (registered as components by the memory routes); the
// request schemas refer to them but accept any JSON there.

const scopeField = z.string().min(1).max(256).nullable().optional();
/** Whom a memory is about or for. */
export const MemoryScopeSchema = z
  .strictObject({
    userId: scopeField,
    agentId: scopeField,
    contextId: scopeField,
    namespace: z.array(z.string().min(1).max(128)).max(16).optional().openapi({ example: ["prefs", "food"] }),
  })
  .openapi("MemoryScope", {
    description:
      "Any of userId, agentId, contextId (a run) and a namespace path; a memory's scope names at least one. " +
      "In a query each given field must match exactly and `namespace` matches as a prefix.",
  });
/** A time as a JSON value. */
const memoryTime = z.union([z.string(), z.number()]);
/** A vector made by the store's embedding model. */
const vectorSchema = z
  .array(z.number())
  .openapi({ description: "A vector of the store's embedding model (`GET /v1/health` → embedder.dimensions numbers, finite, not all zero)." });

/** A memory to add (documentation: the store checks it). */
export const MemoryInputSchema = z
  .strictObject({
    id: z.string().min(1).max(256).optional().openapi({ description: "Given, or generated (time-sortable)." }),
    scope: MemoryScopeSchema,
    text: z.string().min(1).max(32_768).openapi({ description: "What is remembered: what search ranks and the model embeds." }),
    value: JsonValueSchema.optional().openapi({ description: "Structured data kept with it (never searched)." }),
    metadata: JsonObjectSchema.optional(),
    tags: z.array(z.string().min(1).max(128)).max(64).optional(),
    importance: z.number().min(0).max(1).optional().openapi({ description: "0 to 1 (default 0.5)." }),
    source: z.strictObject({ contextId: z.string(), seq: z.number().int().min(1).nullable().optional() }).optional(),
    expiresAt: memoryTime.nullable().optional(),
    ttlMs: z.number().int().positive().nullable().optional(),
    vector: vectorSchema.optional().openapi({ description: "The memory's vector, made by the store's model (then the store does not embed the text)." }),
  })
  .openapi("MemoryInput");

/** The fields `PATCH /v1/memories/{id}` replaces (documentation: the store checks them). */
export const MemoryUpdateSchema = z
  .strictObject({
    text: z.string().min(1).max(32_768).optional(),
    value: JsonValueSchema.optional(),
    metadata: JsonObjectSchema.optional(),
    tags: z.array(z.string().min(1).max(128)).max(64).optional(),
    importance: z.number().min(0).max(1).optional(),
    expiresAt: memoryTime.nullable().optional(),
    ttlMs: z.number().int().positive().nullable().optional(),
    expectedVersion: z.number().int().min(1).optional().openapi({ description: "Fail with 409 unless the memory is at this version. `If-Match` works too." }),
    actor: z.string().min(1).max(256).optional().openapi({ description: "Who or what made the change, recorded in the history." }),
  })
  .openapi("MemoryUpdate");

const selectionDocs = {
  scope: MemoryScopeSchema.optional(),
  filter: z
    .record(z.string(), z.unknown())
    .optional()
    .openapi({ description: "Conditions on metadata keys (dotted keys reach into objects): a value, or `$eq $ne $gt $gte $lt $lte $in $nin`." }),
  tags: z.array(z.string()).optional().openapi({ description: "Only memories with every one of these tags." }),
  since: memoryTime.optional().openapi({ description: "Only memories created at or after this time." }),
  until: memoryTime.optional().openapi({ description: "Only memories created at or before this time." }),
};

/** The body of `POST /v1/memories/search` (documentation: the store checks it). */
export const MemorySearchSchema = z
  .strictObject({
    text: z.string().min(1).max(4096).openapi({ example: "what does Caroline like to eat?" }),
    mode: z.enum(["hybrid", "text", "vector"]).optional().openapi({ description: "Default hybrid." }),
    ...selectionDocs,
    limit: z.number().int().min(1).max(1000).optional().openapi({ description: "Default 10." }),
    minScore: z.number().optional(),
    boosts: z
      .strictObject({
        recency: z.strictObject({ weight: z.number(), halfLifeMs: z.number() }).optional(),
        importance: z.strictObject({ weight: z.number() }).optional(),
      })
      .optional(),
    vector: vectorSchema.optional().openapi({ description: "A query vector of the store's model (the store then does not embed `text`)." }),
    refresh: z.boolean().optional().openapi({ description: "Move the expiry of each hit with a ttlMs to now + ttlMs." }),
  })
  .openapi("MemorySearch");

/** A JSON value the store checks, documented as `schema`. */
export function checkedByStore(ref: string, description: string, array: "one-or-many" | "one" = "one") {
  const one = { $ref: `#/components/schemas/${ref}` };
  return z.unknown().openapi(array === "one" ? { allOf: [one], description } : { oneOf: [one, { type: "array", items: one }], description });
}

/** Body of `POST /v1/memories`. */
export const AddMemoriesBody = z
  .strictObject({
    memories: checkedByStore("MemoryInput", "One memory, or an array of up to 1000 added atomically.", "one-or-many"),
    merge: z
      .unknown()
      .optional()
      .openapi({
        type: "object",
        properties: { threshold: { type: "number", minimum: 0, maximum: 1 } },
        required: ["threshold"],
        description: "Merge into the most similar live memory of the same scope when their cosine similarity is at least threshold (a new version; never a delete).",
      }),
    actor: z.unknown().optional().openapi({ type: "string", description: "Who or what made the change, recorded in the history." }),
  })
  .openapi("AddMemories");
/** Body of `PATCH /v1/memories/{id}`. */
export const UpdateMemoryBody = checkedByStore("MemoryUpdate", "The fields to replace, with the optional guard and actor.");
/** Body of `POST /v1/memories/search`. */
export const SearchMemoriesBody = checkedByStore("MemorySearch", "What to look for and where.");
/** Body of `POST /v1/memories/purge`. */
export const PurgeMemoriesBody = z
  .strictObject({
    scope: z.unknown().optional().openapi({ allOf: [{ $ref: "#/components/schemas/MemoryScope" }], description: "Delete every memory of this scope; without it, only expired memories." }),
  })
  .openapi("PurgeMemories");
/** Body of `POST /v1/memories/reindex`. */
export const ReindexMemoriesBody = z
  .strictObject({
    batchSize: z.unknown().optional().openapi({ type: "integer", minimum: 1, maximum: 1000, description: "Memories embedded per committed batch (default 32)." }),
    limit: z.unknown().optional().openapi({ type: "integer", minimum: 1, description: "Embed at most this many, then answer (`remaining` says how many are left)." }),
  })
  .openapi("ReindexMemories");

const queryJson = z.string().max(65_536);
/** Query of `GET /v1/memories`. */
export const ListMemoriesQuerySchema = z.strictObject({
  scope: queryJson.optional().openapi({ description: 'The scope as JSON, e.g. {"userId":"u1"} (or use userId, agentId, contextId, namespace).', example: '{"userId":"u1"}' }),
  userId: z.string().min(1).max(256).optional(),
  agentId: z.string().min(1).max(256).optional(),
  contextId: z.string().min(1).max(256).optional(),
  namespace: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .openapi({ description: "A namespace prefix, one label per parameter in order (`namespace=prefs&namespace=food`)." }),
  filter: queryJson.optional().openapi({ description: 'A metadata filter as JSON, e.g. {"turn":{"$gte":3}}.' }),
  tag: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .openapi({ description: "Only memories with this tag; repeat for several (all must be present)." }),
  since: z.string().min(1).max(64).optional(),
  until: z.string().min(1).max(64).optional(),
  order: z.string().max(16).optional().openapi({ description: "asc or desc (by creation time; default desc)." }),
  limit: z.string().max(32).optional().openapi({ description: "Default 100, at most 1000." }),
  cursor: z.string().max(4096).optional(),
});

/** A memory. */
export const MemorySchema = z
  .object({
    id: z.string(),
    tenant: z.string(),
    scope: z
      .object({ userId: z.string().nullable(), agentId: z.string().nullable(), contextId: z.string().nullable(), namespace: z.array(z.string()) })
      .openapi("StoredMemoryScope"),
    text: z.string(),
    value: JsonValueSchema,
    metadata: JsonObjectSchema,
    tags: z.array(z.string()),
    importance: z.number(),
    source: z.object({ contextId: z.string(), seq: z.number().int().nullable() }).nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    expiresAt: z.string().nullable(),
    ttlMs: z.number().int().nullable(),
    version: z.number().int(),
    embedding: z.object({ model: z.string(), dimensions: z.number().int() }).nullable(),
  })
  .openapi("Memory");
/** What an add did with each input, in order. */
export const AddedMemoriesSchema = z
  .object({
    items: z.array(
      z
        .object({
          memory: MemorySchema,
          outcome: z.enum(["created", "existing", "merged"]).openapi({ description: "existing: the same text was already in the scope; merged: into a similar memory." }),
        })
        .openapi("AddedMemory"),
    ),
  })
  .openapi("AddedMemories");
/** A page of memories. */
export const MemoryPageSchema = z.object({ items: z.array(MemorySchema), nextCursor: z.string().nullable() }).openapi("MemoryPage");
/** Memory hits, best first. */
export const MemoryHitsSchema = z
  .object({
    items: z.array(
      z
        .object({
          memory: MemorySchema,
          score: z.number().openapi({ description: "The mode's score plus boosts; higher first." }),
          textScore: z.number().openapi({ description: "BM25 (0: no term matches)." }),
          vectorScore: z.number().nullable().openapi({ description: "Cosine similarity (null without a vector)." }),
        })
        .openapi("MemoryHit"),
    ),
  })
  .openapi("MemoryHits");
/** A memory's history, oldest first. */
export const MemoryHistorySchema = z
  .object({
    items: z.array(
      z
        .object({
          memoryId: z.string(),
          version: z.number().int(),
          op: z.enum(["add", "update", "merge", "delete"]),
          text: z.string(),
          value: JsonValueSchema,
          metadata: JsonObjectSchema,
          tags: z.array(z.string()),
          importance: z.number(),
          expiresAt: z.string().nullable(),
          actor: z.string().nullable(),
          at: z.string(),
        })
        .openapi("MemoryVersion"),
    ),
  })
  .openapi("MemoryHistory");

// ---- working memory --------------------------------------------------------------------
//
// Like memory requests, block requests are checked by the store (labels, limits, values,
// schemas, edits), so the HTTP API refuses exactly what the embedded store refuses, with the
// same `details.field`; the shapes below document them.

/** The scope of a block request, as query parameters: exactly one of them. */
export const BlockScopeQuery = z.strictObject({
  contextId: z.string().min(1).max(256).optional().openapi({ description: "The blocks of this context." }),
  userId: z.string().min(1).max(256).optional().openapi({ description: "The blocks of this user." }),
  agentId: z.string().min(1).max(256).optional().openapi({ description: "The blocks of this agent." }),
});
/** The query of a block's history: its scope and a page. */
export const BlockHistoryQuery = BlockScopeQuery.extend({
  afterVersion: z.coerce.number().int().min(0).optional().openapi({ description: "Versions after this one (default 0)." }),
  limit: z.coerce.number().int().min(1).max(MAX_BLOCK_HISTORY_PAGE).optional().openapi({ description: "At most this many versions (default: all)." }),
});
/** `{label}` in the path. */
export const LabelParams = z.strictObject({
  label: z
    .string()
    .min(1)
    .max(256)
    .openapi({ param: { name: "label", in: "path" }, example: "human", description: "1–64 of A–Z a–z 0–9 _ - ., starting with a letter." }),
});
const blockLimit = z
  .strictObject({
    chars: z.number().int().min(1).max(1 << 20).optional().openapi({ description: "Characters (UTF-16 code units) of the value's text." }),
    tokens: z.number().int().min(1).max(1 << 18).optional().openapi({ description: "o200k_base tokens of the value's text." }),
  })
  .openapi("BlockLimit", { description: "The hard limit: at least one of chars and tokens. A write over it is 422 LIMIT_EXCEEDED (details: limit, unit, size, over)." });
const guardDocs = {
  ifVersion: z.number().int().min(0).optional().openapi({ description: "Fail with 409 unless the block is at this version (0: must not exist). `If-Match` works too." }),
  actor: z.string().min(1).max(256).optional().openapi({ description: "Who or what made the change (updatedBy, history)." }),
};
/** The body of `PUT /v1/blocks/{label}` (documentation: the store checks it). */
export const BlockPutSchema = z
  .strictObject({
    description: z.string().max(2048).optional(),
    value: JsonValueSchema.openapi({ description: "Text; with a schema, any JSON value the schema accepts." }),
    schema: JsonObjectSchema.optional().openapi({ description: "A JSON Schema every value must match (a JSON block)." }),
    limit: blockLimit,
    ...guardDocs,
  })
  .openapi("BlockPut");
/** The body of `POST /v1/blocks/{label}/edit` (documentation: the store checks it). */
export const BlockEditSchema = z
  .strictObject({
    edit: z
      .unknown()
      .openapi({
        oneOf: [
          { type: "object", properties: { op: { const: "append" }, text: { type: "string" } }, required: ["op", "text"] },
          { type: "object", properties: { op: { const: "replace" }, old: { type: "string" }, new: { type: "string" } }, required: ["op", "old", "new"] },
          { type: "object", properties: { op: { const: "rewrite" }, value: {} }, required: ["op", "value"] },
        ],
        description: "append text; replace the one occurrence of old (400 when missing or not unique); rewrite the whole value.",
      }),
    ...guardDocs,
  })
  .openapi("BlockEdit");
/** A block. */
export const BlockSchema = z
  .object({
    scope: z.record(z.string(), z.string()).openapi({ description: "One of contextId, userId, agentId." }),
    label: z.string(),
    description: z.string(),
    value: JsonValueSchema,
    schema: JsonObjectSchema.optional(),
    limit: z.object({ chars: z.number().int().optional(), tokens: z.number().int().optional() }),
    version: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
    updatedBy: z.string().optional(),
  })
  .openapi("Block");
/** The blocks of a scope, by label. */
export const BlockListSchema = z.object({ items: z.array(BlockSchema) }).openapi("BlockList");
/** A block's history, oldest first. */
export const BlockHistorySchema = z
  .object({
    items: z.array(
      z
        .object({
          label: z.string(),
          version: z.number().int(),
          op: z.enum(["put", "append", "replace", "rewrite", "delete"]),
          description: z.string(),
          value: JsonValueSchema,
          schema: JsonObjectSchema.optional(),
          limit: z.object({ chars: z.number().int().optional(), tokens: z.number().int().optional() }),
          actor: z.string().nullable(),
          at: z.string(),
        })
        .openapi("BlockVersion"),
    ),
  })
  .openapi("BlockHistory");

/** One metric of `GET /v1/metrics` (prom-client's JSON form). */
export const MetricFamilySchema = z
  .object({
    name: z.string(),
    help: z.string(),
    type: z.enum(["counter", "gauge", "histogram", "summary"]),
    values: z.array(
      z.object({
        labels: z.record(z.string(), z.union([z.string(), z.number()])),
        value: z.number(),
        metricName: z.string().optional().openapi({ description: "For histograms: the `_bucket`, `_sum` or `_count` series" }),
      }),
    ),
  })
  .openapi("MetricFamily");

/** The Prometheus text exposition (`GET /metrics`). */
export const MetricsText = z.string().openapi({ description: "Prometheus text format 0.0.4", example: "# TYPE contextd_appended_events_total counter\ncontextd_appended_events_total 42\n" });

/** `GET /v1/monitor` query. */
export const MonitorQuery = z.strictObject({
  format: z.enum(["json", "csv"]).optional().openapi({ description: "json (default) or csv: one row per window and operation" }),
  lastMs: queryInt.optional().openapi({ description: "Only the windows of the last this many ms (default: all kept)" }),
});

const AlertRuleSchema = z
  .object({
    name: z.string(),
    metric: z.string(),
    labels: z.object({ layer: z.string().optional(), operation: z.string().optional() }).optional(),
    op: z.enum([">", "<"]),
    threshold: z.number(),
    clear: z.number().optional(),
    forMs: z.number().optional(),
    windowMs: z.number().optional(),
    severity: z.enum(["info", "warning", "critical"]),
  })
  .openapi("AlertRule");

/** One rule's state. */
export const AlertStateSchema = z
  .object({ rule: AlertRuleSchema, state: z.enum(["inactive", "pending", "firing"]), value: z.number().nullable(), since: z.string().nullable() })
  .openapi("AlertState");

/** What `GET /v1/monitor` answers as JSON. */
export const MonitorReportSchema = z
  .object({
    from: z.string(),
    to: z.string(),
    windowMs: z.number(),
    retentionMs: z.number(),
    operations: z.array(
      z.object({
        layer: z.enum(["store", "driver", "embedding", "http"]),
        operation: z.string(),
        count: z.number(),
        errors: z.number(),
        errorRate: z.number(),
        throughput: z.number(),
        p50: z.number(),
        p95: z.number(),
        p99: z.number(),
      }),
    ),
    cache: z.object({ hits: z.number(), misses: z.number(), fallbacks: z.number(), hitRate: z.number().nullable() }).nullable(),
    resources: z.array(
      z.object({
        at: z.string(),
        rssBytes: z.number(),
        heapUsedBytes: z.number(),
        heapTotalBytes: z.number(),
        cpu: z.number(),
        eventLoopDelayP99: z.number(),
        databaseBytes: z.number().nullable(),
        walBytes: z.number().nullable(),
        poolWaiting: z.number().nullable(),
      }),
    ),
    alerts: z.array(AlertStateSchema),
    recommendations: z.array(z.object({ code: z.string(), severity: z.enum(["info", "warning"]), reason: z.string(), action: z.string() })),
  })
  .openapi("MonitorReport");

const HealthStatus = z.enum(["pass", "warn", "fail"]);
const HealthReportFields = {
  at: z.string(),
  score: z.number().openapi({ description: "The mean of the checks' scores (pass 100, warn 60, fail 0)" }),
  status: HealthStatus,
  categories: z.array(z.object({ category: z.string(), score: z.number(), status: HealthStatus })),
  checks: z.array(
    z.object({ category: z.string(), name: z.string(), status: HealthStatus, score: z.number(), details: z.string(), fix: z.string().nullable() }),
  ),
  seq: z.number().int().openapi({ description: "The report's number in the health history" }),
  baseline: z.boolean().openapi({ description: "Whether this report is the baseline" }),
};

const ScoreChangeSchema = z
  .object({ from: z.number(), delta: z.number().openapi({ description: "Now minus then" }), direction: z.enum(["improved", "unchanged", "worse"]) })
  .nullable();
const TrendLine = { score: z.number(), vsBaseline: ScoreChangeSchema, vsPrevious: ScoreChangeSchema };

/** The trend of a report against the baseline and the previous report. */
export const HealthTrendSchema = z
  .object({
    baseline: z.object({ seq: z.number().int(), at: z.string() }).nullable(),
    previous: z.object({ seq: z.number().int(), at: z.string() }).nullable(),
    overall: z.object(TrendLine),
    categories: z.array(z.object({ category: z.string(), ...TrendLine })),
  })
  .openapi("HealthTrend");

/** A report as the health history keeps it. */
export const RecordedHealthReportSchema = z.object(HealthReportFields).openapi("RecordedHealthReport");

/** What `GET /v1/health/report` answers: the report, recorded in the history, with its trend. */
export const HealthReportSchema = z.object({ ...HealthReportFields, trend: HealthTrendSchema }).openapi("HealthReport");

/** `GET /v1/health/history`: a page, newest first. */
export const HealthHistoryPageSchema = z
  .object({
    items: z.array(RecordedHealthReportSchema),
    next: z.number().int().nullable().openapi({ description: "Pass as `before` for the next (older) page; null at the end" }),
    baseline: z.number().int().nullable().openapi({ description: "The baseline's seq" }),
    maxReports: z.number().int().openapi({ description: "How many reports the history keeps (the baseline besides)" }),
  })
  .openapi("HealthHistoryPage");

/** Query of `GET /v1/health/history`. */
export const HealthHistoryQuery = z.strictObject({
  limit: queryInt.pipe(z.number().int().min(1).max(1000)).optional().openapi({ description: "Reports per page, 1–1000 (default 20)" }),
  before: queryInt.pipe(z.number().int().min(1)).optional().openapi({ description: "Only reports older than this seq (the previous page's `next`)" }),
});

/** Body of `POST /v1/health/baseline`. */
export const HealthBaselineBody = z
  .strictObject({
    seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional().openapi({ description: "A report of the history; without, a new report is taken and recorded" }),
  })
  .openapi("HealthBaseline");

// ---- the sectioned window --------------------------------------------------------------
//
// Like memory requests, the sectioned window's options are checked by the same code as the
// embedded store's (agent/prompt-options.ts, then the searches), so the HTTP API refuses
// exactly what the embedded store refuses, with the same `details.field`. The shapes below
// document them; the route takes any JSON there.

const sectionLimitDocs = {
  priority: z.number().optional().openapi({ description: "A higher priority gets its share of the budget first." }),
  min: nonNegInt.optional().openapi({ description: "Tokens held for the section (when it has that much to show) before any section is filled." }),
  max: nonNegInt.optional().openapi({ description: "At most this many tokens." }),
};
const eventTypes = z.array(z.string().min(1).max(128));
const neighbours = z.number().int().min(0).max(1000);
const orOff = <T extends z.ZodType>(section: T) => z.union([z.literal(false).openapi({ description: "false: the section is off." }), section]).optional();

/** The options of a sectioned window (documentation: the store checks them). */
export const SectionedWindowOptionsSchema = z
  .strictObject({
    maxTokens: z.number().int().min(1).openapi({ description: "The model's context budget in tokens." }),
    reserveTokens: nonNegInt.optional().openapi({ description: "Tokens left free for the reply (default 0)." }),
    model: z.string().optional().openapi({ example: "gpt-4o", description: "Picks the tokenizer (gpt-4o, gpt-4.1, o3 → o200k; gpt-4, gpt-3.5-turbo → cl100k)." }),
    encoding: z.string().optional().openapi({ description: "o200k_base or cl100k_base, for a model contextd does not know." }),
    instructions: z.union([z.string(), z.array(z.string())]).optional().openapi({ description: "Trusted instructions, first in the system message." }),
    query: z.string().min(1).optional().openapi({ description: "What memories and recall search for (default: the newest user message)." }),
    nonce: z.string().optional().openapi({ description: "The data delimiters' nonce (8–64 letters or digits; default: random per window)." }),
    sections: z
      .strictObject({
        pinned: z.strictObject({ types: eventTypes.max(100).optional(), scanLimit: z.number().int().min(0).max(10_000).optional() }).optional(),
        workingMemory: orOff(
          z.strictObject({
            ...sectionLimitDocs,
            blocks: z
              .array(z.strictObject({ label: z.string(), description: z.string().nullable().optional(), value: JsonValueSchema, limit: z.strictObject({ chars: nonNegInt.optional(), tokens: nonNegInt.optional() }).optional() }))
              .optional()
              .openapi({ description: "These blocks instead of the store's." }),
            scopes: z.array(BlockScopeQuery).optional().openapi({ description: "Whose blocks (default: the context, then its user and agent); each one of contextId, userId, agentId." }),
          }),
        ),
        memories: orOff(
          z.strictObject({
            ...sectionLimitDocs,
            scope: MemoryScopeSchema.optional().openapi({ description: "Default: the context's user, else its agent, else the context." }),
            limit: z.number().int().min(1).max(1000).optional(),
            mode: z.enum(["hybrid", "text", "vector"]).optional(),
            minScore: z.number().optional(),
            tags: selectionDocs.tags,
            filter: selectionDocs.filter,
            boosts: MemorySearchSchema.shape.boosts,
          }),
        ),
        recall: orOff(
          z.strictObject({
            ...sectionLimitDocs,
            mode: z.enum(["hybrid", "text", "vector"]).optional(),
            limit: z.number().int().min(1).optional(),
            range: z.union([neighbours, z.strictObject({ before: neighbours, after: neighbours })]).optional(),
            minScore: z.number().optional(),
          }),
        ),
        recent: z
          .strictObject({
            ...sectionLimitDocs,
            types: eventTypes.min(1).max(100).optional(),
            dedupe: z.boolean().optional(),
            scanLimit: z.number().int().min(1).optional(),
            pageSize: z.number().int().min(1).max(10_000).optional(),
          })
          .optional(),
        toolOutputs: z.strictObject({ maxTokensPerItem: z.number().int().min(1).optional() }).optional(),
        summary: orOff(z.strictObject({ ...sectionLimitDocs, scanLimit: nonNegInt.optional() }).openapi({ description: "The built-in extractive summary (a custom summarizer is code: embedded only)." })),
      })
      .optional(),
  })
  .openapi("SectionedWindowOptions", {
    description:
      "A window is sectioned when it names `model` or `sections` (`sections: {}` for every default). Options that are code " +
      "(`sections.workingMemory.load`, `sections.summary.summarize`) or live objects (`signal`) exist only in the caller's process: " +
      "sending one is 400 INVALID_INPUT naming it (the HTTP client assembles such a window itself).",
  });

const promptToolCall = z.object({ id: z.string(), name: z.string(), arguments: z.string().openapi({ description: "The arguments as JSON text." }) });
const promptMessage = z
  .discriminatedUnion("role", [
    z.object({ role: z.literal("system"), content: z.string(), name: z.string().optional() }),
    z.object({ role: z.literal("user"), content: z.string(), name: z.string().optional() }),
    z.object({ role: z.literal("assistant"), content: z.string(), name: z.string().optional(), toolCalls: z.array(promptToolCall).optional() }),
    z.object({ role: z.literal("tool"), toolCallId: z.string(), toolName: z.string(), content: z.string() }),
  ])
  .openapi("PromptMessage", {
    description: "A provider-neutral chat message; toOpenAIMessages, toAnthropicMessages and toModelMessages render a window's messages for those APIs.",
  });

/** A sectioned window. */
export const PromptWindowSchema = z
  .object({
    messages: z.array(promptMessage),
    tokens: z.number().int().openapi({ description: "Tokens of `messages` by the chat counting rule, reply priming included." }),
    budget: z.number().int().openapi({ description: "maxTokens − reserveTokens." }),
    overBudget: z.boolean().openapi({ description: "True only when the pinned section alone exceeds the budget." }),
    encoding: z.string(),
    model: z.string().nullable(),
    query: z.string().nullable(),
    nonce: z.string(),
    sections: z.array(
      z
        .object({
          name: z.enum(["pinned", "workingMemory", "memories", "recall", "recent", "toolOutputs", "summary"]),
          priority: z.number().nullable(),
          min: z.number().int(),
          max: z.number().int().nullable(),
          tokens: z.number().int(),
          included: z.array(z.string()).openapi({ description: "seq:12, seq:118-121, memory:<id>, block:<label>" }),
          dropped: z.array(z.string()),
          notRead: z.number().int().optional(),
          skipped: z.string().optional(),
        })
        .openapi("WindowSectionReport"),
    ),
  })
  .openapi("PromptWindow");
