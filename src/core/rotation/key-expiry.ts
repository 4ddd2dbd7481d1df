/**
 * The `expires_at` a replacement key is minted with: never later than the expiry the key had
 * when it was registered (./key-restrictions.ts), so an expiring key is never replaced by one
 * that lives for ever. Secrets carry no key expiry.
 */
import type { CredentialRecord } from "../credentials/credential.ts";

export function replacementExpiry(rec: CredentialRecord, _now: number): string | undefined {
  if (rec.kind === "secret") return undefined;
  return rec.key_expiry_bound;
}
