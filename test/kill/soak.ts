/**
 * How hard the kill tests push: `npm test` kills each runtime once, with two rotations held (one
 * at create, one at propagate); `npm run test:soak` (REKEY_SOAK=1) kills it six times on the same
 * persisted state, with five rotations held each time.
 */
import type { KillOptions } from "./scenario.ts";

const SOAK = process.env.REKEY_SOAK === "1";

export const KILL_SOAK: KillOptions = SOAK
  ? { cycles: 6, held: ["create", "propagate", "create", "propagate", "create"] }
  : { cycles: 1, held: ["create", "propagate"] };
