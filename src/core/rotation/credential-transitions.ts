/**
 * Pure transitions of a credential record made by the rotation engine. Each is idempotent: applied
 * to a record that already reflects it, it returns the record unchanged.
 */
import { type CredentialRecord, MAX_SCANNED_ROTATIONS } from "../credentials/credential.ts";
import type { Rotation } from "./rotation.ts";

const iso = (ms: number) => new Date(ms).toISOString();

/** The new value becomes current; the old one is kept sealed as `previous` until revoked. */
export function promote(rec: CredentialRecord, r: Rotation, now: number): CredentialRecord {
  if (!r.new_value || !r.new_fingerprint || rec.fingerprint === r.new_fingerprint) return rec;
  const immediate = r.reason === "compromise" || r.old_revoked;
  const graceMs = immediate ? 0 : rec.policy.grace_hours * 3_600_000;
  const { key_expires_at: _, ...unexpiring } = rec;
  return {
    ...unexpiring,
    previous: [
      ...rec.previous,
      {
        fingerprint: rec.fingerprint,
        // A revoked value is dropped: dead secrets are a liability, the fingerprint is enough.
        ...(r.old_revoked ? { revoked_at: iso(now) } : { value: rec.value }),
        rotation_id: r.id,
        superseded_at: iso(now),
        revoke_after: iso(now + graceMs),
        revoke_attempts: 0,
      },
    ],
    value: r.new_value,
    fingerprint: r.new_fingerprint,
    value_created_at: iso(now),
    ...keyExpiry(r),
    updated_at: iso(now),
  };
}

/** The promoted key's expiry replaces the old one's (a key minted without one has none). */
const keyExpiry = (r: Rotation) => (r.new_key_expires_at ? { key_expires_at: r.new_key_expires_at } : {});

/** Marks a previous value revoked and drops its sealed value. */
export function markPreviousRevoked(rec: CredentialRecord, fingerprint: string, now: number): CredentialRecord {
  const p = rec.previous.find((x) => x.fingerprint === fingerprint);
  if (!p || p.revoked_at) return rec;
  return {
    ...rec,
    previous: rec.previous.map((x) =>
      x.fingerprint === fingerprint ? { fingerprint: x.fingerprint, rotation_id: x.rotation_id, superseded_at: x.superseded_at, revoke_after: x.revoke_after, revoked_at: iso(now), revoke_attempts: x.revoke_attempts } : x,
    ),
    updated_at: iso(now),
  };
}

/** The credential is dead: no working value remains and none will be made. */
export function markRevoked(rec: CredentialRecord, now: number): CredentialRecord {
  if (rec.state === "revoked") return rec;
  return { ...rec, state: "revoked", revoked_at: iso(now), updated_at: iso(now) };
}

/** Clears the running-rotation marker and records the outcome. */
export function finish(rec: CredentialRecord, r: Rotation, now: number): CredentialRecord {
  if (rec.current_rotation?.id !== r.id) return rec;
  const { current_rotation: _, ...rest } = rec;
  const outcome = r.state === "done" ? "done" : "failed";
  let next: CredentialRecord = { ...rest, last_rotation: { id: r.id, state: outcome, reason: r.reason, finished_at: iso(now) }, updated_at: iso(now) };
  // A compromise that killed the old value but could not promote a new one leaves nothing that works.
  const onlyValueDead = r.old_revoked && next.fingerprint === r.old_fingerprint;
  if (r.mode === "revoke" && r.old_revoked) next = markRevoked(next, now);
  else if (outcome === "failed" && onlyValueDead) next = markRevoked(next, now);
  return owesOrphanScan(r) ? requestOrphanScan(next, r.id, now) : next;
}

/** A settled rotation that may have left a key at Clarifai no record names. */
export const owesOrphanScan = (r: Rotation) => r.create_outcome_lost === true || r.rollback_incomplete === true;

/** Queues a rotation for the credential's orphan scan (the sweep picks it up at once). */
export function requestOrphanScan(rec: CredentialRecord, rotationId: string, now: number): CredentialRecord {
  const pending = rec.orphan_scan?.rotation_ids ?? [];
  if (pending.includes(rotationId)) return rec;
  // Past the cap the oldest request goes: its scan has had the most sweeps to run already.
  const rotation_ids = [...pending, rotationId].slice(-MAX_SCANNED_ROTATIONS);
  return { ...rec, orphan_scan: { rotation_ids, since: rec.orphan_scan?.since ?? iso(now) }, updated_at: iso(now) };
}
