import { describeConformance } from "./index.js";
import { createStore } from "../open.js";
import { inMemoryDriver } from "../drivers/in-memory.js";

describeConformance("memory", () => createStore(inMemoryDriver()), {
  skip: {
    crossProcessWatch: "the memory driver lives in one process; there is no second store to share it",
    sharedBackend: "each memory store is its own backend",
  },
});
