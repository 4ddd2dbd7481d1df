/**
 * Driving a rotation through its steps. Any number of drivers may call `driveRotation` for the
 * same rotation (the request's fast path, a queue redelivery, the cron sweep): a lease written by
 * compare-and-swap lets one of them work while the others return at once, and every step's result
 * is persisted by compare-and-swap before the next step begins. A driver that dies mid-step leaves
 * the lease to expire; the next driver repeats that step, which every step tolerates (steps.ts).
 */
import type { CredentialRecord } from "../credentials/credential.ts";
import type { Versioned } from "../store/store.ts";
import { markPreviousRevoked, oweLeakedRevocation, promote } from "./credential-transitions.ts";
import type { EngineServices } from "./engine-services.ts";
import { containInstead, type Containment, managerLostAtRollback, mayNeedContainment } from "./containment.ts";
import { containmentStep, nextStep } from "./step-plan.ts";
import { mayHandOff } from "./hand-off.ts";
import { rollback } from "./rollback.ts";
import type { Rotation, Step } from "./rotation.ts";
import { announceSettled, releaseCredential, safeEmit, settleRotation } from "./settle.ts";
import { type AnyFailure, toFailure } from "../failure.ts";
import { rotationError, stepFailure } from "./step-error.ts";
import * as steps from "./steps.ts";
import { updateCredential } from "./update-credential.ts";
import { open, promotedValues } from "./values.ts";
import { CURRENT_VALUE, previousValue } from "../credentials/credential.ts";
import { randomId } from "../crypto/random.ts";
import { materialise } from "./begin.ts";
import { iso } from "../time.ts";
import { backoffDelay } from "../backoff.ts";

/**
 * A leaked value Clarifai already confirmed deleted before its rotation was driven (containment's
 * early DELETE, core/alerts/contain.ts `deleteAtOnce`): its fingerprint, and when Clarifai
 * answered (ms), the rotation's `contained_at`.
 */
export interface EarlyRevocation {
  fingerprint: string;
  at: number;
}

/**
 * What an early revocation changes in `r`: the old value is recorded as revoked, so revoke_old
 * does not delete it again, promote drops it instead of keeping it sealed, and a rollback promotes
 * the replacement rather than hand the sinks a dead (and leaked) value back. Nothing when it is
 * not this rotation's old value, is already recorded, or the rotation is past its promote (the
 * value is then a `previous` entry that the revoke_old step or the sweep marks).
 */
function earlyRevocationPatch(r: Rotation, early: EarlyRevocation | undefined): Partial<Rotation> | null {
  if (!early || r.old_revoked || r.old_fingerprint !== early.fingerprint) return null;
  const promoteAt = r.plan.indexOf("promote");
  if (promoteAt !== -1 && r.plan.indexOf(r.step) > promoteAt) return null;
  return {
    old_revoked: true,
    ...(r.reason === "compromise" && !r.contained_at ? { contained_at: iso(early.at) } : {}),
  };
}

export interface DriveOptions {
  /** The leaked value's early DELETE, already confirmed (`EarlyRevocation`). */
  revoked?: EarlyRevocation;
  /**
   * Drive only up to this step of the plan: once it is done (or, for revoke_old, once the old
   * value is recorded revoked, by this step or an early DELETE) the write that records it also
   * releases the lease and the driver returns the rotation still running. An alert's own
   * invocation stops after containment (step-plan.ts `containmentStep`) and leaves the rest to the
   * rotator's replay of `credential.compromised` in its own queue invocation (CPU per invocation:
   * BENCHMARKS.md P5). The released lease lets that replay lease the rotation at once; a replay
   * that arrives first holds the lease, and this driver only records its early DELETE by
   * compare-and-swap and returns, so there is one driver either way.
   */
  stopAfter?: Step;
  /**
   * The rotation's record as its begin just wrote it, used for the first lease instead of reading
   * it again (one Durable Object call and its parse fewer). A stale copy costs a retry: the lease
   * is a compare-and-swap on its version.
   */
  known?: Versioned<Rotation>;
  /**
   * Hand the rest of the rotation to a continuation once this driver has done one of these steps
   * itself (not when it leased the rotation past it), and the step after it has work to do at once
   * (`StepDone.nextIdle`: a revoke_old in its grace period has none): the write that records the
   * step releases the lease and stamps `handed_over_at`, then `handOff.publish` is awaited (the
   * rotator publishes `rotation.requested` naming the rotation) and the driver returns the rotation
   * still running. Only where `mayHandOff` holds: never while a compromise's leaked value is live.
   */
  handOff?: { after: ReadonlySet<Step>; publish: (r: Rotation) => Promise<void> };
}

