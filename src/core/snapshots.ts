/**
 * Snapshots: named recovery points (state + version + seq), recorded by a `snapshot` event
 * in the same transaction.
 */
import { ContextError } from "../errors.js";
import type { DriverCall, EventRecordInput, SnapshotRecord } from "../drivers/driver.js";
import { requireContext, type Engine } from "./engine.js";
import { newId } from "./ids.js";
import { encodeJsonObject } from "./json.js";
import { checkId, checkOptionalText, checkOptions, iso } from "./validate.js";
import type { CreateSnapshotInput, Snapshot } from "./types.js";

/** The public form of a snapshot row. */
export function toSnapshot(contextId: string, s: SnapshotRecord): Snapshot {
  return {
    contextId,
    name: s.name,
    label: s.label,
    metadata: s.metadata,
    version: s.version,
    seq: s.seq,
    state: s.state,
    createdAt: iso(s.createdAt),
  };
}

/** Stores a snapshot of the current head and records a `snapshot` event. */
export async function createSnapshot(engine: Engine, tenant: string, id: string, input: CreateSnapshotInput | undefined): Promise<Snapshot> {
  const i = checkOptions<CreateSnapshotInput>(input, "input", ["name", "label", "metadata", "signal"]);
  const given = i.name === undefined ? undefined : checkId(i.name, "name");
  const label = checkOptionalText(i.label, "label", 1000);
  const metadata = encodeJsonObject(i.metadata ?? {}, "metadata", engine.limits.maxMetadataChars);
  const call = engine.begin(i);
  const name = given ?? `snap-${newId(call.now)}`;
  const event: EventRecordInput = { type: "snapshot", data: JSON.stringify({ name, label }), metadata, tokens: null, timestamp: call.now };
  const r = await engine.run(() => engine.driver.commit(tenant, id, { events: [event], snapshot: { name, label, metadata } }, call));
  if (!r.snapshot) throw new ContextError("INTERNAL", "the driver stored no snapshot");
  return toSnapshot(id, r.snapshot);
}

/** The snapshots of a context, oldest first. */
export async function listSnapshots(engine: Engine, tenant: string, call: DriverCall, id: string): Promise<Snapshot[]> {
  const rows = await engine.run(() => engine.driver.listSnapshots(tenant, id, call));
  return rows.map((s) => toSnapshot(id, s));
}

/** One snapshot by name. @throws `NOT_FOUND` for an unknown context or name */
export async function getSnapshot(engine: Engine, tenant: string, call: DriverCall, id: string, name: string): Promise<Snapshot> {
  const s = await engine.run(() => engine.driver.getSnapshot(tenant, id, name, call));
  if (s === null) {
    await requireContext(engine, tenant, id, call);
    throw new ContextError("NOT_FOUND", `context ${id} has no snapshot "${name}"`, { details: { contextId: id, snapshot: name } });
  }
  return toSnapshot(id, s);
}
