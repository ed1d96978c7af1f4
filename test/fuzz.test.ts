/**
 * Fuzz: over 10,000 malformed or random requests (bad JSON, wrong types, unknown fields, huge
 * values, bad headers, path tricks, odd methods, raw garbage on the socket) mixed with valid
 * writes, against a real `contextd serve` process. No response is 5xx, the server stays up,
 * and the store holds exactly what the acknowledged valid requests wrote.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServerProcess } from "./helpers/cli-process.js";
import type { ServerProcess } from "./helpers/cli-process.js";
import { prng } from "./helpers/prng.js";

const TOTAL = 10_400;
const WORKERS = 8;
const MAX_BODY = 64 * 1024;

interface Reply {
  status: number;
  body: string;
}

interface Req {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Applied to the model when the server acknowledges (2xx) a valid write. */
  onOk?: () => void;
  valid?: boolean;
}

let server: ServerProcess;
let dir = "";
const agent = new Agent({ keepAlive: true, maxSockets: WORKERS });

function send(req: Req): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const url = new URL(server.url);
    const headers: Record<string, string | number> = { ...req.headers };
    if (req.body !== undefined) headers["content-length"] = Buffer.byteLength(req.body);
    const r = request({ host: url.hostname, port: url.port, method: req.method, path: req.path, headers, agent }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    r.on("error", reject);
    if (req.body !== undefined) r.write(req.body);
    r.end();
  });
}

/** Sends bytes on a fresh socket; returns the status line (or "" if the server just closed). */
function raw(bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const url = new URL(server.url);
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    let data = "";
    socket.on("data", (d) => (data += d.toString("latin1")));
    socket.on("error", () => resolve(data.split("\r\n")[0] ?? ""));
    socket.on("close", () => resolve(data.split("\r\n")[0] ?? ""));
    socket.write(bytes, "latin1");
    socket.end();
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "contextd-fuzz-"));
  server = await startServerProcess([
    "--store",
    process.env.CONTEXTD_FUZZ_STORE ?? `sqlite:${join(dir, "fuzz.db")}`,
    "--max-body",
    String(MAX_BODY),
    "--log-level",
    "error",
  ]);
}, 120_000);