/**
 * Where an invocation hands the rest of a rotation to a continuation (`DriveOptions.handOff`).
 *
 * - After propagate, once it has delivered the replacement itself. Measured against a split after
 *   create (BENCHMARKS.md "P5 on branch s29-split"): after create, the continuation would carry the
 *   delivery (a GitHub Actions secret's public-key fetch, sealed box, PUT and read-back) and verify
 *   and promote, the larger half (up to 9.6 ms); after propagate the two halves are within about
 *   1 ms (the costlier at most 9.0 ms, against 11-15 ms for the whole on main at the same load),
 *   and the replacement is already where its consumers read it while the continuation waits in the
 *   queue. The cost: about 2.4 ms more CPU over the two invocations (the second consumer's claims
 *   and auditor, the records read and leased again), one queue send, and verify, promote and
 *   `rotation.completed` one queue hop (about 1 s) later. A plan whose propagate is not this
 *   invocation's (a secret's, whose propagate was its containment in the alert's invocation) is
 *   driven on to the next hand-off or its end.
 * - After promote, when revoke_old is next and deletes the old value at once (a routine plan with
 *   grace 0: `revokeOldDeletesNow`): verify, promote and that DELETE with its record update and
 *   announcements in one continuation were 5.8-11.3 ms (median 7.0) in eight runs, the two halves
 *   3.1-6.9 and 3.7-5.9 ms (BENCHMARKS.md "P5 on branch s31-split"). A revoke_old in its grace
 *   period only owes the value to the sweep, so the continuation goes on through it to the end, as
 *   before. A compromise's plan has no revoke_old after promote, and an escalated routine rotation
 *   never waits (`mayHandOff`). The cost: the old (not leaked) value dies one more queue hop
 *   (about 1 s) after promote, and about 2 ms more CPU over the two invocations.
 *
 * Used by the rotator (core/subscribers/rotator.ts), whose continuation is published for each
 * hand-off. A request's fast path (./request.ts) hands off at `HAND_OFF_AFTER_DELIVERY` only: its
 * own `rotation.requested` is its one continuation, which the rotator then drives with these.
 */
export const HAND_OFF_AFTER_DELIVERY: ReadonlySet<Step> = new Set<Step>(["propagate"]);
export const HAND_OFF_AFTER: ReadonlySet<Step> = new Set<Step>(["propagate", "promote"]);

/** Whether `r` is past `stopAfter` (see `DriveOptions`); never when the plan has no such step. */
function pastStop(r: Rotation, stopAfter: Step | undefined): boolean {
  if (!stopAfter) return false;
  const stop = r.plan.indexOf(stopAfter);
  if (stop === -1) return false;
  return r.plan.indexOf(r.step) > stop || (r.step === stopAfter && stopAfter === "revoke_old" && r.old_revoked);
}

