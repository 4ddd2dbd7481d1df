/**
 * Kill the real stack on Workers: `wrangler dev` (workerd, local KV, Durable Objects and Queues
 * persisted in a directory) SIGKILLed, process group and all, while the emulator holds a
 * rotation's create and another's propagate call; then restarted on the same state. See
 * ./scenario.ts for what "converged" means. `npm run test:soak` repeats it on the same state.
 */
import { expect, it } from "vitest";
import { killMidCallAndConverge } from "./scenario.ts";
import { KILL_SOAK } from "./soak.ts";
import { wranglerRuntime } from "./stack.ts";

it("converges after wrangler dev is SIGKILLed mid-create and mid-propagate, with only the sweep's help", async () => {
  const reports = await killMidCallAndConverge(wranglerRuntime, KILL_SOAK);
  expect(reports).toHaveLength(KILL_SOAK.cycles);
  for (const r of reports) expect(r.converged_ms).toBeLessThan(120_000);
});
