/**
 * The fault matrix: every upstream call of a rotation fails once transiently, fails permanently,
 * or is processed by Clarifai with its response lost; and the driver "crashes" after each store
 * write. Every run must converge: rotation done (or failed with the old credential still
 * recorded), zero orphan keys carrying a rekey marker, zero lost values, zero duplicate keys.
 */
import { describe, expect, it } from "vitest";
import { crashAfterWrite } from "../support/crashing-store.ts";
import { beginRotation } from "../../src/core/rotation/begin.ts";
import { driveRotation } from "../../src/core/rotation/drive.ts";
import { payOwedRevocations } from "../../src/core/rotation/owed-revocations.ts";
import type { Rotation } from "../../src/core/rotation/rotation.ts";
import { currentValue, scenario } from "../support/engine-scenario.ts";

type Reason = "manual" | "compromise";
type Fault = "transient" | "permanent" | "lost_response";

async function runToEnd(s: Awaited<ReturnType<typeof scenario>>, rotationId: string): Promise<Rotation> {
  let r: Rotation | undefined;
  for (let i = 0; i < 6; i++) {
    try {
      r = await driveRotation(s.h.engine, s.cred.id, rotationId);
    } catch {
      // a crashed driver: its lease must expire before another may take over
    }
    if (r && r.state !== "running") return r;
    s.h.advance(s.h.engine.leaseMs + 1);
  }
  throw new Error(`rotation did not settle: ${JSON.stringify(r?.step)}`);
}

async function assertConverged(s: Awaited<ReturnType<typeof scenario>>, r: Rotation, reason: Reason, label = "") {
  const state = await s.h.state();
  const keys = state.keys.filter((k: any) => k.id !== s.managerKey.id && k.id !== s.h.seed.pat);
  const marked = keys.filter((k: any) => String(k.description ?? "").includes("[rekey:"));
  const { rec, value } = await currentValue(s.h, s.cred.id);
  const live = new Set(keys.map((k: any) => k.id));
  // No orphan: every marked key is the credential's current value.
  for (const k of marked) {
    expect(k.id, `${label}: orphan marked key (rotation ${r.state} at ${r.step}, ${r.error?.code})`).toBe(value);
  }
  expect(marked.length).toBeLessThanOrEqual(1);
  if (r.state === "done") {
    expect(value).not.toBe(s.original);
    expect(live.has(value)).toBe(true);
    expect(state.secrets.find((x: any) => x.id === s.sinkId)?.value).toBe(value);
    if (r.old_revoke_owed) {
      // Clarifai refused to delete the leaked key: replaced anyway, and its deletion is owed now.
      expect(reason).toBe("compromise");
      expect(rec.previous.find((p) => p.fingerprint === r.old_fingerprint)).toMatchObject({ leaked: true });
      expect((await payOwedRevocations(s.h.engine, s.cred.id)).revoked).toEqual([r.old_fingerprint]);
      expect((await s.h.state()).keys.map((k: any) => k.id)).not.toContain(s.original);
    } else {
      expect(live.has(s.original)).toBe(false);
    }
  } else {
    expect(r.state).toBe("failed");
    expect(r.error?.code).toBeTruthy();
    if (reason === "manual" && r.error?.step === "revoke_old") {
      // Promoted, then the old key's deletion failed: the old key stays recorded as owed.
      expect(value).not.toBe(s.original);
      const owed = rec.previous.find((p) => p.fingerprint === r.old_fingerprint);
      expect(owed?.value, `${label}: old value still recorded`).toBeDefined();
      expect(owed?.revoked_at).toBeUndefined();
      expect(live.has(s.original)).toBe(true);
      expect((await payOwedRevocations(s.h.engine, s.cred.id)).revoked).toEqual([r.old_fingerprint]);
      expect((await s.h.state()).keys.map((k: any) => k.id)).not.toContain(s.original);
    } else if (reason === "manual") {
      // Nothing lost: the old key is still the recorded, working value.
      expect(value).toBe(s.original);
      expect(live.has(s.original)).toBe(true);
      expect(rec.state).toBe("active");
    } else if (rec.state === "active") {
      // Compromise salvaged a replacement after revoking the leak.
      expect(live.has(value)).toBe(true);
    }
  }
  expect(rec.current_rotation).toBeUndefined();
}

async function cleanCallCount(reason: Reason) {
  const s = await scenario("app_key");
  const start = s.h.callCount();
  const begun = await beginRotation(s.h.engine, s.cred.id, { reason, mode: "rotate", requestedBy: "test" });
  if (!begun.ok) throw new Error(begun.code);
  expect((await driveRotation(s.h.engine, s.cred.id, begun.rotation.id)).state).toBe("done");
  return s.h.callCount() - start;
}

describe.each(["manual", "compromise"] as const)("fault matrix, %s rotation of an app key with a sink", (reason) => {
  it("converges whichever upstream call fails, and however (in-memory unit test of the logic)", async () => {
    const calls = await cleanCallCount(reason);
    expect(calls).toBeGreaterThanOrEqual(5);
    const outcomes: string[] = [];
    for (const fault of ["transient", "permanent", "lost_response"] as Fault[]) {
      for (let index = 0; index < calls; index++) {
        const s = await scenario("app_key");
        const base = s.h.callCount();
        s.h.hook.before = async (i, req) => {
          if (i !== base + index || fault === "lost_response") return;
          const permanent = fault === "permanent";
          await s.h.control("faults", {
            method: req.method,
            path: new URL(req.url).pathname,
            count: 1,
            status: permanent ? 403 : 503,
            code: permanent ? 11007 : 98004,
          });
        };
        s.h.hook.loseResponse = (i) => fault === "lost_response" && i === base + index;
        const begun = await beginRotation(s.h.engine, s.cred.id, { reason, mode: "rotate", requestedBy: "test" });
        if (!begun.ok) throw new Error(begun.code);
        const r = await runToEnd(s, begun.rotation.id);
        s.h.hook.before = undefined;
        s.h.hook.loseResponse = undefined;
        await assertConverged(s, r, reason, `${fault}@${index}`);
        outcomes.push(`${fault}@${index}:${r.state}`);
        if (fault === "transient" || fault === "lost_response") expect(r.state, `${fault}@${index}`).toBe("done");
      }
    }
    expect(outcomes.length).toBe(calls * 3);
  });

  it("converges when the driver crashes after any store write (in-memory unit test of the logic)", async () => {
    let crashed = 0;
    for (let k = 0; k < 40; k++) {
      const s = await scenario("app_key");
      const inner = s.h.engine.store;
      // The k-th write commits, then the driver "dies" before it can act on the result.
      const crashing = crashAfterWrite(inner, k);
      s.h.engine.store = crashing.store;
      const begun = await beginRotation(s.h.engine, s.cred.id, { reason, mode: "rotate", requestedBy: "test" }).catch(
        () => null,
      );
      const rotationId = begun?.ok
        ? begun.rotation.id
        : (await inner.getCredential(s.cred.id))!.value.current_rotation?.id;
      if (!rotationId) continue; // crashed before the intent was written: nothing started
      const r = await runToEnd(s, rotationId);
      if (!crashing.fired()) break; // k is past the last write of a whole rotation: the matrix is covered
      crashed++;
      await assertConverged(s, r, reason, `crash@${k}`);
      expect(r.state, `crash@${k}`).toBe("done");
    }
    expect(crashed).toBeGreaterThan(8);
  });
});