export async function driveRotation(
  engine: EngineServices,
  credentialId: string,
  rotationId: string,
  opts: DriveOptions = {},
): Promise<Rotation> {
  const owner = randomId("drv", engine.now());
  // The latest version of the rotation while this driver holds its lease.
  let held: Versioned<Rotation> | null = null;
  let known = opts.known?.value.id === rotationId && opts.known.value.credential_id === credentialId
    ? opts.known
    : undefined;
  for (let guard = 0; guard < 64; guard++) {
    if (!held) {
      const cur = known ?? await engine.store.getRotation(credentialId, rotationId);
      known = undefined;
      if (!cur) {
        // The intent was written but its record not yet (a crash inside beginRotation): create it.
        const rec = (await engine.store.getCredential(credentialId))?.value;
        if (rec?.current_rotation?.id === rotationId && (await materialise(engine, rec))) continue;
        throw stepFailure(false, "rotation_not_found", `Rotation "${rotationId}" does not exist`);
      }
      const r = cur.value;
      if (r.state !== "running") return settleRotation(engine, r);
      const early = earlyRevocationPatch(r, opts.revoked);
      const lease = r.lease;
      if (lease && lease.owner !== owner && Date.parse(lease.until) > engine.now()) {
        // Another driver has it. The value it would restore on a rollback is dead: say so now, by
        // compare-and-swap. That driver's next write then fails: between steps it reads this
        // before going on; in the middle of a rollback it may already have handed the dead value
        // back, so its final write merges this in and settles failed (`persistOutcome`), and the
        // credential is marked revoked (loudly) rather than left active on a dead value.
        if (!early) return r;
        const marked: Rotation = { ...r, ...early, updated_at: iso(engine.now()) };
        if ((await engine.store.putRotation(marked, cur.version)) === null) continue;
        return marked;
      }
      if (pastStop({ ...r, ...early }, opts.stopAfter)) {
        // This driver's part ends where the rotation already is: its early DELETE was the
        // containment, or another driver recorded it while this one held the lease (its write
        // then failed, and it read the rotation again). One write records the DELETE and gives
        // back this driver's lease, so the rotator's replay leases the rotation at once.
        const mine = lease?.owner === owner;
        if (!early && !mine) return r;
        const stopped: Rotation = {
          ...r,
          ...early,
          updated_at: iso(engine.now()),
          handed_over_at: r.handed_over_at ?? iso(engine.now()),
        };
        if (mine) delete stopped.lease;
        if ((await engine.store.putRotation(stopped, cur.version)) === null) continue;
        return stopped;
      }
      // The lease's write records the early revocation too: no write of its own.
      const leased: Rotation = { ...r, ...early, lease: { owner, until: iso(engine.now() + engine.leaseMs) } };
      const version = await engine.store.putRotation(leased, cur.version);
      if (version === null) continue;
      held = { value: leased, version };
    }
    const ran: Step = held.value.step;
    const outcome = await runStepWithRetries(engine, held);
    // This step, done by this driver, is a hand-off's, and the next has work to do now: the write
    // that records it releases the lease.
    const handOff: DriveOptions["handOff"] =
      opts.handOff?.after.has(ran) && !(outcome.kind === "ok" && outcome.nextIdle) ? opts.handOff : undefined;
    const after: Versioned<Rotation> | "lost_lease" = outcome.kind === "lost_lease"
      ? outcome.kind
      : await persistOutcome(engine, held, outcome, opts.stopAfter, !!handOff);
    if (after === "lost_lease") {
      held = null;
      continue;
    }
    const r: Rotation = after.value;
    if (handOff && r.state === "running" && r.lease === undefined && r.step !== ran) {
      // Handed off (`persistOutcome`): the continuation is published after the lease's release,
      // so it never finds the lease held. A crash in between leaves a rotation nobody leases with
      // `handed_over_at` set: the undelivered message the caller is handling is redelivered (it is
      // acked only once this returns), and the sweep resumes it HANDOFF_GRACE_MS after the handover.
      await handOff.publish(r);
      return r;
    }
    if (r.state !== "running" || r.lease === undefined) return r;
    // Still ours (each write was a compare-and-swap on the version we hold): go on to the next
    // step without reading and leasing again, two storage round trips fewer per step, unless the
    // lease is past half its time.
    held = Date.parse(r.lease.until) - engine.now() > engine.leaseMs / 2 ? after : null; // renewed by the write: normally kept
  }
  throw stepFailure(true, "drive_exhausted", `Rotation "${rotationId}" did not settle in one drive`);
}

/**
 * A step's result: the patch its write records, and `nextIdle` when the step after it would have
 * nothing to do now (promote before a revoke_old that only owes the value to the sweep), so a
 * hand-off there would spend a queue hop and an invocation on nothing.
 */
interface StepDone {
  patch: steps.RotationPatch;
  nextIdle?: boolean;
  /**
   * Whether this step is where a compromise's leaked value dies, when that is not its revoke_old
   * (step-plan.ts `containmentStep`): a secret being rotated, whose revoke_old only records its
   * value revoked and whose propagate's first write, over its own secret, kills it. Unset
   * elsewhere: the value dies with the step that records it revoked.
   */
  kills?: boolean;
}

/**
 * `StepDone.kills` of `step` in `r` on `rec`: set only where the value dies at propagate. Its
 * revoke_old then stamps only when it comes after the propagate (a routine plan a compromise
 * escalated, begin.ts `escalate`: the value died at the propagate, before anyone knew it leaked,
 * and the record is the first to say so); a propagate stamps once the value is recorded revoked,
 * which a routine plan's is not yet.
 */
