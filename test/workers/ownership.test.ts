/**
 * Ownership on the deployed path: the real Worker (admin API, scheduled(), Queues consumer, KV,
 * Durable Objects) against the Node-hosted emulator. rekey deletes at Clarifai only a key its
 * records say it minted: a marker in a key's description is never enough, since anyone who may
 * edit descriptions can copy it.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { call, waitForRotation } from "../support/api.ts";
import { registerAppKey } from "../support/app-key.ts";
import { cronTick } from "../support/cron.ts";
import { control, freshTenant } from "../support/emulator-control.ts";
import { registerManager } from "../support/manager.ts";
import { fingerprint, fingerprintPrefix, importFingerprintKey } from "../../src/core/crypto/fingerprint.ts";

const fpKey = await importFingerprintKey(env.REKEY_FINGERPRINT_KEY);
const fp = async (value: string) => {
  if (!fpKey.ok) throw new Error("test fingerprint key");
  return fingerprint(fpKey.value, value);
};

const HOUR = 3_600_000;
async function setup(prefix: string) {
  const tenant = await freshTenant(prefix);
  const managerId = await registerManager(tenant);
  const register = (description: string, policy: Record<string, unknown> = {}) =>
    registerAppKey(tenant, {
      managerId,
      label: description,
      policy: { grace_hours: 0, ...policy },
      fields: { description },
    });
  const keys = async () =>
    (await tenant.state()).keys as Array<{ id: string; description: string; created_at: string }>;
  const fault = (f: Record<string, unknown>) => control("faults", { count: 1, ...f });
  /** Runs a sweep and waits until `done` holds (what the sweep should have achieved). */
  const sweepUntil = async (done: () => Promise<boolean>) => {
    await cronTick();
    await vi.waitUntil(done, { timeout: 20_000, interval: 100 });
  };
  /** A credential past its expiry: once it is revoked, the sweep has run through its batches. */
  const canary = async () => {
    const c = await register("sweep marker", { expires_at: "2026-01-01T00:00:00Z" });
    return async () => (await call("GET", `/v1/credentials/${c.id}`)).json.credential.state === "revoked";
  };
  const minted = (marker: string, createdAt: string) =>
    control(`users/${tenant.userId}/keys`, {
      type: "app_specific_key",
      scopes: ["Predict"],
      apps: [{ id: "app1", user_id: tenant.userId }],
      description: `copy [rekey:${marker}]`,
      created_at: createdAt,
    }).then((r) => r.key as { id: string });
  return { tenant, register, keys, fault, sweepUntil, canary, minted, keysPath: `/v2/users/${tenant.userId}/keys` };
}

const audited = async (type: string, credentialId: string) =>
  ((await call("GET", `/v1/audit?type=${type}&credential_id=${credentialId}`)).json.entries ?? []) as Array<
    { data: Record<string, unknown> }
  >;

