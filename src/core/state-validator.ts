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

/** The JSON pointer of the first place `schema` names the key `__proto__` (as a key or in `required`), or null. */
function namesProto(value: unknown, path: string): string | null {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (value[i] === "__proto__" && path.endsWith("/required")) return `${path}/${i}`;
      const found = namesProto(value[i], `${path}/${i}`);
      if (found !== null) return found;
    }
  } else if (typeof value === "object" && value !== null) {
    for (const key of Object.keys(value)) {
      const at = `${path}/${key.replaceAll("~", "~0").replaceAll("/", "~1")}`;
      if (key === "__proto__") return at;
      const found = namesProto((value as Record<string, unknown>)[key], at);
      if (found !== null) return found;
    }
  }
  return null;
}

/** Compiles and caches validators; one per store. */
export class SchemaValidator {
  readonly #ajv: Ajv;
  readonly #cache = new Map<string, ValidateFunction>();
  readonly #byText = new Map<string, ValidateFunction>();

  constructor() {
    // ownProperties: a state without a "constructor" or "__proto__" key has none, whatever
    // Object.prototype holds (ajv's generated code reads `data.constructor` otherwise).
    this.#ajv = new Ajv({ allErrors: true, strict: false, ownProperties: true });
    addFormats(this.#ajv);
  }

  /** Compiles `schema` or throws `INVALID_INPUT` saying why it is not a usable JSON Schema. */
  compile(schema: JsonObject): ValidateFunction {
    const named = namesProto(schema, "");
    if (named !== null) {
      // ajv skips a property named __proto__ (it would not check its value): refuse rather
      // than accept a rule that is never enforced.
      throw invalidInput("schema", `names the key "__proto__" at ${named === "" ? "/" : named}, which the validator cannot check; rename that key`, {
        path: named === "" ? "/" : named,
      });
    }
    try {
      return this.#ajv.compile(schema);
    } catch (e) {
      throw invalidInput("schema", `is not a valid JSON Schema: ${(e as Error).message}`, {}) as never;
    }
  }

  /**
   * The violations of `value` against `schema` (empty when it matches), compiled once per
   * schema text (`schemaText` is the schema's JSON, the cache key). For values other than
   * states: working-memory blocks.
   */
  violations(schemaText: string, schema: JsonObject, value: unknown): SchemaViolation[] {
    let validate = this.#byText.get(schemaText);
    if (validate === undefined) {
      validate = this.compile(schema);
      if (this.#byText.size > 1000) this.#byText.clear();
      this.#byText.set(schemaText, validate);
    }
    return validate(value) ? [] : violationsOf(validate);
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
    const errors = violationsOf(validate);
    const first = errors[0];
    throw new ContextError(
      "SCHEMA_VIOLATION",
      `state does not match the schema of kind "${schema.kind}"${first ? `: ${first.path} ${first.message}` : ""}`,
      { details: { kind: schema.kind, revision: schema.revision, errors } },
    );
  }
}

/** The errors of the last failed call of `validate`, as violations with JSON-pointer paths. */
function violationsOf(validate: ValidateFunction): SchemaViolation[] {
  return (validate.errors ?? []).map((e) => {
    const missing = (e.params as { missingProperty?: unknown }).missingProperty;
    const path = typeof missing === "string" ? `${e.instancePath}/${missing.replaceAll("~", "~0").replaceAll("/", "~1")}` : e.instancePath;
    return { path: path === "" ? "/" : path, message: e.message ?? e.keyword, keyword: e.keyword };
  });
}
