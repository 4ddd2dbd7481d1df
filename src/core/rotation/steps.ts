/**
 * The side effects of each step. Every function here is idempotent: run twice (a retry, a resumed
 * crash, a second driver after a lease expired) it leaves Clarifai as one run would, and returns
 * the same patch for the rotation record.
 */
import { type Key, MAX_PER_PAGE } from "../clarifai/index.ts";
import { type CredentialRecord, rotationNewValue } from "../credentials/credential.ts";
import { randomSecretValue } from "../crypto/random.ts";
import type { EngineServices } from "./engine-services.ts";
import { replacementExpiry } from "./key-expiry.ts";
import { replacementRestrictions, restrictionMismatch } from "./key-restrictions.ts";
import { earliestCreated, mintedBy, recordCreateCall } from "./ownership.ts";
import { MAX_CREATE_CALLS, type Rotation, rotationMarker, withoutMarkers } from "./rotation.ts";
import { isNotFound, stepFailure, unwrap } from "./step-error.ts";
import { managerToken, open, seal } from "./values.ts";
import { fingerprint } from "../crypto/fingerprint.ts";
import type { SinkContext } from "../sinks/driver.ts";
import { deliveryTargets, sinkHoldsNewValue, sinkKey, writeSink } from "../sinks/drivers.ts";
import { iso } from "../time.ts";

export type RotationPatch = Partial<
  Pick<
    Rotation,
    | "new_value"
    | "new_fingerprint"
    | "new_key_expires_at"
    | "propagated"
    | "sink_written_at"
    | "old_revoked"
    | "create_calls"
    | "create_outcome_lost"
    | "rollback_incomplete"
  >
>;

/** The Clarifai key type a credential's values are (PATs and app-specific keys; never a secret). */
export const keyType = (rec: CredentialRecord) =>
  rec.kind === "pat" ? ("personal_access_token" as const) : ("app_specific_key" as const);

/**
 * create: mint the replacement. On the normal path this is one call: its start is recorded first
 * (`record`, a compare-and-swap on the rotation), then the key is created. Only when an earlier
 * call was recorded (its answer was lost) does it list the user's keys, to adopt the key that call
 * minted: one carrying this rotation's marker and created during one of its calls
 * (./ownership.ts), so a copied marker cannot make it adopt someone else's key.
 */
export async function create(
  engine: EngineServices,
  rec: CredentialRecord,
  r: Rotation,
  record: (patch: RotationPatch) => Promise<Rotation>,
): Promise<RotationPatch> {
  if (r.new_value) return {};
  if (rec.kind === "secret") {
    if (rec.policy.generator !== "random") {
      throw stepFailure(
        false,
        "value_required",
        "A secret rotation needs a new value and no generator is configured",
      );
    }
    const sealed = await seal(engine, rec, rotationNewValue(r.id), randomSecretValue());
    return { new_value: sealed.value, new_fingerprint: sealed.fingerprint };
  }
  const token = await managerToken(engine, rec, r);
  let cur = r;
  let key: Key | undefined;
  if (cur.create_calls?.length) {
    // An earlier call may have minted a key nobody recorded: say so before anything can fail, so
    // the orphan scan looks for it once this rotation settles, however it settles.
    if (!cur.create_outcome_lost) cur = await record({ create_outcome_lost: true });
    key = await findMintedKey(engine, token, rec, cur);
  }
  if (!key) {
    if ((cur.create_calls?.length ?? 0) >= MAX_CREATE_CALLS) {
      throw stepFailure(
        false,
        "create_unconfirmed",
        `Clarifai's answer to ${MAX_CREATE_CALLS} create calls was lost; the orphan scan removes what they made`,
      );
    }
    cur = await record(recordCreateCall(cur, engine.now()));
    key = unwrap(
      await engine.clarifai.createKey(token, rec.user_id, {
        type: keyType(rec),
        // Exactly one marker, this rotation's: a description copied from an earlier key keeps none of its own.
        description: `${withoutMarkers(rec.description)} ${rotationMarker(cur.id)}`.trim(),
        ...replacementRestrictions(rec, replacementExpiry(rec, engine.now())),
      }),
    );
  }
  const sealed = await seal(engine, rec, rotationNewValue(cur.id), key.id);
  return {
    new_value: sealed.value,
    new_fingerprint: sealed.fingerprint,
    ...(key.expires_at ? { new_key_expires_at: key.expires_at } : {}),
  };
}

/**
 * The key an earlier create call of this rotation minted, if Clarifai has it (pages of 1,000): the
 * earliest created of the candidates no credential holds. Any later one is left to the orphan scan.
 */
