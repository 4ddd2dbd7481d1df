/** The maintainer: runs re-encryption batches (core/maintenance/reencrypt-job.ts). */
import type { Dispatcher } from "../bus/bus.ts";
import { type JobDeps, runReencryptBatch } from "../maintenance/reencrypt-job.ts";
import type { EngineDeps } from "../rotation/engine-deps.ts";

export function subscribeMaintainer(d: Dispatcher, engine: () => Promise<EngineDeps>, deps: JobDeps) {
  d.subscribe("maintenance.reencrypt", "maintainer", async (event) => runReencryptBatch(deps, await engine(), event));
}
