/**
 * Moving sealed values to a new key version (rotating rekey's own master key without downtime).
 * Records under an older version stay readable throughout because the keyring keeps every
 * version; this walks the registry page by page, rewraps what is not under the target version,
 * and returns a cursor so an interrupted run resumes where it stopped. Each record is rewritten by
 * compare-and-swap, so a rotation racing the re-encryption wins and the record is retried.
 *
 * What is sealed, and so what is moved: a credential's current value, its superseded values and
 * a running rotation's intent (all in the credential record), and every rotation record's new
 * value and chat reply targets, whatever the rotation's state (a finished rotation keeps its
 * replies). Each value is rewrapped for the field it sits in. A rotation that promotes its new
 * value after this page passed it rewraps it itself (rotation/values.ts `moveSealed`), so nothing
 * can come back under the old version.
 *
 * "Behind" means under another version than the target, or sealed before fields were bound into
 * the AAD (envelope.ts `needsReencrypt`): an upgrade is finished by one pass of this job, with or
 * without a new key version.
 *
 * `remaining` counts every sealed value this page left behind: it would not open (tampered, or
 * its version is gone), or its record kept changing. Values of a record that do open are moved
 * even when another value of the same record does not. Retire an old key version only after a
 * full pass reports `remaining: 0`.
 */
import {
  aadFor,
  type CredentialRecord,
  CURRENT_VALUE,
  intentNewValue,
  previousValue,
  rotationNewValue,
  type ValueField,
} from "../credentials/credential.ts";
import { needsReencrypt, reencrypt, type Sealed, type SealedAad } from "../crypto/envelope.ts";
import type { Keyring } from "../crypto/keyring.ts";
import type { EngineServices } from "../rotation/engine-services.ts";
import type { Rotation } from "../rotation/rotation.ts";
import { replyAad } from "../chatops/reply.ts";

export interface ReencryptPage {
  scanned: number;
  /** Credentials of which at least one value (in the record or its rotations) was rewritten. */
  rewritten: number;
  /** Sealed values still behind after this page. */
  remaining: number;
  cursor?: string;
}

const MAX_CAS_TRIES = 5;

/**
 * @param target the version every value must end under: the keyring's newest. A caller whose
 *   keyring is older than the job's target must not run the page (see ./reencrypt-job.ts).
 */
export async function reencryptPage(
  engine: EngineServices,
  opts: { cursor?: string; limit: number; target?: number },
): Promise<ReencryptPage> {
  const target = opts.target ?? engine.keyring.currentVersion;
  if (target !== engine.keyring.currentVersion) {
    throw new Error(
      `Cannot re-encrypt to version ${target}: this keyring seals under ${engine.keyring.currentVersion}`,
    );
  }
  // The index, not the records: which ids a page holds is all a listing is needed for, and the
  // strongly consistent read below decides the rest (a listing may lag). Listing records would
  // add a bulk read and a parse of every record the read repeats (bench P5 `reencrypt_batch`).
  // Both list the same keys in the same order, so a job's cursor from either resumes the other.
  const page = await engine.store.listIndex({
    limit: opts.limit,
    ...(opts.cursor ? { cursor: opts.cursor } : {}),
  });
  let rewritten = 0;
  let remaining = 0;
  for (const listed of page.items) {
    const credential = await moveCredential(engine, listed.id);
    // A credential that is gone took its rotation records with it (Store.deleteCredential).
    const rotations = credential.record ? await moveRotations(engine, credential.record) : { moved: false, left: 0 };
    remaining += credential.left + rotations.left;
    if (credential.moved || rotations.moved) rewritten++;
  }
  return { scanned: page.items.length, rewritten, remaining, ...(page.cursor ? { cursor: page.cursor } : {}) };
}

/** What moving one record did: whether it was rewritten, and how many values are still behind. */
interface Move {
  moved: boolean;
  left: number;
}

/** A sealed value with what it is bound to, and how to put a replacement back. */
interface Slot<T> {
  sealed: Sealed;
  aad: SealedAad;
  put(rec: T, sealed: Sealed): T;
}

function credentialSlots(rec: CredentialRecord): Slot<CredentialRecord>[] {
  const at = (field: ValueField) => aadFor(rec, field);
  const slots: Slot<CredentialRecord>[] = [{
    sealed: rec.value,
    aad: at(CURRENT_VALUE),
    put: (r, value) => ({ ...r, value }),
  }];
  rec.previous.forEach((p, i) => {
    if (p.value) {
      slots.push({
        sealed: p.value,
        aad: at(previousValue(p.fingerprint)),
        put: (r, value) => ({ ...r, previous: r.previous.map((x, j) => (j === i ? { ...x, value } : x)) }),
      });
    }
  });
  const intent = rec.current_rotation;
  if (intent?.new_value) {
    slots.push({
      sealed: intent.new_value,
      aad: at(intentNewValue(intent.id)),
      put: (r, new_value) => ({ ...r, current_rotation: { ...r.current_rotation!, new_value } }),
    });
  }
  return slots;
}

