/** The sweeper: one page of the cron sweep per `sweep.batch` event (see core/sweep/run.ts). */
import type { Dispatcher, EventBus } from "../bus/bus.ts";
import type { EngineDeps } from "../rotation/engine-deps.ts";
import { processSweepBatch } from "../sweep/run.ts";

export function subscribeSweeper(d: Dispatcher, engine: () => Promise<EngineDeps>, bus: EventBus) {
  d.subscribe("sweep.batch", "sweeper", async (event) => {
    await processSweepBatch(await engine(), bus, event.data);
  });
}