function killsAt(rec: CredentialRecord, r: Rotation, step: "propagate" | "revoke_old"): { kills?: boolean } {
  if (containmentStep(rec.kind, r.mode) === "revoke_old") return {};
  return { kills: step === "propagate" || r.plan.indexOf("propagate") < r.plan.indexOf("revoke_old") };
}

type Outcome =
  | { kind: "lost_lease" }
  | ({ kind: "ok" } & StepDone)
  | { kind: "retryable"; failure: AnyFailure }
  | { kind: "permanent"; failure: AnyFailure };

/** Thrown by `record` when another driver took the rotation over: stop without retrying. */
const LEASE_LOST = "lease_lost";

async function runStepWithRetries(engine: EngineServices, held: Versioned<Rotation>): Promise<Outcome> {
  let failure: AnyFailure | undefined;
  for (let attempt = 0; attempt < engine.retry.attempts; attempt++) {
    if (attempt > 0) {
      const backoff = backoffDelay(attempt, engine.retry.baseDelayMs, engine.retry.maxDelayMs);
      await engine.sleep(backoff / 2 + Math.random() * (backoff / 2)); // jittered, so retries do not march in step
    }
    try {
      return { kind: "ok", ...await runStep(engine, held) };
    } catch (error) {
      failure = toFailure(error);
      if (failure.code === LEASE_LOST) return { kind: "lost_lease" };
      if (!failure.retryable) return { kind: "permanent", failure };
    }
  }
  return { kind: "retryable", failure: failure! };
}

/**
 * Persists part of a step's result before the step goes on (the create window, before the create
 * call): a compare-and-swap under the lease, so `held` always names the latest version.
 */
function recorder(engine: EngineServices, held: Versioned<Rotation>) {
  return async (patch: steps.RotationPatch): Promise<Rotation> => {
    const next: Rotation = { ...held.value, ...patch, updated_at: iso(engine.now()) };
    const version = await engine.store.putRotation(next, held.version);
    if (version === null) throw stepFailure(true, LEASE_LOST, "Another driver took this rotation over");
    held.value = next;
    held.version = version;
    return next;
  };
}

async function runStep(engine: EngineServices, held: Versioned<Rotation>): Promise<StepDone> {
  const r = held.value;
  const rec = await credentialOf(engine, r);
  switch (r.step) {
    case "create":
      return { patch: await steps.create(engine, rec, r, recorder(engine, held)) };
    case "propagate":
      return { patch: await steps.propagate(engine, rec, r), ...killsAt(rec, r, "propagate") };
    case "verify":
      return { patch: await steps.verify(engine, rec, r) };
    case "promote": {
      const promoted = await updateCredential(
        engine,
        rec.id,
        async (c) => promote(c, r, engine.now(), await promotedValues(engine, c, r)),
      );
      // The record promote left tells what the revoke_old after it would do (`HAND_OFF_AFTER`).
      // A plan with none after promote (a compromise's) ends here: no hand-off either way.
      return { patch: {}, nextIdle: !promoted || !revokeOldDeletesNow(promoted, r, engine.now()) };
    }
    case "revoke_old":
      return { patch: await revokeOldStep(engine, rec, r), ...killsAt(rec, r, "revoke_old") };
    case "done":
      return { patch: {} };
  }
}

/**
 * Whether revoke_old, run now on `rec`, would delete the old value at Clarifai (`revokeOldStep`'s
 * own tests, in its order): not once it is recorded revoked (the step only marks it), nor while
 * its previous entry is in its grace period (owed to the sweep).
 */
function revokeOldDeletesNow(rec: CredentialRecord, r: Rotation, now: number): boolean {
  if (r.old_revoked) return false;
  if (rec.fingerprint === r.old_fingerprint) return true;
  const prev = rec.previous.find((p) => p.fingerprint === r.old_fingerprint);
  return !!prev && !prev.revoked_at && !!prev.value && !inGrace(prev, r, now);
}

/** Whether revoke_old leaves `r`'s old value, now `prev`, to the sweep: in its grace period, and not leaked. */
function inGrace(prev: CredentialRecord["previous"][number], r: Rotation, now: number): boolean {
  return r.reason !== "compromise" && Date.parse(prev.revoke_after) > now;
}