function rotationSlots(rec: Pick<CredentialRecord, "id" | "kind">, r: Rotation): Slot<Rotation>[] {
  const slots: Slot<Rotation>[] = [];
  if (r.new_value) {
    slots.push({
      sealed: r.new_value,
      aad: aadFor(rec, rotationNewValue(r.id)),
      put: (x, new_value) => ({ ...x, new_value }),
    });
  }
  (r.replies ?? []).forEach((sealed, i) => {
    slots.push({
      sealed,
      aad: replyAad(r.id),
      put: (x, reply) => ({ ...x, replies: x.replies!.map((y, j) => (j === i ? reply : y)) }),
    });
  });
  return slots;
}

/**
 * Rewraps every behind value that opens; returns the new record (or null when nothing could be
 * rewrapped) and how many behind values it keeps because they would not open.
 */
async function rewrap<T>(keyring: Keyring, rec: T, slots: Slot<T>[]): Promise<{ next: T | null; failed: number }> {
  let next = rec;
  let changed = false;
  let failed = 0;
  for (const slot of slots) {
    if (!needsReencrypt(keyring, slot.sealed)) continue;
    const r = await reencrypt(keyring, slot.sealed, slot.aad);
    // Undecryptable (tampered, or its version was removed): left as it is, counted as remaining.
    if (!r.ok) failed++;
    else {
      next = slot.put(next, r.value);
      changed = true;
    }
  }
  return { next: changed ? next : null, failed };
}

const behind = (keyring: Keyring, slots: Slot<unknown>[]) =>
  slots.filter((s) => needsReencrypt(keyring, s.sealed)).length;

/** Moving a credential's record, and what its rotations need of it (null: there is no such credential). */
type CredentialMove = Move & { record: Pick<CredentialRecord, "id" | "kind"> | null };

async function moveCredential(engine: EngineServices, id: string): Promise<CredentialMove> {
  let record: CredentialMove["record"] = null;
  for (let i = 0; i < MAX_CAS_TRIES; i++) {
    const cur = await engine.store.getCredential(id);
    if (!cur) return { moved: false, left: 0, record };
    record = { id: cur.value.id, kind: cur.value.kind };
    const { next, failed } = await rewrap(engine.keyring, cur.value, credentialSlots(cur.value));
    if (!next) return { moved: false, left: failed, record };
    if ((await engine.store.putCredential(next, cur.version)) !== null) return { moved: true, left: failed, record };
  }
  // Still changing after every try: what is behind is counted as remaining, never silently skipped.
  const last = await engine.store.getCredential(id);
  return { moved: false, left: last ? behind(engine.keyring, credentialSlots(last.value)) : 0, record };
}

/**
 * Every rotation record of the credential, running or settled: each may hold sealed values.
 * Only the credential's id and kind, which never change, are used.
 */
async function moveRotations(engine: EngineServices, rec: Pick<CredentialRecord, "id" | "kind">): Promise<Move> {
  let moved = false;
  let left = 0;
  for (const listed of await engine.store.listRotations(rec.id)) {
    if (behind(engine.keyring, rotationSlots(rec, listed)) === 0) continue;
    const one = await moveRotation(engine, rec, listed.id);
    moved ||= one.moved;
    left += one.left;
  }
  return { moved, left };
}

async function moveRotation(
  engine: EngineServices,
  rec: Pick<CredentialRecord, "id" | "kind">,
  rotationId: string,
): Promise<Move> {
  for (let i = 0; i < MAX_CAS_TRIES; i++) {
    const cur = await engine.store.getRotation(rec.id, rotationId);
    if (!cur) return { moved: false, left: 0 };
    const { next, failed } = await rewrap(engine.keyring, cur.value, rotationSlots(rec, cur.value));
    if (!next) return { moved: false, left: failed };
    // A driver holding the lease loses its next compare-and-swap and re-reads: it repeats one
    // idempotent step, which is the price of never stopping a rotation for maintenance.
    if ((await engine.store.putRotation(next, cur.version)) !== null) return { moved: true, left: failed };
  }
  const last = await engine.store.getRotation(rec.id, rotationId);
  return { moved: false, left: last ? behind(engine.keyring, rotationSlots(rec, last.value)) : 0 };
}
