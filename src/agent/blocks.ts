/**
 * Working memory in the agent layer, on the store interface (embedded or HTTP): `updateBlock`
 * (read, compute, compare-and-set, retry on `VERSION_CONFLICT`), the per-scope handle
 * (`context(id).blocks`) and tool definitions a model can call to edit blocks.
 */
import { isContextError, invalidInput } from "../errors.js";
import type { Block, BlockEdit, BlockHistoryOptions, BlockInput, BlockScope, BlockVersion, BlockWriteOptions } from "../core/block-types.js";
import type { CallOptions, CoreStore, JsonObject } from "../core/types.js";
import { checkOptions } from "../core/validate.js";

/** What `updateBlock`'s function returns: an edit, or `null` to leave the block as it is. */
export type BlockUpdate = (block: Block) => BlockEdit | null | Promise<BlockEdit | null>;

/** Options of {@link updateBlock}. */
export interface UpdateBlockOptions extends CallOptions {
  /** Who or what made the change (the block's `updatedBy` and its history). */
  actor?: string;
  /** Attempts before the last `VERSION_CONFLICT` is thrown. @default 100 */
  maxAttempts?: number;
}

type BlockStore = Pick<CoreStore, "getBlock" | "editBlock" | "listBlocks" | "putBlock" | "deleteBlock" | "blockHistory">;

/**
 * Reads the block, asks `fn` for an edit of what it read, and applies it only if the block is
 * still at the version read (`ifVersion`); when another writer got there first, reads again
 * and asks `fn` again, so no concurrent edit is lost or applied to a value `fn` never saw.
 * Returns the block as written (or as read, when `fn` returns `null`).
 * @throws what `getBlock` and `editBlock` throw; `VERSION_CONFLICT` after `maxAttempts`
 * @example
 * ```ts
 * await updateBlock(store, { userId: "u1" }, "human", (b) => ({ op: "append", text: "\nLikes tea." }));
 * ```
 */
export async function updateBlock(store: BlockStore, scope: BlockScope, label: string, fn: BlockUpdate, options: UpdateBlockOptions = {}): Promise<Block> {
  if (typeof fn !== "function") throw invalidInput("fn", "must be a function (block) => edit");
  const { maxAttempts = 100, actor, signal } = checkOptions<UpdateBlockOptions>(options, "options", ["actor", "maxAttempts", "signal"]);
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw invalidInput("options.maxAttempts", `must be a positive integer, got ${String(maxAttempts)}`);
  const call = signal === undefined ? {} : { signal };
  for (let attempt = 1; ; attempt++) {
    const block = await store.getBlock(scope, label, call);
    const edit = await fn(block);
    if (edit === null) return block;
    try {
      return await store.editBlock(scope, label, edit, { ...call, ifVersion: block.version, ...(actor !== undefined && { actor }) });
    } catch (e) {
      if (!isContextError(e, "VERSION_CONFLICT") || attempt >= maxAttempts) throw e;
    }
  }
}

/** The blocks of one scope, bound (`store.context(id).blocks`, `blocksOf(store, scope)`). */
export interface ScopedBlocks {
  /** The scope these methods act on. */
  readonly scope: BlockScope;
  /** {@link CoreStore.listBlocks} of the scope, by label. */
  list(options?: CallOptions): Promise<Block[]>;
  /** {@link CoreStore.getBlock}. @throws `NOT_FOUND` */
  get(label: string, options?: CallOptions): Promise<Block>;
  /** {@link CoreStore.putBlock}: create or overwrite. @throws `LIMIT_EXCEEDED`, `VERSION_CONFLICT`, `INVALID_INPUT` */
  put(input: BlockInput, options?: BlockWriteOptions): Promise<Block>;
  /** {@link CoreStore.editBlock}: append, replace or rewrite. @throws `NOT_FOUND`, `LIMIT_EXCEEDED`, `VERSION_CONFLICT`, `INVALID_INPUT` */
  edit(label: string, edit: BlockEdit, options?: BlockWriteOptions): Promise<Block>;
  /** {@link updateBlock}: read, edit, retry on conflict. */
  update(label: string, fn: BlockUpdate, options?: UpdateBlockOptions): Promise<Block>;
  /** {@link CoreStore.deleteBlock}. @throws `NOT_FOUND`, `VERSION_CONFLICT` */
  delete(label: string, options?: BlockWriteOptions): Promise<void>;
  /** {@link CoreStore.blockHistory}: the versions (or a page of them), oldest first. @throws `NOT_FOUND` */
  history(label: string, options?: BlockHistoryOptions): Promise<BlockVersion[]>;
}

/**
 * The block methods of `store` bound to `scope` (no I/O).
 * @example
 * ```ts
 * const mine = blocksOf(store, { agentId: "support-bot" });
 * await mine.put({ label: "persona", value: "Patient and brief.", limit: { tokens: 200 } });
 * ```
 */
