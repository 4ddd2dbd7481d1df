/**
 * The rotator: the bus's durable path to the rotation engine (wired in ./handlers.ts).
 *
 * - `rotation.requested`: drive the named rotation (a trigger's fast path may already have finished
 *   it: then driving is a no-op), or begin one when no id is given (the sweep's requests).
 * - `credential.compromised`: contain the leak again from the event alone (credential id and
 *   fingerprint prefix): begin-or-join the compromise rotation, or revoke the leaked previous
 *   value. Every alert source publishes this one event, so containment survives the death of the
 *   request that received the alert. It is also how a compromise rotation ends: the alert's own
 *   invocation drives it only up to containment and gives its lease back there
 *   (core/alerts/contain.ts, drive.ts `stopAfter`), and this replay, in its own queue invocation,
 *   joins it and drives the rest (create, deliver, verify, promote) on.
 *
 * Neither drives a whole rotation in one invocation any more (CPU per invocation: BENCHMARKS.md
 * P5, "P5 on branch s29-split", "P5 on branch s31-split"): once the invocation has itself
 * delivered the replacement (drive.ts `HAND_OFF_AFTER`, propagate), it hands verify and promote to
 * a continuation, `rotation.requested` naming the rotation, published on `bus`, and returns; that
 * event's own invocation goes on. It hands off once more after promote when the routine plan's
 * revoke_old deletes the old value at once (grace 0): a second continuation, whose invocation
 * makes that DELETE and announces the rotation. A revoke_old in its grace period (owed to the
 * sweep) is driven on in the same invocation. Never while a compromise's leaked value is still
 * live (drive.ts `mayHandOff`): a routine rotation an alert escalated is driven through its
 * revoke_old here. The cost: one more queue hop and consumer invocation for each hand-off (the
 * consumer's 1 s batch timeout, plus its claims and auditor) before the delivered replacement is
 * verified and promoted, and again before a grace-0 old value is deleted and the rotation
 * announced; containment is never later.
 *
 * A rotation still running after its retry budget fails the handler retryably, so the queue
 * redelivers it with backoff.
 */
import type { EventBus } from "../bus/bus.ts";
import type { EventOf } from "../bus/events.ts";
import { handlerFailure } from "../bus/errors.ts";
import { requesterSchema } from "../bus/fields.ts";
import { deriveId, newEvent } from "../bus/new-event.ts";
import { actorOf } from "../audit/actor.ts";
import { fingerprintPrefix } from "../crypto/fingerprint.ts";
import { replayCompromise } from "../alerts/pipeline.ts";
import { isFailure } from "../failure.ts";
import { beginRotation } from "../rotation/begin.ts";
import { driveRotation, HAND_OFF_AFTER } from "../rotation/drive.ts";
import { containmentStep } from "../rotation/step-plan.ts";
import type { EngineServices } from "../rotation/engine-services.ts";
import type { Rotation } from "../rotation/rotation.ts";

/**
 * `rotation.requested`: drive the named rotation, or begin one when no id is given. `bus`: where
 * a continuation is published (see above); without one (a direct call) the rotation is driven to
 * its end here. A request's own fast path (core/rotation/request.ts) drives the rotation it names
 * up to the same hand-off and leaves the rest to this event, which the queue often delivers while
 * that fast path still holds the lease: it waits for the lease (`HOLDER_WAIT_MS`), as the replay
 * of `credential.compromised` does, rather than fail retryably and finish it one backoff (10 s)
 * later.
 */
export async function driveRequested(
  loadEngine: () => Promise<EngineServices>,
  event: EventOf<"rotation.requested">,
  bus?: EventBus,
): Promise<void> {
  const engine = await loadEngine();
  const { credential_id, reason, mode, requested_by } = event.data;
  let rotationId = event.data.rotation_id;
  if (!rotationId) {
    const begun = await beginRotation(engine, credential_id, { reason, mode, requestedBy: requested_by });
    if (!begun.ok) {
      // Gone or revoked since the request: nothing left to do. Anything else cannot pass by retrying.
      if (begun.code === "credential_not_found" || begun.code === "credential_revoked") return;
      throw handlerFailure(begun.code, `Cannot begin the requested rotation: ${begun.code}`, { retryable: false });
    }
    rotationId = begun.rotation.id;
  }
  await driveToEnd(engine, credential_id, rotationId, HOLDER_WAIT_MS, bus);
}

