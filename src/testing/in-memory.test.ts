import { describeConformance } from "./index.js";
import { createStore } from "../open.js";
import { inMemoryDriver } from "../drivers/in-memory.js";
import { wrapDriver } from "../drivers/wrap.js";

describeConformance("in-memory", () => createStore(inMemoryDriver()), {
  openWithClock: (now) => createStore(inMemoryDriver(), { now }),
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
