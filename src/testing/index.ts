/**
 * The conformance suite of contextd: one set of vitest tests of the public
 * {@link ContextStore} interface that every driver and the HTTP client must pass.
 * Exported as `contextd/testing`; `vitest` is a peer dependency of this entry point.
 */
import { describe } from "vitest";
import type { ContextStore } from "../agent/types.js";
import { createSuite } from "./harness.js";
import type { ConformanceOptions } from "./harness.js";
import { contextsTests } from "./contexts.js";
import { stateTests } from "./state.js";
import { historyTests } from "./history.js";
import { searchTests } from "./search.js";
import { snapshotsTests } from "./snapshots.js";
import { timeTravelTests } from "./time-travel.js";
import { activeContextTests } from "./active-context.js";
import { schemasTests } from "./state-schemas.js";
import { leasesTests } from "./leases.js";
import { watchTests } from "./watch.js";
import { retentionTests } from "./retention.js";
import { tenancyTests } from "./tenancy.js";
import { badInputTests } from "./bad-input.js";
import { errorsTests } from "./errors.js";
import { stepsTests } from "./steps.js";
import { sharedBackendTests } from "./shared-backend.js";
import { clockTests } from "./clock.js";
import { memoryTests } from "./memory.js";
import { memorySearchTests } from "./memory-search.js";
import { historySearchTests } from "./history-search.js";
import { forksTests } from "./forks.js";
import { blocksTests } from "./blocks.js";

export { testEmbedder, testEmbedding, TEST_EMBEDDER_MODEL } from "./test-embedder.js";
export type {
  ConformanceCapability,
  ConformanceFeature,
  ConformanceOptions,
  ConformanceSkipKey,
} from "./harness.js";

/**
 * Registers the conformance suite for one store configuration.
 * `makeStore` is called before every test and must return an open store; the suite closes it.
 *
 * @example
 * ```ts
 * import { describeConformance } from "contextd/testing";
 * import { openStore } from "contextd";
 *
 * describeConformance("in-memory", () => openStore("in-memory:"), {
 *   skip: { crossProcessWatch: "memory driver is per-process" },
 * });
 * ```
 */
export function describeConformance(
  name: string,
  makeStore: () => Promise<ContextStore>,
  options: ConformanceOptions = {},
): void {
  describe(`contextd conformance: ${name}`, () => {
    const suite = createSuite(makeStore, options);
    contextsTests(suite);
    stateTests(suite);
    stepsTests(suite);
    historyTests(suite);
    searchTests(suite);
    snapshotsTests(suite);
    timeTravelTests(suite);
    activeContextTests(suite);
    schemasTests(suite);
    leasesTests(suite);
    watchTests(suite);
    retentionTests(suite);
    tenancyTests(suite);
    badInputTests(suite);
    errorsTests(suite);
    sharedBackendTests(suite);
    clockTests(suite);
    memoryTests(suite);
    memorySearchTests(suite);
    historySearchTests(suite);
    forksTests(suite);
    blocksTests(suite);
  });
}
