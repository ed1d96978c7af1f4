/**
 * Working-memory operations of the embedded store: list, get, put (create or overwrite),
 * edit (append, replace, rewrite), delete and history. The driver stores (`BlockArea`) and
 * runs the core's edit inside its transaction, so the limit and the schema are checked against
 * exactly the value stored, and edits without `ifVersion` never lose a concurrent edit.
 */
import { ContextError, invalidInput } from "../errors.js";
import type { BlockArea, BlockHistoryPage, BlockKey, BlockRecord, BlockVersionRecord } from "../drivers/block-area.js";
import { notSupported, type Engine } from "./engine.js";
import { checkBlockInput, checkBlockScope, checkEdit, checkLabel, editedContent, scopeOf, type BlockRules } from "./block-input.js";
import type { Block, BlockEdit, BlockHistoryOptions, BlockInput, BlockScope, BlockVersion, BlockWriteOptions } from "./block-types.js";
import { MAX_BLOCK_HISTORY_PAGE } from "./block-types.js";
import type { CallOptions } from "./call-types.js";
import { checkInt, checkOptions, checkText, iso } from "./validate.js";

/** The block area of the store's driver, or `NOT_SUPPORTED`. */
function blockArea(engine: Engine): BlockArea {
  const area = engine.driver.blocks;
  if (area === undefined) throw notSupported(engine, "working-memory blocks");
  return area;
}

const limitOf = (r: { limitChars: number | null; limitTokens: number | null }) => ({
  ...(r.limitChars !== null && { chars: r.limitChars }),
  ...(r.limitTokens !== null && { tokens: r.limitTokens }),
});

/** The public form of a stored block. */
export function toBlock(r: BlockRecord): Block {
  return {
    scope: scopeOf(r.key),
    label: r.label,
    description: r.description,
    value: r.value,
    ...(r.schema !== null && { schema: r.schema }),
    limit: limitOf(r),
    version: r.version,
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
    ...(r.updatedBy !== null && { updatedBy: r.updatedBy }),
  };
}

function toVersion(v: BlockVersionRecord): BlockVersion {
  return {
    label: v.label,
    version: v.version,
    op: v.op,
    description: v.description,
    value: v.value,
    ...(v.schema !== null && { schema: v.schema }),
    limit: limitOf(v),
    actor: v.actor,
    at: iso(v.at),
  };
}

/** `NOT_FOUND` for a block. */
export function blockNotFound(key: BlockKey, label: string): ContextError {
  return new ContextError("NOT_FOUND", `block ${label} of ${key.kind} ${key.id} does not exist`, {
    details: { scope: scopeOf(key), label },
  });
}

const WRITE_OPTIONS = ["ifVersion", "actor", "signal"] as const;

function checkWrite(options: BlockWriteOptions | undefined): { o: BlockWriteOptions; ifVersion?: number; actor: string | null } {
  const o = checkOptions<BlockWriteOptions>(options, "options", WRITE_OPTIONS);
  return {
    o,
    actor: o.actor === undefined ? null : checkText(o.actor, "options.actor"),
    ...(o.ifVersion !== undefined && { ifVersion: checkInt(o.ifVersion, "options.ifVersion", 0) }),
  };
}

const rulesOf = (engine: Engine): BlockRules => ({ limits: engine.limits, schemas: engine.schemas });

/** `store.listBlocks`: the scope's blocks, by label. */
export async function listBlocks(engine: Engine, tenant: string, scope: BlockScope, options: CallOptions | undefined): Promise<Block[]> {
  const key = checkBlockScope(scope);
  const o = checkOptions<CallOptions>(options, "options", ["signal"]);
  const area = blockArea(engine);
  const call = engine.begin(o);
  return (await engine.run(() => area.list(tenant, key, call))).map(toBlock);
}

