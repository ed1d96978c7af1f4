/**
 * The human-readable API page: Swagger UI served from the local `swagger-ui-dist` package
 * (no CDN), pointed at `/openapi.json`.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Env, Hono } from "hono";

const ASSETS: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
  "favicon-32x32.png": "image/png",
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>contextd API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
<div id="api"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

const INIT = `window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#api",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout"
});
`;

function assetDir(): string | null {
  try {
    return dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
  } catch {
    return null;
  }
}

/** Mounts `/docs` (the page) and `/docs/assets/*` (Swagger UI files). */
export function mountApiDocs<E extends Env>(app: Hono<E>): void {
  const cache = new Map<string, Buffer>();
  app.get("/docs", (c) => c.html(PAGE));
  app.get("/docs/init.js", (c) => c.body(INIT, 200, { "Content-Type": "text/javascript; charset=utf-8" }));
  app.get("/docs/assets/:file", async (c) => {
    const file = c.req.param("file");
    const type = ASSETS[file];
    const dir = assetDir();
    if (type === undefined || dir === null) {
      return c.json({ code: "NOT_FOUND", message: `no asset ${file}`, details: {} }, 404);
    }
    let data = cache.get(file);
    if (data === undefined) {
      data = await readFile(join(dir, file));
      cache.set(file, data);
    }
    return c.body(new Uint8Array(data), 200, { "Content-Type": type, "Cache-Control": "public, max-age=86400" });
  });
}
