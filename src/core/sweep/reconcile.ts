/**
 * Reconcile: keys at Clarifai that carry a `[rekey:<rotation id>]` marker but that no record
 * knows are orphans (a rotation created the key, then died and its rollback failed too). The
 * sweep deletes them and reports each, so no stray working key is ever left behind.
 *
 * A marked key is kept when its fingerprint is a known current or unrevoked previous value, or
 * when its rotation is still running (it may be about to record the key).
 */
import { fingerprint } from "../crypto/fingerprint.ts";
import type { EngineDeps } from "../rotation/engine-deps.ts";
import { MARKER_PATTERN } from "../rotation/rotation.ts";
import { isNotFound, unwrap } from "../rotation/step-error.ts";

export interface Orphan {
  rotationId: string;
  fingerprint: string;
}

export async function reconcileUser(deps: EngineDeps, userId: string, managerToken: string): Promise<Orphan[]> {
  const keys = unwrap(await deps.clarifai.listAllKeys(managerToken, userId, {}));
  const deleted: Orphan[] = [];
  for (const key of keys) {
    const rotationId = MARKER_PATTERN.exec(key.description ?? "")?.[1];
    if (!rotationId) continue;
    const fp = await fingerprint(deps.fingerprintKey, key.id);
    if (await isKnown(deps, fp)) continue;
    const rotation = await deps.store.findRotation(rotationId);
    if (rotation?.state === "running") continue;
    const res = await deps.clarifai.deleteKey(managerToken, userId, key.id);
    if (!res.ok && !isNotFound(res.error)) continue; // tried again on the next sweep
    deleted.push({ rotationId, fingerprint: fp });
  }
  return deleted;
}

async function isKnown(deps: EngineDeps, fp: string): Promise<boolean> {
  const id = await deps.store.findCredentialByFingerprint(fp);
  if (!id) return false;
  const rec = (await deps.store.getCredential(id))?.value;
  if (!rec) return false;
  if (rec.fingerprint === fp) return true;
  return rec.previous.some((p) => p.fingerprint === fp && !p.revoked_at);
}
