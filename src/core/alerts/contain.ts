/**
 * Containing a compromise: the one function the alert pipeline (./pipeline.ts: GitHub, Standard
 * Webhooks, the rotator's replay) calls once it knows which credential leaked.
 *
 * Time to containment is the headline number, so this does not wait for queue batching: it begins
 * (or joins) the compromise rotation at once and returns the work to run right away (the alert
 * pipeline, ./pipeline.ts, hands it to waitUntil and publishes the durable event). That work
 * drives the rotation up to containment only; the rotator's replay of the event drives it to its
 * end. Whichever driver arrives second finds the rotation leased, past its part or finished and
 * returns, so the queue stays the guarantee when the fast path dies.
 *
 * Contain first (issue 20): an alert's leaked current value is deleted at Clarifai before, not
 * after, the rotation's bookkeeping (`deleteAtOnce`). The DELETE needs the leaked value (the
 * matched record, already read), the manager's token (one read of the manager's record) and the
 * durable `credential.compromised` published (so a crash right after the DELETE still converges
 * through the rotator's replay of it), and nothing else: the rotation's intent and record and the
 * driver's lease run beside it, and the driver is handed the DELETE's outcome so the rotation
 * records the value as revoked (and its `contained_at`) instead of deleting it again.
 */
import { beginRotation } from "../rotation/begin.ts";
import { markPreviousRevoked, oweLeakedRevocation } from "../rotation/credential-transitions.ts";
import { driveRotation } from "../rotation/drive.ts";
import { containmentStep } from "../rotation/step-plan.ts";
import type { EngineServices } from "../rotation/engine-services.ts";
import type { Rotation } from "../rotation/rotation.ts";
import { toFailure } from "../failure.ts";
import { revokeValue } from "../rotation/steps.ts";
import { updateCredential } from "../rotation/update-credential.ts";
import { managerToken, open } from "../rotation/values.ts";
import { CURRENT_VALUE, previousValue } from "../credentials/credential.ts";
import type { EarlyRevocation } from "../rotation/drive.ts";
import { type LeakMatch, matchFingerprint } from "./match-leak.ts";
import { fingerprintPrefix } from "../crypto/fingerprint.ts";

export type Containment =
  | { action: "none" }
  | { action: "already_revoked"; credentialId: string }
  | { action: "rotation"; credentialId: string; rotation: Rotation; joined: boolean; run: () => Promise<unknown> }
  | { action: "revoke_previous"; credentialId: string; run: () => Promise<unknown> }
  | { action: "refused"; credentialId: string; code: string };

/** The outcome of `deleteAtOnce`: the value Clarifai confirmed deleted, or null (the rotation deletes it). */
export type EarlyDelete = Promise<EarlyRevocation | null>;

/**
 * Deletes a leaked current value at Clarifai at once, before its rotation exists, where that is
 * what the rotation would do first anyway: an app key or a managed PAT (the plan's first step is
 * revoke_old, step-plan.ts) with no rotation running. Returns null (and deletes nothing) otherwise:
 * - a self-managed PAT is the only token able to mint its successor, so the successor is minted
 *   first (its rotation's plan: create, then revoke_old);
 * - a secret's value dies when its own secret is overwritten (rotate mode), and a revoked secret is
 *   deleted by its rotation's revoke_old step, both as before;
 * - a running rotation may be past its promote, when the record's current value is the one that
 *   rotation made and not the value it replaces: the begin then joins it without escalating it
 *   (begin.ts `escalate`), and the replay contains that value once it is over (rotator.ts).
 * `durable`: the publish of the alert's `credential.compromised`. The DELETE waits for it (the
 * manager's read and the value's decrypt do not): once the key is dead nothing else records that
 * a rotation is owed, and an isolate dying before the rotation's intent is written must leave the
 * rotator an event to converge from (it deletes the key again, answered "does not exist", counted
 * as deleted, and rotates). If the publish fails nothing is deleted: the caller fails the request
 * and the sender retries.
 * The promise never rejects: a failed DELETE (Clarifai refused it, the manager is unusable, the
 * call timed out) resolves to null and the rotation's own revoke_old step makes it with its retry
 * budget, owing it to the sweep if Clarifai keeps refusing (../rotation/containment.ts). A DELETE
 * of a key already deleted (a second alert racing this one, a replay after a crash) counts as
 * deleted (`revokeValue`), so running it twice is harmless.
 * `sent` is called once the DELETE's request has been issued, or once it will not be: the work
 * the caller runs beside the DELETE waits for it (./pipeline.ts `startDelete`).
 */
export function deleteAtOnce(
  engine: EngineServices,
  match: LeakMatch,
  durable: Promise<unknown>,
  sent: () => void = () => {},
): EarlyDelete | null {
  if (!mayDeleteAtOnce(match)) return null;
  const rec = match.credential;
  return (async () => {
    try {
      // The manager's record read, the leaked value's decrypt and the event's publish do not
      // depend on each other.
      // The manager's token may be opening already (its record answered first, ./match-leak.ts);
      // the leaked value is the alert's own when it carried it (its fingerprint is the record's).
      const [token, leaked] = await Promise.all([
        (match.token ?? Promise.resolve(null)).then((t) => t ?? managerToken(engine, rec, undefined, match.manager)),
        match.leaked ?? open(engine, rec, CURRENT_VALUE, rec.value),
        durable,
      ]);
      // revokeValue runs without a pause up to the DELETE's fetch (../clarifai/http.ts), so the
      // request has been issued once it returns its promise.
      const deleting = revokeValue(engine, rec, token, leaked);
      sent();
      await deleting;
      const at = engine.now();
      // The DELETE's own trace (the rotation records it too, unless a crash comes first).
      console.log(JSON.stringify({
        level: "info",
        msg: "containment.early_deleted",
        credential_id: rec.id,
        fingerprint_prefix: fingerprintPrefix(match.fingerprint),
      }));
      return { fingerprint: match.fingerprint, at };
    } catch (error) {
      sent();
      // Nothing about the value is logged; the rotation's revoke_old step deletes it instead.
      console.error(JSON.stringify({
        level: "warn",
        msg: "containment.early_delete_failed",
        credential_id: rec.id,
        error: toFailure(error).code,
      }));
      return null;
    }
  })();
}

