#!/usr/bin/env node
/**
 * The `contextd` bin. Everything lives in program.ts; this file only runs it.
 */
import { runCli } from "./program.js";

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
// Open handles (keep-alive sockets, watchers) must not keep a finished command alive.
setImmediate(() => process.exit(code)).unref();
