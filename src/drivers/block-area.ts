/**
 * The working-memory area of the driver contract (`driver.blocks`, with
 * `capabilities.blocks`): storage of blocks and their versions.
 *
 * A write works like `commit`: the driver locks the block's row (creating a placeholder when
 * there is none), checks `ifVersion`, calls the core's synchronous `update(current)` — which
 * applies the edit, checks the limit and the schema, and may throw a `ContextError` to abort —
 * then stores the new content with version + 1 and a version row, in one transaction. So an
 * edit without `ifVersion` never fails spuriously and never loses a concurrent edit, and the
 * limit is checked against exactly what is stored. What a driver must guarantee:
 *
 * - Writes of one block are serialised (a row lock, `BEGIN IMMEDIATE`, a single thread).
 * - A deleted block stays as a tombstone (its history kept): created again, it continues from
 *   the tombstone's version, so a version is never reused.
 * - JSON arrives as text (validated by the core) and leaves parsed.
 */
import { VersionConflictError } from "../errors.js";
import type { JsonObject, JsonValue } from "../core/json-types.js";
import type { DriverCall } from "./driver-call.js";

/** Whose block, as stored. */
export interface BlockKey {
  kind: "context" | "user" | "agent";
  id: string;
}

/** A block as stored (live: tombstones never leave a driver). */
export interface BlockRecord {
  key: BlockKey;
  label: string;
  description: string;
  value: JsonValue;
  schema: JsonObject | null;
  limitChars: number | null;
  limitTokens: number | null;
  version: number;
  /** Epoch ms. */
  createdAt: number;
  updatedAt: number;
  updatedBy: string | null;
}

/** The content of a block to store; JSON as text. */
export interface BlockContent {
  description: string;
  valueJson: string;
  schemaJson: string | null;
  limitChars: number | null;
  limitTokens: number | null;
}

/** One write of a block. */
export interface BlockChange {
  /** Fail with `VersionConflictError` unless the live block is at this version (0: there is none). */
  ifVersion?: number;
  /** What the version row records. */
  op: "put" | "append" | "replace" | "rewrite";
  actor: string | null;
  /**
   * The new content from the current live block (`null` when there is none), computed
   * synchronously inside the transaction; a thrown `ContextError` rolls back and is rethrown.
   */
  update(current: BlockRecord | null): BlockContent;
}

/** One stored version of a block. */
export interface BlockVersionRecord {
  label: string;
  version: number;
  op: "put" | "append" | "replace" | "rewrite" | "delete";
  description: string;
  value: JsonValue;
  schema: JsonObject | null;
  limitChars: number | null;
  limitTokens: number | null;
  actor: string | null;
  at: number;
}

/** The storage of working-memory blocks. Every method is one transaction. */
export interface BlockArea {
  /** The live blocks of a scope, by label (byte order). */
  list(tenant: string, key: BlockKey, call: DriverCall): Promise<BlockRecord[]>;
  /** The live block, or `null`. */
  get(tenant: string, key: BlockKey, label: string, call: DriverCall): Promise<BlockRecord | null>;
  /** Creates or changes a block (see the module docs); returns it as stored. */
  write(tenant: string, key: BlockKey, label: string, change: BlockChange, call: DriverCall): Promise<BlockRecord>;
  /**
   * Makes the block a tombstone and adds a `delete` version row; false for no live block.
   * `VersionConflictError` on a stale `ifVersion`.
   */
  delete(tenant: string, key: BlockKey, label: string, guard: { ifVersion?: number; actor: string | null }, call: DriverCall): Promise<boolean>;
  /**
   * The versions of a live or deleted block after `page.afterVersion`, oldest first, at most
   * `page.limit` (all when null); empty when it never existed.
   */
  history(tenant: string, key: BlockKey, label: string, page: BlockHistoryPage, call: DriverCall): Promise<BlockVersionRecord[]>;
}

/** Which versions a history read returns. */
export interface BlockHistoryPage {
  afterVersion: number;
  limit: number | null;
}

/** The version-row fields of a content, for drivers that parse it once. */
export function parsedContent(c: BlockContent): { description: string; value: JsonValue; schema: JsonObject | null; limitChars: number | null; limitTokens: number | null } {
  return {
    description: c.description,
    value: JSON.parse(c.valueJson) as JsonValue,
    schema: c.schemaJson === null ? null : (JSON.parse(c.schemaJson) as JsonObject),
    limitChars: c.limitChars,
    limitTokens: c.limitTokens,
  };
}

/** `VERSION_CONFLICT` for a block (`actual` 0: there is no live block). */
export function blockConflict(key: BlockKey, label: string, expected: number, actual: number): VersionConflictError {
  const at = actual === 0 ? "does not exist" : `is at version ${actual}`;
  return new VersionConflictError("", expected, actual, {
    message: `block ${label} of ${key.kind} ${key.id} ${at}, not the expected version ${expected}`,
    details: { scope: { [`${key.kind}Id`]: key.id }, label },
  });
}
