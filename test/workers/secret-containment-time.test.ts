/**
 * A secret's compromise is contained when its own secret is overwritten (propagate's first write,
 * step-plan.ts `containmentStep`), not when its revoke_old records the value revoked without a call:
 * the rotation's `contained_at`, and the containment time it gives, must not claim the leaked value
 * dead while Clarifai still serves it. On the real Workers store (KV + the CredentialCell Durable
 * Object) with the Clarifai emulator; the engine's clock is the harness's, moved between the steps.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { WorkersStore } from "../../src/adapters/workers-store.ts";
import { beginRotation } from "../../src/core/rotation/begin.ts";
import { driveRotation } from "../../src/core/rotation/drive.ts";
import { containmentMs } from "../../src/core/rotation/rotation.ts";
import { scenario } from "../support/engine-scenario.ts";

describe("a secret's containment time (Workers store, Clarifai emulator)", () => {
  it("is stamped by the propagate that overwrites the secret, not by the revoke_old before it", async () => {
    const s = await scenario("secret", { generator: "random" }, {
      store: new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS),
      secretValue: `third-party-key-${crypto.randomUUID()}`,
    });
    const secretValue = async () =>
      ((await s.h.state()).secrets as Array<{ id: string; value: string }>).find((x) => x.id === "OPENAI_KEY")?.value;
    const begun = await beginRotation(s.h.engine, s.cred.id, {
      reason: "compromise",
      mode: "rotate",
      requestedBy: "t",
    });
    if (!begun.ok) throw new Error(begun.code);

    const marked = await driveRotation(s.h.engine, s.cred.id, begun.rotation.id, { stopAfter: "revoke_old" });
    expect(marked).toMatchObject({ state: "running", step: "create", old_revoked: true });
    expect(await secretValue()).toBe(s.original); // still what Clarifai serves
    expect(marked.contained_at).toBeUndefined();

    s.h.advance(5_000);
    const overwrittenAt = new Date(s.h.engine.now()).toISOString();
    const contained = await driveRotation(s.h.engine, s.cred.id, begun.rotation.id, { stopAfter: "propagate" });
    expect(await secretValue()).not.toBe(s.original);
    expect(contained).toMatchObject({ state: "running", step: "verify", contained_at: overwrittenAt });
    expect(containmentMs(contained)).toBe(5_000);

    s.h.advance(1_000);
    const done = await driveRotation(s.h.engine, s.cred.id, begun.rotation.id);
    expect(done).toMatchObject({ state: "done", contained_at: overwrittenAt });
  });
});
