/**
 * The dead-man switch (issue 14, item 8) on the real Worker against the Node-hosted emulator:
 * with policy `upstream_expiry`, every key rekey mints carries Clarifai's expires_at = when its
 * next rotation is due + grace_hours + the margin; the credential, the plan and the dashboard show
 * it; a key inside its margin whose rotation fails raises credential.expiring (audit, Slack,
 * signed webhooks); a policy without max_age_days cannot turn it on.
 */
import { describe, expect, it, vi } from "vitest";
import { call, waitForRotation } from "../support/api.ts";
import { cronTick } from "../support/cron.ts";
import { control, freshTenant } from "../support/emulator-control.ts";
import { registerManager } from "../support/manager.ts";
import { received } from "../support/receiver.ts";
import { dashboardPage } from "../support/dashboard-session.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
async function setup(prefix: string) {
  const tenant = await freshTenant(prefix);
  const managerId = await registerManager(tenant);
  const mint = async (extra: Record<string, unknown> = {}) =>
    (await control(`users/${tenant.userId}/keys`, {
      type: "app_specific_key",
      scopes: ["Predict"],
      apps: [{ id: tenant.appId, user_id: tenant.userId }],
      description: "workload",
      ...extra,
    })).key as { id: string };
  const register = (key: { id: string }, policy: Record<string, unknown>) =>
    call("POST", "/v1/credentials", {
      kind: "app_key",
      user_id: tenant.userId,
      value: key.id,
      manager_id: managerId,
      policy,
    });
  return { tenant, mint, register };
}

describe("upstream_expiry (dead-man switch)", () => {
  it("refuses upstream_expiry without max_age_days with a 400, changing nothing", async () => {
    const s = await setup("deadman-refused");
    const key = await s.mint();
    const res = await s.register(key, { upstream_expiry: true });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("invalid_request");
    expect(JSON.stringify(res.json)).toContain("upstream_expiry");
    expect(JSON.stringify(res.json)).not.toContain(key.id);
    expect((await s.register(key, { upstream_expiry: true, max_age_days: 30 })).status).toBe(201); // nothing was stored
  });

  it("mints the replacement with expires_at = next rotation due + grace + margin, and shows it", async () => {
    const s = await setup("deadman-mint");
    const reg = await s.register(await s.mint(), {
      max_age_days: 30,
      grace_hours: 2,
      upstream_expiry: true,
      upstream_expiry_margin_hours: 72,
    });
    expect(reg.status).toBe(201);
    expect(reg.json.credential.policy).toMatchObject({ upstream_expiry: true, upstream_expiry_margin_hours: 72 });
    const id = reg.json.credential.id as string;
    const before = Date.now();
    const rot = await call("POST", `/v1/credentials/${id}/rotate`, {});
    const done = await waitForRotation(rot.json.rotation.id);
    const after = Date.now();
    expect(done.state).toBe("done");
    // The old key stays for its grace period; the replacement carries the rotation's marker.
    const keys = (await s.tenant.state()).keys.filter((k: any) => String(k.description).includes(`[rekey:${done.id}]`));
    expect(keys).toHaveLength(1);
    const expiresAt = Date.parse(keys[0].expires_at);
    // Due in 30 days plus the sweep's per-credential jitter (at most 6 h), then grace 2 h and margin 72 h.
    expect(expiresAt).toBeGreaterThanOrEqual(before + 30 * DAY + 2 * HOUR + 72 * HOUR);
    expect(expiresAt).toBeLessThanOrEqual(after + 30 * DAY + 6 * HOUR + 2 * HOUR + 72 * HOUR);
    const view = (await call("GET", `/v1/credentials/${id}`)).json.credential;
    expect(Date.parse(view.key_expires_at)).toBe(expiresAt);
    expect(await dashboardPage(`/ui/credentials/${id}`)).toContain(`datetime="${view.key_expires_at}"`);
    expect(await dashboardPage("/ui")).toContain(`datetime="${view.key_expires_at}"`);
  });

  it("raises credential.expiring for a key inside its margin whose rotation fails, and the plan shows its expiry", async () => {
    const s = await setup("deadman-expiring");
    const expires = new Date(Date.now() + 24 * HOUR).toISOString();
    const key = await s.mint({ created_at: new Date(Date.now() - 40 * DAY).toISOString(), expires_at: expires });
    const reg = await s.register(key, {
      max_age_days: 30,
      grace_hours: 0,
      upstream_expiry: true,
      upstream_expiry_margin_hours: 72,
    });
    expect(reg.status).toBe(201);
    const id = reg.json.credential.id as string;
    expect(reg.json.credential.key_expires_at).toBe(expires);
    // Every create is refused: the rotation the sweep asks for fails.
    await control("faults", {
      method: "POST",
      path: `/v2/users/${s.tenant.userId}/keys`,
      count: 20,
      status: 403,
      code: 11007,
    });

    const plan = (await call("GET", "/v1/plan")).json.plan.filter((a: any) => a.credential_id === id);
    expect(plan.map((a: any) => a.rule).sort()).toEqual(["max_age", "upstream_expiry"]);
    expect(plan.every((a: any) => a.key_expires_at === expires)).toBe(true);
    expect(await dashboardPage("/ui/plan")).toContain(`datetime="${expires}"`);

    await cronTick();
    await vi.waitUntil(
      async () =>
        ((await call("GET", `/v1/audit?type=credential.expiring&credential_id=${id}`)).json.entries ?? []).length > 0,
      { timeout: 20_000, interval: 100 },
    );
    const [entry] = (await call("GET", `/v1/audit?type=credential.expiring&credential_id=${id}`)).json.entries;
    expect(entry.data).toMatchObject({ credential_id: id, expires_at: expires });
    await vi.waitUntil(
      async () =>
        (await received("/slack/incoming")).some((r) => r.body.includes(id) && r.body.includes("expires at Clarifai")),
      { timeout: 20_000, interval: 100 },
    );
    await vi.waitUntil(
      async () =>
        (await received("/outbound/siem")).some((r) => r.body.includes("credential.expiring") && r.body.includes(id)),
      { timeout: 20_000, interval: 100 },
    );
    await vi.waitUntil(
      async () => (await call("GET", `/v1/credentials/${id}`)).json.credential.last_rotation?.state === "failed",
      { timeout: 20_000, interval: 100 },
    );
    // Let the failed rotation's own notifications land before the file ends (no teardown races).
    await vi.waitUntil(
      async () =>
        (await received("/outbound/siem")).some((r) => r.body.includes("rotation.failed") && r.body.includes(id)),
      { timeout: 20_000, interval: 100 },
    );
  });
});
