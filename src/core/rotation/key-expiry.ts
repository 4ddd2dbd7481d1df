/**
 * The `expires_at` a replacement key is minted with:
 * - never later than the expiry the key had when it was registered (./key-restrictions.ts), so an
 *   expiring key is never replaced by one that lives for ever;
 * - with the policy's dead-man switch on (`upstream_expiry`): when the new key's own scheduled
 *   rotation is due (max age from now, with the sweep's jitter) + grace_hours + the margin. If
 *   rekey stops tending the key (rekey is down, or every rotation fails) Clarifai still kills it;
 *   the sweep warns (`credential.expiring`) once the key is inside its margin.
 * The trade-off is written here: a rekey outage longer than grace + margin takes the workload down
 * with it, by design: that is what the operator asked for in exchange for a bounded key lifetime.
 * Secrets carry no key expiry.
 */
import { type CredentialRecord, upstreamExpiryOf } from "../credentials/credential.ts";
import { jitterMs } from "../sweep/rules.ts";
import { earliest } from "./key-restrictions.ts";
import { iso } from "../time.ts";

const DAY = 86_400_000;
const HOUR = 3_600_000;

export function replacementExpiry(rec: CredentialRecord, now: number): string | undefined {
  if (rec.kind === "secret") return undefined;
  const deadMan = upstreamExpiryOf(rec.policy);
  const switched = deadMan
    ? iso(
      now + deadMan.maxAgeDays * DAY + jitterMs(rec.id, deadMan.maxAgeDays) + rec.policy.grace_hours * HOUR +
        deadMan.marginHours * HOUR,
    )
    : undefined;
  return earliest(rec.key_expiry_bound, switched);
}
