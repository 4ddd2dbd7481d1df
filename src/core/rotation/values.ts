/**
 * Sealing and opening credential values, and finding the token to call Clarifai with.
 * Decryption failure is permanent: a record that does not decrypt was tampered with or its key
 * version is gone, and retrying cannot help.
 */
import { aadFor, type CredentialRecord } from "../credentials/credential.ts";
import { decrypt, encrypt, needsReencrypt, reencrypt, type Sealed } from "../crypto/envelope.ts";
import { fingerprint } from "../crypto/fingerprint.ts";
import type { EngineDeps } from "./engine-deps.ts";
import type { Rotation } from "./rotation.ts";
import { StepFailure } from "./step-error.ts";

type Owner = Pick<CredentialRecord, "id" | "kind">;

export async function seal(deps: EngineDeps, owner: Owner, plaintext: string) {
  const value = await encrypt(deps.keyring, plaintext, aadFor(owner));
  return { value, fingerprint: await fingerprint(deps.fingerprintKey, plaintext) };
}

export async function open(deps: EngineDeps, owner: Owner, sealed: Sealed): Promise<string> {
  const opened = await decrypt(deps.keyring, sealed, aadFor(owner));
  if (!opened.ok) {
    throw new StepFailure(false, "decrypt_failed", `Cannot decrypt a value of credential "${owner.id}": ${opened.error.reason}`);
  }
  return opened.value;
}

/**
 * `sealed` under the keyring's newest version: a value sealed before a master-key rotation is
 * rewrapped as it is written to the credential, so a rotation that outlives a re-encryption job
 * cannot put an old-version value back (core/maintenance/reencrypt.ts).
 */
export async function currentSealed(deps: EngineDeps, owner: Owner, sealed: Sealed): Promise<Sealed> {
  if (!needsReencrypt(deps.keyring, sealed)) return sealed;
  const r = await reencrypt(deps.keyring, sealed, aadFor(owner));
  if (!r.ok) throw new StepFailure(false, "decrypt_failed", `Cannot re-encrypt a value of credential "${owner.id}": ${r.error.reason}`);
  return r.value;
}

/**
 * The PAT that manages `rec`. A self-managed PAT uses its own current value, or the new value
 * once the old one is being or has been revoked (compromise) or the new one promoted. Deleting
 * the old PAT with the new one matters when the deletion's answer is lost: the retry would
 * otherwise authenticate with the PAT it just deleted, fail for good, and strand the new PAT.
 */
export async function managerToken(deps: EngineDeps, rec: CredentialRecord, rotation?: Rotation): Promise<string> {
  if (!rec.manager_id) {
    const revoking = rotation?.old_revoked || rotation?.step === "revoke_old";
    if (revoking && rotation?.new_value && rec.fingerprint === rotation.old_fingerprint) {
      return open(deps, rec, rotation.new_value);
    }
    return open(deps, rec, rec.value);
  }
  const manager = await deps.store.getCredential(rec.manager_id);
  if (!manager || manager.value.state !== "active") {
    throw new StepFailure(false, "manager_unavailable", `Manager credential "${rec.manager_id}" is missing or revoked`);
  }
  return open(deps, manager.value, manager.value.value);
}
