/**
 * Webhook-triggered rotation end to end: signed alerts → bus (real Queues) → rotator → Clarifai
 * (the Node-hosted emulator); audit trail and notifications observed at the local receiver.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { signedAlert } from "../support/signed-alert.ts";
import { call } from "../support/api.ts";
import { registerAppKey } from "../support/app-key.ts";
import { canary } from "../support/canary.ts";
import { control, freshTenant } from "../support/emulator-control.ts";
import { registerManager } from "../support/manager.ts";
import { signedGithubAlert } from "../support/github-test-key.ts";
import { received } from "../support/receiver.ts";

let tenant: Awaited<ReturnType<typeof freshTenant>>;
let managerId: string;
let secrets: string[] = [];
let logs: string[] = [];
let leaks: ReturnType<typeof canary>;

beforeAll(async () => {
  leaks = canary();
  ({ secrets, logs } = leaks);
  tenant = await freshTenant("hooks");
  secrets.push(tenant.manager.id);
  managerId = await registerManager(tenant);
});

const managedKey = (policy: Record<string, unknown> = {}) =>
  registerAppKey(tenant, { managerId, label: "leaky", secrets, policy: { grace_hours: 24, ...policy } });

async function postGithub(body: string) {
  return call("POST", "/hooks/github/secret-scanning", body, { authorization: "", ...(await signedGithubAlert(body)) });
}

async function settled(credentialId: string) {
  await vi.waitUntil(async () => {
    const c = (await call("GET", `/v1/credentials/${credentialId}`)).json.credential;
    return c.current_rotation_id === null && c.last_rotation !== null;
  }, { timeout: 15_000, interval: 50 });
  return (await call("GET", `/v1/credentials/${credentialId}`)).json.credential;
}

describe("GitHub secret scanning alerts", () => {
  it("revokes a leaked managed key first, then replaces it, and labels it true_positive", async () => {
    const { key, id } = await managedKey();
    const mark = (await tenant.state()).calls.length;
    const body = JSON.stringify([{
      token: key.id,
      type: "clarifai_api_key",
      url: "https://github.com/x/y/blob/main/.env",
      source: "content",
    }]);
    const res = await postGithub(body);
    expect(res.status).toBe(200);
    expect(res.json).toEqual([{
      token_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      token_type: "clarifai_api_key",
      label: "true_positive",
    }]);
    expect(res.text).not.toContain(key.id);
    const cred = await settled(id);
    expect(cred.last_rotation).toMatchObject({ state: "done", reason: "compromise" });
    const state = await tenant.state();
    expect(state.keys.map((k: any) => k.id)).not.toContain(key.id);
    const calls = state.calls.slice(mark).map((c: any) => `${c.method} ${c.path}`);
    const del = calls.findIndex((c: string) => c.startsWith("DELETE") && c.includes("/keys/"));
    const create = calls.findIndex((c: string) => c.startsWith("POST") && c.endsWith("/keys"));
    expect(del).toBeGreaterThanOrEqual(0);
    expect(create).toBeGreaterThan(del);
    const fresh = state.keys.filter((k: any) => String(k.description).includes(cred.last_rotation.id));
    expect(fresh).toHaveLength(1);
    secrets.push(fresh[0].id);
    // The audit trail shows the chain, and never a value.
    await vi.waitUntil(
      async () =>
        (await call("GET", `/v1/audit?credential_id=${id}`)).json.entries.some((e: any) =>
          e.type === "rotation.completed"
        ),
      { timeout: 10_000, interval: 50 },
    );
    const types = (await call("GET", `/v1/audit?credential_id=${id}`)).json.entries.map((e: any) => e.type);
    expect(types).toEqual(
      expect.arrayContaining(["credential.compromised", "rotation.step", "credential.revoked", "rotation.completed"]),
    );
  });

  it("labels an unknown token false_positive and changes nothing", async () => {
    const before = (await tenant.state()).calls.length;
    const body = JSON.stringify([{ token: "f".repeat(32), type: "clarifai_api_key", url: "", source: "commit" }]);
    const res = await postGithub(body);
    expect(res.status).toBe(200);
    expect(res.json[0].label).toBe("false_positive");
    expect((await tenant.state()).calls.length).toBe(before);
  });

  it("refuses a tampered body or an unknown key id with 401 before parsing", async () => {
    const body = JSON.stringify([{ token: "abc", type: "t", url: "", source: "commit" }]);
    const headers = await signedGithubAlert(body);
    const tampered = await call("POST", "/hooks/github/secret-scanning", body.replace("abc", "abd"), {
      authorization: "",
      ...headers,
    });
    expect(tampered.status).toBe(401);
    expect(tampered.json.error.code).toBe("invalid_signature");
    const unknown = await call("POST", "/hooks/github/secret-scanning", body, {
      authorization: "",
      ...headers,
      "github-public-key-identifier": "0".repeat(64),
    });
    expect(unknown.status).toBe(401);
    const garbage = await call("POST", "/hooks/github/secret-scanning", "not json", {
      authorization: "",
      ...(await signedGithubAlert("not json")),
    });
    expect(garbage.status).toBe(400);
  });

  it("joins 100 concurrent deliveries of the same alert into one revocation and one new key", async () => {
    const { key, id } = await managedKey();
    const body = JSON.stringify([{ token: key.id, type: "clarifai_api_key", url: "", source: "commit" }]);
    const headers = await signedGithubAlert(body);
    const results = await Promise.all(
      Array.from(
        { length: 100 },
        () => call("POST", "/hooks/github/secret-scanning", body, { authorization: "", ...headers }),
      ),
    );
    expect(results.every((r) => r.status === 200 && r.json[0].label === "true_positive")).toBe(true);
    const cred = await settled(id);
    const state = await tenant.state();
    const deletes = state.calls.filter((c: any) =>
      c.method === "DELETE" && c.status === 200 && c.path.endsWith(`/keys/${key.id}`)
    );
    expect(deletes).toHaveLength(1);
    const minted = state.keys.filter((k: any) => String(k.description).includes("[rekey:"));
    const forThis = minted.filter((k: any) => String(k.description).includes(cred.last_rotation.id));
    expect(forThis).toHaveLength(1);
    expect((await call("GET", `/v1/credentials/${id}`)).json.credential.previous).toHaveLength(1);
    secrets.push(...forThis.map((k: any) => k.id));
    // Reporting the now-dead value again raises nothing new.
    const again = await postGithub(body);
    expect(again.json[0].label).toBe("true_positive");
    expect((await call("GET", `/v1/credentials/${id}`)).json.credential.last_rotation.id).toBe(cred.last_rotation.id);
  });
});

describe("Standard Webhooks alerts", () => {
  it("accepts a signed alert naming a credential and contains it", async () => {
    const { key, id } = await managedKey();
    const body = JSON.stringify({ credential_id: id, reason: "found in a paste", source: "siem" });
    const res = await call("POST", "/hooks/alerts", body, await signedAlert(body));
    expect(res.status).toBe(202);
    expect(res.json.event_id).toMatch(/^evt_/);
    await settled(id);
    expect((await tenant.state()).keys.map((k: any) => k.id)).not.toContain(key.id);
    // The source's one name (its alert_source), also the requester its rotation records.
    expect((await call("GET", `/v1/rotations/${res.json.rotation_id}`)).json.rotation.requested_by).toBe("webhook");
  });

  it("finds the credential by the leaked value", async () => {
    const { key, id } = await managedKey({ on_compromise: "revoke" });
    const body = JSON.stringify({ value: key.id });
    const res = await call("POST", "/hooks/alerts", body, await signedAlert(body));
    expect(res.status).toBe(202);
    const cred = await settled(id);
    expect(cred.state).toBe("revoked");
    expect(res.text).not.toContain(key.id);
  });

  it.each([
    ["a tampered body", async (b: string) => ({ body: b.replace("cred", "crex"), headers: await signedAlert(b) })],
    [
      "a wrong secret",
      async (b: string) => ({
        body: b,
        headers: await signedAlert(b, { secret: "whsec_" + btoa("another-secret-of-32-bytes-long!!") }),
      }),
    ],
    [
      "an old timestamp",
      async (b: string) => ({
        body: b,
        headers: await signedAlert(b, { timestamp: Math.floor(Date.now() / 1000) - 600 }),
      }),
    ],
  ])("refuses %s with 401 and publishes nothing", async (_name, make) => {
    const { id } = await managedKey();
    // The registration's own audit entry first (it rides the queue, which may still be delivering
    // an earlier test's rotation): after the refused alert the trail holds that entry alone.
    const trail = async () => (await call("GET", `/v1/audit?credential_id=${id}`)).json.entries as any[];
    await vi.waitUntil(async () => (await trail()).length > 0, { timeout: 15_000, interval: 50 });
    const registered = await trail();
    expect(registered.map((e) => e.type)).toEqual(["credential.registered"]);
    const { body, headers } = await make(JSON.stringify({ credential_id: id }));
    const res = await call("POST", "/hooks/alerts", body, headers);
    expect(res.status).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    expect(await trail()).toEqual(registered);
    expect((await call("GET", `/v1/credentials/${id}`)).json.credential.last_rotation).toBeNull();
  });

  it("refuses a replayed webhook-id with 401", async () => {
    const { id } = await managedKey();
    const body = JSON.stringify({ credential_id: id });
    const headers = await signedAlert(body);
    expect((await call("POST", "/hooks/alerts", body, headers)).status).toBe(202);
    const replay = await call("POST", "/hooks/alerts", body, headers);
    expect(replay.status).toBe(401);
    expect(replay.json.error.code).toBe("replayed");
  });

  it("does not spend the webhook-id of an alert that matches nothing (404 again, not 401)", async () => {
    const body = JSON.stringify({ fingerprint: "0".repeat(64) });
    const headers = await signedAlert(body);
    expect((await call("POST", "/hooks/alerts", body, headers)).status).toBe(404);
    expect((await call("POST", "/hooks/alerts", body, headers)).status).toBe(404);
  });

  it("refuses a body naming the credential twice or not at all with 400", async () => {
    for (const b of [{}, { credential_id: "cred_x", value: "v" }, { credential_id: "cred_x", extra: 1 }]) {
      const body = JSON.stringify(b);
      expect((await call("POST", "/hooks/alerts", body, await signedAlert(body))).status).toBe(400);
    }
  });
});

describe("retries, dead letters and notifications", () => {
  it("retries a transiently failing rotation through the bus with delay until it succeeds", async () => {
    const { key, id } = await managedKey();
    // Clarifai answers 503 to this key's deletion long enough to exhaust the early DELETE (1), the
    // fast path's retries (4) and the rotator's first delivery's (4: it waits for the fast path's
    // lease and then drives), so the event goes back to the queue with a delay.
    await control("faults", {
      method: "DELETE",
      path: `/v2/users/${tenant.userId}/keys/${key.id}`,
      count: 9,
      status: 503,
      code: 98004,
    });
    const body = JSON.stringify({ credential_id: id });
    expect((await call("POST", "/hooks/alerts", body, await signedAlert(body))).status).toBe(202);
    const cred = await settled(id);
    expect(cred.last_rotation.state).toBe("done");
    expect((await tenant.state()).keys.map((k: any) => k.id)).not.toContain(key.id);
    const log = logs.map((l) => (l.startsWith("{") ? JSON.parse(l) : {})).filter((l: any) =>
      l.msg === "bus.retry" && l.type === "credential.compromised"
    );
    expect(log.length).toBeGreaterThanOrEqual(1);
    expect(log[0].delay_seconds).toBeGreaterThanOrEqual(1);
  });

  it("sends an event that can never succeed to the dead-letter queue and notifies rotation.failed", async () => {
    // A routine rotation of a secret with no generator cannot begin: the rotator fails permanently.
    await fetch(`${(await import("../support/emulator-control.ts")).emulatorUrl()}/v2/users/${tenant.userId}/secrets`, {
      method: "POST",
      headers: { authorization: `Key ${tenant.manager.id}`, "content-type": "application/json" },
      body: JSON.stringify({ secrets: [{ id: "DLQ_SECRET", value: "third-party-value" }] }),
    });
    secrets.push("third-party-value");
    const reg = await call("POST", "/v1/credentials", {
      kind: "secret",
      user_id: tenant.userId,
      secret_id: "DLQ_SECRET",
      manager_id: managerId,
    });
    expect(reg.status).toBe(201);
    const id = reg.json.credential.id;
    const { env } = await import("cloudflare:workers");
    const { newEvent } = await import("../../src/core/bus/new-event.ts");
    await env.EVENTS.send(
      newEvent("rotation.requested", { credential_id: id, reason: "scheduled", mode: "rotate", requested_by: "cron" }, {
        source: "/rekey/cron",
        now: Date.now(),
      }),
      { contentType: "json" },
    );
    await vi.waitUntil(
      async () => (await received("/slack/incoming")).some((r) => r.body.includes(id) && r.body.includes("FAILED")),
      { timeout: 15_000, interval: 100 },
    );
    const slack = (await received("/slack/incoming")).find((r) => r.body.includes(id))!;
    expect(slack.body).toContain("dead_letter");
    const hooks = (await received("/outbound/siem")).filter((r) => r.body.includes(id));
    expect(hooks.length).toBeGreaterThanOrEqual(1);
    expect(hooks[0]!.headers["webhook-signature"]).toMatch(/^v1,/);
  });
});

afterAll(async () => {
  // Canary: no secret value in any response, log line, audit entry or outbound message.
  const audit = (await call("GET", "/v1/audit?limit=1000")).text;
  const outbound = (await received("/")).map((r) => r.body + JSON.stringify(r.headers)).join("\n");
  leaks.assertClean([audit, outbound]);
});
