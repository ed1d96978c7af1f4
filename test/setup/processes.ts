/**
 * Per test file (vitest `setupFiles`): a process a test started is stopped when that test
 * ends, passed or failed; one started in a file-level hook when the file ends.
 */
import { afterAll, afterEach, beforeEach } from "vitest";
import { setInTest, stopChildren } from "../helpers/children.js";

beforeEach(() => setInTest(true));
afterEach(async () => {
  setInTest(false);
  await stopChildren("test");
});
afterAll(async () => {
  await stopChildren("file");
});
