/**
 * Undoing a rotation that failed permanently, so that no orphan key is left at Clarifai and no
 * value is lost:
 * - already promoted: nothing to undo; the old value stays owed to the sweep;
 * - old value still alive: put the old value back into the sinks that got the new one, and delete
 *   the new key;
 * - old value already revoked (compromise): the new key is the only working one, so it is promoted
 *   rather than deleted ("salvage"); the rotation still ends `failed` so a human looks at it.
 * Cleanup calls get their own small retry budget. A new key that still could not be deleted is
 * reported (`incomplete`): the rotation records it and its credential's orphan scan deletes it.
 * `salvaged`: the new value was promoted, the old one being dead.
 * `oldLive`: the rotation records its old value revoked, yet it is alive and was put back. Only a
 * secret can be so: its revoke_old records the value revoked without a call, since it dies when
 * propagate overwrites its own secret (steps.ts), and that overwrite never happened. The caller
 * must not settle it as revoked (a compromise's leaked value would be marked dead while Clarifai
 * still serves it).
 */
import { type CredentialRecord, CURRENT_VALUE, rotationNewValue } from "../credentials/credential.ts";
import { backoffDelay } from "../backoff.ts";
import { promote } from "./credential-transitions.ts";
import type { EngineServices } from "./engine-services.ts";
import type { Rotation } from "./rotation.ts";
import { toFailure } from "../failure.ts";
import { isNotFound, unwrap } from "./step-error.ts";
import { updateCredential } from "./update-credential.ts";
import { managerToken, open, promotedValues } from "./values.ts";
import type { SinkContext } from "../sinks/driver.ts";
import { deliveryTargets, ownSecret, sinkHoldsNewValue, sinkKey, writeSink } from "../sinks/drivers.ts";
import { sinkContext } from "./steps.ts";

export async function rollback(
  engine: EngineServices,
  rec: CredentialRecord,
  r: Rotation,
): Promise<{ incomplete: boolean; oldLive?: true; salvaged?: true }> {
  if (rec.fingerprint !== r.old_fingerprint) return { incomplete: false };
  if (!r.new_value) {
    // Nothing was made, so nothing was overwritten: a secret its revoke_old recorded revoked
    // without a call is alive, and must not be settled as dead. (A compromise's create that fails
    // for good deletes the secret instead, containment.ts; this holds for any other way here.)
    const marked = rec.kind === "secret" && r.mode === "rotate" && r.old_revoked && ownSecret(rec);
    return { incomplete: false, ...(marked ? { oldLive: true as const } : {}) };
  }
  const ctx = sinkContext(engine, rec, r);
  if (r.old_revoked && (await oldValueIsDead(ctx, r))) {
    await updateCredential(
      engine,
      rec.id,
      async (c) => promote(c, r, engine.now(), await promotedValues(engine, c, r)),
    );
    return { incomplete: false, salvaged: true };
  }
  const oldLive = r.old_revoked ? { oldLive: true as const } : {};
  const old = await open(engine, rec, CURRENT_VALUE, rec.value);
  // A propagate that failed part-way may have overwritten targets before it could record them:
  // then every target is restored (overwriting with the old value is idempotent).
  const restore = deliveryTargets(rec).filter((s) => r.propagated.includes(sinkKey(s)) || r.step === "propagate");
  for (const sink of restore) {
    await bestEffort(engine, () => writeSink(ctx, sink, old));
  }
  if (rec.kind !== "secret") {
    const created = await open(engine, rec, rotationNewValue(r.id), r.new_value);
    const deleted = await bestEffort(engine, async () => {
      const token = await managerToken(engine, rec, r);
      try {
        unwrap(await engine.clarifai.deleteKey(token, rec.user_id, created));
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    });
    return { incomplete: !deleted, ...oldLive };
  }
  return { incomplete: false, ...oldLive };
}

/**
 * A secret's old value is not deleted at Clarifai: it dies when its own secret is overwritten
 * with the new one (revoke_old only marks it). Until that is known to have happened, promoting
 * the new value would record a value that Clarifai does not hold, and lose it.
 */
async function oldValueIsDead(ctx: SinkContext, r: Rotation) {
  const target = ownSecret(ctx.rec);
  if (!target || r.propagated.includes(sinkKey(target))) return true;
  if (r.step !== "propagate") return false;
  try {
    return await sinkHoldsNewValue(ctx, target);
  } catch {
    return false;
  }
}

/** Runs a cleanup call with a small retry budget; whether it succeeded. */
async function bestEffort(engine: EngineServices, action: () => Promise<void>): Promise<boolean> {
  for (let attempt = 0; attempt < engine.retry.attempts; attempt++) {
    try {
      await action();
      return true;
    } catch (error) {
      if (!toFailure(error).retryable) return false;
      await engine.sleep(backoffDelay(attempt + 1, engine.retry.baseDelayMs, engine.retry.maxDelayMs));
    }
  }
  return false;
}
