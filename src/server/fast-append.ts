/**
 * `POST /v1/contexts/{id}/events` served straight from Node's request, without the fetch
 * adapter, hono's router and context, and the per-request middleware chain: appends are the
 * hottest route of an agent's context store, and that machinery cost more than the append.
 *
 * It runs the same code as the hono route, in the same order: the gate (request id,
 * authentication, tenant, rate limit, deadline, request log), the `write` scope, the same zod
 * schemas (`IdParams`, `AppendBody`) with the same error text, `appendRequest`, and the one
 * error table. It takes only requests it can serve exactly like hono would — a plain path
 * without query or escapes, a JSON content type, a declared length within the body limit —
 * and returns false for everything else, which then goes to hono. `test/fast-append.test.ts`
 * sends the same requests both ways and compares the answers.
 */
import { performance } from "node:perf_hooks";
import type { IncomingMessage, ServerResponse } from "node:http";
import { HTTPException } from "hono/http-exception";
import type { Admission, Gate } from "./gate.js";
import { requireScope } from "./gate.js";
import { toErrorResponse, validationError } from "./error-status.js";
import { readAll } from "./node-body.js";
import { appendRequest } from "./routes/events.js";
import { AppendBody, IdParams } from "./api-types.js";

const PATH = /^\/v1\/contexts\/([^/?#%]+)\/events$/;
/** Content types every check on hono's way accepts alike (others go to hono, which decides). */
const PLAIN_JSON = /^application\/json(; ?charset=utf-8)?$/i;
const ROUTE = "/v1/contexts/:id/events";

/**
 * A header as the fetch adapter gives it to hono: every value of the name, joined with ", "
 * (Node's `req.headers` keeps only the first of some, e.g. `Authorization`).
 */
function header(req: IncomingMessage, name: string): string | undefined {
  const raw = req.rawHeaders;
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).length === name.length && (raw[i] as string).toLowerCase() === name) {
      value = value === undefined ? (raw[i + 1] as string) : `${value}, ${raw[i + 1] as string}`;
    }
  }
  return value;
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

/** The listener: true when it took the request, false to leave it to hono. */
export function createFastAppend(gate: Gate): (req: IncomingMessage, res: ServerResponse) => boolean {
  const limit = gate.limits.maxBodyBytes;
  return (req, res) => {
    if (req.method !== "POST") return false;
    const m = PATH.exec(req.url ?? "");
    if (m === null) return false;
    const type = header(req, "content-type");
    if (type === undefined || !PLAIN_JSON.test(type) || req.headers["transfer-encoding"] !== undefined) return false;
    const declared = Number(req.headers["content-length"]);
    if (!(declared > 0 && declared <= limit)) return false;
    void serve(gate, req, res, m[1] as string);
    return true;
  };
}

async function serve(gate: Gate, req: IncomingMessage, res: ServerResponse, rawId: string): Promise<void> {
  const startedAt = performance.now();
  const reqId = gate.requestId(header(req, "x-request-id"));
  res.setHeader("X-Request-Id", reqId);
  let admission: Admission | undefined;
  let status: number;
  let errorCode: string | undefined;
  try {
    // Who asks, and whether they may, before a byte of the body is read: an unauthenticated
    // client must not make the server buffer up to the body limit.
    admission = gate.admit(
      (name) => header(req, name),
      (seconds) => res.setHeader("Retry-After", String(seconds)),
    );
    res.setHeader("X-Contextd-Tenant", admission.tenant);
    requireScope(admission.key, "write");
    const text = await readAll(req, gate.limits.maxBodyBytes);
    if (text === null) throw new HTTPException(413);
    const params = IdParams.safeParse({ id: rawId });
    if (!params.success) throw validationError(params.error.issues, "param");
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new HTTPException(400, { message: "Malformed JSON in request body" });
    }
    const body = AppendBody.safeParse(json);
    if (!body.success) throw validationError(body.error.issues, "json");
    const written = await appendRequest(admission.store, params.data.id, body.data, gate.limits, {
      contentLength: header(req, "content-length"),
      ifMatch: header(req, "if-match"),
      signal: admission.signal,
    });
    status = 201;
    send(res, status, JSON.stringify(written));
  } catch (err) {
    const r = toErrorResponse(err);
    if (r.unexpected) gate.logger.error({ err, reqId }, "request failed");
    status = r.status;
    errorCode = r.body.code;
    if (!res.headersSent) send(res, status, JSON.stringify(r.body));
    else res.destroy();
  }
  gate.log({ reqId, tenant: admission?.tenant ?? null, method: "POST", route: ROUTE, status, startedAt, errorCode });
}
