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
// No embedding model either (the memory tests that need none run without one, as before the default existed).
describeConformance("in-memory without search", () => createStore(withoutSearch(), { embedder: null }), {
  openWithClock: (now) => createStore(withoutSearch(), { now, embedder: null }),
  skip: { sharedBackend: "each in-memory store is its own backend" },
});