/**
 * Before promote the old value is the current one; after promote it is the `previous` entry this
 * rotation made. After a routine promote with a grace period, revocation is owed, not done: the
 * sweep performs it when the grace period ends (src/core/sweep).
 */
async function revokeOldStep(engine: EngineServices, rec: CredentialRecord, r: Rotation): Promise<steps.RotationPatch> {
  if (rec.fingerprint === r.old_fingerprint) {
    // Already revoked: deleted by containment before this rotation was driven (`EarlyRevocation`).
    const patch = r.old_revoked
      ? {}
      : await steps.revokeOld(engine, rec, r, await open(engine, rec, CURRENT_VALUE, rec.value));
    if (r.mode === "revoke") await revokeAllPrevious(engine, rec, r);
    return patch;
  }
  const prev = rec.previous.find((p) => p.fingerprint === r.old_fingerprint);
  if (r.old_revoked) {
    // Deleted already (early, or by this step before a crash): the previous entry promote made
    // (it keeps the sealed value and a grace `revoke_after`) is marked, with no second DELETE.
    if (prev && !prev.revoked_at) {
      await updateCredential(engine, rec.id, (c) => markPreviousRevoked(c, r.old_fingerprint, engine.now()));
    }
    return {};
  }
  if (!prev || prev.revoked_at || !prev.value) return { old_revoked: true };
  // Grace period: owed to the sweep. Not for a compromise: a routine rotation a compromise
  // escalated after its promote (begin.ts `escalate`) set the old value's grace as a routine one,
  // and that value is the leaked one.
  if (inGrace(prev, r, engine.now())) return {};
  const patch = await steps.revokeOld(
    engine,
    rec,
    r,
    await open(engine, rec, previousValue(prev.fingerprint), prev.value),
  );
  await updateCredential(engine, rec.id, (c) => markPreviousRevoked(c, r.old_fingerprint, engine.now()));
  return patch;
}

/** Revoking a credential kills its superseded values too, not only the current one. */
async function revokeAllPrevious(engine: EngineServices, rec: CredentialRecord, r: Rotation) {
  for (const prev of rec.previous) {
    if (prev.revoked_at || !prev.value) continue;
    await steps.revokeOld(
      engine,
      rec,
      { ...r, old_revoked: false },
      await open(engine, rec, previousValue(prev.fingerprint), prev.value),
    );
    await updateCredential(engine, rec.id, (c) => markPreviousRevoked(c, prev.fingerprint, engine.now()));
  }
}

