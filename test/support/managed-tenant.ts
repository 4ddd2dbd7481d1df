/**
 * A fresh emulator tenant whose manager PAT is registered with the Worker, and app keys it
 * manages, registered on demand. Every token minted is pushed to `secrets` for the canary check.
 */
import { registerAppKey } from "./app-key.ts";
import { freshTenant } from "./emulator-control.ts";
import { registerManager } from "./manager.ts";

export async function managedTenant(prefix: string, secrets: string[]) {
  const tenant = await freshTenant(prefix);
  secrets.push(tenant.manager.id);
  const managerId = await registerManager(tenant);
  return {
    tenant,
    managerId,
    /** A workload app key (scope Predict), registered with no grace period. */
    async appKey() {
      const { key, id, fingerprint } = await registerAppKey(tenant, { managerId, secrets, policy: { grace_hours: 0 } });
      return { key, id, fingerprint };
    },
  };
}
