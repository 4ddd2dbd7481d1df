/**
 * A secret's compromise that fails for good after its revoke_old step, which records the old value
 * as revoked without a call (a secret's value dies when its own secret is overwritten, steps.ts):
 * the failure must not mark the credential revoked while the leaked value is still what Clarifai
 * serves. At propagate (the emulator's fault route refuses the secret writes with 403) and at
 * create (the generator policy changed since the begin, so no new value can be made). On the real
 * Workers store (KV + the CredentialCell Durable Object) with the Clarifai emulator.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { WorkersStore } from "../../src/adapters/workers-store.ts";
import { beginRotation } from "../../src/core/rotation/begin.ts";
import { driveRotation } from "../../src/core/rotation/drive.ts";
import { payOwedRevocations } from "../../src/core/rotation/owed-revocations.ts";
import type { Rotation } from "../../src/core/rotation/rotation.ts";
import { updateRegistration } from "../../src/core/credentials/update.ts";
import { refuseSecrets, scenario } from "../support/engine-scenario.ts";

type Scenario = Awaited<ReturnType<typeof scenario>>;

const secretScenario = () =>
  scenario("secret", { generator: "random" }, {
    store: new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS),
    secretValue: `third-party-key-${crypto.randomUUID()}`,
  });

async function beginCompromise(s: Scenario) {
  const begun = await beginRotation(s.h.engine, s.cred.id, {
    reason: "compromise",
    mode: "rotate",
    requestedBy: "test",
  });
  if (!begun.ok) throw new Error(begun.code);
  return begun.rotation.id;
}

/**
 * `r` failed with its leaked secret live and owed, not settled as revoked; then paying the debt
 * deletes the secret and revokes the credential.
 */
async function expectLeakOwedThenPaid(s: Scenario, r: Rotation) {
  expect(r).toMatchObject({ state: "failed", old_revoked: false, old_revoke_owed: true });
  expect(r.contained_at).toBeUndefined(); // not contained: the leaked value still works
  const secretValue = async () =>
    ((await s.h.state()).secrets as Array<{ id: string; value: string }>).find((x) => x.id === "OPENAI_KEY")?.value;
  expect(await secretValue()).toBe(s.original); // the leaked value is still what Clarifai serves
  const rec = (await s.h.engine.store.getCredential(s.cred.id))!.value;
  expect(rec.state).not.toBe("revoked");
  expect(rec.previous.find((p) => p.fingerprint === r.old_fingerprint)).toMatchObject({ leaked: true });
  await s.h.emulator.fetch("http://clarifai.emulator/_emulator/faults", { method: "DELETE" });
  expect((await payOwedRevocations(s.h.engine, s.cred.id)).revoked).toEqual([r.old_fingerprint]);
  expect(await secretValue()).toBeUndefined(); // deleted with its secret
  expect((await s.h.engine.store.getCredential(s.cred.id))!.value.state).toBe("revoked");
}

describe("a secret's compromise that fails for good after revoke_old (Workers store, Clarifai emulator)", () => {
  it("at propagate: the credential is not marked revoked with the leaked secret live; the leaked value is owed, and paying it deletes the secret", async () => {
    const s = await secretScenario();
    await refuseSecrets(s.h, "PATCH");
    const id = await beginCompromise(s);
    await expectLeakOwedThenPaid(s, await driveRotation(s.h.engine, s.cred.id, id));
  });

  /** A compromise of `s`'s secret driven past its revoke_old, then its generator policy set to none. */
  async function noReplacementAtCreate(s: Scenario) {
    const id = await beginCompromise(s);
    const marked = await driveRotation(s.h.engine, s.cred.id, id, { stopAfter: "revoke_old" });
    expect(marked).toMatchObject({ state: "running", step: "create", old_revoked: true });
    const changed = await updateRegistration(s.h.engine, s.cred.id, { policy: { generator: "none" } });
    expect(changed.ok).toBe(true);
    return id;
  }

  it("at create (the generator policy changed since the begin): the leaked secret is deleted at once, the credential revoked", async () => {
    const s = await secretScenario();
    const id = await noReplacementAtCreate(s);
    const r = await driveRotation(s.h.engine, s.cred.id, id);
    expect(r).toMatchObject({ state: "failed", old_revoked: true, error: { code: "value_required" } });
    expect(r.contained_at).toBeDefined();
    const secrets = (await s.h.state()).secrets as Array<{ id: string }>;
    expect(secrets.find((x) => x.id === "OPENAI_KEY")).toBeUndefined();
    expect((await s.h.engine.store.getCredential(s.cred.id))!.value.state).toBe("revoked");
  });

  it("at create, with Clarifai refusing that delete: the leaked value is owed, not marked revoked, and then paid", async () => {
    const s = await secretScenario();
    const id = await noReplacementAtCreate(s);
    await refuseSecrets(s.h, "DELETE");
    const r = await driveRotation(s.h.engine, s.cred.id, id);
    expect(r.error?.code).toBe("value_required");
    // Owed by the refused DELETE (Clarifai's 403), not by a rollback that handed anything back.
    const owed = (await s.h.engine.store.getCredential(s.cred.id))!.value.previous.find((p) => p.leaked);
    expect(owed?.last_error).toBe("clarifai_insufficient_scopes");
    await expectLeakOwedThenPaid(s, r);
  });
});