async function persistOutcome(
  engine: EngineServices,
  cur: Versioned<Rotation>,
  result: Exclude<Outcome, { kind: "lost_lease" }>,
  stopAfter?: Step,
  handOff = false,
): Promise<Versioned<Rotation> | "lost_lease"> {
  const r = cur.value;
  const now = engine.now();
  let outcome = result;
  let next: Rotation;
  let contained: Containment | null = null;
  if (outcome.kind !== "ok" && mayNeedContainment(r)) {
    // A leaked value must die whatever failed (./containment.ts).
    contained = await containInstead(
      engine,
      await credentialOf(engine, r),
      r,
      outcome.failure,
      outcome.kind === "retryable",
    );
    if (contained?.kind === "continue") outcome = { kind: "ok", patch: contained.patch };
  }
  if (contained?.kind === "failed") {
    next = contained.rotation;
  } else if (outcome.kind === "ok") {
    const step: Step = nextStep(r.plan, r.step);
    // The write that records the step also renews the lease, so the next step starts with all of it.
    const lease = r.lease ? { lease: { owner: r.lease.owner, until: iso(now + engine.leaseMs) } } : {};
    next = { ...r, ...outcome.patch, ...lease, step, attempts: 0, updated_at: iso(now) };
    delete next.next_attempt_at;
    if (step === "done") next = { ...next, state: "done", finished_at: iso(now) };
  } else if (outcome.kind === "retryable") {
    // Out of retries for now: release the lease and leave the run resumable by the next driver.
    next = {
      ...r,
      attempts: r.attempts + 1,
      next_attempt_at: iso(now + engine.retry.maxDelayMs),
      updated_at: iso(now),
    };
    delete next.lease;
  } else {
    // Undoing has side effects at Clarifai (the new key deleted, sinks given the old value back):
    // prove first, by compare-and-swap, that this driver still holds the rotation. A driver whose
    // step outlived its lease must not undo what the driver that took over has done since.
    const claimed = await engine.store.putRotation({ ...r, updated_at: iso(now) }, cur.version);
    if (claimed === null) return "lost_lease";
    cur = { value: r, version: claimed };
    const rec = await credentialOf(engine, r);
    // Paid by the sweep while this rotation ran (an owed leaked value, owed-revocations.ts: its
    // revoke_old was refused): the old value is dead, so the rollback salvages the new one rather
    // than handing a dead value back to the sinks and deleting the only working one.
    const paid = !r.old_revoked && rec.previous.some((p) => p.fingerprint === r.old_fingerprint && p.revoked_at);
    const undone = await rollback(engine, rec, paid ? { ...r, old_revoked: true } : r);
    const f = outcome.failure;
    next = {
      ...r,
      ...(paid ? { old_revoked: true } : {}),
      ...(undone.incomplete ? { rollback_incomplete: true } : {}),
      // Recorded revoked but alive and put back (a secret whose overwrite never happened): not dead.
      ...(undone.oldLive ? { old_revoked: false } : {}),
      state: "failed",
      error: rotationError(f, r.step),
      finished_at: iso(now),
      updated_at: iso(now),
    };
    // Nor contained (a containment stamp merged in by the loop below would claim otherwise).
    if (undone.oldLive) delete next.contained_at;
    // Salvaged: the new value was promoted because the old one is known dead (a secret's propagate
    // overwrote it before failing further on), so a compromise's leak is contained now at the latest.
    if (undone.salvaged && next.reason === "compromise" && next.old_revoked && !next.contained_at) {
      next = { ...next, contained_at: iso(now) };
    }
    // A compromise whose leaked value is still alive here (a routine plan a compromise escalated
    // before this failure, begin.ts `escalate`; a secret's whose overwrite never happened) just had
    // it handed back by the rollback.
    if (next.reason === "compromise") next = await oweRestoredLeak(engine, next);
    if (managerLostAtRollback(rec, next)) next = { ...next, manager_lost: true };
  }
  // Containment time: the leaked value is confirmed dead by the Clarifai answer this step just got
  // (a secret's by its propagate's overwrite, not by its revoke_old's record: `StepDone.kills`).
  const killedNow = outcome.kind === "ok" && outcome.kills !== undefined ? outcome.kills : !r.old_revoked;
  if (next.reason === "compromise" && next.old_revoked && killedNow && !next.contained_at) {
    next = { ...next, contained_at: iso(engine.now()) };
  }
  // This driver's part is done (`DriveOptions.stopAfter`): the write that records it releases the
  // lease, so the next driver (the rotator's replay) leases the rotation at once.
  if (next.state === "running" && pastStop(next, stopAfter)) {
    delete next.lease;
    next = { ...next, handed_over_at: next.handed_over_at ?? iso(now) };
  } else if (handOff && outcome.kind === "ok" && next.state === "running" && mayHandOff(next)) {
    // The rotator's split (`DriveOptions.handOff`): the rest is a continuation's. The handover is
    // stamped again (a compromise's first was its containment's, a routine one's its propagate's),
    // so the sweep's grace for this continuation counts from this one (core/sweep/rules.ts
    // `HANDOFF_GRACE_MS`).
    delete next.lease;
    next = { ...next, handed_over_at: iso(now) };
  }
  if (next.state !== "running") {
    delete next.lease;
    // Finished: the new value now lives on the credential (or was deleted); keep no extra copy.
    delete next.new_value;
  }
  let version = await engine.store.putRotation(next, cur.version);
  if (version === null && outcome.kind === "permanent" && !contained && r.lease) {
    // The rollback has run (its side effects at Clarifai and the sinks are done): re-driving the
    // step would undo it again from a world it already changed. An early revocation written
    // meanwhile by compare-and-swap (`driveRotation`, lease held) is merged in instead, so
    // `finish` sees the old value dead. So is a compromise that joined during the rollback (begin.ts
    // `escalate`, lease kept): the failure is the compromise's, with the escalation's fields, not
    // the routine one written over it, and the value the rollback just handed back is the leaked
    // one, so it is owed at once (`oweRestoredLeak`). Any other writer means the lease was lost.
    for (let tries = 0; version === null && tries < 3; tries++) {
      const reread = await engine.store.getRotation(r.credential_id, r.id);
      if (!reread || reread.value.state !== "running" || reread.value.lease?.owner !== r.lease.owner) {
        return "lost_lease";
      }
      const seen = reread.value;
      const escalated = seen.reason === "compromise" && next.reason !== "compromise";
      next = {
        ...next,
        // Only a revocation written meanwhile: the one `r` already had is the very record a rollback
        // may have found alive (`oldLive`), and re-merging it would mark that value dead again.
        ...(seen.old_revoked && !r.old_revoked ? { old_revoked: true } : {}),
        ...(seen.contained_at && !r.contained_at && !next.contained_at ? { contained_at: seen.contained_at } : {}),
        ...(escalated ? { reason: seen.reason } : {}),
        ...(escalated && seen.alert_received_at ? { alert_received_at: seen.alert_received_at } : {}),
      };
      if (escalated) next = await oweRestoredLeak(engine, next);
      version = await engine.store.putRotation(next, reread.version);
    }
  }
  if (version === null) return "lost_lease";
  await afterTransition(engine, r, next);
  return { value: next, version };
}