async function findMintedKey(engine: EngineServices, token: string, rec: CredentialRecord, r: Rotation) {
  const keys = unwrap(
    await engine.clarifai.listAllKeys(token, rec.user_id, { type: keyType(rec), perPage: MAX_PER_PAGE }),
  );
  const candidates: Key[] = [];
  for (const key of keys.filter((k) => k.type === keyType(rec) && mintedBy(k, r))) {
    // Never adopt a value another credential already holds.
    if (!(await engine.store.findCredentialByFingerprint(await fingerprint(engine.fingerprintKey, key.id)))) {
      candidates.push(key);
    }
  }
  return earliestCreated(candidates);
}

/**
 * What a sink call gets: the manager token is resolved on first use, once per step, and resolved
 * again after a failure (a retry must not reuse a rejected lookup).
 */
export function sinkContext(engine: EngineServices, rec: CredentialRecord, r: Rotation): SinkContext {
  let token: Promise<string> | undefined;
  const clarifaiToken = () => (token ??= managerToken(engine, rec, r).catch((error: unknown) => {
    token = undefined;
    throw error;
  }));
  return { engine, rec, rotation: r, clarifaiToken };
}

/** propagate: overwrite every target with the new value. Each write is idempotent. */
export async function propagate(engine: EngineServices, rec: CredentialRecord, r: Rotation): Promise<RotationPatch> {
  const value = await open(engine, rec, rotationNewValue(r.id), requireNew(r));
  const ctx = sinkContext(engine, rec, r);
  const done = new Set(r.propagated);
  const writtenAt = { ...r.sink_written_at };
  for (const sink of deliveryTargets(rec)) {
    if (done.has(sinkKey(sink))) continue;
    // Before the write: a sink verified by its update time must show one no older than this.
    writtenAt[sinkKey(sink)] = iso(engine.now());
    await writeSink(ctx, sink, value);
    done.add(sinkKey(sink));
  }
  return { propagated: [...done], sink_written_at: writtenAt };
}

/**
 * verify: the new key authenticates and carries exactly the old key's restrictions (MyScopes: its
 * scopes, endpoints and app; not GetUser, which an endpoint-restricted PAT may not call), and
 * every target holds the new value.
 */
export async function verify(engine: EngineServices, rec: CredentialRecord, r: Rotation): Promise<RotationPatch> {
  const value = await open(engine, rec, rotationNewValue(r.id), requireNew(r));
  if (rec.kind !== "secret") {
    const seen = unwrap(
      rec.kind === "pat" ? await engine.clarifai.myUserScopes(value, "me") : await engine.clarifai.myScopes(value),
    );
    const mismatch = restrictionMismatch(rec, seen);
    if (mismatch) {
      throw stepFailure(
        false,
        "verify_failed",
        `The new key does not carry the old key's restrictions (${mismatch})`,
      );
    }
  }
  const ctx = sinkContext(engine, rec, r);
  for (const sink of deliveryTargets(rec)) {
    if (!(await sinkHoldsNewValue(ctx, sink))) {
      // Could be a lagging replica: transient, so the retry budget decides.
      throw stepFailure(true, "verify_failed", `Sink "${sinkKey(sink)}" does not hold the new value yet`);
    }
  }
  return {};
}

/**
 * revoke_old: delete the old key (or, for a revoked secret, the secret). "Already gone" counts as
 * success: the goal is that the value no longer works, not that this call deleted it.
 */
export async function revokeOld(
  engine: EngineServices,
  rec: CredentialRecord,
  r: Rotation,
  old: string,
): Promise<RotationPatch> {
  if (r.old_revoked) return {};
  // A secret's old value dies when it is overwritten (propagate); only revoking deletes the secret.
  if (rec.kind === "secret" && r.mode === "rotate") return { old_revoked: true };
  const token = await managerToken(engine, rec, r);
  await revokeValue(engine, rec, token, old);
  return { old_revoked: true };
}

/** Deletes one value at Clarifai; shared with the sweep's owed revocations. */
export async function revokeValue(engine: EngineServices, rec: CredentialRecord, token: string, value: string) {
  try {
    if (rec.kind === "secret") {
      if (rec.secret_id) unwrap(await engine.clarifai.deleteSecrets(token, rec.user_id, [rec.secret_id]));
    } else {
      unwrap(await engine.clarifai.deleteKey(token, rec.user_id, value));
    }
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

function requireNew(r: Rotation) {
  if (!r.new_value) {
    throw stepFailure(false, "internal_error", "Rotation has no new value at a step that needs one");
  }
  return r.new_value;
}
