/**
 * When a running rotation may wait for a continuation (drive.ts `DriveOptions.handOff`: the
 * rotator's split, core/subscribers/rotator.ts).
 *
 * `r` is the rotation as the write after its step would leave it (`step` is the next one). A
 * routine rotation may always wait. A compromise may only once its leaked value is dead, which
 * takes both:
 * - `old_revoked`: the value's DELETE (early, or its revoke_old step) is recorded; and
 * - its propagate, if the plan has one, is behind it. A secret's value dies when its own secret
 *   is overwritten (step-plan.ts `containmentStep`), while `old_revoked` is set at its first step
 *   (steps.ts), so `old_revoked` alone would let a hand-off before propagate (after create, say)
 *   leave a leaked secret live for a queue hop. This holds whatever step the rotator splits after.
 * A routine rotation an alert joined is a compromise by then (begin.ts `escalate`) with its old
 * value live until its revoke_old, last in a routine plan: it never passes here, so its
 * containment never waits for a queue hop. Every write under a lease is a compare-and-swap, so an
 * escalation written while the driver ran makes its write fail and it re-reads the reason.
 */
import type { Rotation } from "./rotation.ts";

export function mayHandOff(r: Pick<Rotation, "reason" | "old_revoked" | "plan" | "step">): boolean {
  if (r.reason !== "compromise") return true;
  return r.old_revoked && r.plan.indexOf("propagate") < r.plan.indexOf(r.step);
}
