/**
 * Kill the real stack on Deno: deno.json's start task on a Deno KV file (REKEY_DENO_KV_PATH), its
 * process group SIGKILLed while the emulator holds a rotation's create and another's propagate
 * call; then restarted on the same file. The task's command line is run with read and write access
 * to the database's directory added (./stack.ts): as committed it may read .dev.vars only, which
 * opens no database file. See ./scenario.ts for what
 * "converged" means. `npm run test:soak` repeats it on the same file.
 */
import { expect, it } from "vitest";
import { killMidCallAndConverge } from "./scenario.ts";
import { KILL_SOAK } from "./soak.ts";
import { denoRuntime } from "./stack.ts";

it("converges after the Deno start task on a KV file is SIGKILLed mid-create and mid-propagate, with only the sweep's help", async () => {
  const reports = await killMidCallAndConverge(denoRuntime, KILL_SOAK);
  expect(reports).toHaveLength(KILL_SOAK.cycles);
  for (const r of reports) expect(r.converged_ms).toBeLessThan(120_000);
});
