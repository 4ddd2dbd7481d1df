/**
 * What dead work on a credential means for its rotation (./dead-work.ts): pure logic over two
 * or three reads, so on the memory store. Owed to the sweep only while the rotation the work was
 * for runs, is young, and the death was the replay's retries running out (not the sweep's own
 * resume, not a permanent failure); settled: the engine's own announcements again, same ids; anything else, and a store that
 * cannot answer: `rotation.failed`. End to end, on the Worker: test/workers/split-drive.test.ts
 * ("a replay whose every delivery failed").
 */
import { describe, expect, it } from "vitest";
import { credentialRecord, rotationRecord } from "../../../test/support/records.ts";
import { sampleData } from "../../../test/support/sample-events.ts";
import type { DeadLetterInfo } from "../bus/bus.ts";
import type { BusEvent } from "../bus/events.ts";
import { fromEngineEvent } from "../bus/engine-events.ts";
import { deriveId, newEvent } from "../bus/new-event.ts";
import type { CredentialRecord } from "../credentials/credential.ts";
import type { Rotation } from "../rotation/rotation.ts";
import { terminalEvents } from "../rotation/terminal-events.ts";
import { MemoryStore } from "../store/memory-store.ts";
import { iso } from "../time.ts";
import { type DeadWork, deadWork, OWED_MAX_AGE_MS, OWED_MAX_ATTEMPTS } from "./dead-work.ts";

const NOW = Date.parse("2026-06-01T12:00:00.000Z");
const MIN = 60_000;
/** The alert's arrival: its replay died about 5 minutes later (core/bus/backoff.ts). */
const ALERTED = NOW - 6 * MIN;
const exhausted: DeadLetterInfo = { reason: "retries_exhausted" };
/** The leaked value's fingerprint: sampleData's `credential.compromised` names its prefix. */
const LEAKED = "9f86d081leakedvaluefingerprint";

interface Setup {
  /** The current rotation's record (`intentOnly`: its intent alone, no record). */
  current?: Partial<Rotation>;
  intentOnly?: boolean;
  /** The intent's reason, when it differs from the record's (a routine rotation escalated). */
  intentReason?: Rotation["reason"];
  /** The last settled rotation (`last_rotation` and its record). */
  last?: Partial<Rotation>;
  /** More rotation records, not named by the credential. */
  others?: Partial<Rotation>[];
}

/** A credential whose current value is the leaked one, with the rotations given. */
async function stored(s: Setup = {}) {
  const store = new MemoryStore();
  const rec: CredentialRecord = credentialRecord({ fingerprint: LEAKED });
  const rot = (over: Partial<Rotation>) =>
    rotationRecord(rec.id, {
      reason: "compromise",
      old_fingerprint: LEAKED,
      created_at: iso(ALERTED),
      step: "propagate",
      ...over,
    });
  const current = s.current ? rot(s.current) : undefined;
  const last = s.last ? rot({ state: "done", step: "done", finished_at: iso(NOW - MIN), ...s.last }) : undefined;
  const others = (s.others ?? []).map(rot);
  if (current) {
    rec.current_rotation = {
      id: current.id,
      reason: s.intentReason ?? current.reason,
      mode: current.mode,
      requested_by: "webhook",
      created_at: current.created_at,
    };
  }
  if (last) rec.last_rotation = lastOf(last);
  await store.putCredential(rec, null);
  for (const r of [...(current && !s.intentOnly ? [current] : []), ...(last ? [last] : []), ...others]) {
    await store.putRotation(r, null);
  }
  return { store, rec, current, last, others };
}

const lastOf = (r: Rotation) => ({
  id: r.id,
  state: r.state as "done" | "failed",
  reason: r.reason,
  finished_at: r.finished_at!,
});

/** The rotator's replay of the alert, timed at the alert's arrival (core/alerts/pipeline.ts). */
const compromised = (credentialId: string, prefix = LEAKED.slice(0, 8)) =>
  newEvent("credential.compromised", {
    ...sampleData["credential.compromised"],
    credential_id: credentialId,
    fingerprint_prefix: prefix,
  }, { source: "/rekey/hooks/webhook", now: ALERTED });

/** A `rotation.requested` naming `rotationId`: an operator's (`/rekey/admin`) or the sweep's resume (`/rekey/cron`). */
const requested = (credentialId: string, rotationId: string, source = "/rekey/admin") =>
  newEvent("rotation.requested", {
    ...sampleData["rotation.requested"],
    credential_id: credentialId,
    rotation_id: rotationId,
  }, { source, now: ALERTED });

