import { describe, expect, it } from "vitest";
import { type Rotation, rotationSchema } from "../rotation/rotation.ts";
import { Dispatcher } from "./bus.ts";
import { engineEmitter, fromEngineEvent } from "./engine-events.ts";
import { MemoryLedger } from "./memory-ledger.ts";
import { MemoryBus } from "./memory-transport.ts";

const NOW = Date.parse("2026-08-22T10:00:00Z");
const OLD_FP = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const NEW_FP = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752";

const rotation = (over: Partial<Rotation> = {}): Rotation =>
  rotationSchema.parse({
    id: "rot_01jc4k9a0b1c2d3e4f5g6h7j8k",
    credential_id: "cred_01jc4k8v3e7q9m2xw5r6t8y0zb",
    reason: "compromise",
    mode: "rotate",
    state: "running",
    plan: ["revoke_old", "create", "propagate", "verify", "promote", "done"],
    step: "create",
    requested_by: "github",
    old_fingerprint: OLD_FP,
    created_at: "2026-08-22T10:00:00.000Z",
    updated_at: "2026-08-22T10:00:00.000Z",
    ...over,
  });

describe("fromEngineEvent", () => {
  it("maps each engine event with fingerprint prefixes only", async () => {
    const step = await fromEngineEvent({ type: "rotation.step", rotation: rotation(), step: "revoke_old" }, NOW);
    expect(step).toMatchObject({
      type: "rotation.step",
      source: "/rekey/engine",
      subject: "credential/cred_01jc4k8v3e7q9m2xw5r6t8y0zb",
      data: { step: "revoke_old", next_step: "create", state: "running" },
    });
    const done = await fromEngineEvent({
      type: "rotation.completed",
      rotation: rotation({ state: "done", step: "done", new_fingerprint: NEW_FP }),
    }, NOW);
    expect(done.data).toMatchObject({ old_fingerprint_prefix: "9f86d081", new_fingerprint_prefix: "60303ae2" });
    const failed = await fromEngineEvent(
      {
        type: "rotation.failed",
        rotation: rotation({
          state: "failed",
          error: {
            code: "clarifai_invalid_key",
            message: "Create key failed: invalid_key",
            clarifai_code: 11102,
            step: "create",
          },
        }),
      },
      NOW,
    );
    expect(failed.data).toEqual({
      credential_id: "cred_01jc4k8v3e7q9m2xw5r6t8y0zb",
      rotation_id: "rot_01jc4k9a0b1c2d3e4f5g6h7j8k",
      reason: "compromise",
      mode: "rotate",
      step: "create",
      error_code: "clarifai_invalid_key",
      clarifai_code: 11102,
      // Recorded as "github" before actors existed: the audit trail names it as issue 18 does.
      actor: "github-partner",
    });
    const revoked = await fromEngineEvent(
      {
        type: "credential.revoked",
        credentialId: "cred_01jc4k8v3e7q9m2xw5r6t8y0zb",
        fingerprint: OLD_FP,
        reason: "grace_expired",
        actor: "sweep",
      },
      NOW,
    );
    expect(revoked.data).toEqual({
      credential_id: "cred_01jc4k8v3e7q9m2xw5r6t8y0zb",
      fingerprint_prefix: "9f86d081",
      reason: "grace_expired",
      actor: "sweep",
    });
    for (const e of [step, done, failed, revoked]) expect(JSON.stringify(e)).not.toContain(OLD_FP);
  });

  it("gives a re-emitted transition the same id, so handlers see it once", async () => {
    const dispatcher = new Dispatcher({ ledger: new MemoryLedger() });
    const bus = new MemoryBus(dispatcher);
    let n = 0;
    dispatcher.subscribe("rotation.completed", "notifier", () => void n++);
    const emit = engineEmitter(bus, () => NOW);
    const r = rotation({ state: "done", step: "done" });
    await emit({ type: "rotation.completed", rotation: r });
    await emit({ type: "rotation.completed", rotation: r });
    expect(bus.published[0]!.id).toBe(bus.published[1]!.id);
    expect(n).toBe(1);
  });
});