afterAll(async () => {
  agent.destroy();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("fuzz", () => {
  it(`${TOTAL} malformed and random requests: no 5xx, the server stays up, the store holds exactly the valid writes`, async () => {
    const rand = prng(20261121);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
    const model = new Map<string, { state: Record<string, unknown>; events: number }>();
    const ids: string[] = [];
    let created = 0;

    const json = { "content-type": "application/json" };
    const ctx = (): string => (ids.length > 0 ? pick(ids) : "fz-none");

    const validRequest = (worker: number, i: number): Req => {
      const kind = ids.length < 20 ? 0 : Math.floor(rand() * 3);
      if (kind === 0) {
        const id = `fz-${created++}`;
        const state = { n: created };
        return {
          method: "POST",
          path: "/v1/contexts",
          headers: json,
          body: JSON.stringify({ id, state, kind: "fuzz" }),
          valid: true,
          onOk: () => {
            model.set(id, { state: { ...state }, events: 0 });
            ids.push(id);
          },
        };
      }
      const id = ctx();
      if (kind === 1) {
        const count = 1 + Math.floor(rand() * 3);
        const events = Array.from({ length: count }, (_, k) => ({ type: "fz", data: { worker, i, k } }));
        return {
          method: "POST",
          path: `/v1/contexts/${id}/events`,
          headers: json,
          body: JSON.stringify({ events }),
          valid: true,
          onOk: () => void (model.get(id)!.events += count),
        };
      }
      const key = `w${worker}_${i}`;
      return {
        method: "PATCH",
        path: `/v1/contexts/${id}/state`,
        headers: json,
        body: JSON.stringify({ patch: { [key]: i } }),
        valid: true,
        onOk: () => void (model.get(id)!.state[key] = i),
      };
    };

    const deep = (n: number): string => "[".repeat(n) + "]".repeat(n);
    const writeRoutes = (id: string): [string, string, Record<string, unknown>][] => [
      ["POST", "/v1/contexts", { id: `nx-${Math.floor(rand() * 1e9)}` }],
      ["POST", `/v1/contexts/${id}/events`, { events: [{ type: "fz" }] }],
      ["PATCH", `/v1/contexts/${id}/state`, { patch: { x: 1 } }],
      ["PUT", `/v1/contexts/${id}/state`, { state: { x: 1 } }],
      ["POST", `/v1/contexts/${id}/state/set`, { path: "/x", value: 1 }],
      ["POST", `/v1/contexts/${id}/snapshots`, { name: "s" }],
      ["POST", `/v1/contexts/${id}/lease`, { holder: "h" }],
      ["PATCH", `/v1/contexts/${id}`, { title: "t" }],
      ["PUT", "/v1/holders/h/active", { contextId: id }],
      ["PUT", "/v1/schemas/fuzz", { schema: { type: "object" } }],
    ];

    // Every generator returns a request the server must refuse (or a harmless read).
    const malformed: ((id: string) => Req)[] = [
      // bad JSON
      (id) => {
        const [method, path] = pick(writeRoutes(id));
        const body = pick(['{"events": [}', "{", "nul", "{'a':1}", '{"state": NaN}', '\uFEFF{"a":1', '{"a":1}}', "[1,2", '{"a":"\\x"}', ""]);
        return { method, path, headers: json, body };
      },
      // wrong content type with an otherwise valid body
      (id) => {
        const [method, path, body] = pick(writeRoutes(id));
        const type = pick(["text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "", "json"]);
        const headers: Record<string, string> = type === "" ? {} : { "content-type": type };
        return { method, path, headers, body: JSON.stringify(body) };
      },
      // unknown fields
      (id) => {
        const [method, path, body] = pick(writeRoutes(id));
        return { method, path, headers: json, body: JSON.stringify({ ...body, [pick(["extra", "__proto__x", "Events", "constructor"])]: 1 }) };
      },
      // wrong types
      (id) => {
        const bad = pick<[string, string, unknown]>([
          ["POST", `/v1/contexts/${id}/events`, { events: "x" }],
          ["POST", `/v1/contexts/${id}/events`, { events: [{ type: 5 }] }],
          ["POST", `/v1/contexts/${id}/events`, { events: [{ type: "" }] }],
          ["POST", `/v1/contexts/${id}/events`, { events: [{ type: "m", tokens: -1 }] }],
          ["POST", `/v1/contexts/${id}/events`, { events: [{ type: "m", timestamp: {} }] }],
          ["POST", `/v1/contexts/${id}/events`, { events: [] }],
          ["POST", `/v1/contexts/${id}/events`, { events: [{ type: "m" }], expectedVersion: "1" }],
          ["PATCH", `/v1/contexts/${id}/state`, { patch: "x" }],
          ["PATCH", `/v1/contexts/${id}/state`, { patch: [1] }],
          ["PUT", `/v1/contexts/${id}/state`, { state: null }],
          ["PUT", `/v1/contexts/${id}/state`, { state: { a: 1 }, expectedVersion: -3 }],
          ["POST", `/v1/contexts/${id}/state/set`, { path: "no-slash", value: 1 }],
          ["POST", `/v1/contexts/${id}/state/set`, { path: ["a", {}], value: 1 }],
          ["POST", `/v1/contexts/${id}/state/remove`, { path: "" }],
          ["POST", `/v1/contexts/${id}/restore`, {}],
          ["POST", `/v1/contexts/${id}/restore`, { version: 1, snapshot: "x" }],
          ["POST", "/v1/contexts", { id: "" }],
          ["POST", "/v1/contexts", { id: "bad id!" }],
          ["POST", "/v1/contexts", { state: [] }],
          ["POST", "/v1/contexts", { ttlMs: -5 }],
          ["POST", "/v1/contexts", { expiresAt: "not a date" }],
          ["POST", `/v1/contexts/${id}/lease`, { holder: "" }],
          ["POST", `/v1/contexts/${id}/lease`, { holder: "h", waitMs: 1e12 }],
          ["PUT", "/v1/schemas/fuzz", { schema: { type: 5 } }],
          ["PUT", "/v1/holders/h/default", { contextId: 5 }],
        ]);
        return { method: bad[0], path: bad[1], headers: json, body: JSON.stringify(bad[2]) };
      },
      // huge values
      (id) =>
        pick<Req>([
          { method: "POST", path: `/v1/contexts/${id}/events`, headers: json, body: JSON.stringify({ events: [{ type: "m", data: "x".repeat(MAX_BODY) }] }) },
          { method: "POST", path: `/v1/contexts/${id}/events`, headers: json, body: JSON.stringify({ events: Array.from({ length: 1001 }, () => ({ type: "m" })) }) },
          { method: "POST", path: `/v1/contexts/${id}/events`, headers: json, body: `{"events":[{"type":"m","data":1e400}]}` },
          { method: "POST", path: `/v1/contexts/${id}/events`, headers: json, body: `{"events":[{"type":"m","data":${deep(5000)}}]}` },
          { method: "PUT", path: `/v1/contexts/${id}/state`, headers: json, body: `{"state":{"a":${deep(20000)}}}` },
          { method: "POST", path: `/v1/contexts/${id}/events`, headers: json, body: JSON.stringify({ events: [{ type: "t".repeat(10_000) }] }) },
          { method: "POST", path: "/v1/contexts", headers: json, body: JSON.stringify({ id: "i".repeat(5000) }) },
          { method: "GET", path: `/v1/contexts/${id}/events?limit=99999999999999999999` },
          { method: "GET", path: `/v1/contexts/${id}/state?version=1e308` },
        ]),
      // bad headers
      (id) =>
        pick<Req>([
          { method: "PUT", path: `/v1/contexts/${id}/state`, headers: { ...json, "if-match": pick(["garbage", '"-1"', "W/", '"1e5"', "*"]) }, body: JSON.stringify({ state: { x: 1 } }) },
          { method: "GET", path: `/v1/contexts/${id}/events/stream`, headers: { "last-event-id": pick(["x", "-1", "1.5", "9".repeat(30)]) } },
          { method: "GET", path: `/v1/contexts/${id}/events/stream?afterSeq=${pick(["x", "-1", "NaN"])}` },
          { method: "POST", path: `/v1/contexts/${id}/events`, headers: { ...json, "x-contextd-tenant": pick(["", "../x", "a b", "t".repeat(500), "ü"]) }, body: JSON.stringify({ events: [{ type: "fz" }] }) },
          { method: "GET", path: `/v1/contexts/${id}`, headers: { "x-request-id": "x".repeat(1000) } },
          { method: "GET", path: "/v1/contexts", headers: { accept: "text/html", authorization: "Bearer garbage" } },
        ]),
      // path tricks (reads only, or writes with invalid bodies)
      () => {
        const path = pick([
          "/v1/contexts/%00",
          "/v1/contexts/..%2f..%2fetc%2fpasswd",
          "/v1//contexts",
          `/v1/contexts/${"a".repeat(3000)}`,
          "/v1/contexts/%ZZ",
          "/v1/contexts/%C3%BC",
          "/v1/contexts/fz-1/state/../../../../etc/passwd",
          "/v1/contexts?limit=-1",
          "/v1/contexts?limit=1e999",
          "/v1/contexts?limit=1&limit=2",
          "/v1/contexts?cursor=garbage",
          "/v1/contexts?order=sideways",
          "/v1/contexts/fz-1/events?types=,,,",
          "/v1/contexts/fz-1/events?afterSeq=NaN",
          "/v1/contexts/fz-1/diff?from=a&to=b",
          "/v1/contexts/fz-1/snapshots/%2e%2e",
          "/v1/holders/%00/current",
          "/v1/schemas/%2F",
          "/docs/assets/..%2f..%2fpackage.json",
          "/docs/assets/%2e%2e/%2e%2e/package.json",
          "//etc/passwd",
          "/v1/contexts/fz-1?x=" + "%".repeat(100),
        ]);
        return { method: pick(["GET", "HEAD", "OPTIONS"]), path };
      },
      // odd methods anywhere, deletes only of ids that do not exist
      () =>
        pick<Req>([
          { method: pick(["PROPFIND", "TRACE", "PURGE", "LINK", "PATCH"]), path: pick(["/v1/contexts", "/", "/v1/contexts/fz-1/events/stream"]) },
          { method: "DELETE", path: `/v1/contexts/nx-${Math.floor(rand() * 1e6)}` },
          // Deleting a schema that is not there is a valid no-op answering { deleted: false }.
          { method: "DELETE", path: "/v1/schemas/nx-kind", onOk: () => undefined },
          { method: "PUT", path: "/v1/contexts", headers: json, body: "{}" },
          { method: "POST", path: "/healthz", headers: json, body: "{}" },
        ]),
    ];

    let sent = 0;
    const statuses = new Map<number, number>();
    const fiveHundreds: string[] = [];
    const unexpectedOk: string[] = [];

    async function worker(w: number): Promise<void> {
      for (let i = 0; sent < TOTAL; i++) {
        sent++;
        const valid = rand() < 0.2;
        const req = valid ? validRequest(w, i) : pick(malformed)(ctx());
        const reply = await send(req);
        statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
        if (reply.status >= 500) fiveHundreds.push(`${req.method} ${req.path.slice(0, 120)} → ${reply.status} ${reply.body.slice(0, 200)}`);
        if (reply.status >= 200 && reply.status < 300) {
          if (req.onOk) req.onOk();
          else if (req.method !== "GET" && req.method !== "HEAD" && req.method !== "OPTIONS") {
            unexpectedOk.push(`${req.method} ${req.path.slice(0, 120)} ${String(req.body).slice(0, 120)} → ${reply.status}`);
          }
        }
      }
    }
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));

    // Garbage on the socket: the HTTP parser refuses it with 4xx, or closes.
    const garbage = [
      "GARBAGE\r\n\r\n",
      "GET / HTTP/9.9\r\n\r\n",
      "POST /v1/contexts HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{}",
      "POST /v1/contexts HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
      "POST /v1/contexts HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n",
      "GET /v1/contexts HTTP/1.1\r\nHost: x\r\nX: " + "a".repeat(20_000) + "\r\n\r\n",
      "\x00\x01\x02\x03",
    ];
    for (let i = 0; i < 70; i++) {
      const line = await raw(garbage[i % garbage.length] as string);
      sent++;
      expect(line, `raw request ${i % garbage.length}`).not.toMatch(/^HTTP\/1\.[01] 5/);
    }

    expect(sent).toBeGreaterThanOrEqual(10_000);
    const serverErrors = server.output().split("\n").filter((l) => l.includes('"level":50')).slice(0, 3).join("\n").slice(0, 4000);
    expect(fiveHundreds, `${fiveHundreds.slice(0, 10).join("\n")}\nserver log:\n${serverErrors}`).toEqual([]);
    expect(unexpectedOk, unexpectedOk.slice(0, 10).join("\n")).toEqual([]);

    // The server is still up.
    expect((await send({ method: "GET", path: "/healthz" })).status).toBe(200);
    expect(server.child.exitCode).toBeNull();

    // The store holds exactly what the acknowledged valid requests wrote.
    const listed = JSON.parse((await send({ method: "GET", path: "/v1/contexts?limit=1000" })).body) as { items: { id: string }[] };
    expect(listed.items.map((c) => c.id).sort()).toEqual([...model.keys()].sort());
    for (const [id, expected] of model) {
      const state = JSON.parse((await send({ method: "GET", path: `/v1/contexts/${id}/state` })).body) as { state: unknown };
      expect(state.state, id).toEqual(expected.state);
      const count = JSON.parse((await send({ method: "GET", path: `/v1/contexts/${id}/events/count?types=fz` })).body) as { count: number };
      expect(count.count, id).toBe(expected.events);
    }
    const schemas = JSON.parse((await send({ method: "GET", path: "/v1/schemas" })).body) as unknown[];
    expect(schemas).toEqual([]);
    // Sanity: the mix really was mostly refusals.
    const refused = [...statuses].filter(([s]) => s >= 400).reduce((a, [, n]) => a + n, 0);
    expect(refused).toBeGreaterThan(TOTAL * 0.6);
  }, 600_000);
});
