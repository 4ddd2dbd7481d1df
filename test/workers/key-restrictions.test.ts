/**
 * Rotation never widens a key (issue 14, item 7), on the real Worker against the Node-hosted
 * emulator: the replacement carries every restricting field of the key it replaces (scopes, apps,
 * endpoints, authorized_idp_ids, organization_id, and an expiry no later than the original's).
 */
import { describe, expect, it } from "vitest";
import { call, waitForRotation } from "../support/api.ts";
import { control, freshTenant } from "../support/emulator-control.ts";
import { registerManager } from "../support/manager.ts";

const DAY = 86_400_000;

async function setup() {
  const tenant = await freshTenant("restrict");
  const managerId = await registerManager(tenant);
  const mint = async (body: Record<string, unknown>) =>
    (await control(`users/${tenant.userId}/keys`, body)).key as Record<string, any>;
  const register = async (kind: "app_key" | "pat", key: Record<string, any>) => {
    const reg = await call("POST", "/v1/credentials", {
      kind,
      user_id: tenant.userId,
      value: key.id,
      manager_id: managerId,
      policy: { grace_hours: 0 },
    });
    expect(reg.status).toBe(201);
    return reg.json.credential.id as string;
  };
  const rotate = async (id: string) => {
    const res = await call("POST", `/v1/credentials/${id}/rotate`, {});
    expect(res.status).toBe(202);
    return waitForRotation(res.json.rotation.id);
  };
  const liveKeys = async () => (await tenant.state()).keys.filter((k: any) => k.id !== tenant.manager.id);
  return { tenant, mint, register, rotate, liveKeys };
}

const restricting = (k: Record<string, any>) => ({
  type: k.type,
  scopes: k.scopes ?? [],
  endpoints: k.endpoints ?? [],
  apps: k.apps ?? [],
  authorized_idp_ids: k.authorized_idp_ids ?? [],
  organization_id: k.organization_id,
  expires_at: k.expires_at,
});

describe("a rotation never widens a key", () => {
  it("an endpoint-restricted, expiring app key is replaced by one with the same endpoints, scopes, app and expiry", async () => {
    const s = await setup();
    const expiresAt = new Date(Date.now() + 30 * DAY).toISOString();
    const old = await s.mint({
      type: "app_specific_key",
      scopes: ["Predict"],
      endpoints: ["/clarifai.api.V2/PostModelOutputs"],
      apps: [{ id: s.tenant.appId, user_id: s.tenant.userId }],
      description: "narrow",
      expires_at: expiresAt,
    });
    const id = await s.register("app_key", old);
    const rotation = await s.rotate(id);
    expect(rotation.state).toBe("done");
    const keys = await s.liveKeys();
    expect(keys.map((k: any) => k.id)).not.toContain(old.id);
    expect(keys).toHaveLength(1);
    expect(restricting(keys[0])).toEqual(restricting(old));
  });

  it("a PAT restricted to endpoints, an organization and identity providers keeps all of them, and still verifies", async () => {
    const s = await setup();
    const old = await s.mint({
      type: "personal_access_token",
      scopes: ["Keys_Get"],
      endpoints: ["ListKeys"],
      description: "narrow pat",
      authorized_idp_ids: ["idp-okta"],
      organization_id: "org-1",
    });
    const id = await s.register("pat", old);
    const rotation = await s.rotate(id);
    expect(rotation.state).toBe("done");
    const keys = await s.liveKeys();
    expect(keys.map((k: any) => k.id)).not.toContain(old.id);
    expect(keys).toHaveLength(1);
    expect(restricting(keys[0])).toEqual(restricting(old));
  });
});
