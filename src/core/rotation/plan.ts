/**
 * Which steps a rotation runs, in which order. Fixed when the rotation begins.
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

export function planFor(rec: CredentialRecord, mode: RotationMode, reason: RotationReason): Step[] {
  if (mode === "revoke") return ["revoke_old", "done"];
  if (reason !== "compromise") return ["create", "propagate", "verify", "promote", "revoke_old", "done"];
  if (rec.kind === "pat" && !rec.manager_id) return ["create", "revoke_old", "propagate", "verify", "promote", "done"];
  return ["revoke_old", "create", "propagate", "verify", "promote", "done"];
}

export function nextStep(plan: Step[], step: Step): Step {
  const i = plan.indexOf(step);
  return plan[i + 1] ?? "done";
}