/** The dead-letter's `rotation.failed`, with the code the dead letter gives it. */
const failedWith = (event: BusEvent, code = "dead_letter_retries_exhausted") => ({
  failed: expect.objectContaining({
    type: "rotation.failed",
    data: {
      credential_id: (event.data as { credential_id: string }).credential_id,
      ...((event.data as { rotation_id?: string }).rotation_id
        ? { rotation_id: (event.data as { rotation_id: string }).rotation_id }
        : {}),
      error_code: code,
    },
  }),
});

describe("dead work on a credential", () => {
  it("(memory store) is owed to the sweep: the compromise rotation of the leaked value, young, running or only intended, when the replay's retries ran out", async () => {
    const running = await stored({ current: { next_attempt_at: iso(NOW + 4_000), attempts: 6 } });
    expect(await deadWork(running.store, compromised(running.rec.id), exhausted, NOW)).toEqual({
      rotation: { id: running.current!.id, state: "running" },
    });
    const intent = await stored({ current: {}, intentOnly: true });
    expect(await deadWork(intent.store, compromised(intent.rec.id), exhausted, NOW)).toEqual({
      rotation: { id: intent.current!.id, state: "running" },
    });
    // A routine rotation the compromise joined is escalated (rotation/begin.ts `escalate`): its record says so.
    const escalated = await stored({ current: {}, intentReason: "scheduled" });
    expect(await deadWork(escalated.store, compromised(escalated.rec.id), exhausted, NOW)).toEqual({
      rotation: { id: escalated.current!.id, state: "running" },
    });
    // An operator's request naming the running rotation.
    const asked = await stored({ current: { reason: "manual" } });
    expect(await deadWork(asked.store, requested(asked.rec.id, asked.current!.id), exhausted, NOW)).toEqual({
      rotation: { id: asked.current!.id, state: "running" },
    });
  });

  it("(memory store) is rotation.failed when the dead event is the sweep's own resume of that rotation", async () => {
    const { store, rec, current } = await stored({ current: { reason: "scheduled" } });
    const resume = requested(rec.id, current!.id, "/rekey/cron");
    expect(await deadWork(store, resume, exhausted, NOW)).toEqual(failedWith(resume));
  });

  it("(memory store) is rotation.failed for a permanent rotator failure, even while the rotation runs", async () => {
    const { store, rec } = await stored({ current: {} });
    const event = compromised(rec.id);
    expect(await deadWork(store, event, { reason: "permanent", failure: "rotator:conflict" }, NOW)).toEqual(
      failedWith(event, "dead_letter_conflict"),
    );
  });

  it("(memory store) is rotation.failed for a rotation past the bounds: running OWED_MAX_AGE_MS, or OWED_MAX_ATTEMPTS failed drives", async () => {
    const old = await stored({ current: { created_at: iso(NOW - OWED_MAX_AGE_MS) } });
    expect(await deadWork(old.store, compromised(old.rec.id), exhausted, NOW)).toEqual(
      failedWith(compromised(old.rec.id)),
    );
    const tried = await stored({ current: { attempts: OWED_MAX_ATTEMPTS } });
    expect(await deadWork(tried.store, compromised(tried.rec.id), exhausted, NOW)).toEqual(
      failedWith(compromised(tried.rec.id)),
    );
    // Just inside both, still owed.
    const inside = await stored({
      current: { created_at: iso(NOW - OWED_MAX_AGE_MS + 1), attempts: OWED_MAX_ATTEMPTS - 1 },
    });
    expect((await deadWork(inside.store, compromised(inside.rec.id), exhausted, NOW)).rotation?.state).toBe("running");
  });

  it("(memory store) is rotation.failed while a rotation runs that is not the work's: routine, of another value, or another one than named", async () => {
    const routine = await stored({ current: { reason: "scheduled" } });
    const other = await stored({ current: { old_fingerprint: "0123abcdanothervalue" } });
    const named = await stored({ current: {} });
    for (
      const [store, event] of [
        [routine.store, compromised(routine.rec.id)],
        [other.store, compromised(other.rec.id)],
        [named.store, requested(named.rec.id, "rot_someotherrotation0000000")],
      ] as const
    ) {
      expect(await deadWork(store, event, exhausted, NOW)).toEqual(failedWith(event));
    }
  });

  it("(memory store) is no dead-letter rotation.failed when the work's rotation has settled: named, the compromise's last one, or done with its marker not yet cleared; it re-announces the engine's own events, same ids", async () => {
    // What the engine published (settle.ts `finishCredential`): its events' types, sources and ids.
    const engineSent = async (r: Rotation, revoked = false) =>
      (await Promise.all(terminalEvents(r, revoked).map((e) => fromEngineEvent(e, NOW)))).map(shape);
    const shape = (e: BusEvent) => ({ type: e.type, source: e.source, id: e.id, data: e.data });
    const settledOf = async (w: Promise<DeadWork>) => {
      const { settled, ...rest } = await w;
      return { ...rest, settled: settled?.map(shape) };
    };
    // The request named it; it settled failed: the engine's rotation.failed again, its id derived
    // from the rotation's (bus/engine-events.ts), so a copy of one that arrived is a duplicate.
    const failed = await stored({ last: { state: "failed", step: "create", reason: "manual" } });
    const again = await settledOf(deadWork(failed.store, requested(failed.rec.id, failed.last!.id), exhausted, NOW));
    expect(again).toEqual({
      rotation: { id: failed.last!.id, state: "failed" },
      settled: await engineSent(failed.last!),
    });
    expect(again.settled).toEqual([expect.objectContaining({
      type: "rotation.failed",
      source: "/rekey/engine",
      id: await deriveId("evt", "rotation.failed", failed.last!.id),
    })]);
    // Named, older than the last one: read by its id.
    const older = await stored({
      last: { reason: "manual" },
      others: [{ state: "done", step: "done", reason: "manual" }],
    });
    expect(await settledOf(deadWork(older.store, requested(older.rec.id, older.others[0]!.id), exhausted, NOW)))
      .toEqual({
        rotation: { id: older.others[0]!.id, state: "done" },
        settled: await engineSent(older.others[0]!),
      });
    // The replay's compromise rotation completed after the alert, its old value revoked: the engine
    // sent credential.revoked too. Another (routine) one runs since.
    const done = await stored({
      last: { old_revoked: true },
      current: { reason: "scheduled", old_fingerprint: "0123abcdnewvalue" },
    });
    const doneWork = await settledOf(deadWork(done.store, compromised(done.rec.id), exhausted, NOW));
    expect(doneWork).toEqual({ rotation: { id: done.last!.id, state: "done" }, settled: await engineSent(done.last!) });
    expect(doneWork.settled?.map((e) => e.type)).toEqual(["credential.revoked", "rotation.completed"]);
    // Done written, but its driver died before clearing the credential's marker (drive.ts `settle`).
    const window = await stored({ current: { state: "done", step: "done", finished_at: iso(NOW - MIN) } });
    expect(await settledOf(deadWork(window.store, compromised(window.rec.id), exhausted, NOW))).toEqual({
      rotation: { id: window.current!.id, state: "done" },
      settled: await engineSent(window.current!),
    });
    // Also for a permanent failure and for the sweep's own resume: the engine said what happened.
    expect(
      await settledOf(deadWork(failed.store, requested(failed.rec.id, failed.last!.id, "/rekey/cron"), {
        reason: "permanent",
        failure: "rotator:conflict",
      }, NOW)),
    ).toEqual({ rotation: { id: failed.last!.id, state: "failed" }, settled: await engineSent(failed.last!) });
  });

  it("(memory store) is rotation.failed when nothing will finish it: never begun, a settled one older than the alert, credential gone", async () => {
    const none = await stored();
    const before = await stored({ last: { finished_at: iso(ALERTED - MIN) } });
    for (
      const [store, event] of [
        [none.store, compromised(none.rec.id)],
        [before.store, compromised(before.rec.id)],
        [new MemoryStore(), compromised(none.rec.id)],
      ] as const
    ) {
      expect(await deadWork(store, event, exhausted, NOW)).toEqual(failedWith(event));
    }
  });

  it("(memory store) falls back to rotation.failed when the store cannot say", async () => {
    const { store, rec } = await stored({ current: {} });
    // The real store, whose rotation read fails (the credential's is answered).
    const failing = {
      getCredential: (id: string) => store.getCredential(id),
      getRotation: () => Promise.reject(new Error("storage unavailable (fault injected)")),
    };
    const event = compromised(rec.id);
    expect(await deadWork(failing, event, exhausted, NOW)).toEqual(failedWith(event));
  });

  it("(memory store) is nothing of the kind when another handler died, or for events that are not the rotator's work", async () => {
    const { store, rec } = await stored();
    expect(await deadWork(store, compromised(rec.id), { reason: "permanent", failure: "auditor:x" }, NOW)).toEqual({});
    const revoked = newEvent("credential.revoked", { ...sampleData["credential.revoked"], credential_id: rec.id }, {
      source: "/rekey/engine",
      now: NOW,
    });
    expect(await deadWork(store, revoked, exhausted, NOW)).toEqual({});
  });
});
