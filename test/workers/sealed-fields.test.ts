/**
 * The AES-GCM additional data binds the field a sealed value sits in, on the real Worker (KV,
 * Durable Objects, Queues, cron, the emulator):
 * - someone who can write storage copies a credential's current value over the previous value
 *   the sweep is about to revoke: rekey must not delete the live key in its place (before the
 *   field was bound it did, and left the superseded key alive);
 * - records sealed before the upgrade (the old AAD) still work, a rotation rewraps what it moves,
 *   and one re-encryption pass leaves nothing under the old AAD.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { WorkersStore } from "../../src/adapters/workers-store.ts";
import { aadFor, type CredentialRecord, CURRENT_VALUE, previousValue } from "../../src/core/credentials/credential.ts";
import { decrypt, type Sealed } from "../../src/core/crypto/envelope.ts";
import { parseKeyring } from "../../src/core/crypto/keyring.ts";
import { fingerprintWith } from "../support/fingerprint.ts";
import { cronTick } from "../support/cron.ts";
import { call, waitForRotation } from "../support/api.ts";
import { registerAppKey } from "../support/app-key.ts";
import { canary } from "../support/canary.ts";
import { TEST_KEYS } from "../support/engine-harness.ts";
import { sealLegacy } from "../support/legacy-seal.ts";
import { managedTenant } from "../support/managed-tenant.ts";

const TEST_FP_KEY = "dGVzdC1maW5nZXJwcmludC1rZXktMzItYnl0ZXMhISE=";
const store = () => new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS);
const keyring = () => {
  const k = parseKeyring(TEST_KEYS);
  if (!k.ok) throw new Error("test keys");
  return k.value;
};

let tenant: Awaited<ReturnType<typeof managedTenant>>["tenant"];
let managerId: string;
let leaks: ReturnType<typeof canary>;

beforeAll(async () => {
  leaks = canary();
  ({ tenant, managerId } = await managedTenant("fields", leaks.secrets));
});

/** An app key managed with a grace period, so a rotation leaves its old value owed to the sweep. */
const graceKey = (tag: string) =>
  registerAppKey(tenant, { managerId, label: tag, secrets: leaks.secrets, policy: { grace_hours: 1 } });

const keyIds = async () => new Set<string>((await tenant.state()).keys.map((k: any) => k.id as string));

describe("a sealed value moved to another field", () => {
  it("is not revoked in the place of the value it was moved over: the live key survives", async () => {
    const { key: old, id } = await graceKey("moved-over");
    const minted = await keyIds();
    const rotated = await call("POST", `/v1/credentials/${id}/rotate`, {});
    expect(rotated.status).toBe(202);
    expect(await waitForRotation(rotated.json.rotation.id)).toMatchObject({ state: "done" });
    const before = await keyIds();
    expect(before.has(old.id)).toBe(true);
    // The replacement the rotation minted: the credential's live key now.
    const live = [...before].filter((k) => !minted.has(k));
    expect(live).toHaveLength(1);

    // Storage write access: the current value's ciphertext replaces the superseded one, whose
    // grace period is made to have ended, so the next sweep revokes "the previous value".
    await vi.waitUntil(async () => (await store().getCredential(id))!.value.current_rotation === undefined, {
      timeout: 5_000,
      interval: 50,
    });
    const cur = (await store().getCredential(id))!;
    const rec: CredentialRecord = cur.value;
    expect(rec.previous).toHaveLength(1);
    const tampered: CredentialRecord = {
      ...rec,
      previous: [{ ...rec.previous[0]!, value: rec.value, revoke_after: new Date(Date.now() - 60_000).toISOString() }],
    };
    expect(await store().putCredential(tampered, cur.version)).not.toBeNull();

    await cronTick();
    await vi.waitUntil(async () => {
      const p = (await store().getCredential(id))!.value.previous[0]!;
      return p.revoke_attempts > 0 || p.revoked_at !== undefined;
    }, { timeout: 20_000, interval: 100 });

    // Nothing was deleted at Clarifai: not the live key, and not (blindly) anything else.
    const after = await keyIds();
    // (Compared as booleans: a failing expectation must not print a key id, which is a token.)
    expect(after.has(live[0]!), "the live key was deleted").toBe(true);
    expect([...before].every((k) => after.has(k)), "a key was deleted").toBe(true);
    const p = (await store().getCredential(id))!.value.previous[0]!;
    expect(p.revoked_at).toBeUndefined();
    expect(p.last_error).toBe("decrypt_failed");
    expect((await call("GET", `/v1/credentials/${id}`)).json.credential.state).toBe("active");
  });
});

