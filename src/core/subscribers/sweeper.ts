/**
 * The sweeper: one page of the cron sweep per `sweep.batch` event (see core/sweep/run.ts), and one
 * page of a credential's orphan scan per `orphan.scan` event (core/sweep/orphan-scan.ts).
 */
import type { Dispatcher, EventBus } from "../bus/bus.ts";
import type { EngineDeps } from "../rotation/engine-deps.ts";
import { processOrphanScanPage } from "../sweep/orphan-scan.ts";
import { processSweepBatch } from "../sweep/run.ts";

export function subscribeSweeper(d: Dispatcher, engine: () => Promise<EngineDeps>, bus: EventBus) {
  d.subscribe("sweep.batch", "sweeper", async (event) => {
    await processSweepBatch(await engine(), bus, event.data);
  });
  d.subscribe("orphan.scan", "orphan-scanner", async (event) => {
    await processOrphanScanPage(await engine(), bus, event.data);
  });
}
