// Loaded into every process a test starts (through NODE_OPTIONS, see children.ts): exits when
// the test worker that owns it is gone, so a crashed or interrupted run leaves no process behind.
// It imports nothing, so it does not show up in a module trace.
const owner = Number(process.env.CONTEXTD_TEST_OWNER);
if (Number.isSafeInteger(owner) && owner > 0) {
  const timer = setInterval(() => {
    try {
      process.kill(owner, 0);
    } catch {
      process.exit(1);
    }
  }, 250);
  // Never keeps a finished process alive.
  timer.unref();
}
