import { describe, expect, it } from "vitest";
import { credentialRecord, rotationRecord } from "../../../test/support/records.ts";
import type { CredentialRecord } from "../credentials/credential.ts";
import type { Rotation } from "../rotation/rotation.ts";
import { MemoryStore } from "../store/memory-store.ts";
import { planSweep } from "./plan.ts";
import { dueActions, HANDOFF_GRACE_MS, nextActionAt } from "./rules.ts";

const NOW = Date.parse("2026-06-01T12:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

/** A credential whose rotation began `ageMs` ago, and that rotation's record. */
function running(ageMs: number, over: Partial<Rotation> = {}): { rec: CredentialRecord; rot: Rotation } {
  const rec = credentialRecord();
  const rot = rotationRecord(rec.id, { created_at: iso(NOW - ageMs), updated_at: iso(NOW - ageMs), ...over });
  rec.current_rotation = {
    id: rot.id,
    reason: "manual",
    mode: "rotate",
    requested_by: "test",
    created_at: rot.created_at,
  };
  return { rec, rot };
}

const resumes = (rec: CredentialRecord, rot: Rotation | null | undefined) =>
  dueActions(rec, NOW, rot).filter((a) => a.action === "resume");

describe("stuck rotations: resumed once no driver holds the lease (pure logic)", () => {
  it("resumes a one-minute-old rotation whose driver's lease has expired", () => {
    const { rec, rot } = running(60_000, { lease: { owner: "drv_dead", until: iso(NOW - 1) } });
    expect(resumes(rec, rot)).toEqual([
      expect.objectContaining({
        rule: "stuck_rotation",
        action: "resume",
        credential_id: rec.id,
        due_at: iso(NOW - 1),
        reason: `rotation ${rot.id} lost its driver (lease expired)`,
      }),
    ]);
  });

  it("leaves a rotation alone while its lease is held, however old the rotation is", () => {
    const { rec, rot } = running(6 * 3_600_000, { lease: { owner: "drv_live", until: iso(NOW + 30_000) } });
    expect(dueActions(rec, NOW, rot)).toEqual([]);
    // Held for the whole lease, then resumable at its end.
    expect(dueActions(rec, NOW + 29_999, rot)).toEqual([]);
    expect(dueActions(rec, NOW + 30_000, rot)).toMatchObject([{ action: "resume", due_at: iso(NOW + 30_000) }]);
  });

  it("waits for the retry time of a rotation backing off after transient failures", () => {
    const { rec, rot } = running(60_000, { attempts: 1, next_attempt_at: iso(NOW + 4_000) });
    expect(resumes(rec, rot)).toEqual([]);
    expect(dueActions(rec, NOW + 4_000, rot)).toMatchObject([{ action: "resume", due_at: iso(NOW + 4_000) }]);
  });

  it("resumes at once a rotation nobody leased, a missing record, and one settled but still named", () => {
    const fresh = running(1_000);
    expect(resumes(fresh.rec, fresh.rot)).toMatchObject([{ reason: `rotation ${fresh.rot.id} has no driver` }]);
    const missing = running(1_000);
    expect(resumes(missing.rec, null)).toMatchObject([{ reason: `rotation ${missing.rot.id} has no driver` }]);
    const settled = running(1_000, { state: "done", finished_at: iso(NOW - 500) });
    expect(resumes(settled.rec, settled.rot)).toMatchObject([{ action: "resume" }]);
  });

  it("waits HANDOFF_GRACE_MS for the rotator to finish a rotation handed over at containment", () => {
    // The alert's invocation stopped at containment (drive.ts stopAfter): no lease, contained_at set.
    const handedOver = { contained_at: iso(NOW - 2_500), handed_over_at: iso(NOW - 2_000) };
    const { rec, rot } = running(5_000, { ...handedOver, updated_at: iso(NOW - 2_000) });
    expect(resumes(rec, rot)).toEqual([]);
    expect(dueActions(rec, NOW - 2_000 + HANDOFF_GRACE_MS, rot)).toMatchObject([{
      action: "resume",
      due_at: iso(NOW - 2_000 + HANDOFF_GRACE_MS),
      reason: `rotation ${rot.id} was contained and handed to the rotator, which has not finished it`,
    }]);
    // A later write (the rotator drove it) does not move the grace, and once the rotator backs off
    // its retry time rules: a rotation the rotator had is not reported as a fresh handover.
    const later = running(5_000, { ...handedOver, updated_at: iso(NOW - 100) });
    expect(dueActions(later.rec, NOW - 2_000 + HANDOFF_GRACE_MS, later.rot)).toMatchObject([{ action: "resume" }]);
    const backingOff = running(5_000, { ...handedOver, next_attempt_at: iso(NOW + 4_000) });
    expect(dueActions(backingOff.rec, NOW + 4_000, backingOff.rot)).toMatchObject([{
      action: "resume",
      reason: `rotation ${backingOff.rot.id} has no driver`,
    }]);
  });

  it("puts a running rotation in the index as due from its start, so every sweep looks at its lease", () => {
    const { rec } = running(5_000, { lease: { owner: "drv_live", until: iso(NOW + 60_000) } });
    expect(nextActionAt(rec)).toBe(NOW - 5_000);
  });
});

describe("the plan reads each running rotation's lease (pure logic, memory store)", () => {
  it("lists the resume of the rotation whose lease expired, not of the one still held", async () => {
    const store = new MemoryStore();
    const dead = running(90_000, { lease: { owner: "drv_dead", until: iso(NOW - 30_000) } });
    const live = running(90_000, { lease: { owner: "drv_live", until: iso(NOW + 30_000) } });
    for (const { rec, rot } of [dead, live]) {
      await store.putCredential(rec, null);
      await store.putRotation(rot, null);
    }
    expect(await planSweep(store, NOW)).toEqual([
      expect.objectContaining({ rule: "stuck_rotation", credential_id: dead.rec.id }),
    ]);
  });
});
