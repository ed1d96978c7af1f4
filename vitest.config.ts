import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    // Every process a test starts is stopped when its test ends (setupFiles) and, as a last
    // resort, when the run ends (globalSetup): see test/helpers/children.ts.
    globalSetup: ["test/setup/global.ts"],
    setupFiles: ["test/setup/processes.ts"],
  },
});