/** Whether `deleteAtOnce` deletes this match's value (and so needs its durable event first). */
export function mayDeleteAtOnce(match: LeakMatch): match is Extract<LeakMatch, { kind: "current" }> {
  if (match.kind !== "current") return false;
  const rec = match.credential;
  return rec.kind !== "secret" && !!rec.manager_id && !rec.current_rotation && rec.state === "active";
}

/**
 * `receivedAt`: when the alert arrived (ms), the start of the containment time; default: now.
 * `early`: a `deleteAtOnce` of this match already under way, whose outcome the rotation records.
 */
export async function contain(
  engine: EngineServices,
  match: LeakMatch,
  requestedBy: string,
  receivedAt?: number,
  early?: EarlyDelete | null,
): Promise<Containment> {
  switch (match.kind) {
    case "none":
      return { action: "none" };
    case "already_revoked":
      return { action: "already_revoked", credentialId: match.credential.id };
    case "previous":
      return {
        action: "revoke_previous",
        credentialId: match.credential.id,
        run: () =>
          revokePreviousNow(
            engine,
            match.credential.id,
            match.fingerprint,
            requestedBy,
            receivedAt ?? engine.now(),
            early,
          ),
      };
    case "current": {
      const begun = await beginRotation(engine, match.credential.id, {
        reason: "compromise",
        mode: "rotate",
        requestedBy,
        expectedFingerprint: match.fingerprint,
        ...(receivedAt !== undefined ? { alertReceivedAt: receivedAt } : {}),
      }, match.read);
      if (!begun.ok && begun.code === "value_superseded") {
        // Rotated between the match and now: the leaked value is a previous one (or already dead).
        const again = await matchFingerprint(engine, match.fingerprint);
        return again.kind === "current"
          ? { action: "refused", credentialId: match.credential.id, code: "conflict" }
          : contain(engine, again, requestedBy, receivedAt, early);
      }
      if (!begun.ok) {
        return begun.code === "credential_revoked"
          ? { action: "already_revoked", credentialId: match.credential.id }
          : { action: "refused", credentialId: match.credential.id, code: begun.code };
      }
      return {
        action: "rotation",
        credentialId: match.credential.id,
        rotation: begun.rotation,
        joined: begun.joined,
        // The driver starts once the early DELETE has answered: the rotation's first step is that
        // DELETE, so it has nothing to do before then, and it records the outcome in its lease.
        // It drives only up to containment (`containmentStep`) and releases the lease there: the
        // replacement, its delivery, verify and promote are the rotator's, in its own queue
        // invocation (the replay of the `credential.compromised` the alert published), since both
        // together exceed the CPU one invocation may use (BENCHMARKS.md P5). The cost: the
        // replacement reaches consumers one queue hop later; the leaked value dies as early.
        run: async () => {
          const revoked = early ? await early : null;
          const stopAfter = containmentStep(match.credential.kind, begun.rotation.mode);
          return driveRotation(engine, match.credential.id, begun.rotation.id, {
            ...(revoked ? { revoked } : {}),
            stopAfter,
            // The record this begin wrote: the driver's first lease starts from it, not a read.
            ...(begun.version ? { known: { value: begun.rotation, version: begun.version } } : {}),
          });
        },
      };
    }
  }
}

/** A leaked superseded value: its grace period ends now. */
async function revokePreviousNow(
  engine: EngineServices,
  credentialId: string,
  fp: string,
  requestedBy: string,
  receivedAt: number,
  early?: EarlyDelete | null,
): Promise<boolean> {
  // Matched as current, superseded before its rotation began: the early DELETE may have killed it.
  const deleted = early ? await early : null;
  const cur = await engine.store.getCredential(credentialId);
  const prev = cur?.value.previous.find((p) => p.fingerprint === fp);
  if (!cur || !prev || prev.revoked_at || !prev.value) return false;
  try {
    // A secret's superseded value died when its secret was overwritten: deleting the secret would
    // destroy the value that replaced it (as in core/rotation/owed-revocations.ts).
    if (cur.value.kind !== "secret" && deleted?.fingerprint !== fp) {
      const token = await managerToken(engine, cur.value);
      await revokeValue(
        engine,
        cur.value,
        token,
        await open(engine, cur.value, previousValue(prev.fingerprint), prev.value),
      );
    }
  } catch (error) {
    // Owed as a leaked value: due now, and every sweep retries it until Clarifai confirms.
    const failure = toFailure(error);
    await updateCredential(
      engine,
      credentialId,
      (c) => oweLeakedRevocation(c, fp, prev.rotation_id, failure.code, engine.now()),
    );
    return false;
  }
  await updateCredential(engine, credentialId, (c) => markPreviousRevoked(c, fp, engine.now()));
  // No rotation records this one: its containment time rides in the event alone.
  const confirmedAt = deleted?.fingerprint === fp ? deleted.at : engine.now();
  const containmentMs = Math.max(0, confirmedAt - receivedAt);
  await engine.emit({
    type: "credential.revoked",
    credentialId,
    fingerprint: fp,
    reason: "compromise",
    containmentMs,
    actor: requestedBy,
  })
    .catch(() => {});
  return true;
}