export function blocksOf(store: BlockStore, scope: BlockScope): ScopedBlocks {
  return {
    scope,
    list: (o) => store.listBlocks(scope, o),
    get: (label, o) => store.getBlock(scope, label, o),
    put: (input, o) => store.putBlock(scope, input, o),
    edit: (label, edit, o) => store.editBlock(scope, label, edit, o),
    update: (label, fn, o) => updateBlock(store, scope, label, fn, o),
    delete: (label, o) => store.deleteBlock(scope, label, o),
    history: (label, o) => store.blockHistory(scope, label, o),
  };
}

/**
 * A tool a model can call: its name, what it does, its arguments as a JSON Schema, and `run`,
 * which applies the call (the arguments as the model gave them; the store checks them).
 */
export interface BlockTool {
  name: "block_append" | "block_replace" | "block_rewrite";
  description: string;
  parameters: JsonObject;
  /** Applies the call; the block as written. @throws what `editBlock` throws (`LIMIT_EXCEEDED` says by how much) */
  run(args: unknown, options?: CallOptions): Promise<Block>;
}

const labelParam = { type: "string", description: "The label of the block to edit." };

function argsOf(args: unknown, fields: readonly string[]): Record<string, unknown> {
  if (typeof args !== "object" || args === null || Array.isArray(args)) throw invalidInput("args", "must be an object");
  const a = args as Record<string, unknown>;
  for (const k of Object.keys(a)) if (!fields.includes(k)) throw invalidInput(`args.${k}`, `unknown argument (allowed: ${fields.join(", ")})`);
  return a;
}

/**
 * Tools for editing the blocks of `scope`: `block_append` (adds a line: a newline goes
 * between the old text and the new when the old does not end with one), `block_replace`
 * (swaps one unique occurrence) and `block_rewrite` (replaces the whole value). Each `run`
 * calls `editBlock` (without a version guard: the edit applies to the block as stored, so two
 * concurrent tool calls both land).
 * @example
 * ```ts
 * const tools = blockTools(store, { contextId: "chat-1" }, { actor: "agent" });
 * const append = tools.find((t) => t.name === "block_append");
 * await append?.run({ label: "notes", text: "The user prefers metric units." });
 * ```
 */
export function blockTools(store: BlockStore, scope: BlockScope, options: { actor?: string } = {}): BlockTool[] {
  const writeOptions = (o: CallOptions | undefined): BlockWriteOptions => ({
    ...(o?.signal !== undefined && { signal: o.signal }),
    ...(options.actor !== undefined && { actor: options.actor }),
  });
  return [
    {
      name: "block_append",
      description: "Append text to a working-memory block, on a new line. Fails if the block would exceed its size limit (the error says by how much).",
      parameters: {
        type: "object",
        properties: { label: labelParam, text: { type: "string", description: "The text to add." } },
        required: ["label", "text"],
        additionalProperties: false,
      },
      run: async (args, o) => {
        const a = argsOf(args, ["label", "text"]);
        return updateBlock(
          store,
          scope,
          a.label as string,
          (b) => {
            const text = typeof b.value === "string" && b.value.length > 0 && !b.value.endsWith("\n") && typeof a.text === "string" ? `\n${a.text}` : a.text;
            return { op: "append", text } as BlockEdit;
          },
          writeOptions(o),
        );
      },
    },
    {
      name: "block_replace",
      description: "Replace one exact occurrence of old text in a working-memory block with new text (empty to delete it). Fails if the old text is missing or occurs more than once.",
      parameters: {
        type: "object",
        properties: {
          label: labelParam,
          old: { type: "string", description: "The exact text to replace; it must occur exactly once." },
          new: { type: "string", description: "The replacement (may be empty)." },
        },
        required: ["label", "old", "new"],
        additionalProperties: false,
      },
      run: async (args, o) => {
        const a = argsOf(args, ["label", "old", "new"]);
        return store.editBlock(scope, a.label as string, { op: "replace", old: a.old, new: a.new } as BlockEdit, writeOptions(o));
      },
    },
    {
      name: "block_rewrite",
      description: "Replace the whole value of a working-memory block. Fails if the new value exceeds the block's size limit or its schema.",
      parameters: {
        type: "object",
        properties: { label: labelParam, value: { description: "The new value: text, or JSON for a block with a schema." } },
        required: ["label", "value"],
        additionalProperties: false,
      },
      run: async (args, o) => {
        const a = argsOf(args, ["label", "value"]);
        return store.editBlock(scope, a.label as string, { op: "rewrite", value: a.value } as BlockEdit, writeOptions(o));
      },
    },
  ];
}
