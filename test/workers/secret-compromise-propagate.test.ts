/**
 * A secret's compromise whose propagate fails for good: its revoke_old step records the old value
 * as revoked without a call (a secret's value dies when its own secret is overwritten, steps.ts),
 * so the failure must not mark the credential revoked while the leaked value is still what Clarifai
 * serves. On the real Workers store (KV + the CredentialCell Durable Object) with the Clarifai
 * emulator, whose fault route refuses the secret writes with 403.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { WorkersStore } from "../../src/adapters/workers-store.ts";
import { beginRotation } from "../../src/core/rotation/begin.ts";
import { driveRotation } from "../../src/core/rotation/drive.ts";
import { payOwedRevocations } from "../../src/core/rotation/owed-revocations.ts";
import { scenario } from "../support/engine-scenario.ts";

describe("a secret's compromise whose propagate fails for good (Workers store, Clarifai emulator)", () => {
  it("does not mark the credential revoked with the leaked secret live: the leaked value is owed, and paying it deletes the secret", async () => {
    const s = await scenario("secret", { generator: "random" }, {
      store: new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS),
    });
    await s.h.control("faults", {
      method: "PATCH",
      path: `/v2/users/${s.h.seed.userId}/secrets`,
      count: 10_000,
      status: 403,
      code: 11007,
    });
    const begun = await beginRotation(s.h.engine, s.cred.id, {
      reason: "compromise",
      mode: "rotate",
      requestedBy: "test",
    });
    if (!begun.ok) throw new Error(begun.code);
    const r = await driveRotation(s.h.engine, s.cred.id, begun.rotation.id);
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
  });
});