/** `credential.compromised`: contain the leak again from the event alone (core/alerts/pipeline.ts). */
export async function containAgain(
  loadEngine: () => Promise<EngineServices>,
  event: EventOf<"credential.compromised">,
  bus?: EventBus,
): Promise<void> {
  const engine = await loadEngine();
  const prefix = event.data.fingerprint_prefix;
  const r = await replayed(engine, event, bus);
  if (!r) return;
  if (fingerprintPrefix(r.old_fingerprint) === prefix) {
    // Acknowledging would leave the leak to a rollback's debt (or to nothing): the redelivery, with
    // the credential's slot free, begins a compromise rotation that deletes it first.
    if (await leakOutlived(engine, r)) throw notContained(r);
    if (r.reason !== "compromise" && !r.old_revoked) {
      // Still running as routine: the escalation did not take (begin.ts `escalate` gives up after
      // its compare-and-swap retries), so its revoke_old would keep the leaked value for its grace
      // period. The redelivery joins again, or finds it over (below).
      if (r.state === "running") throw notContained(r, "is still running as routine");
      // Joined as it settled routine (the escalation came too late to count): its old value, the
      // leaked one, may still be held for its grace period. Matched again by that value's whole
      // fingerprint, not the event's prefix (a collision would steer a prefix match to the value
      // promote made current): revoked now (contain.ts `revokePreviousNow`), or found dead. It is
      // current again only if promote never happened, which a done rotation rules out; a rotation
      // begun for it anyway is left to the redelivery.
      if (r.state === "done") {
        const again = await matchAgain(engine, event, r.old_fingerprint);
        if (again) throw notContained(again.rotation, "is another value's");
      }
    }
    return;
  }
  // The leaked value is not the one the joined rotation retires but the one its promote made
  // current (begin.ts `escalate` leaves that rotation routine): it is still to be contained.
  // Handed off, still running: the redelivery comes back once it is over, if the value still works.
  if (r.state === "running") {
    if (await liveCurrent(engine, r.credential_id, prefix)) throw notContained(r, "is still running");
    return;
  }
  await containSuccessor(engine, event, bus);
}

/** The replay's containment (core/alerts/contain.ts), its rotation driven as far as this invocation goes. */
async function replayed(engine: EngineServices, event: EventOf<"credential.compromised">, bus?: EventBus) {
  const c = await matchAgain(engine, event);
  return c ? await driveToEnd(engine, c.credentialId, c.rotation.id, HOLDER_WAIT_MS, bus) : undefined;
}

/**
 * The event's leak matched afresh: a previous value is revoked at once and a refusal thrown; a
 * rotation begun or joined is returned, to be driven.
 */
async function matchAgain(engine: EngineServices, event: EventOf<"credential.compromised">, exact?: string) {
  // The event's time is the alert's arrival (core/alerts/pipeline.ts): containment is timed from it.
  const c = await replayCompromise(engine, event.data, Date.parse(event.time), exact);
  if (c.action === "revoke_previous") await c.run();
  else if (c.action === "refused") {
    throw handlerFailure(c.code, `Cannot contain the compromise: ${c.code}`, { retryable: false });
  }
  return c.action === "rotation" ? c : null;
}

/**
 * The compromise rotation of the value a routine rotation's promote made current, begun now that
 * that rotation is over (the credential is free), from a fresh match (the value may have become a
 * previous one meanwhile, or died), and driven here only up to containment, as an alert's own
 * invocation would (core/alerts/contain.ts `run`: the rest is a continuation's, in an invocation
 * of its own, for the CPU one invocation may use, BENCHMARKS.md P5). Without a bus (a direct
 * call) it is driven to its end.
 */
async function containSuccessor(
  engine: EngineServices,
  event: EventOf<"credential.compromised">,
  bus?: EventBus,
): Promise<void> {
  const c = await matchAgain(engine, event);
  if (!c) return;
  // Joined another rotation again (one began in between): the redelivery looks once it is over.
  if (fingerprintPrefix(c.rotation.old_fingerprint) !== event.data.fingerprint_prefix) {
    throw notContained(c.rotation, "is another value's");
  }
  if (!bus) return void (await driveToEnd(engine, c.credentialId, c.rotation.id, HOLDER_WAIT_MS));
  const rec = (await engine.store.getCredential(c.credentialId))?.value;
  if (!rec) return; // unmanaged meanwhile
  let r: Rotation;
  try {
    r = await driveRotation(engine, rec.id, c.rotation.id, { stopAfter: containmentStep(rec.kind, c.rotation.mode) });
  } catch (error) {
    // Unmanaged meanwhile (and its rotations with it), as `driveToEnd` treats it: nothing to contain.
    if (isFailure(error, "step") && (error.code === "rotation_not_found" || error.code === "credential_not_found")) {
      return;
    }
    throw error;
  }
  if (r.state !== "running") return;
  if (r.lease) throw notContained(r, "is held by another driver"); // the redelivery finds it again
  await publishContinuation(engine, bus, r);
}

const notContained = (r: Rotation, why = "settled without containing the leak") =>
  handlerFailure("compromise_not_contained", `Rotation "${r.id}" ${why}`, { retryable: true });

/**
 * Whether the rotation a replay joined settled `failed` with the leaked value (its old value) still
 * working: a routine plan (create first, revoke_old last) whose rollback handed the old value back,
 * whether a compromise escalated it (begin.ts `escalate`; drive.ts owes the value then) or the
 * escalation came too late to count (the rotation had settled as routine). Only a routine plan:
 * a compromise plan kills the leaked value before anything it could roll back (step-plan.ts), or
 * owes it when Clarifai refuses (containment.ts) or, for a secret whose propagate failed for good,
 * when its rollback put the value back (drive.ts `oweRestoredLeak`: the sweep deletes the secret),
 * so the compromise rotation the redelivery begins never meets this and the retries end there; a
 * compromise that failed for good is acknowledged.
 * A value promote superseded (revoke_old failed after it) is still held as a `previous` entry: a
 * redelivery revokes it at once (contain.ts `revokePreviousNow`) instead of leaving it to the sweep.
 */
