/**
 * Time travel: rebuilding past states from checkpoints plus the state operations after
 * them, diffs between versions, restore targets and compaction.
 */
import { ContextError, contextNotFound, invalidInput } from "../errors.js";
import type { DriverCall } from "../drivers/driver.js";
import { requireContext, type Engine } from "./engine.js";
import { diffJson } from "./json.js";
import { applyStateOp, readStateOp } from "./state-ops.js";
import { checkId, checkInt, checkOptions, checkTime } from "./validate.js";
import type { CompactResult, JsonObject, JsonPatchOperation, RestoreTarget, StateRecord, StateSelector } from "./types.js";

/** Rebuilds the state at `version` (≥ 1). */
export async function stateAtVersion(engine: Engine, tenant: string, call: DriverCall, id: string, version: number): Promise<StateRecord> {
  const d = engine.driver;
  const head = await engine.run(() => d.readHead(tenant, id, call));
  if (head === null) throw contextNotFound(id);
  if (version > head.record.version) {
    throw new ContextError("NOT_FOUND", `context ${id} has no version ${version} (it is at ${head.record.version})`, {
      details: { contextId: id, version, current: head.record.version },
    });
  }
  if (version === head.record.version) return { state: head.state, version };
  const checkpoint = await engine.run(() => d.readCheckpoint(tenant, id, version, call));
  if (checkpoint === null) {
    throw new ContextError("COMPACTED", `version ${version} of context ${id} was compacted away`, {
      details: { contextId: id, version },
    });
  }
  let state = checkpoint.state;
  if (checkpoint.version === version) return { state, version };
  const events = await engine.run(() =>
    d.readEvents(
      tenant,
      id,
      { minVersion: checkpoint.version, maxVersion: version, order: "asc", limit: version - checkpoint.version },
      call,
    ),
  );
  let at = checkpoint.version;
  // A fork's checkpoint may come from an ancestor: when the fork's own compaction dropped the
  // operations after it, the version is compacted away, not corrupt.
  const compacted = () =>
    new ContextError("COMPACTED", `version ${version} of context ${id} was compacted away`, { details: { contextId: id, version } });
  for (const e of events) {
    if (e.version !== at + 1) {
      if (head.record.firstSeq > 1 && at === checkpoint.version) throw compacted();
      throw new ContextError("CORRUPT", `context ${id}: state history jumps from version ${at} to ${String(e.version)}`, {
        details: { contextId: id, seq: e.seq },
      });
    }
    state = applyStateOp(state, readStateOp(e.data, e.seq));
    at = e.version;
  }
  if (at !== version) {
    if (head.record.firstSeq > 1 && at === checkpoint.version) throw compacted();
    throw new ContextError("CORRUPT", `context ${id}: state history ends at version ${at}, not ${version}`, {
      details: { contextId: id },
    });
  }
  return { state, version };
}

/** The version in force at `time`. */
export async function versionAtTime(engine: Engine, tenant: string, call: DriverCall, id: string, time: number): Promise<number> {
  const d = engine.driver;
  const record = await engine.run(() => d.getContext(tenant, id, call));
  if (record === null) throw contextNotFound(id);
  // A fork's history begins before the fork was made: its ancestors' times are its own.
  const fork = record.parentSeq !== null;
  if (record.createdAt > time && !fork) {
    throw new ContextError("NOT_FOUND", `context ${id} did not exist at ${new Date(time).toISOString()}`, {
      details: { contextId: id, time: new Date(time).toISOString() },
    });
  }
  const [last] = await engine.run(() => d.readEvents(tenant, id, { minVersion: 0, until: time, order: "desc", limit: 1 }, call));
  if (last?.version != null) return last.version;
  if (fork && record.createdAt > time) {
    const [any] = await engine.run(() => d.readEvents(tenant, id, { until: time, order: "desc", limit: 1 }, call));
    if (any === undefined) {
      throw new ContextError("NOT_FOUND", `context ${id} has no history at ${new Date(time).toISOString()}`, {
        details: { contextId: id, time: new Date(time).toISOString() },
      });
    }
  }
  if (record.firstSeq > 1) {
    throw new ContextError("COMPACTED", `the state of context ${id} at that time was compacted away`, {
      details: { contextId: id },
    });
  }
  return 1;
}

/** Validates a {@link StateSelector} and rebuilds that state. */
export async function stateAt(engine: Engine, tenant: string, call: DriverCall, id: string, selector: StateSelector): Promise<StateRecord> {
  const s = checkOptions<{ version: number; at: string }>(selector, "selector", ["version", "at"]);
  if (s.version !== undefined && s.at !== undefined) throw invalidInput("selector", "give version or at, not both");
  if (s.version !== undefined) return stateAtVersion(engine, tenant, call, id, checkInt(s.version, "selector.version", 1));
  if (s.at !== undefined) {
    const time = checkTime(s.at, "selector.at");
    return stateAtVersion(engine, tenant, call, id, await versionAtTime(engine, tenant, call, id, time));
  }
  throw invalidInput("selector", "give { version } or { at }");
}

/** The JSON Patch from version `from` to version `to`. */
export async function diffVersions(
  engine: Engine,
  tenant: string,
  call: DriverCall,
  id: string,
  from: unknown,
  to: unknown,
): Promise<JsonPatchOperation[]> {
  const a = checkInt(from, "from", 1);
  const b = checkInt(to, "to", 1);
  const [sa, sb] = [await stateAtVersion(engine, tenant, call, id, a), await stateAtVersion(engine, tenant, call, id, b)];
  return diffJson(sa.state, sb.state);
}

