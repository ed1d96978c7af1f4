import { describeConformance, testEmbedder } from "./index.js";
import { createStore } from "../open.js";
import { inMemoryDriver } from "../drivers/in-memory/driver.js";
import { wrapDriver } from "../drivers/wrap.js";

const embedder = testEmbedder();
describeConformance("in-memory", () => createStore(inMemoryDriver(), { embedder }), {
  openWithClock: (now) => createStore(inMemoryDriver(), { now, embedder }),
  skip: { sharedBackend: "each in-memory store is its own backend" },
});

// A driver without the optional search area: the suite reads its capabilities and skips the
// search tests, saying why; everything else must still pass.
const withoutSearch = () => {
  const inner = inMemoryDriver();
  return wrapDriver(inner, { name: "in-memory without search", capabilities: { ...inner.capabilities, search: false }, search: undefined });
};
describeConformance("in-memory without search", () => createStore(withoutSearch()), {
  openWithClock: (now) => createStore(withoutSearch(), { now }),
  skip: { sharedBackend: "each in-memory store is its own backend" },
});
