/**
 * A credential whose `current_rotation` marker names a rotation that has already settled.
 *
 * A rotation's own record settles first and the write that clears the credential's marker comes
 * after it (drive.ts `finishCredential`), so there is a window, short in the normal case and up to
 * the next driver's or sweep's `settle` after a crash in between, where GET /v1/rotations/:id says
 * `done` while the credential still names the rotation. A caller polls the rotation and then acts
 * on the credential (unmanages it, rotates it again, reads its state), so every reader that
 * decides from the marker takes the credential as it is once the settlement lands (`finish`, the
 * same pure transition the driver writes), not as it was a moment before. The order of the two
 * writes stays: settling the credential first would leave a crash with a credential that forgot
 * a rotation still running (drive.ts).
 *
 * Runtime-neutral.
 */
import type { CredentialRecord } from "../credentials/credential.ts";
import type { Store } from "../store/store.ts";
import { finish } from "./credential-transitions.ts";
import type { Rotation } from "./rotation.ts";

/** `rec` with the settlement of `r` applied, when `r` is the settled rotation its marker names; else `rec`. */
export function asSettled(rec: CredentialRecord, r: Rotation | null | undefined): CredentialRecord {
  if (!r || r.state === "running" || rec.current_rotation?.id !== r.id) return rec;
  // The rotation's own finish time, so repeated reads in the window show one settlement.
  return finish(rec, r, Date.parse(r.finished_at ?? r.updated_at));
}

/**
 * The settled rotation `rec`'s marker names, or null when there is no marker or its rotation is
 * still running (or not yet recorded: an intent whose record a driver is about to create). One
 * rotation read, only while a marker is set.
 */
export async function settledRotationOf(
  store: Pick<Store, "getRotation">,
  rec: CredentialRecord,
): Promise<Rotation | null> {
  const intent = rec.current_rotation;
  if (!intent) return null;
  const r = (await store.getRotation(rec.id, intent.id))?.value;
  return r && r.state !== "running" ? r : null;
}

/** `rec` as it is once the rotation its marker names has settled (`asSettled` after `settledRotationOf`). */
export async function credentialAsSettled(
  store: Pick<Store, "getRotation">,
  rec: CredentialRecord,
): Promise<CredentialRecord> {
  return asSettled(rec, await settledRotationOf(store, rec));
}
