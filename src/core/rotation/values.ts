/**
 * Sealing and opening credential values, and finding the token to call Clarifai with.
 * Decryption failure is permanent: a record that does not decrypt was tampered with or its key
 * version is gone, and retrying cannot help.
 *
 * Every value is sealed for the field it sits in (credentials/credential.ts `ValueField`), so a
 * value that changes field (intent → rotation, rotation → current, current → previous) is opened
 * and sealed again on the way: `moveSealed`. That costs one decrypt and one encrypt per move, at
 * the few moments a rotation makes one, and buys that no stored ciphertext can be moved there.
 */
import {
  aadFor,
  type CredentialRecord,
  CURRENT_VALUE,
  previousValue,
  rotationNewValue,
  type ValueField,
} from "../credentials/credential.ts";
import { decrypt, encrypt, needsReencrypt, reencrypt, type Sealed } from "../crypto/envelope.ts";
import { fingerprint } from "../crypto/fingerprint.ts";
import type { EngineServices } from "./engine-services.ts";
import type { PromotedValues } from "./credential-transitions.ts";
import type { Rotation } from "./rotation.ts";
import { stepFailure } from "./step-error.ts";
import type { Versioned } from "../store/store.ts";

type Owner = Pick<CredentialRecord, "id" | "kind">;

export async function seal(engine: EngineServices, owner: Owner, field: ValueField, plaintext: string) {
  const value = await encrypt(engine.keyring, plaintext, aadFor(owner, field));
  return { value, fingerprint: await fingerprint(engine.fingerprintKey, plaintext) };
}

/**
 * Opens a sealed value. A value in a field that names its fingerprint (a previous value; the
 * current value of a whole record) must also match that fingerprint: a value sealed before fields
 * were bound still opens in any field of its record, so someone able to write storage could copy
 * the live value over a previous one and have the sweep delete it. The check (one HMAC) refuses
 * that before any call to Clarifai is made with it.
 */
export async function open(
  engine: EngineServices,
  owner: Owner | CredentialRecord,
  field: ValueField,
  sealed: Sealed,
): Promise<string> {
  const opened = await decrypt(engine.keyring, sealed, aadFor(owner, field));
  if (!opened.ok) {
    throw stepFailure(
      false,
      "decrypt_failed",
      `Cannot decrypt a value of credential "${owner.id}": ${opened.error.code}`,
    );
  }
  const expected = field.at === "previous"
    ? field.fingerprint
    : field.at === "value" && "fingerprint" in owner
    ? owner.fingerprint
    : undefined;
  if (expected !== undefined && (await fingerprint(engine.fingerprintKey, opened.value)) !== expected) {
    throw stepFailure(
      false,
      "value_mismatch",
      `A value of credential "${owner.id}" does not match the fingerprint recorded for its field`,
    );
  }
  return opened.value;
}

/**
 * `sealed`, taken from field `from`, sealed for field `to` under the keyring's newest version.
 * With `from` equal to `to` it only rewraps what is behind: a value sealed before a master-key
 * rotation (or before fields were bound) is rewrapped as it is written, so a rotation that
 * outlives a re-encryption job cannot put an old-version value back (core/maintenance/reencrypt.ts).
 */
export async function moveSealed(
  engine: EngineServices,
  owner: Owner,
  sealed: Sealed,
  from: ValueField,
  to: ValueField,
): Promise<Sealed> {
  const same = JSON.stringify(aadFor(owner, from)) === JSON.stringify(aadFor(owner, to));
  if (same && !needsReencrypt(engine.keyring, sealed)) return sealed;
  const r = await reencrypt(engine.keyring, sealed, aadFor(owner, from), aadFor(owner, to));
  if (!r.ok) {
    throw stepFailure(
      false,
      "decrypt_failed",
      `Cannot re-encrypt a value of credential "${owner.id}": ${r.error.code}`,
    );
  }
  return r.value;
}

/**
 * The rotation's new value sealed as the credential's current value, and the credential's
 * current value sealed as the previous value it becomes: what promote writes. The old value is
 * taken from the record being changed (`rec`), read inside the compare-and-swap.
 */
export async function promotedValues(
  engine: EngineServices,
  rec: CredentialRecord,
  r: Rotation,
): Promise<PromotedValues | null> {
  // Already promoted: nothing moves (and the record's value is the new one).
  if (!r.new_value || rec.fingerprint === r.new_fingerprint) return null;
  return {
    value: await moveSealed(engine, rec, r.new_value, rotationNewValue(r.id), CURRENT_VALUE),
    // A revoked old value is dropped at promote, so it is not sealed again.
    ...(r.old_revoked
      ? {}
      : { previous: await moveSealed(engine, rec, rec.value, CURRENT_VALUE, previousValue(rec.fingerprint)) }),
  };
}

/**
 * The PAT that manages `rec`. A self-managed PAT uses its own current value, or the new value
 * once the old one is being or has been revoked (compromise) or the new one promoted. Deleting
 * the old PAT with the new one matters when the deletion's answer is lost: the retry would
 * otherwise authenticate with the PAT it just deleted, fail for good, and strand the new PAT.
 */
export async function managerToken(
  engine: EngineServices,
  rec: CredentialRecord,
  rotation?: Rotation,
  /** The manager's record, already being read (an alert's match reads it beside `rec`). */
  managerRead?: Promise<Versioned<CredentialRecord> | null>,
): Promise<string> {
  if (!rec.manager_id) {
    const revoking = rotation?.old_revoked || rotation?.step === "revoke_old";
    if (revoking && rotation?.new_value && rec.fingerprint === rotation.old_fingerprint) {
      return open(engine, rec, rotationNewValue(rotation.id), rotation.new_value);
    }
    return open(engine, rec, CURRENT_VALUE, rec.value);
  }
  const read = managerRead ? await managerRead.catch(() => null) : null;
  const manager = read?.value.id === rec.manager_id ? read : await engine.store.getCredential(rec.manager_id);
  if (!manager || manager.value.state !== "active") {
    throw stepFailure(false, "manager_unavailable", `Manager credential "${rec.manager_id}" is missing or revoked`);
  }
  return open(engine, manager.value, CURRENT_VALUE, manager.value.value);
}
