/**
 * The registry of JSON Schemas per context kind (validation itself is in `state-validator.ts`).
 */
import type { DriverCall, SchemaRecord } from "../drivers/driver.js";
import type { Engine } from "./engine.js";
import { encodeJsonObject } from "./json.js";
import { iso } from "./validate.js";
import type { JsonObject, StateSchema } from "./types.js";

function toStateSchema(r: SchemaRecord): StateSchema {
  return { kind: r.kind, schema: r.schema, revision: r.revision, updatedAt: iso(r.updatedAt) };
}

/** Registers `schema` for `kind`; `INVALID_INPUT` when it is not a usable JSON Schema. */
export async function setSchema(engine: Engine, tenant: string, call: DriverCall, kind: string, schema: JsonObject): Promise<StateSchema> {
  const json = encodeJsonObject(schema, "schema", engine.limits.maxSchemaChars);
  engine.schemas.compile(JSON.parse(json) as JsonObject);
  return toStateSchema(await engine.run(() => engine.driver.putSchema(tenant, kind, json, call)));
}

/** The schema of `kind`, or `null`. */
export async function getSchema(engine: Engine, tenant: string, call: DriverCall, kind: string): Promise<StateSchema | null> {
  const r = await engine.run(() => engine.driver.getSchema(tenant, kind, call));
  return r && toStateSchema(r);
}

/** All schemas of the tenant, by kind. */
export async function listSchemas(engine: Engine, tenant: string, call: DriverCall): Promise<StateSchema[]> {
  return (await engine.run(() => engine.driver.listSchemas(tenant, call))).map(toStateSchema);
}

/** Checks `state` against the schema registered for `kind`, if any (before a write outside `commit`). */
export async function checkStateSchema(
  engine: Engine,
  tenant: string,
  call: DriverCall,
  kind: string,
  state: JsonObject,
): Promise<void> {
  const schema = await engine.run(() => engine.driver.getSchema(tenant, kind, call));
  if (schema) engine.schemas.check(tenant, schema, state);
}
