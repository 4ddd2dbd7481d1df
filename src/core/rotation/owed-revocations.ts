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
import type { EngineDeps } from "./engine-deps.ts";
import { toStepFailure } from "./step-error.ts";
import { revokeValue } from "./steps.ts";
import { updateCredential } from "./update-credential.ts";
import { managerToken, open } from "./values.ts";
import { owedAt, retryDelayMs } from "../sweep/rules.ts";
import { SWEEP_ACTOR } from "../audit/actor.ts";

const OVERDUE_AFTER_MS = 6 * 3_600_000;

const owedRevocations = (rec: CredentialRecord, now: number): PreviousValue[] =>
  rec.previous.filter((p) => owedSealed(rec, p) && owedAt(p) <= now);

export interface OwedResult {
  revoked: string[];
  failed: Array<{ fingerprint: string; code: string; overdue: boolean }>;
}

export async function payOwedRevocations(deps: EngineDeps, credentialId: string): Promise<OwedResult> {
  const out: OwedResult = { revoked: [], failed: [] };
  const cur = await deps.store.getCredential(credentialId);
  if (!cur) return out;
  for (const prev of owedRevocations(cur.value, deps.now())) {
    try {
      const token = await managerToken(deps, cur.value);
      // A leaked current value with no replacement is owed from the current value's own field.
      const owedValue = owedSealed(cur.value, prev)!;
      const field = owedValue === prev.value ? previousValue(prev.fingerprint) : CURRENT_VALUE;
      await revokeValue(deps, cur.value, token, await open(deps, cur.value, field, owedValue));
      await updateCredential(deps, credentialId, (c) => markPreviousRevoked(c, prev.fingerprint, deps.now()));
      out.revoked.push(prev.fingerprint);
      await deps.emit({
        type: "credential.revoked",
        credentialId,
        fingerprint: prev.fingerprint,
        reason: prev.leaked ? "compromise" : prev.consumers_moved_at ? "consumers_moved" : "grace_expired",
        // The sweep's rule pays these, whoever calls it (a grace period that consumers ended early too).
        actor: SWEEP_ACTOR,
      }).catch(() => {});
    } catch (error) {
      const failure = toStepFailure(error);
      // A leaked value that still works is an emergency from its first failure, and is retried by
      // every sweep: no backoff, whatever the cost in calls to an unwell Clarifai.
      const overdue = prev.leaked === true || deps.now() - Date.parse(prev.revoke_after) > OVERDUE_AFTER_MS;
      await updateCredential(deps, credentialId, (c) => ({
        ...c,
        previous: c.previous.map((p) =>
          p.fingerprint === prev.fingerprint
            ? {
              ...p,
              revoke_attempts: p.revoke_attempts + 1,
              last_error: failure.code,
              ...(p.leaked
                ? {}
                : { retry_at: new Date(deps.now() + retryDelayMs(p.revoke_attempts + 1)).toISOString() }),
            }
            : p
        ),
      }));
      out.failed.push({ fingerprint: prev.fingerprint, code: failure.code, overdue });
    }
  }
  return out;
}
