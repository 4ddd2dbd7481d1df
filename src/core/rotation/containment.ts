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
 * - A leaked secret whose replacement cannot be made (create fails for good after its revoke_old
 *   only recorded it revoked): the secret is deleted, leaving the credential revoked.
 */
import { type CredentialRecord, CURRENT_VALUE } from "../credentials/credential.ts";
import { oweLeakedRevocation } from "./credential-transitions.ts";
import type { EngineServices } from "./engine-services.ts";
import type { Rotation } from "./rotation.ts";
import { type AnyFailure, toFailure } from "../failure.ts";
import { rotationError } from "./step-error.ts";
import { revokeOld, revokeValue } from "./steps.ts";
import { updateCredential } from "./update-credential.ts";
import { managerToken, open } from "./values.ts";
import { iso } from "../time.ts";
import { backoffDelay } from "../backoff.ts";

export type Containment = { kind: "continue"; patch: Partial<Rotation> } | { kind: "failed"; rotation: Rotation };

/** The compromise of a PAT that manages itself (step-plan.ts: it creates before it revokes). */
const isSelfManagedPatCompromise = (rec: CredentialRecord, r: Rotation) =>
  r.reason === "compromise" && r.mode === "rotate" && rec.kind === "pat" && !rec.manager_id && r.plan[0] === "create";

/**
 * A secret's compromise whose revoke_old only recorded its value revoked: the value dies when
 * propagate overwrites the secret (steps.ts `revokeOld`), so until then it is live.
 */
const isRecordedOnlySecret = (rec: CredentialRecord, r: Rotation) =>
  rec.kind === "secret" && r.mode === "rotate" && r.old_revoked && !!rec.secret_id &&
  rec.fingerprint === r.old_fingerprint;

/** Whether a failure at this point may need containment: cheap, so other failures read nothing more. */
export const mayNeedContainment = (r: Rotation) =>
  r.reason === "compromise" && (r.step === "create" || (r.step === "revoke_old" && !r.old_revoked));

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
  if (r.step === "create" && !r.new_value && !retryable && isRecordedOnlySecret(rec, r)) {
    // No replacement can be made now (its generator policy changed since the begin, a seal that
    // fails): the leaked secret is deleted, as begin does for a compromised secret that has no
    // generator (begin.ts `intentFor`). Containment beats availability; Clarifai refusing is owed.
    const deleted = await deleteLeaked(engine, r, async () => {
      // A secret is deleted by its id (`rec.secret_id`): its value is not needed for that.
      await revokeValue(engine, rec, await managerToken(engine, rec, r), "");
    });
    // Recorded revoked already, so drive.ts's stamp (a value newly recorded dead) would not see it;
    // not deleted, it is neither revoked nor contained, whatever the record said.
    const { contained_at: _, ...unstamped } = r;
    const next: Rotation = deleted
      ? { ...unstamped, contained_at: iso(engine.now()) }
      : { ...unstamped, old_revoked: false, old_revoke_owed: true };
    return { kind: "failed", rotation: failed(next, failure, engine.now()) };
  }
  if (
    r.step === "create" && !r.old_revoked && !r.new_value && isSelfManagedPatCompromise(rec, r) &&
    rec.fingerprint === r.old_fingerprint
  ) {
    const deleted = await deleteLeaked(engine, r, async () => {
      await revokeOld(engine, rec, r, await open(engine, rec, CURRENT_VALUE, rec.value));
    });
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

/**
 * Whether a self-managed PAT's compromise, failed for good and rolled back (rollback.ts), is left
 * with no token but the leaked one: its revoke_old was refused, so that value is owed (above), and
 * the rollback deleted the successor minted first (or could not, and the record keeps no copy of
 * it). The sweep's payment of the debt then deletes the one token able to mint for the PAT and
 * for what it manages: it needs a new manager from this failure on, announced
 * (`manager_lost`), as when its create fails for good, rather than orphaned later in silence.
 * `rec` is the record the rollback read: still on the leaked value unless a salvage promoted.
 */
export function managerLostAtRollback(rec: CredentialRecord, r: Rotation): boolean {
  return isSelfManagedPatCompromise(rec, r) && r.old_revoke_owed === true && !r.old_revoked &&
    rec.fingerprint === r.old_fingerprint;
}

async function oweRevocation(engine: EngineServices, r: Rotation, code: string) {
  await updateCredential(
    engine,
    r.credential_id,
    (c) => oweLeakedRevocation(c, r.old_fingerprint, r.id, code, engine.now()),
  );
}

/** Deletes the leaked value (`del`) with the engine's retry budget; owes it if that fails. */
async function deleteLeaked(engine: EngineServices, r: Rotation, del: () => Promise<void>): Promise<boolean> {
  let code = "revoke_failed";
  for (let attempt = 0; attempt < engine.retry.attempts; attempt++) {
    if (attempt > 0) await engine.sleep(backoffDelay(attempt, engine.retry.baseDelayMs, engine.retry.maxDelayMs));
    try {
      await del();
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
