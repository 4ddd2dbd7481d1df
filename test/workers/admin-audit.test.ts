/**
 * Every admin action in the audit trail with its actor (issue 18, item 4), and
 * PATCH /v1/credentials/:id, validated and pre-flighted as registration is: the real Worker
 * against the Node-hosted Clarifai emulator. The bearer token's actor is `admin-token`; Access
 * identities are tested in ./access.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, waitForRotation } from "../support/api.ts";
import { registerAppKey } from "../support/app-key.ts";
import { canary } from "../support/canary.ts";
import { control, emulatorUrl, freshTenant } from "../support/emulator-control.ts";
import { registerManager } from "../support/manager.ts";
import { ALICE, responseUrl, slackSigned, slashCommand } from "../support/chat.ts";
import { credentialUpdatedResponseSchema } from "../../src/routes/v1/views.ts";

let tenant: Awaited<ReturnType<typeof freshTenant>>;
let managerId: string;
let leaks: ReturnType<typeof canary>;

const appKey = (extra: Record<string, unknown> = {}) =>
  registerAppKey(tenant, { managerId, secrets: leaks.secrets, fields: { policy: { grace_hours: 0 }, ...extra } });

async function trail(id: string, n: number, type?: string): Promise<any[]> {
  for (let i = 0; i < 200; i++) {
    const entries = (await call("GET", `/v1/audit?credential_id=${id}${type ? `&type=${type}` : ""}`)).json.entries;
    if (entries.length >= n) return entries;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`fewer than ${n} audit entries for ${id}`);
}

beforeAll(async () => {
  leaks = canary();
  tenant = await freshTenant("adminaudit");
  leaks.secrets.push(tenant.manager.id);
  managerId = await registerManager(tenant);
});

afterAll(() => leaks.assertClean([], 3));

describe("the actor of every admin action", () => {
  it("records registering, rotating, revoking and unmanaging as admin-token", async () => {
    const { id, fingerprint } = await appKey();
    const [registered] = await trail(id, 1, "credential.registered");
    expect(registered).toMatchObject({
      actor: "admin-token",
      source: "/rekey/admin",
      data: { credential_id: id, actor: "admin-token", kind: "app_key", fingerprint_prefix: fingerprint },
    });

    const rotated = await call("POST", `/v1/credentials/${id}/rotate`);
    expect(rotated.json.rotation.requested_by).toBe("admin-token");
    await waitForRotation(rotated.json.rotation.id);
    const revoke = await call("POST", `/v1/credentials/${id}/revoke`);
    await waitForRotation(revoke.json.rotation.id);
    // The admin's two requests, and the rotator's continuation of the rotate (grace 0: its
    // revoke_old is handed off after promote, src/core/rotation/drive.ts `HAND_OFF_AFTER`), which
    // names the requester too.
    const requested = await trail(id, 3, "rotation.requested");
    expect(requested.filter((e) => e.source === "/rekey/admin").map((e) => [e.data.mode, e.actor])).toEqual([
      ["rotate", "admin-token"],
      ["revoke", "admin-token"],
    ]);
    expect(requested.filter((e) => e.source !== "/rekey/admin")).toEqual([
      expect.objectContaining({
        source: "/rekey/rotator",
        actor: "admin-token",
        data: expect.objectContaining({ mode: "rotate", rotation_id: rotated.json.rotation.id }),
      }),
    ]);
    const revoked = await trail(id, 2, "credential.revoked");
    expect(revoked.every((e) => e.actor === "admin-token" && e.data.actor === "admin-token")).toBe(true);
    // The engine's own events carry the requester too: every line of the trail names someone.
    const all = await trail(id, 8);
    expect(all.filter((e) => !e.actor)).toEqual([]);

    expect((await call("DELETE", `/v1/credentials/${id}`)).status).toBe(200);
    const [unmanaged] = await trail(id, 1, "credential.unmanaged");
    expect(unmanaged).toMatchObject({ actor: "admin-token", data: { fingerprint_prefix: expect.any(String) } });
  });

  it("shows the actors in chat's status", async () => {
    const { id } = await appKey();
    await trail(id, 1, "credential.registered");
    const answer = await slackSigned("/chatops/slack/commands", slashCommand(ALICE, `status ${id}`, responseUrl("st")));
    expect(answer.status).toBe(200);
    expect(answer.text).toContain("credential.registered");
    expect(answer.text).toContain("by admin-token");
  });
});

describe("PATCH /v1/credentials/:id", () => {
  it("changes description and consumers, says which fields changed, and audits it once", async () => {
    const { id } = await appKey();
    const res = await call("PATCH", `/v1/credentials/${id}`, { description: "checkout", consumers: ["billing-api"] });
    expect(res.status).toBe(200);
    credentialUpdatedResponseSchema.parse(res.json);
    expect(res.json.updated).toEqual(["description", "consumers"]);
    expect(res.json.credential).toMatchObject({ description: "checkout", consumers: ["billing-api"] });
    // The same again changes nothing, and says so.
    const again = await call("PATCH", `/v1/credentials/${id}`, { description: "checkout" });
    expect(again.json.updated).toEqual([]);
    const [updated] = await trail(id, 1, "credential.updated");
    expect(updated).toMatchObject({ actor: "admin-token", data: { fields: ["description", "consumers"] } });
    await new Promise((r) => setTimeout(r, 200));
    expect(await trail(id, 1, "credential.updated")).toHaveLength(1);
  });

  it("merges a policy field by field and checks the result as a whole", async () => {
    const { id } = await appKey({ policy: { grace_hours: 6, on_compromise: "revoke" } });
    const res = await call("PATCH", `/v1/credentials/${id}`, { policy: { max_age_days: 30 } });
    expect(res.json.credential.policy).toMatchObject({ grace_hours: 6, on_compromise: "revoke", max_age_days: 30 });
    expect(res.json.updated).toEqual(["policy"]);
    const other = await appKey();
    const bad = await call("PATCH", `/v1/credentials/${other.id}`, { policy: { upstream_expiry: true } });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ code: "invalid_request", issues: [{ path: "policy.upstream_expiry" }] });
    expect((await call("GET", `/v1/credentials/${other.id}`)).json.credential.policy.upstream_expiry).toBe(false);
  });

  it("unsets an optional policy field with null; a field that must have a value refuses null", async () => {
    const { id } = await appKey({ policy: { max_age_days: 30, expires_at: "2099-01-01T00:00:00.000Z" } });
    const res = await call("PATCH", `/v1/credentials/${id}`, { policy: { max_age_days: null } });
    expect(res.status).toBe(200);
    expect(res.json.updated).toEqual(["policy"]);
    expect(res.json.credential.policy.max_age_days).toBeUndefined();
    expect(res.json.credential.policy.expires_at).toBe("2099-01-01T00:00:00.000Z");
    const bad = await call("PATCH", `/v1/credentials/${id}`, { policy: { grace_hours: null } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe("invalid_request");
    expect((await call("GET", `/v1/credentials/${id}`)).json.credential.policy.grace_hours).toBe(24);
  });

  it("pre-flights new sinks as registration does: a sink that does not exist changes nothing", async () => {
    const { id } = await appKey();
    const missing = await call("PATCH", `/v1/credentials/${id}`, {
      sinks: [{ type: "clarifai_secret", user_id: tenant.userId, secret_id: "NO_SUCH_SECRET" }],
      description: "not applied either",
    });
    expect(missing.status).toBe(422);
    expect(missing.json.error.code).toBe("sink_not_found");
    expect(missing.json.error.message).toContain("sinks.0");
    const shown = (await call("GET", `/v1/credentials/${id}`)).json.credential;
    expect(shown).toMatchObject({ sinks: [], description: "workload" });

    await fetch(`${emulatorUrl()}/v2/users/${tenant.userId}/secrets`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Key ${tenant.manager.id}` },
      body: JSON.stringify({ secrets: [{ id: "PATCHED_SINK", value: "placeholder-value" }] }),
    });
    const ok = await call("PATCH", `/v1/credentials/${id}`, {
      sinks: [{ type: "clarifai_secret", user_id: tenant.userId, secret_id: "PATCHED_SINK" }],
    });
    expect(ok.status).toBe(200);
    expect(ok.json.updated).toEqual(["sinks"]);
    // The next rotation delivers there.
    const rotated = await call("POST", `/v1/credentials/${id}/rotate`);
    expect((await waitForRotation(rotated.json.rotation.id)).state).toBe("done");
    const secret = (await tenant.state()).secrets.find((s: any) => s.id === "PATCHED_SINK");
    expect(secret.value).not.toBe("placeholder-value");
    leaks.secrets.push(secret.value);
  });

  it("refuses to change sinks while a rotation runs (409), but lets consumers change", async () => {
    const { id } = await appKey();
    await control("faults", { method: "POST", path: `/v2/users/${tenant.userId}/keys`, delay_ms: 2_500 });
    const rotated = await call("POST", `/v1/credentials/${id}/rotate`);
    const busy = await call("PATCH", `/v1/credentials/${id}`, { sinks: [], description: "x" });
    expect(busy.status).toBe(200); // sinks unchanged ([] already): only the description changes
    const refused = await call("PATCH", `/v1/credentials/${id}`, {
      sinks: [{ type: "clarifai_secret", user_id: tenant.userId, secret_id: "PATCHED_SINK" }],
    });
    expect(refused.status).toBe(409);
    expect(refused.json.error.code).toBe("rotation_running");
    expect((await call("PATCH", `/v1/credentials/${id}`, { consumers: ["reporting"] })).status).toBe(200);
    await waitForRotation(rotated.json.rotation.id);
  });

  it.each([
    ["an empty body", {}],
    ["an unknown field", { value: "x" }],
    ["a repeated consumer", { consumers: ["a", "a"] }],
    ["a consumer name too long to be a name", { consumers: ["x".repeat(40)] }],
    ["an unknown policy field", { policy: { grace: 1 } }],
    ["a sink of no known type", { sinks: [{ type: "s3" }] }],
  ])("refuses %s with 400 and changes nothing", async (_name, body) => {
    const { id } = await appKey();
    const res = await call("PATCH", `/v1/credentials/${id}`, body);
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("invalid_request");
    expect((await call("GET", `/v1/credentials/${id}`)).json.credential.consumers).toEqual([]);
  });

  it("is 404 for an unknown credential and 409 for a revoked one", async () => {
    expect((await call("PATCH", "/v1/credentials/cred_0000000000000000000000000", { description: "x" })).status).toBe(
      404,
    );
    const { id } = await appKey();
    const revoke = await call("POST", `/v1/credentials/${id}/revoke`);
    await waitForRotation(revoke.json.rotation.id);
    const res = await call("PATCH", `/v1/credentials/${id}`, { description: "x" });
    expect(res.status).toBe(409);
    expect(res.json.error.code).toBe("credential_revoked");
  });
});