/** `store.getBlock`. @throws `NOT_FOUND` */
export async function getBlock(engine: Engine, tenant: string, scope: BlockScope, label: string, options: CallOptions | undefined): Promise<Block> {
  const key = checkBlockScope(scope);
  const l = checkLabel(label);
  const o = checkOptions<CallOptions>(options, "options", ["signal"]);
  const area = blockArea(engine);
  const call = engine.begin(o);
  const r = await engine.run(() => area.get(tenant, key, l, call));
  if (r === null) throw blockNotFound(key, l);
  return toBlock(r);
}

/** `store.putBlock`: creates or overwrites a block (everything checked before the write). */
export async function putBlock(engine: Engine, tenant: string, scope: BlockScope, input: BlockInput, options: BlockWriteOptions | undefined): Promise<Block> {
  const key = checkBlockScope(scope);
  const { label, content } = checkBlockInput(rulesOf(engine), input);
  const { o, ifVersion, actor } = checkWrite(options);
  const area = blockArea(engine);
  const call = engine.begin(o);
  const change = { op: "put" as const, actor, update: () => content, ...(ifVersion !== undefined && { ifVersion }) };
  return toBlock(await engine.run(() => area.write(tenant, key, label, change, call)));
}

/** `store.editBlock`: append, replace or rewrite, checked against the stored block inside the write. */
export async function editBlock(
  engine: Engine,
  tenant: string,
  scope: BlockScope,
  label: string,
  edit: BlockEdit,
  options: BlockWriteOptions | undefined,
): Promise<Block> {
  const key = checkBlockScope(scope);
  const l = checkLabel(label);
  const e = checkEdit(edit, engine.limits.maxEventChars);
  const { o, ifVersion, actor } = checkWrite(options);
  if (ifVersion === 0) throw invalidInput("options.ifVersion", "0 means the block must not exist: an edit needs one (give its version)");
  const rules = rulesOf(engine);
  const area = blockArea(engine);
  const call = engine.begin(o);
  const change = {
    op: e.op,
    actor,
    ...(ifVersion !== undefined && { ifVersion }),
    update: (current: BlockRecord | null) => {
      if (current === null) throw blockNotFound(key, l);
      return editedContent(rules, current, e);
    },
  };
  return toBlock(await engine.run(() => area.write(tenant, key, l, change, call)));
}

/** `store.deleteBlock`. @throws `NOT_FOUND`, `VERSION_CONFLICT` */
export async function deleteBlock(engine: Engine, tenant: string, scope: BlockScope, label: string, options: BlockWriteOptions | undefined): Promise<void> {
  const key = checkBlockScope(scope);
  const l = checkLabel(label);
  const { o, ifVersion, actor } = checkWrite(options);
  const area = blockArea(engine);
  const call = engine.begin(o);
  const guard = ifVersion === undefined ? { actor } : { ifVersion, actor };
  if (!(await engine.run(() => area.delete(tenant, key, l, guard, call)))) throw blockNotFound(key, l);
}

/**
 * `store.blockHistory`: the versions after `afterVersion`, oldest first, at most `limit`.
 * @throws `NOT_FOUND` when the block never existed
 */
export async function blockHistory(engine: Engine, tenant: string, scope: BlockScope, label: string, options: BlockHistoryOptions | undefined): Promise<BlockVersion[]> {
  const key = checkBlockScope(scope);
  const l = checkLabel(label);
  const o = checkOptions<BlockHistoryOptions>(options, "options", ["signal", "afterVersion", "limit"]);
  const page: BlockHistoryPage = {
    afterVersion: o.afterVersion === undefined ? 0 : checkInt(o.afterVersion, "options.afterVersion", 0),
    limit: o.limit === undefined ? null : checkInt(o.limit, "options.limit", 1, MAX_BLOCK_HISTORY_PAGE),
  };
  const area = blockArea(engine);
  const call = engine.begin(o);
  const versions = await engine.run(() => area.history(tenant, key, l, page, call));
  // An empty page past the end is not a missing block: ask for its first version to tell.
  if (versions.length === 0 && (page.afterVersion === 0 || (await engine.run(() => area.history(tenant, key, l, { afterVersion: 0, limit: 1 }, call))).length === 0)) {
    throw blockNotFound(key, l);
  }
  return versions.map(toVersion);
}
