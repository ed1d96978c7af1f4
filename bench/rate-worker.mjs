// One process of the rate-limit benchmark (bench/tools.mjs): waits for "go" on stdin, runs
// COUNT calls through a controller limited by the shared Redis limiter and prints, per call,
// `start <grantedAt> <Date.now()>`, then exits.
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { join } from "node:path";
const [dist, url, prefix, count, limit, windowMs] = process.argv.slice(2);
const { createController, redisRateLimiter } = await import(pathToFileURL(join(dist, "concurrency", "index.js")).href);
const limiter = redisRateLimiter({ url, prefix });
const controller = createController({ concurrency: 4, retry: false, limiter, limits: { m: { requestsPerMinute: Number(limit), windowMs: Number(windowMs) } } });
console.log("ready");
for await (const line of createInterface({ input: process.stdin })) if (line === "go") break;
await Promise.all(Array.from({ length: Number(count) }, () => controller.run(({ grantedAt }) => console.log(`start ${grantedAt} ${Date.now()}`), { key: "m" })));
await controller.close();
await limiter.close();
process.exit(0);
