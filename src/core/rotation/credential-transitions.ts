/**
 * Pure transitions of a credential record made by the rotation engine. Each is idempotent: applied
 * to a record that already reflects it, it returns the record unchanged.
 */
import { type CredentialRecord, MAX_SCANNED_ROTATIONS } from "../credentials/credential.ts";
import type { Sealed } from "../crypto/envelope.ts";
import type { Rotation } from "./rotation.ts";
import { iso } from "../time.ts";

/**
 * The values promote writes, each sealed for the field it lands in (values.ts `promotedValues`):
 * the rotation's new value as the current value, the current value as a previous one.
 */
export interface PromotedValues {
  value: Sealed;
  previous?: Sealed;
}

/** The new value becomes current; the old one is kept sealed as `previous` until revoked. */
export function promote(
  rec: CredentialRecord,
  r: Rotation,
  now: number,
  sealed: PromotedValues | null,
): CredentialRecord {
  if (!sealed || !r.new_fingerprint || rec.fingerprint === r.new_fingerprint) return rec;
  if (!r.old_revoked && !sealed.previous) {
    throw new TypeError("Cannot promote: the old value was not sealed as a previous value");
  }
  const immediate = r.reason === "compromise" || r.old_revoked;
  const graceMs = immediate ? 0 : rec.policy.grace_hours * 3_600_000;
  // A promoted successor is a working token again: a self-managed PAT that needed a new manager
  // (its rollback left it only its leaked value, containment.ts `managerLostAtRollback`) no longer does.
  const { key_expires_at: _, needs_manager: _minted, ...unexpiring } = rec;
  // A leaked current value whose delete was refused is already owed (oweLeakedRevocation): the
  // entry keeps its attempts and now holds the value it owes.
  const owed = rec.previous.find((p) => p.fingerprint === rec.fingerprint && !p.revoked_at);
  // Paid by the sweep while this rotation ran: the old value is dead and already recorded.
  const paid = rec.previous.some((p) => p.fingerprint === rec.fingerprint && p.revoked_at);
  if (paid) {
    return {
      ...unexpiring,
      value: sealed.value,
      fingerprint: r.new_fingerprint,
      value_created_at: iso(now),
      ...keyExpiry(r),
      updated_at: iso(now),
    };
  }
  return {
    ...unexpiring,
    previous: [
      ...rec.previous.filter((p) => p !== owed),
      {
        fingerprint: rec.fingerprint,
        // A revoked value is dropped: dead secrets are a liability, the fingerprint is enough.
        ...(r.old_revoked ? { revoked_at: iso(now) } : { value: sealed.previous! }),
        rotation_id: owed?.rotation_id ?? r.id,
        superseded_at: iso(now),
        revoke_after: owed ? owed.revoke_after : iso(now + graceMs),
        revoke_attempts: owed?.revoke_attempts ?? 0,
        ...(owed?.leaked ? { leaked: true } : {}),
        ...(owed?.last_error ? { last_error: owed.last_error } : {}),
      },
    ],
    value: sealed.value,
    fingerprint: r.new_fingerprint,
    value_created_at: iso(now),
    ...keyExpiry(r),
    updated_at: iso(now),
  };
}

/** The promoted key's expiry replaces the old one's (a key minted without one has none). */
const keyExpiry = (r: Rotation) => (r.new_key_expires_at ? { key_expires_at: r.new_key_expires_at } : {});

/**
 * Marks a previous value revoked and drops its sealed value. An owed leaked current value
 * (`leaked`, no replacement) is the credential's only value: once it is dead, so is the credential,
 * unless a running rotation is about to promote a replacement (finish() decides then).
 */
export function markPreviousRevoked(rec: CredentialRecord, fingerprint: string, now: number): CredentialRecord {
  const p = rec.previous.find((x) => x.fingerprint === fingerprint);
  if (!p || p.revoked_at) return rec;
  const next = {
    ...rec,
    previous: rec.previous.map((x) =>
      x.fingerprint === fingerprint
        ? {
          fingerprint: x.fingerprint,
          rotation_id: x.rotation_id,
          superseded_at: x.superseded_at,
          revoke_after: x.revoke_after,
          revoked_at: iso(now),
          revoke_attempts: x.revoke_attempts,
          ...(x.leaked ? { leaked: true } : {}),
        }
        : x
    ),
    updated_at: iso(now),
  };
  return currentIsDead(next) && !next.current_rotation ? markRevoked(next, now) : next;
}