describe("ownership", () => {
  it("never deletes the key of a rotated, then unmanaged credential, however many sweeps run", async () => {
    const t = await setup("own-unmanaged");
    const { id } = await t.register("workload");
    const rot = await call("POST", `/v1/credentials/${id}/rotate`);
    expect(rot.status).toBe(202);
    expect((await waitForRotation(rot.json.rotation.id)).state).toBe("done");
    // The rotation's record settles first and its credential's marker is cleared by the write after
    // it (drive.ts `afterTransition`): until then the DELETE is refused as rotation_running.
    await expect.poll(async () => (await call("GET", `/v1/credentials/${id}`)).json.credential?.current_rotation_id, {
      timeout: 5_000,
      interval: 25,
    }).toBeNull();
    const replacement = (await t.keys()).find((k) => k.description.includes(`[rekey:${rot.json.rotation.id}]`));
    expect(replacement).toBeDefined();
    expect((await call("DELETE", `/v1/credentials/${id}`)).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      const swept = await t.canary();
      const before = (await t.tenant.state()).calls.length;
      await t.sweepUntil(swept);
      // The sweep listed none of this user's keys and deleted only the expired canary.
      const calls = ((await t.tenant.state()).calls as Array<{ method: string; path: string }>).slice(before);
      expect(calls.filter((c) => c.method === "GET" && c.path === t.keysPath)).toEqual([]);
      expect(calls.filter((c) => c.method === "DELETE")).toHaveLength(1);
    }
    expect((await t.keys()).map((k) => k.id)).toContain(replacement!.id);
  });

  it("keeps a key that carries a copied marker of a finished rotation", async () => {
    const t = await setup("own-copied");
    const { id } = await t.register("workload");
    const rot = await call("POST", `/v1/credentials/${id}/rotate`);
    expect((await waitForRotation(rot.json.rotation.id)).state).toBe("done");
    // Anyone who may edit descriptions can put the marker on another key, an All-scoped PAT say.
    const copy = await t.minted(rot.json.rotation.id, new Date(Date.now() + HOUR).toISOString());
    for (let i = 0; i < 2; i++) await t.sweepUntil(await t.canary());
    expect((await t.keys()).map((k) => k.id)).toContain(copy.id);
  });

  it("deletes the key a rotation minted but never recorded (its create answer was lost, then it failed), and leaves a decoy alone", async () => {
    const t = await setup("own-orphan");
    const { id } = await t.register("workload");
    // The create commits at Clarifai but its answer is lost; the resumed create cannot list keys.
    await t.fault({ method: "POST", path: t.keysPath, drop_after: true });
    await t.fault({ method: "GET", path: t.keysPath, status: 403, code: 11007 });
    const rot = await call("POST", `/v1/credentials/${id}/rotate`);
    const rotationId = rot.json.rotation.id as string;
    const settled = await waitForRotation(rotationId);
    expect(settled.state).toBe("failed");
    const lost = (await t.keys()).filter((k) => k.description.includes(`[rekey:${rotationId}]`));
    expect(lost).toHaveLength(1);
    // A decoy: the same marker on a key made long after that rotation's create call.
    const decoy = await t.minted(rotationId, new Date(Date.now() + 2 * HOUR).toISOString());
    // The rotation settles first, then its credential records the owed scan.
    const owed = async () =>
      (await call("GET", "/v1/plan")).json.plan.some((a: any) =>
        a.credential_id === id && a.rule === "orphan_scan" && a.action === "scan_orphans"
      );
    await vi.waitUntil(owed, { timeout: 5_000, interval: 50 });

    await t.sweepUntil(async () => !(await t.keys()).some((k) => k.id === lost[0]!.id));
    await vi.waitUntil(async () => !(await owed()), { timeout: 10_000, interval: 100 }); // the scan finished
    expect((await t.keys()).map((k) => k.id)).toContain(decoy.id);
    const after = await call("GET", "/v1/plan");
    expect(after.json.plan.filter((a: any) => a.credential_id === id)).toEqual([]);
    expect(after.json.left_alone).toContainEqual(
      expect.objectContaining({ credential_id: id, rotation_id: rotationId, reason: "outside_create_window" }),
    );
    await vi.waitUntil(
      async () =>
        (await audited("orphan.deleted", id)).length === 1 && (await audited("orphan.suspected", id)).length === 1,
      { timeout: 10_000, interval: 100 },
    );
    // Reported once: more sweeps neither delete the decoy nor report it again.
    for (let i = 0; i < 2; i++) await t.sweepUntil(await t.canary());
    expect((await t.keys()).map((k) => k.id)).toContain(decoy.id);
    expect(await audited("orphan.suspected", id)).toHaveLength(1);
    const text = JSON.stringify([
      after.json,
      await audited("orphan.deleted", id),
      await audited("orphan.suspected", id),
    ]);
    for (const k of [...lost, decoy]) expect(text).not.toContain(k.id);
  });

  it("adopts on resume the key its lost create minted, and not a key with a copied marker", async () => {
    const t = await setup("own-adopt");
    const { id } = await t.register("workload");
    await t.fault({ method: "POST", path: t.keysPath, drop_after: true });
    // Hold the resumed create's listing until the copy below exists.
    await t.fault({ method: "GET", path: t.keysPath, delay_ms: 1_500 });
    const rot = await call("POST", `/v1/credentials/${id}/rotate`);
    const rotationId = rot.json.rotation.id as string;
    await vi.waitUntil(async () => (await t.keys()).some((k) => k.description.includes(`[rekey:${rotationId}]`)), {
      timeout: 5_000,
      interval: 20,
    });
    const own = (await t.keys()).find((k) => k.description.includes(`[rekey:${rotationId}]`))!;
    const copy = await t.minted(rotationId, new Date(Date.now() - HOUR).toISOString());
    expect((await waitForRotation(rotationId)).state).toBe("done");
    const keys = await t.keys();
    expect(keys.filter((k) => k.description.includes(`[rekey:${rotationId}]`)).map((k) => k.id).sort()).toEqual(
      [own.id, copy.id].sort(),
    );
    // The credential now holds the key its own create minted, not the copy.
    const cred = (await call("GET", `/v1/credentials/${id}`)).json.credential;
    expect(cred.fingerprint).toBe(fingerprintPrefix(await fp(own.id)));
    expect(cred.fingerprint).not.toBe(fingerprintPrefix(await fp(copy.id)));
    // Its orphan scan (the create's answer was lost) keeps both: one is recorded, the copy is not provably rekey's.
    await t.sweepUntil(async () => (await audited("orphan.suspected", id)).length === 1);
    expect((await t.keys()).map((k) => k.id)).toEqual(expect.arrayContaining([own.id, copy.id]));
  });

  it("gives a replacement exactly one marker, its own, when the key it replaces was minted by rekey and registered again", async () => {
    const t = await setup("own-reregister");
    const { id } = await t.register("workload");
    const first = await call("POST", `/v1/credentials/${id}/rotate`);
    expect((await waitForRotation(first.json.rotation.id)).state).toBe("done");
    const minted = (await t.keys()).find((k) => k.description.includes(`[rekey:${first.json.rotation.id}]`))!;
    // Unmanage, then take the rekey-minted key back without giving a description: it comes from Clarifai.
    await vi.waitUntil(async () => (await call("DELETE", `/v1/credentials/${id}`)).status === 200, {
      timeout: 5_000,
      interval: 50,
    });
    const manager = (await call("GET", "/v1/credentials")).json.credentials.find((c: any) =>
      c.kind === "pat" && c.user_id === t.tenant.userId
    );
    const again = await call("POST", "/v1/credentials", {
      kind: "app_key",
      user_id: t.tenant.userId,
      value: minted.id,
      manager_id: manager.id,
      policy: { grace_hours: 0 },
    });
    expect(again.status).toBe(201);
    expect(again.json.credential.description).toBe("workload");
    const second = await call("POST", `/v1/credentials/${again.json.credential.id}/rotate`);
    expect((await waitForRotation(second.json.rotation.id)).state).toBe("done");
    const replacement = (await t.keys()).filter((k) => k.description.includes(second.json.rotation.id));
    expect(replacement.map((k) => k.description)).toEqual([`workload [rekey:${second.json.rotation.id}]`]);
  });

  it("never deletes anything of a credential unmanaged while its orphan scan was owed", async () => {
    const t = await setup("own-unmanage-owed");
    const { id } = await t.register("workload");
    await t.fault({ method: "POST", path: t.keysPath, drop_after: true });
    await t.fault({ method: "GET", path: t.keysPath, status: 403, code: 11007 });
    const rot = await call("POST", `/v1/credentials/${id}/rotate`);
    expect((await waitForRotation(rot.json.rotation.id)).state).toBe("failed");
    const lost = (await t.keys()).find((k) => k.description.includes(`[rekey:${rot.json.rotation.id}]`))!;
    // The rotation settles before its credential lets go of it (409 rotation_running until then).
    await vi.waitUntil(async () => (await call("DELETE", `/v1/credentials/${id}`)).status === 200, {
      timeout: 5_000,
      interval: 50,
    });
    for (let i = 0; i < 2; i++) await t.sweepUntil(await t.canary());
    expect((await t.keys()).map((k) => k.id)).toContain(lost.id);
  });
});