async function leakOutlived(engine: EngineServices, r: Rotation): Promise<boolean> {
  const promoteAt = r.plan.indexOf("promote");
  const routinePlan = promoteAt !== -1 && r.plan.indexOf("revoke_old") > promoteAt;
  if (r.state !== "failed" || r.old_revoked || !routinePlan) return false;
  const rec = (await engine.store.getCredential(r.credential_id))?.value;
  if (!rec || rec.state === "revoked") return false;
  if (rec.previous.some((p) => p.fingerprint === r.old_fingerprint && p.revoked_at)) return false;
  // Still current (rolled back), or a superseded value still held (promoted, then revoke_old failed).
  return rec.fingerprint === r.old_fingerprint ||
    rec.previous.some((p) => p.fingerprint === r.old_fingerprint && !!p.value);
}

/**
 * The credential, when the leaked value (`prefix`) is its current value and still live: a leak of
 * the value a routine rotation's promote just made current, which joins that rotation without
 * escalating it (begin.ts `escalate`). Acknowledging would drop that leak.
 */
async function liveCurrent(engine: EngineServices, credentialId: string, prefix: string) {
  const rec = (await engine.store.getCredential(credentialId))?.value;
  return rec && rec.state !== "revoked" && fingerprintPrefix(rec.fingerprint) === prefix ? rec : null;
}

/**
 * How long the replay of `credential.compromised` (or a `rotation.requested`) waits, in this
 * invocation, for another driver's lease (the alert's own invocation driving up to containment: a
 * self-managed PAT's create, a secret's propagate, an app key whose early DELETE failed; a
 * request's fast path driving up to its hand-off) before failing retryably. The event is
 * published before that driver stops and the queue delivers it within about a second, so the replay
 * often arrives while the lease is still held; without the wait its first retry comes after the
 * consumer's backoff (10 s) and the replacement with it. Waiting costs wall time, not CPU, and one
 * rotation read per poll (at most 6 subrequests).
 */
const HOLDER_WAIT_MS = 3_000;
const HOLDER_POLL_MS = 500;

/**
 * The continuation: `rotation.requested` naming `r`, one per hand-off (its id is derived from the
 * rotation's and the step it goes on from, so a hand-off published twice is one event while the
 * next hand-off of the same rotation is not dropped as its duplicate by the ledger).
 */
async function publishContinuation(engine: EngineServices, bus: EventBus, r: Rotation): Promise<void> {
  const requestedBy = requesterSchema.safeParse(r.requested_by).success ? r.requested_by : "rotator";
  const actor = actorOf(r.requested_by);
  await bus.publish(
    newEvent("rotation.requested", {
      credential_id: r.credential_id,
      rotation_id: r.id,
      reason: r.reason,
      mode: r.mode,
      requested_by: requestedBy,
      ...(r.approved_by && requesterSchema.safeParse(r.approved_by).success ? { approved_by: r.approved_by } : {}),
      ...(actor ? { actor } : {}),
    }, {
      source: CONTINUATION_SOURCE,
      subject: `credential/${r.credential_id}`,
      id: await deriveId("evt", "rotation.continue", r.id, r.step),
      now: engine.now(),
    }),
  );
}

/**
 * The continuation's source: not the sweep's (`/rekey/cron`), so its dead letter, with the rotation
 * still running, is "owed to the sweep" like the replay's (core/subscribers/dead-work.ts).
 */
const CONTINUATION_SOURCE = "/rekey/rotator";

async function driveToEnd(
  engine: EngineServices,
  credentialId: string,
  rotationId: string,
  holderWaitMs = 0,
  bus?: EventBus,
): Promise<Rotation | undefined> {
  let handedOff = false;
  const handOff = bus
    ? {
      after: HAND_OFF_AFTER,
      publish: async (r: Rotation) => {
        await publishContinuation(engine, bus, r);
        handedOff = true;
      },
    }
    : undefined;
  const once = async (): Promise<Rotation | undefined> => {
    try {
      return await driveRotation(engine, credentialId, rotationId, handOff ? { handOff } : {});
    } catch (error) {
      // The credential was unmanaged (and its rotations with it) since the request: done.
      if (
        isFailure(error, "step") && (error.code === "rotation_not_found" || error.code === "credential_not_found")
      ) return undefined;
      throw error;
    }
  };
  let r = await once();
  // Returned still running with a lease: another driver holds it (this one's own drive would have
  // finished it, or released the lease when backing off).
  for (let waited = 0; r?.state === "running" && r.lease && waited < holderWaitMs; waited += HOLDER_POLL_MS) {
    await engine.sleep(HOLDER_POLL_MS);
    r = await once();
  }
  if (!r || handedOff) return r;
  if (r.state === "running") {
    throw handlerFailure("rotation_still_running", `Rotation "${r.id}" is still at step "${r.step}"`, {
      retryable: true,
    });
  }
  return r;
}
