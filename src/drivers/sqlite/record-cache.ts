/**
 * A per-connection cache of the parts of context rows that only `updateContext` changes
 * (owners, title, metadata, status, expiry…), keyed by the row's surrogate key.
 *
 * Reading every column of a row costs more than the read itself, so hot paths (read the
 * head, commit) read only {@link HEAD_COLUMNS} and take the rest from here. A row carries
 * `meta_rev`, which `updateContext` increments (in any process), and its `pk` is never
 * reused (AUTOINCREMENT), so an entry with the same pk and revision is always current.
 */
import type { ContextRecord } from "../driver.js";
import { type ContextRow, type HeadTuple, parseObject } from "./rows.js";

interface Identity {
  rev: number;
  id: string;
  tenant: string;
  kind: string;
  userId: string | null;
  chatId: string | null;
  agentId: string | null;
  title: string | null;
  metadataJson: string;
  status: "active" | "archived";
  createdAt: number;
  expiresAt: number | null;
  parentId: string | null;
  parentVersion: number | null;
  parentSeq: number | null;
}

const MAX_ENTRIES = 10_000;

/** See the module comment. */
export class RecordCache {
  readonly #entries = new Map<number, Identity>();

  /** The record for head columns, or undefined when the cache cannot complete it. */
  record(head: HeadTuple): ContextRecord | undefined {
    const identity = this.#entries.get(head[0]);
    if (identity === undefined || identity.rev !== head[1]) return undefined;
    return build(identity, head[2], head[3], head[4], head[5]);
  }

  /** Caches a full row and returns its record. */
  remember(row: ContextRow): ContextRecord {
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
    const identity: Identity = {
      rev: row.meta_rev,
      id: row.id,
      tenant: row.tenant,
      kind: row.kind,
      userId: row.user_id,
      chatId: row.chat_id,
      agentId: row.agent_id,
      title: row.title,
      metadataJson: row.metadata,
      status: row.status,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      parentId: row.parent_id,
      parentVersion: row.parent_version,
      parentSeq: row.parent_seq,
    };
    this.#entries.set(row.pk, identity);
    return build(identity, row.version, row.last_seq, row.first_seq, row.updated_at);
  }

  forget(pk: number): void {
    this.#entries.delete(pk);
  }

  clear(): void {
    this.#entries.clear();
  }
}

function build(i: Identity, version: number, lastSeq: number, firstSeq: number, updatedAt: number): ContextRecord {
  return {
    id: i.id,
    tenant: i.tenant,
    kind: i.kind,
    userId: i.userId,
    chatId: i.chatId,
    agentId: i.agentId,
    title: i.title,
    metadata: parseObject(i.metadataJson),
    version,
    lastSeq,
    status: i.status,
    createdAt: i.createdAt,
    updatedAt,
    expiresAt: i.expiresAt,
    parentId: i.parentId,
    parentVersion: i.parentVersion,
    parentSeq: i.parentSeq,
    firstSeq,
  };
}
