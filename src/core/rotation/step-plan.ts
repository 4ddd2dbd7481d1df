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
 *
 * `containmentStep`: the step after which a compromise's leaked value is dead. An alert's own
 * invocation drives the rotation up to it and no further (core/alerts/contain.ts); the rotator's
 * replay of `credential.compromised` drives the rest in its own queue invocation.
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

/**
 * Where the leaked value dies in a compromise rotation's plan: revoke_old (its DELETE at Clarifai,
 * first in the plan, or second after a self-managed PAT's create), except for a secret being
 * rotated, whose value dies when its own secret is overwritten: propagate, whose first write is
 * that secret (sinks/drivers.ts `deliveryTargets`). A revoked secret dies at revoke_old.
 */
export function containmentStep(kind: CredentialRecord["kind"], mode: RotationMode): Step {
  return kind === "secret" && mode === "rotate" ? "propagate" : "revoke_old";
}
