// Test preload: an unhandled rejection or uncaught exception anywhere fails the run loudly.
process.on('unhandledRejection', (reason) => {
  console.error('unhandled rejection in test run:', reason);
  process.exitCode = 1;
  throw reason;
});
