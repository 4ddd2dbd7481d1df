/**
 * Containing a compromise: the one function the alert pipeline (./pipeline.ts: GitHub, Standard
 * Webhooks, the rotator's replay) calls once it knows which credential leaked.
 *
 * Time to containment is the headline number, so this does not wait for queue batching: it begins
 * (or joins) the compromise rotation at once and returns the work to run right away (the alert
 * pipeline, ./pipeline.ts, hands it to waitUntil and publishes the durable event; the rotator's
 * replay drives it to its end). Whichever driver arrives second finds the rotation leased or
 * finished and returns, so the queue stays the guarantee when the fast path dies.
 */
import { beginRotation } from "../rotation/begin.ts";
import { markPreviousRevoked, oweLeakedRevocation } from "../rotation/credential-transitions.ts";
import { driveRotation } from "../rotation/drive.ts";
import type { EngineServices } from "../rotation/engine-services.ts";
import type { Rotation } from "../rotation/rotation.ts";
import { toFailure } from "../failure.ts";
import { revokeValue } from "../rotation/steps.ts";
import { updateCredential } from "../rotation/update-credential.ts";
import { managerToken, open } from "../rotation/values.ts";
import { previousValue } from "../credentials/credential.ts";
import { type LeakMatch, matchFingerprint } from "./match-leak.ts";

export type Containment =
  | { action: "none" }
  | { action: "already_revoked"; credentialId: string }
  | { action: "rotation"; credentialId: string; rotation: Rotation; joined: boolean; run: () => Promise<unknown> }
  | { action: "revoke_previous"; credentialId: string; run: () => Promise<unknown> }
  | { action: "refused"; credentialId: string; code: string };

/** `receivedAt`: when the alert arrived (ms), the start of the containment time; default: now. */
export async function contain(
  engine: EngineServices,
  match: LeakMatch,
  requestedBy: string,
  receivedAt?: number,
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
          revokePreviousNow(engine, match.credential.id, match.fingerprint, requestedBy, receivedAt ?? engine.now()),
      };
    case "current": {
      const begun = await beginRotation(engine, match.credential.id, {
        reason: "compromise",
        mode: "rotate",
        requestedBy,
        expectedFingerprint: match.fingerprint,
        ...(receivedAt !== undefined ? { alertReceivedAt: receivedAt } : {}),
      });
      if (!begun.ok && begun.code === "value_superseded") {
        // Rotated between the match and now: the leaked value is a previous one (or already dead).
        const again = await matchFingerprint(engine, match.fingerprint);
        return again.kind === "current"
          ? { action: "refused", credentialId: match.credential.id, code: "conflict" }
          : contain(engine, again, requestedBy, receivedAt);
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
        run: () => driveRotation(engine, match.credential.id, begun.rotation.id),
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
): Promise<boolean> {
  const cur = await engine.store.getCredential(credentialId);
  const prev = cur?.value.previous.find((p) => p.fingerprint === fp);
  if (!cur || !prev || prev.revoked_at || !prev.value) return false;
  try {
    // A secret's superseded value died when its secret was overwritten: deleting the secret would
    // destroy the value that replaced it (as in core/rotation/owed-revocations.ts).
    if (cur.value.kind !== "secret") {
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
  const containmentMs = Math.max(0, engine.now() - receivedAt);
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
