/**
 * Kill the real stack on Deno: `deno task start` on a Deno KV file (REKEY_DENO_KV_PATH) SIGKILLed,
 * process group and all (`deno task` spawns `deno run`), while the emulator holds a rotation's
 * create and another's propagate call; then restarted on the same file. See ./scenario.ts for what
 * "converged" means. `npm run test:soak` repeats it on the same file.
 */
import { expect, it } from "vitest";
import { killMidCallAndConverge } from "./scenario.ts";
import { KILL_SOAK } from "./soak.ts";
import { denoRuntime } from "./stack.ts";

it("converges after deno task start is SIGKILLed mid-create and mid-propagate, with only the sweep's help", async () => {
  const reports = await killMidCallAndConverge(denoRuntime, KILL_SOAK);
  expect(reports).toHaveLength(KILL_SOAK.cycles);
  for (const r of reports) expect(r.converged_ms).toBeLessThan(120_000);
});
