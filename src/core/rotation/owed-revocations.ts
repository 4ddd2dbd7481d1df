/**
 * Revocation debt: superseded values whose grace period has ended but which still work at
 * Clarifai. Paid by the cron sweep (and by anyone who calls this); a failed attempt is counted on
 * the record and retried next time, never dropped. Past OVERDUE_AFTER_MS an owed revocation is
 * reported as overdue so a human hears of it.
 */
import {
  type CredentialRecord,
  CURRENT_VALUE,
  owedSealed,
  type PreviousValue,
  previousValue,
} from "../credentials/credential.ts";
import { markPreviousRevoked } from "./credential-transitions.ts";
import { recordLateContainment } from "./containment-time.ts";
import type { EngineServices } from "./engine-services.ts";
import { toFailure } from "../failure.ts";
import { revokeValue } from "./steps.ts";
import { updateCredential } from "./update-credential.ts";
import { managerToken, open } from "./values.ts";
import { owedAt, retryDelayMs } from "../sweep/rules.ts";
import { SWEEP_ACTOR } from "../audit/actor.ts";
import { iso } from "../time.ts";

/** An owed revocation this long past its grace end (or leaked, from its first failure) is overdue: a human must hear of it. */
export const OVERDUE_AFTER_MS = 6 * 3_600_000;

const owedRevocations = (rec: CredentialRecord, now: number): PreviousValue[] =>
  rec.previous.filter((p) => owedSealed(rec, p) && owedAt(p) <= now);

export interface OwedResult {
  revoked: string[];
  failed: Array<{ fingerprint: string; code: string; overdue: boolean }>;
}

export async function payOwedRevocations(engine: EngineServices, credentialId: string): Promise<OwedResult> {
  const out: OwedResult = { revoked: [], failed: [] };
  const cur = await engine.store.getCredential(credentialId);
  if (!cur) return out;
  for (const prev of owedRevocations(cur.value, engine.now())) {
    try {
      // A leaked current value with no replacement is owed from the current value's own field.
      const owedValue = owedSealed(cur.value, prev)!;
      const field = owedValue === prev.value ? previousValue(prev.fingerprint) : CURRENT_VALUE;
      // A secret's superseded value died when its Clarifai secret was overwritten (propagate comes
      // before promote): there is nothing left to delete, and deleting the secret would destroy
      // the value that replaced it. Only a leaked current value is deleted with its secret.
      if (cur.value.kind !== "secret" || field === CURRENT_VALUE) {
        const token = await managerToken(engine, cur.value);
        await revokeValue(engine, cur.value, token, await open(engine, cur.value, field, owedValue));
      }
      await updateCredential(engine, credentialId, (c) => markPreviousRevoked(c, prev.fingerprint, engine.now()));
      out.revoked.push(prev.fingerprint);
      const contained = prev.leaked
        ? await recordLateContainment(engine, credentialId, prev.rotation_id, prev.fingerprint).catch(() => null)
        : null;
      await engine.emit({
        type: "credential.revoked",
        credentialId,
        fingerprint: prev.fingerprint,
        reason: prev.leaked ? "compromise" : prev.consumers_moved_at ? "consumers_moved" : "grace_expired",
        ...(contained !== null ? { containmentMs: contained } : {}),
        // The sweep's rule pays these, whoever calls it (a grace period that consumers ended early too).
        actor: SWEEP_ACTOR,
      }).catch(() => {});
    } catch (error) {
      const failure = toFailure(error);
      // A leaked value that still works is an emergency from its first failure, and is retried by
      // every sweep: no backoff, whatever the cost in calls to an unwell Clarifai.
      const overdue = prev.leaked === true || engine.now() - Date.parse(prev.revoke_after) > OVERDUE_AFTER_MS;
      await updateCredential(engine, credentialId, (c) => ({
        ...c,
        previous: c.previous.map((p) =>
          p.fingerprint === prev.fingerprint
            ? {
              ...p,
              revoke_attempts: p.revoke_attempts + 1,
              last_error: failure.code,
              ...(p.leaked ? {} : { retry_at: iso(engine.now() + retryDelayMs(p.revoke_attempts + 1)) }),
            }
            : p
        ),
      }));
      out.failed.push({ fingerprint: prev.fingerprint, code: failure.code, overdue });
    }
  }
  return out;
}
