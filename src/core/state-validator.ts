/**
 * JSON Schema validation of state, per context kind (ajv, compiled once per schema revision).
 */
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { ContextError, invalidInput } from "../errors.js";
import type { SchemaRecord } from "../drivers/driver.js";
import type { JsonObject } from "./types.js";

// ajv-formats is CommonJS: its default export arrives wrapped under NodeNext.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

/** One violation: the JSON pointer of the offending value and what is wrong. */
export interface SchemaViolation {
  path: string;
  message: string;
  keyword: string;
}

/** Compiles and caches validators; one per store. */
export class SchemaValidator {
  readonly #ajv: Ajv;
  readonly #cache = new Map<string, ValidateFunction>();

  constructor() {
    this.#ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(this.#ajv);
  }

  /** Compiles `schema` or throws `INVALID_INPUT` saying why it is not a usable JSON Schema. */
  compile(schema: JsonObject): ValidateFunction {
    try {
      return this.#ajv.compile(schema);
    } catch (e) {
      throw invalidInput("schema", `is not a valid JSON Schema: ${(e as Error).message}`, {}) as never;
    }
  }

  /** Throws `SCHEMA_VIOLATION` listing JSON-pointer paths when `state` does not match. */
  check(tenant: string, schema: SchemaRecord, state: JsonObject): void {
    // Revision and time together: a driver may restart revisions after a delete.
    const key = `${tenant}\u0000${schema.kind}\u0000${schema.revision}\u0000${schema.updatedAt}`;
    let validate = this.#cache.get(key);
    if (validate === undefined) {
      validate = this.compile(schema.schema);
      if (this.#cache.size > 1000) this.#cache.clear();
      this.#cache.set(key, validate);
    }
    if (validate(state)) return;
    const errors: SchemaViolation[] = (validate.errors ?? []).map((e) => {
      const missing = (e.params as { missingProperty?: unknown }).missingProperty;
      const path =
        typeof missing === "string" ? `${e.instancePath}/${missing.replaceAll("~", "~0").replaceAll("/", "~1")}` : e.instancePath;
      return { path: path === "" ? "/" : path, message: e.message ?? e.keyword, keyword: e.keyword };
    });
    const first = errors[0];
    throw new ContextError(
      "SCHEMA_VIOLATION",
      `state does not match the schema of kind "${schema.kind}"${first ? `: ${first.path} ${first.message}` : ""}`,
      { details: { kind: schema.kind, revision: schema.revision, errors } },
    );
  }
}