/** The current value was revoked as an owed leaked value (see markPreviousRevoked). */
const currentIsDead = (rec: CredentialRecord) =>
  rec.previous.some((p) => p.fingerprint === rec.fingerprint && p.revoked_at);

/**
 * Clarifai refused to delete a leaked value: it becomes an owed revocation, due now and retried by
 * every sweep until Clarifai confirms (owed-revocations.ts). A leaked superseded value's entry is
 * marked; a leaked current value gets an entry of its own with no sealed copy (owedSealed).
 */
export function oweLeakedRevocation(
  rec: CredentialRecord,
  fingerprint: string,
  rotationId: string,
  code: string,
  now: number,
): CredentialRecord {
  const owed = { revoke_after: iso(now), leaked: true as const, last_error: code };
  const existing = rec.previous.find((p) => p.fingerprint === fingerprint);
  if (existing?.revoked_at) return rec;
  if (existing) {
    return {
      ...rec,
      previous: rec.previous.map((
        p,
      ) => (p === existing ? { ...p, ...owed, revoke_attempts: p.revoke_attempts + 1 } : p)),
      updated_at: iso(now),
    };
  }
  if (rec.fingerprint !== fingerprint) return rec;
  return {
    ...rec,
    previous: [...rec.previous, {
      fingerprint,
      rotation_id: rotationId,
      superseded_at: iso(now),
      revoke_attempts: 1,
      ...owed,
    }],
    updated_at: iso(now),
  };
}

/** The credential is dead: no working value remains and none will be made. */
function markRevoked(rec: CredentialRecord, now: number): CredentialRecord {
  if (rec.state === "revoked") return rec;
  return { ...rec, state: "revoked", revoked_at: iso(now), updated_at: iso(now) };
}

/** Clears the running-rotation marker and records the outcome. */
export function finish(rec: CredentialRecord, r: Rotation, now: number): CredentialRecord {
  if (rec.current_rotation?.id !== r.id) return rec;
  const { current_rotation: _, ...rest } = rec;
  const outcome = r.state === "done" ? "done" : "failed";
  let next: CredentialRecord = {
    ...rest,
    last_rotation: { id: r.id, state: outcome, reason: r.reason, finished_at: iso(now) },
    updated_at: iso(now),
  };
  // A compromise that killed the old value but could not promote a new one leaves nothing that works.
  const onlyValueDead = r.old_revoked && next.fingerprint === r.old_fingerprint;
  if (r.mode === "revoke" && r.old_revoked) next = markRevoked(next, now);
  else if (outcome === "failed" && onlyValueDead) next = markRevoked(next, now);
  else if (currentIsDead(next)) next = markRevoked(next, now); // an owed leak was paid meanwhile
  if (r.manager_lost && !next.needs_manager) next = { ...next, needs_manager: { since: iso(now), rotation_id: r.id } };
  // A self-managed PAT that deleted itself can no longer list keys, so a scan could only fail at
  // every sweep. Trade-off: a key its lost create call may have minted is then never looked for;
  // nobody ever saw that key's value, so it is not leaked, only unmanaged.
  const scannable = !(r.manager_lost && r.old_revoked);
  return owesOrphanScan(r) && scannable ? requestOrphanScan(next, r.id, now) : next;
}

/** A settled rotation that may have left a key at Clarifai no record names. */
const owesOrphanScan = (r: Rotation) => r.create_outcome_lost === true || r.rollback_incomplete === true;

/** Queues a rotation for the credential's orphan scan (the sweep picks it up at once). */
function requestOrphanScan(rec: CredentialRecord, rotationId: string, now: number): CredentialRecord {
  const pending = rec.orphan_scan?.rotation_ids ?? [];
  if (pending.includes(rotationId)) return rec;
  // Past the cap the oldest request goes: its scan has had the most sweeps to run already.
  const rotation_ids = [...pending, rotationId].slice(-MAX_SCANNED_ROTATIONS);
  return { ...rec, orphan_scan: { rotation_ids, since: rec.orphan_scan?.since ?? iso(now) }, updated_at: iso(now) };
}
