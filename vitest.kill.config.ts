/**
 * The kill tests (`npm run test:kill`, issue 16): plain vitest in Node, no workerd plugin. Each
 * file runs the real stack in processes of its own (the emulator; rekey under `wrangler dev` or
 * `deno task start`), SIGKILLs rekey mid-call and restarts it; see test/kill/scenario.ts.
 */
import { defineConfig } from "vitest/config";

const SOAK = process.env.REKEY_SOAK === "1";

export default defineConfig({
  test: {
    include: ["test/kill/**/*.test.ts"],
    // Both files at once: the Deno one mostly waits (the hold, the lease), so in parallel the pair
    // costs about as much wall time as wrangler dev alone. Each has its own ports and state.
    fileParallelism: true,
    maxWorkers: 2,
    // Two starts of wrangler dev on a busy 2-core machine, plus up to 2 minutes to converge.
    testTimeout: SOAK ? 3_600_000 : 300_000,
  },
});
