/**
 * Waits until the Worker's background work (queue deliveries and their retries, waitUntil) has
 * stopped logging, so a test file does not end while its consumer is still running: workerd would
 * then log into a torn-down test environment and vitest reports an unhandled teardown error.
 */
export async function untilQuiet(
  logs: readonly string[],
  opts: { quietMs?: number; maxMs?: number } = {},
): Promise<void> {
  const quietMs = opts.quietMs ?? 3_000;
  const until = Date.now() + (opts.maxMs ?? 30_000);
  let seen = logs.length;
  let since = Date.now();
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    if (logs.length !== seen) {
      seen = logs.length;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
  }
}
