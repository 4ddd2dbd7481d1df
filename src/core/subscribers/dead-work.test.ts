/**
 * What dead work on a credential means for its rotation (./dead-work.ts), on the memory store:
 * a rotation the sweep will finish is owed to it, anything else is a `rotation.failed`, and a
 * store that cannot answer gives the `rotation.failed` of before. End to end, on the Worker:
 * test/workers/split-drive.test.ts ("a replay whose every delivery failed").
 */
import { describe, expect, it } from "vitest";
import { credentialRecord, rotationRecord } from "../../../test/support/records.ts";
import { sampleData } from "../../../test/support/sample-events.ts";
import { newEvent } from "../bus/new-event.ts";
import type { CredentialRecord } from "../credentials/credential.ts";
import type { Rotation } from "../rotation/rotation.ts";
import { MemoryStore } from "../store/memory-store.ts";
import { deadWork } from "./dead-work.ts";

const NOW = Date.parse("2026-06-01T12:00:00.000Z");
const exhausted = { reason: "retries_exhausted" as const };

/** A stored credential, with `rot` as its current rotation when given (`record: false`: the intent only). */
async function stored(rot?: Partial<Rotation>, opts: { record?: boolean } = {}) {
  const store = new MemoryStore();
  const rec: CredentialRecord = credentialRecord();
  const r = rotationRecord(rec.id, { reason: "compromise", ...rot });
  if (rot) {
    rec.current_rotation = {
      id: r.id,
      reason: "compromise",
      mode: "rotate",
      requested_by: "webhook",
      created_at: r.created_at,
    };
  }
  await store.putCredential(rec, null);
  if (rot && opts.record !== false) await store.putRotation(r, null);
  return { store, rec, rot: r };
}

const compromised = (credentialId: string) =>
  newEvent("credential.compromised", { ...sampleData["credential.compromised"], credential_id: credentialId }, {
    source: "/rekey/hooks/webhook",
    now: NOW,
  });

describe("dead work on a credential", () => {
  it("is owed to the sweep while its rotation runs, or only its intent was written", async () => {
    const running = await stored({ state: "running", step: "propagate", next_attempt_at: "2026-06-01T12:00:04.000Z" });
    expect(await deadWork(running.store, compromised(running.rec.id), exhausted, NOW)).toEqual({
      running: running.rot.id,
    });
    const intent = await stored({ state: "running" }, { record: false });
    expect(await deadWork(intent.store, compromised(intent.rec.id), exhausted, NOW)).toEqual({
      running: intent.rot.id,
    });
  });

  it("is a rotation.failed when nothing will finish it: never begun, settled, another rotation named, credential gone", async () => {
    const none = await stored();
    const settled = await stored({ state: "failed", finished_at: "2026-06-01T11:59:00.000Z" });
    const other = await stored({ state: "running" });
    const named = newEvent("rotation.requested", {
      ...sampleData["rotation.requested"],
      credential_id: other.rec.id,
      rotation_id: "rot_someotherrotation0000000",
    }, { source: "/rekey/cron", now: NOW });
    for (
      const [store, event] of [
        [none.store, compromised(none.rec.id)],
        [settled.store, compromised(settled.rec.id)],
        [other.store, named],
        [new MemoryStore(), compromised(none.rec.id)],
      ] as const
    ) {
      const work = await deadWork(store, event, exhausted, NOW);
      expect(work.running).toBeUndefined();
      expect(work.failed).toMatchObject({
        type: "rotation.failed",
        data: { credential_id: event.data.credential_id, error_code: "dead_letter_retries_exhausted" },
      });
    }
  });

  it("falls back to rotation.failed when the store cannot say", async () => {
    const { store, rec } = await stored({ state: "running" });
    // The real store, whose rotation read fails (the credential's is answered).
    const failing = {
      getCredential: (id: string) => store.getCredential(id),
      getRotation: () => Promise.reject(new Error("storage unavailable (fault injected)")),
    };
    const work = await deadWork(failing, compromised(rec.id), exhausted, NOW);
    expect(work.failed?.type).toBe("rotation.failed");
    expect(work.running).toBeUndefined();
  });

  it("is nothing of the kind when another handler died, or for events that are not the rotator's work", async () => {
    const { store, rec } = await stored();
    expect(await deadWork(store, compromised(rec.id), { reason: "permanent", failure: "auditor:x" }, NOW)).toEqual({});
    const revoked = newEvent("credential.revoked", { ...sampleData["credential.revoked"], credential_id: rec.id }, {
      source: "/rekey/engine",
      now: NOW,
    });
    expect(await deadWork(store, revoked, exhausted, NOW)).toEqual({});
  });
});
