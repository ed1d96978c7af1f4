import { describeConformance } from "./index.js";
import { createStore } from "../core/store.js";
import { memoryDriver } from "../drivers/memory.js";

describeConformance("memory", () => createStore(memoryDriver()), {
  skip: {
    crossProcessWatch: "the memory driver lives in one process; there is no second store to share it",
    sharedBackend: "each memory store is its own backend",
  },
});
