/**
 * The cron sweep on Deno: `Deno.cron` on the Worker's schedule. Like scheduled() on Workers, the
 * tick only publishes the first sweep page; the consumer does the work. Deno retries a failed tick
 * only when given a backoffSchedule. On a refused configuration the tick does nothing: the first
 * tick after the fix sweeps whatever is due.
 *
 * Its own module (not inline in src/deno.ts, whose import starts a server) so that a test can run
 * the very callback that is registered (test/deno/sweep-cron.test.ts).
 */
import type { EventBus } from "../core/bus/bus.ts";
import { startSweep } from "../core/sweep/run.ts";

/** wrangler.toml `[triggers] crons`: the same schedule (test/deno/sweep-cron.test.ts checks it). */
export const SWEEP_CRON = "*/15 * * * *";

type Cron = (
  name: string,
  schedule: string,
  options: { backoffSchedule?: number[] },
  handler: () => Promise<void>,
) => unknown;

/** Registers the sweep with `cron` (Deno.cron at the top level of src/deno.ts, as Deno requires). */
export function registerSweepCron(
  cron: Cron,
  bus: EventBus,
  opts: { enabled: boolean; now?: () => number; githubScopes?: number; purge?: (now: number) => Promise<unknown> },
): void {
  const now = opts.now ?? Date.now;
  cron("rekey-sweep", SWEEP_CRON, { backoffSchedule: [1_000, 5_000, 30_000] }, async () => {
    // Expired sealed GitHub chunks go on every tick, whatever the configuration (./deno-kv-bus.ts
    // `purgeDeadChunks`). Its failure is logged, not thrown: a retried tick would sweep twice.
    const purged = opts.purge?.(now()).catch((error: unknown) =>
      console.error(JSON.stringify({
        level: "error",
        msg: "bus.dead_chunks_purge_failed",
        error: error instanceof Error ? error.name : "unknown",
      }))
    );
    if (opts.enabled) await startSweep(bus, now(), { githubScopes: opts.githubScopes ?? 0 });
    await purged;
  });
}