/** Resolves a restore (or fork) target to a state, its version, and how it was named. */
export async function resolveTarget(
  engine: Engine,
  tenant: string,
  call: DriverCall,
  id: string,
  target: RestoreTarget,
): Promise<{ state: JsonObject; version: number; from: JsonObject; seq?: number }> {
  const t = checkOptions<{ snapshot: string; version: number; before: string; at: string }>(target, "target", [
    "snapshot",
    "version",
    "before",
    "at",
  ]);
  const given = Object.keys(t).filter((k) => (t as Record<string, unknown>)[k] !== undefined);
  if (given.length !== 1) throw invalidInput("target", "give exactly one of snapshot, version, before, at");
  const d = engine.driver;
  if (t.snapshot !== undefined) {
    const name = checkId(t.snapshot, "target.snapshot");
    const snap = await engine.run(() => d.getSnapshot(tenant, id, name, call));
    if (snap === null) {
      await requireContext(engine, tenant, id, call);
      throw new ContextError("NOT_FOUND", `context ${id} has no snapshot "${name}"`, { details: { contextId: id, snapshot: name } });
    }
    return { state: snap.state, version: snap.version, from: { snapshot: name }, seq: snap.seq };
  }
  if (t.version !== undefined) {
    const version = checkInt(t.version, "target.version", 1);
    const r = await stateAtVersion(engine, tenant, call, id, version);
    return { ...r, from: { version }, seq: await lastSeqOfVersion(engine, tenant, call, id, version) };
  }
  if (t.before !== undefined) {
    const time = checkTime(t.before, "target.before");
    const snap = await engine.run(() => d.latestSnapshotBefore(tenant, id, time, call));
    if (snap === null) {
      await requireContext(engine, tenant, id, call);
      throw new ContextError("NOT_FOUND", `context ${id} has no snapshot at or before ${new Date(time).toISOString()}`, {
        details: { contextId: id },
      });
    }
    return { state: snap.state, version: snap.version, from: { snapshot: snap.name }, seq: snap.seq };
  }
  const time = checkTime(t.at, "target.at");
  const version = await versionAtTime(engine, tenant, call, id, time);
  const r = await stateAtVersion(engine, tenant, call, id, version);
  const [lastAt] = await engine.run(() => d.readEvents(tenant, id, { until: time, order: "desc", limit: 1 }, call));
  const seq = Math.min(await lastSeqOfVersion(engine, tenant, call, id, version), lastAt?.seq ?? 0);
  return { ...r, from: { at: new Date(time).toISOString() }, seq };
}

/**
 * The fork point of a version: the sequence number of the last event before the state write
 * that replaced it (the context's last seq when it is current), so the events that went with
 * that state — an agent step's message after its state event — are part of a fork's history.
 */
async function lastSeqOfVersion(engine: Engine, tenant: string, call: DriverCall, id: string, version: number): Promise<number> {
  const d = engine.driver;
  const [next] = await engine.run(() => d.readEvents(tenant, id, { minVersion: version, order: "asc", limit: 1 }, call));
  if (next !== undefined) return next.seq - 1;
  const record = await engine.run(() => d.getContext(tenant, id, call));
  if (record === null) throw contextNotFound(id);
  return record.lastSeq;
}

/** Drops history before `beforeSeq`, keeping a checkpoint so later versions still rebuild. */
export async function compactHistory(
  engine: Engine,
  tenant: string,
  call: DriverCall,
  id: string,
  beforeSeqInput: unknown,
): Promise<CompactResult> {
  const beforeSeq = checkInt(beforeSeqInput, "beforeSeq", 1);
  const d = engine.driver;
  const record = await engine.run(() => d.getContext(tenant, id, call));
  if (record === null) throw contextNotFound(id);
  if (beforeSeq <= record.firstSeq) {
    return { removed: 0, firstSeq: record.firstSeq, firstVersion: await firstVersion(engine, tenant, call, id, record.version) };
  }
  const snapshots = await engine.run(() => d.listSnapshots(tenant, id, call));
  const newest = snapshots.reduce((m, s) => Math.max(m, s.seq), 0);
  if (beforeSeq > newest) {
    throw invalidInput("beforeSeq", `must not be after the newest snapshot (seq ${newest}); take a snapshot first`, {
      newestSnapshotSeq: newest,
    });
  }
  const [last] = await engine.run(() => d.readEvents(tenant, id, { minVersion: 0, beforeSeq, order: "desc", limit: 1 }, call));
  const version = last?.version ?? (await firstVersion(engine, tenant, call, id, record.version));
  const { state } = await stateAtVersion(engine, tenant, call, id, version);
  const removed = await engine.run(() => d.compact(tenant, id, beforeSeq, { version, stateJson: JSON.stringify(state) }, call));
  return { removed, firstSeq: beforeSeq, firstVersion: version };
}

async function firstVersion(engine: Engine, tenant: string, call: DriverCall, id: string, current: number): Promise<number> {
  const cp = await engine.run(() => engine.driver.readCheckpoint(tenant, id, 1, call));
  if (cp !== null) return 1;
  // After a compaction the oldest checkpoint is the first version that can be rebuilt.
  const [first] = await engine.run(() => engine.driver.readEvents(tenant, id, { minVersion: 0, order: "asc", limit: 1 }, call));
  return first?.version != null ? first.version - 1 : current;
}