describe("a value sealed before fields were bound, moved to another field", () => {
  it("still opens there, but does not match the slot's fingerprint: the live key survives", async () => {
    const { key: old, id } = await graceKey("legacy-moved-over");
    const minted = await keyIds();
    const rotated = await call("POST", `/v1/credentials/${id}/rotate`, {});
    expect(await waitForRotation(rotated.json.rotation.id)).toMatchObject({ state: "done" });
    const before = await keyIds();
    const live = [...before].filter((k) => !minted.has(k));
    expect(live).toHaveLength(1);
    expect(before.has(old.id)).toBe(true);
    // An old-format copy of the live value (no field in its AAD, as a backup would hold it),
    // written over the superseded value whose grace period is made to have ended.
    // The rotation settles before its credential lets go of it: write once that has happened.
    await vi.waitUntil(async () => (await store().getCredential(id))!.value.current_rotation === undefined, {
      timeout: 5_000,
      interval: 50,
    });
    const cur = (await store().getCredential(id))!;
    const legacyLive = await sealLegacy(TEST_KEYS, 2, String(live[0]), cur.value);
    const tampered: CredentialRecord = {
      ...cur.value,
      previous: [{
        ...cur.value.previous[0]!,
        value: legacyLive,
        revoke_after: new Date(Date.now() - 60_000).toISOString(),
      }],
    };
    expect(await store().putCredential(tampered, cur.version)).not.toBeNull();

    await cronTick();
    await vi.waitUntil(async () => {
      const p = (await store().getCredential(id))!.value.previous[0]!;
      return p.revoke_attempts > 0 || p.revoked_at !== undefined;
    }, { timeout: 20_000, interval: 100 });
    const after = await keyIds();
    expect(after.has(live[0]!), "the live key was deleted").toBe(true);
    expect([...before].every((k) => after.has(k)), "a key was deleted").toBe(true);
    const p = (await store().getCredential(id))!.value.previous[0]!;
    expect(p.revoked_at).toBeUndefined();
    expect(p.last_error).toBe("value_mismatch");
  });
});

/** Every sealed value in the credential record and its rotation records, with what binds it. */
async function sealedOf(id: string): Promise<Sealed[]> {
  const rec = (await store().getCredential(id))!.value;
  const rotations = await store().listRotations(id);
  return [
    rec.value,
    ...rec.previous.flatMap((p) => (p.value ? [p.value] : [])),
    ...(rec.current_rotation?.new_value ? [rec.current_rotation.new_value] : []),
    ...rotations.flatMap((r) => [...(r.new_value ? [r.new_value] : []), ...(r.replies ?? [])]),
  ];
}

describe("records sealed before the upgrade", () => {
  it("still open and rotate; one re-encryption pass leaves nothing under the old AAD", async () => {
    // The manager PAT and an app key as the old code left them: sealed under the old AAD, the
    // app key with a superseded value still in its grace period.
    const { key, id } = await graceKey("legacy");
    const spare = await tenant.mint("app_specific_key", ["Predict"], "legacy-previous");
    leaks.secrets.push(spare.id);
    const legacy = async (rec: CredentialRecord, plain: string) => sealLegacy(TEST_KEYS, 2, plain, rec);
    const m = (await store().getCredential(managerId))!;
    expect(await store().putCredential({ ...m.value, value: await legacy(m.value, tenant.manager.id) }, m.version)).not
      .toBeNull();
    const a = (await store().getCredential(id))!;
    const spareFp = await fingerprintWith(TEST_FP_KEY, spare.id);
    const soon = new Date(Date.now() + 3_600_000).toISOString();
    const oldRec: CredentialRecord = {
      ...a.value,
      value: await legacy(a.value, key.id),
      previous: [{
        fingerprint: spareFp,
        value: await legacy(a.value, spare.id),
        rotation_id: "rot_legacy",
        superseded_at: a.value.created_at,
        revoke_after: soon,
        revoke_attempts: 0,
      }],
    };
    expect(await store().putCredential(oldRec, a.version)).not.toBeNull();
    expect((await sealedOf(id)).every((s) => s.aad === undefined)).toBe(true);

    // A rotation opens the legacy manager token and the legacy current value, and moves the
    // latter into a previous value's place sealed under the new AAD.
    const rotated = await call("POST", `/v1/credentials/${id}/rotate`, {});
    expect(rotated.status).toBe(202);
    expect(await waitForRotation(rotated.json.rotation.id)).toMatchObject({ state: "done" });
    const afterRotation = (await store().getCredential(id))!.value;
    const moved = afterRotation.previous.find((p) => p.rotation_id === rotated.json.rotation.id)!;
    expect(moved.value!.aad).toBe(2);
    expect(await decrypt(keyring(), moved.value!, aadFor(afterRotation, previousValue(moved.fingerprint)))).toEqual({
      ok: true,
      value: key.id,
    });
    // The untouched legacy previous value is still there, under the old AAD.
    expect(afterRotation.previous.find((p) => p.fingerprint === spareFp)!.value!.aad).toBeUndefined();

    // The job: everything under the old AAD is rewrapped, though no key version changed.
    const started = await call("POST", "/v1/maintenance/reencrypt", { batch_size: 100 });
    expect(started.status).toBe(202);
    let job: any;
    await vi.waitUntil(async () => (job = (await call("GET", "/v1/maintenance/reencrypt")).json.job).state === "done", {
      timeout: 30_000,
      interval: 100,
    });
    expect(job.remaining).toBe(0);
    expect(job.rewritten).toBeGreaterThanOrEqual(2);
    for (const cid of [managerId, id]) {
      for (const s of await sealedOf(cid)) expect(s).toMatchObject({ v: 2, aad: 2 });
    }
    const final = (await store().getCredential(id))!.value;
    const spareNow = final.previous.find((p) => p.fingerprint === spareFp)!;
    expect(await decrypt(keyring(), spareNow.value!, aadFor(final, previousValue(spareFp)))).toEqual({
      ok: true,
      value: spare.id,
    });
    const mgr = (await store().getCredential(managerId))!.value;
    expect(await decrypt(keyring(), mgr.value, aadFor(mgr, CURRENT_VALUE))).toEqual({
      ok: true,
      value: tenant.manager.id,
    });
    leaks.assertClean([], 3);
  });
});
