/**
 * A rotation's step plan: which steps it runs, in which order. Fixed when the rotation begins and
 * stored as the rotation's `plan` field (a stored and API field, so it keeps its name). Not the
 * sweep's plan (core/sweep/plan.ts), which is what the next cron sweep would do.
 *
 * - Routine rotation keeps the old value working until the new one is verified and promoted:
 *   create → propagate → verify → promote → revoke_old.
 * - Compromise kills the leaked value first (containment beats availability):
 *   revoke_old → create → propagate → verify → promote.
 *   Exception: a PAT that manages itself is the only token able to mint its replacement, so it
 *   creates first, then revokes at once, before propagating: the leak window grows by one call.
 * - Revocation with no replacement: revoke_old only.
 */
import type { CredentialRecord } from "../credentials/credential.ts";
import type { RotationMode, RotationReason, Step } from "./rotation.ts";

export function stepPlanFor(rec: CredentialRecord, mode: RotationMode, reason: RotationReason): Step[] {
  if (mode === "revoke") return ["revoke_old", "done"];
  if (reason !== "compromise") return ["create", "propagate", "verify", "promote", "revoke_old", "done"];
  if (rec.kind === "pat" && !rec.manager_id) return ["create", "revoke_old", "propagate", "verify", "promote", "done"];
  return ["revoke_old", "create", "propagate", "verify", "promote", "done"];
}

export function nextStep(stepPlan: Step[], step: Step): Step {
  const i = stepPlan.indexOf(step);
  return stepPlan[i + 1] ?? "done";
}
