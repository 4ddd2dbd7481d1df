/**
 * A leaked value always dies (issue 14, item 9), on the real Worker (admin API, Queues consumer,
 * scheduled(), KV, Durable Objects) against the Node-hosted emulator:
 * - a leaked app key whose delete Clarifai refuses is replaced anyway, shown as leaked and still
 *   live, escalated as revocation.overdue, and deleted by the next sweep Clarifai lets through;
 * - a leaked self-managed PAT whose successor cannot be created is deleted anyway, and its
 *   credential is revoked and marked as needing a new manager (credential.orphaned_manager).
 */
import { describe, expect, it, vi } from "vitest";
import { signedAlert } from "../support/signed-alert.ts";
import { call, waitForRotation } from "../support/api.ts";
import { postAppKey, registerAppKey } from "../support/app-key.ts";
import { cronTick } from "../support/cron.ts";
import { control, freshTenant, refuseKeyDeletes } from "../support/emulator-control.ts";
import { registerManager } from "../support/manager.ts";
import { dashboardPage } from "../support/dashboard-session.ts";

const audited = async (type: string, credentialId: string) =>
  ((await call("GET", `/v1/audit?type=${type}&credential_id=${credentialId}`)).json.entries ?? []) as Array<
    { data: Record<string, unknown> }
  >;
const credential = async (id: string) => (await call("GET", `/v1/credentials/${id}`)).json.credential;

describe("a leaked value always dies", () => {
  it("a leaked app key whose delete Clarifai refuses is replaced, shown leaked and live, escalated, and deleted by a later sweep", async () => {
    const tenant = await freshTenant("leak-refused");
    const managerId = await registerManager(tenant);
    const { key: leaked, id, fingerprint } = await registerAppKey(tenant, { managerId });
    const stillThere = async () => (await tenant.state()).keys.some((k: any) => k.id === leaked.id);
    // Clarifai refuses the rotation's delete and the first sweep's retry (permanent: 11102).
    await refuseKeyDeletes(tenant.userId, 2);

    const res = await call("POST", `/v1/credentials/${id}/rotate`, { reason: "compromise" });
    expect(res.status).toBe(202);
    const rotation = await waitForRotation(res.json.rotation.id);
    expect(rotation.state).toBe("done"); // the replacement is promoted regardless
    expect(await stillThere()).toBe(true);
    let view = await credential(id);
    expect(view.state).toBe("active");
    expect(view.leaked_live).toBe(true);
    expect(view.previous).toMatchObject([{
      fingerprint,
      leaked: true,
      revoked_at: null,
    }]);
    const plan = await call("GET", "/v1/plan");
    expect(JSON.stringify(plan.json)).toContain(id);
    expect(await dashboardPage(`/ui/credentials/${id}`)).toContain("Leaked and still live");
    expect(await dashboardPage("/ui")).toContain("leaked, still live");

    await cronTick(); // refused again: escalated at once
    await vi.waitUntil(async () => (await audited("revocation.overdue", id)).length > 0, {
      timeout: 20_000,
      interval: 100,
    });
    expect(await stillThere()).toBe(true);

    await cronTick(); // Clarifai lets it through
    await vi.waitUntil(async () => !(await stillThere()), { timeout: 20_000, interval: 100 });
    await vi.waitUntil(async () => (await credential(id)).leaked_live === false, { timeout: 20_000, interval: 100 });
    view = await credential(id);
    expect(view.state).toBe("active");
    expect(view.previous[0].revoked_at).not.toBeNull();
  });

  it("a leaked superseded value whose delete is refused is owed as leaked: every sweep retries it, without backoff", async () => {
    const tenant = await freshTenant("leak-previous");
    const managerId = await registerManager(tenant);
    const { key: old, res: reg } = await postAppKey(tenant, { managerId, policy: { grace_hours: 24 } });
    const id = reg.json.credential.id as string;
    const rot = await call("POST", `/v1/credentials/${id}/rotate`, {});
    expect((await waitForRotation(rot.json.rotation.id)).state).toBe("done"); // the old key lives on for its grace period
    // Clarifai refuses every delete of this user's keys from now on (the alert's, and its queued replay's).
    await refuseKeyDeletes(tenant.userId, 100);
    const body = JSON.stringify({ value: old.id, source: "siem" });
    const alert = await call("POST", "/hooks/alerts", body, await signedAlert(body));
    expect(alert.status).toBe(202);
    await vi.waitUntil(async () => (await credential(id)).leaked_live === true, { timeout: 20_000, interval: 100 });
    const live = async () => (await tenant.state()).keys.some((k: any) => k.id === old.id);
    const refusals = async () =>
      (await tenant.state()).calls.filter((c: any) => c.method === "DELETE" && c.code === 11102).length;
    for (let sweep = 0; sweep < 2; sweep++) {
      const before = await refusals();
      await cronTick(); // each sweep retries it at once: no backoff for a leaked value
      await vi.waitUntil(async () => (await refusals()) > before, { timeout: 20_000, interval: 100 });
    }
    await vi.waitUntil(async () => (await audited("revocation.overdue", id)).length >= 2, {
      timeout: 20_000,
      interval: 100,
    });
    expect(await live()).toBe(true);
    const due = (await call("GET", "/v1/plan")).json.plan.filter((a: any) => a.credential_id === id);
    expect(due).toMatchObject([{ rule: "grace_expired", action: "revoke_previous" }]);
    expect(due[0].reason).toContain("leaked value is still live");
  });

  it("a leaked self-managed PAT whose successor cannot be created is deleted anyway and needs a new manager", async () => {
    const tenant = await freshTenant("leak-selfpat");
    const pat = await tenant.mint("personal_access_token", ["All"], "self-managed");
    const reg = await call("POST", "/v1/credentials", { kind: "pat", user_id: tenant.userId, value: pat.id });
    expect(reg.status).toBe(201);
    const id = reg.json.credential.id as string;
    const managed = await registerAppKey(tenant, { managerId: id, label: "managed by the self-managed PAT" });
    // Every create fails for longer than the step's retry budget (transient: 503).
    await control("faults", {
      method: "POST",
      path: `/v2/users/${tenant.userId}/keys`,
      count: 50,
      status: 503,
      code: 98004,
    });

    const res = await call("POST", `/v1/credentials/${id}/rotate`, { reason: "compromise" });
    expect(res.status).toBe(202);
    const rotation = await waitForRotation(res.json.rotation.id, 30_000);
    expect(rotation.state).toBe("failed");
    expect(rotation.old_revoked).toBe(true);
    expect((await tenant.state()).keys.map((k: any) => k.id)).not.toContain(pat.id);
    const view = await credential(id);
    expect(view.state).toBe("revoked");
    expect(view.needs_manager).toMatchObject({ rotation_id: rotation.id });
    await vi.waitUntil(async () => (await audited("credential.orphaned_manager", id)).length > 0, {
      timeout: 20_000,
      interval: 100,
    });
    const [entry] = await audited("credential.orphaned_manager", id);
    expect(entry!.data).toMatchObject({ credential_id: id, rotation_id: rotation.id, old_revoked: true });
    expect(await dashboardPage(`/ui/credentials/${id}`)).toContain("Needs a new manager");
    expect(await dashboardPage(`/ui/credentials/${managed.id}`)).toContain(
      "was deleted after a leak and needs a new manager",
    );
  });
});
