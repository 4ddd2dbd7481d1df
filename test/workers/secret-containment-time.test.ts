/**
 * A secret's compromise is contained when its own secret is overwritten (propagate's first write,
 * step-plan.ts `containmentStep`), not when its revoke_old records the value revoked without a call:
 * the rotation's `contained_at`, and the containment time it gives, must not claim the leaked value
 * dead while Clarifai still serves it. On the real Workers store (KV + the CredentialCell Durable
 * Object) with the Clarifai emulator; the engine's clock is the harness's, moved between the steps.
 * Also where the value died before anyone knew it leaked (a routine rotation a compromise escalated
 * after its propagate) and where a later sink's refusal failed the propagate after the overwrite
 * (the rollback promotes the new value: the leaked one is dead).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { WorkersStore } from "../../src/adapters/workers-store.ts";
import { beginRotation } from "../../src/core/rotation/begin.ts";
import { driveRotation } from "../../src/core/rotation/drive.ts";
import { containmentMs } from "../../src/core/rotation/rotation.ts";
import { refuseSecrets, scenario } from "../support/engine-scenario.ts";

async function secretCase() {
  const s = await scenario("secret", { generator: "random" }, {
    store: new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS),
    secretValue: `third-party-key-${crypto.randomUUID()}`,
  });
  const secretValue = async () =>
    ((await s.h.state()).secrets as Array<{ id: string; value: string }>).find((x) => x.id === "OPENAI_KEY")?.value;
  const begin = async (reason: "compromise" | "manual") => {
    const begun = await beginRotation(s.h.engine, s.cred.id, { reason, mode: "rotate", requestedBy: "t" });
    if (!begun.ok) throw new Error(begun.code);
    return begun.rotation;
  };
  return { ...s, secretValue, begin };
}

describe("a secret's containment time (Workers store, Clarifai emulator)", () => {
  it("is stamped by the propagate that overwrites the secret, not by the revoke_old before it", async () => {
    const s = await secretCase();
    const { id } = await s.begin("compromise");
    const marked = await driveRotation(s.h.engine, s.cred.id, id, { stopAfter: "revoke_old" });
    expect(marked).toMatchObject({ state: "running", step: "create", old_revoked: true });
    expect(await s.secretValue()).toBe(s.original); // still what Clarifai serves
    expect(marked.contained_at).toBeUndefined();

    s.h.advance(5_000);
    const overwrittenAt = new Date(s.h.engine.now()).toISOString();
    const contained = await driveRotation(s.h.engine, s.cred.id, id, { stopAfter: "propagate" });
    expect(await s.secretValue()).not.toBe(s.original);
    expect(contained).toMatchObject({ state: "running", step: "verify", contained_at: overwrittenAt });
    expect(containmentMs(contained)).toBe(5_000);

    s.h.advance(1_000);
    const done = await driveRotation(s.h.engine, s.cred.id, id);
    expect(done).toMatchObject({ state: "done", contained_at: overwrittenAt });
  });

  it("a routine rotation escalated after its propagate: stamped by its revoke_old, the first record of the death", async () => {
    const s = await secretCase();
    const { id } = await s.begin("manual");
    await driveRotation(s.h.engine, s.cred.id, id, { stopAfter: "propagate" });
    expect(await s.secretValue()).not.toBe(s.original);
    const joined = await s.begin("compromise");
    expect(joined).toMatchObject({ id, reason: "compromise" });
    s.h.advance(2_000);
    const done = await driveRotation(s.h.engine, s.cred.id, id);
    expect(done).toMatchObject({
      state: "done",
      old_revoked: true,
      contained_at: new Date(s.h.engine.now()).toISOString(),
    });
    expect(containmentMs(done)).not.toBeNull();
  });

  it("a propagate that fails for good after the overwrite: the rollback promotes the new value, and the leak is contained", async () => {
    const s = await secretCase();
    // The own secret's write goes through; the sink's, the next write, is refused for good.
    let writes = 0;
    s.h.hook.before = async (_i, req) => {
      if (req.method === "PATCH" && new URL(req.url).pathname.endsWith("/secrets") && ++writes === 2) {
        await refuseSecrets(s.h, "PATCH");
      }
    };
    const { id } = await s.begin("compromise");
    const failed = await driveRotation(s.h.engine, s.cred.id, id);
    expect(failed).toMatchObject({ state: "failed", old_revoked: true });
    expect(await s.secretValue()).not.toBe(s.original);
    expect(failed.contained_at).toBeDefined();
    const rec = (await s.h.engine.store.getCredential(s.cred.id))!.value;
    expect(rec.state).toBe("active"); // on the salvaged new value
    expect(rec.fingerprint).not.toBe(failed.old_fingerprint);
  });
});
