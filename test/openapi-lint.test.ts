/**
 * The OpenAPI document lints clean with Redocly's `recommended` ruleset (the engine of
 * `@redocly/cli lint`): operation ids, servers, security, responses, schemas.
 */
import { describe, expect, it } from "vitest";
import { pino } from "pino";
import { createConfig, lintFromString } from "@redocly/openapi-core";
import { openStore } from "../src/index.js";
import { createApp } from "../src/server/app.js";

describe("the OpenAPI document", () => {
  it("lints clean with Redocly's recommended rules", async () => {
    await using store = await openStore("in-memory:");
    const app = createApp({ store, logger: pino({ level: "silent" }) });
    const source = await (await app.request("/openapi.json")).text();
    // The probes /healthz and /readyz have no 4XX answer to document (no key, no input, no
    // body): that rule is replaced by the check below that every /v1 operation has them.
    const config = await createConfig({ extends: ["recommended"], rules: { "operation-4xx-response": "off" } });
    const problems = await lintFromString({ source, absoluteRef: "openapi.json", config });
    const lines = problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? "?"}`);
    expect(lines).toEqual([]);
  });

  it("names the scope each /v1 route needs in its security entry, documents the error table including 500, and matches what the server enforces", async () => {
    await using store = await openStore("in-memory:");
    const app = createApp({ store, logger: pino({ level: "silent" }) });
    interface Operation {
      operationId?: string;
      security?: { bearer?: string[] }[];
      responses: Record<string, unknown>;
    }
    const doc = (await (await app.request("/openapi.json")).json()) as {
      servers: unknown[];
      paths: Record<string, Record<string, Operation>>;
      components: { schemas: Record<string, { properties?: Record<string, { minimum?: number }> }> };
    };
    expect(doc.servers.length).toBeGreaterThan(0);
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(operations)) {
        const where = `${method.toUpperCase()} ${path}`;
        if (path === "/metrics") {
          // Outside /v1 but not open: scraping needs the metrics scope (or admin) when the server has keys.
          expect(op.security, where).toEqual([{ bearer: ["metrics"] }]);
          continue;
        }
        if (!path.startsWith("/v1/")) {
          expect(op.security, where).toEqual([]);
          continue;
        }
        const roles = op.security?.[0]?.bearer;
        expect(roles, where).toBeDefined();
        if (path !== "/v1/whoami") expect(roles?.length, where).toBe(1);
        for (const status of ["400", "401", "403", "429", "500", "503"]) expect(Object.keys(op.responses), where).toContain(status);
      }
    }
    expect(doc.paths["/v1/contexts/{id}/events"]?.post?.security).toEqual([{ bearer: ["write"] }]);
    expect(doc.paths["/v1/purge-expired"]?.post?.security).toEqual([{ bearer: ["admin"] }]);
    // The store refuses expectedVersion 0: the document says so.
    expect(doc.components.schemas["ReplaceState"]?.properties?.["expectedVersion"]?.minimum).toBe(1);
  });
});
