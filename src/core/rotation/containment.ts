/**
 * A leaked value always dies (issue 14, item 9). Two permanent failures would otherwise leave a
 * leaked key live with nothing but a failed rotation to show for it:
 * - Clarifai refuses to delete the leaked value: the refusal becomes an owed revocation, due now
 *   and retried by every sweep (owed-revocations.ts) with `revocation.overdue` from the first
 *   failed retry; a rotation goes on to mint and promote the replacement regardless.
 * - A leaked self-managed PAT cannot mint its successor (it is the only token that could): after
 *   the step's own bounded retries, the leaked PAT is deleted anyway. Containment beats
 *   availability here: the credential, and every credential it manages, needs a new manager PAT,
 *   which is announced loudly (`credential.orphaned_manager`).
 */
import { type CredentialRecord, CURRENT_VALUE } from "../credentials/credential.ts";
import { oweLeakedRevocation } from "./credential-transitions.ts";
import type { EngineServices } from "./engine-services.ts";
import type { Rotation } from "./rotation.ts";
import { type AnyFailure, toFailure } from "../failure.ts";
import { rotationError } from "./step-error.ts";
import { revokeOld } from "./steps.ts";
import { updateCredential } from "./update-credential.ts";
import { open } from "./values.ts";
import { iso } from "../time.ts";
import { backoffDelay } from "../backoff.ts";

export type Containment = { kind: "continue"; patch: Partial<Rotation> } | { kind: "failed"; rotation: Rotation };

/** The compromise of a PAT that manages itself (step-plan.ts: it creates before it revokes). */
const isSelfManagedPatCompromise = (rec: CredentialRecord, r: Rotation) =>
  r.reason === "compromise" && r.mode === "rotate" && rec.kind === "pat" && !rec.manager_id && r.plan[0] === "create";

/** Whether a failure at this point may need containment: cheap, so other failures read nothing more. */
export const mayNeedContainment = (r: Rotation) =>
  r.reason === "compromise" && !r.old_revoked && (r.step === "revoke_old" || r.step === "create");

/**
 * What to do instead of the usual rollback or retry-later after `failure` at `r.step`, or null
 * when the usual handling is right. `retryable`: the failure may pass later and the step's retry
 * budget is spent.
 */
export async function containInstead(
  engine: EngineServices,
  rec: CredentialRecord,
  r: Rotation,
  failure: AnyFailure,
  retryable: boolean,
): Promise<Containment | null> {
  if (!mayNeedContainment(r)) return null;
  if (r.step === "revoke_old" && !retryable) {
    await oweRevocation(engine, r, failure.code);
    // A revocation alone has nothing left to do but must not read as done: it failed, and is owed.
    if (r.mode === "revoke") {
      return { kind: "failed", rotation: failed({ ...r, old_revoke_owed: true }, failure, engine.now()) };
    }
    return { kind: "continue", patch: { old_revoke_owed: true } };
  }
  if (
    r.step === "create" && !r.new_value && isSelfManagedPatCompromise(rec, r) && rec.fingerprint === r.old_fingerprint
  ) {
    const deleted = await deleteLeakedPat(engine, rec, r);
    const next: Rotation = {
      ...r,
      manager_lost: true,
      old_revoked: deleted,
      ...(deleted ? {} : { old_revoke_owed: true }),
    };
    return { kind: "failed", rotation: failed(next, failure, engine.now()) };
  }
  return null;
}

async function oweRevocation(engine: EngineServices, r: Rotation, code: string) {
  await updateCredential(
    engine,
    r.credential_id,
    (c) => oweLeakedRevocation(c, r.old_fingerprint, r.id, code, engine.now()),
  );
}

/** Deletes the leaked PAT with itself, with the engine's retry budget; owes it if that fails. */
async function deleteLeakedPat(engine: EngineServices, rec: CredentialRecord, r: Rotation): Promise<boolean> {
  let code = "revoke_failed";
  for (let attempt = 0; attempt < engine.retry.attempts; attempt++) {
    if (attempt > 0) await engine.sleep(backoffDelay(attempt, engine.retry.baseDelayMs, engine.retry.maxDelayMs));
    try {
      await revokeOld(engine, rec, r, await open(engine, rec, CURRENT_VALUE, rec.value));
      return true;
    } catch (error) {
      const f = toFailure(error);
      code = f.code;
      if (!f.retryable) break;
    }
  }
  await oweRevocation(engine, r, code);
  return false;
}

function failed(r: Rotation, f: AnyFailure, now: number): Rotation {
  return {
    ...r,
    state: "failed",
    error: rotationError(f, r.step),
    finished_at: iso(now),
    updated_at: iso(now),
  };
}