/**
 * A compromise rotation that failed after its rollback put the leaked value back (a routine plan
 * escalated by a compromise that joined it: its revoke_old comes last) must not leave that value
 * live with nothing owed: the credential owes its revocation now (oweLeakedRevocation: due at once,
 * retried by every sweep, `revocation.overdue` from the first refusal), and the rotation says so
 * (`old_revoke_owed`). The replay of `credential.compromised`, when there is one, does better: it
 * sees this rotation was not a compromise plan and begins one that deletes the value at once
 * (core/subscribers/rotator.ts). Written before the record that settles the rotation, so a crash
 * between the two leaves the debt, not the silence. Nothing when the old value is dead or no longer
 * the credential's (already promoted: its `previous` entry is marked leaked and due instead).
 */
async function oweRestoredLeak(engine: EngineServices, next: Rotation): Promise<Rotation> {
  if (next.old_revoked || next.old_revoke_owed) return next;
  // Not a PAT that manages itself: paying that debt deletes it with no successor, which orphans
  // every credential it manages without the `credential.orphaned_manager` a rotation would send
  // (owed-revocations.ts sets no `needs_manager`). Its replay begins a compromise rotation that
  // mints the successor first (step-plan.ts); without one (an operator's request) it stays as it
  // was before this debt existed: failed, its leaked value live, for a human to rotate.
  // Decided on the record the update reads, so it costs no read of its own (an unchanged record is
  // not written: update-credential.ts).
  const selfManaged = (c: CredentialRecord) => c.kind === "pat" && !c.manager_id;
  const rec = await updateCredential(
    engine,
    next.credential_id,
    (c) => selfManaged(c) ? c : oweLeakedRevocation(c, next.old_fingerprint, next.id, RESTORED_LEAK, engine.now()),
  );
  const owed = rec?.previous.some((p) => p.fingerprint === next.old_fingerprint && p.leaked && !p.revoked_at);
  return owed ? { ...next, old_revoke_owed: true } : next;
}

/** The owed revocation's `last_error` when a rollback handed a leaked value back. */
const RESTORED_LEAK = "rollback_restored_leak";

async function afterTransition(engine: EngineServices, before: Rotation, next: Rotation) {
  // A settled rotation's credential is released before anything is announced, so the window in
  // which the rotation's record says it is over while the credential still names it (readers take
  // it as settled: ./settle.ts) is this one write, not a queue send as well.
  let settled: CredentialRecord | null = null;
  try {
    if (next.state !== "running") settled = await releaseCredential(engine, next);
  } finally {
    if (next.step !== before.step || next.state !== before.state) {
      await safeEmit(engine, { type: "rotation.step", rotation: next, step: before.step });
    }
  }
  if (next.state !== "running") await announceSettled(engine, next, settled);
}

async function credentialOf(engine: EngineServices, r: Rotation): Promise<CredentialRecord> {
  const cur = await engine.store.getCredential(r.credential_id);
  if (!cur) throw stepFailure(false, "credential_not_found", `Credential "${r.credential_id}" no longer exists`);
  return cur.value;
}
