// `node --import ./test/helpers/register-ts.mjs src/cli/main.ts …` runs the TypeScript CLI.
import { register } from "node:module";
register("./ts-hooks.mjs", import.meta.url);
