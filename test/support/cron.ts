/**
 * Fires the Worker's cron once, as scheduled() would, and waits for the tick itself (the work it
 * publishes runs on the real queues after). Each call is a sweep of its own: the sweep id derives
 * from the tick's minute (src/core/sweep/run.ts), and a sweep id seen before is a redelivery the
 * ledger skips. Test files share storage and run at once, so each module starts at a random
 * minute within the next two years instead of "now plus an offset" picked by hand per file.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../src/worker.ts";

let minute = Math.floor(Date.now() / 60_000) + 1 + Math.floor(Math.random() * 1_000_000);

export async function cronTick(): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(
    createScheduledController({ scheduledTime: minute++ * 60_000, cron: "*/15 * * * *" }),
    env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
}
