/**
 * A fresh emulator tenant whose manager PAT is registered with the Worker, and app keys it
 * manages, registered on demand. Every token minted is pushed to `secrets` for the canary check.
 */
import { expect } from "vitest";
import { call } from "./api.ts";
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
      const key = await tenant.mint("app_specific_key", ["Predict"], "workload");
      secrets.push(key.id);
      const reg = await call("POST", "/v1/credentials", {
        kind: "app_key",
        user_id: tenant.userId,
        value: key.id,
        manager_id: managerId,
        policy: { grace_hours: 0 },
      });
      expect(reg.status).toBe(201);
      return { key, id: reg.json.credential.id as string, fingerprint: reg.json.credential.fingerprint as string };
    },
  };
}
