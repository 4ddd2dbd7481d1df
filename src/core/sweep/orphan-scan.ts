/**
 * The orphan scan: the one place rekey deletes a key at Clarifai that no credential holds.
 *
 * It runs only where a create's outcome was lost (or a rollback could not delete), which the
 * records name: a settled rotation with `create_outcome_lost` / `rollback_incomplete` leaves its
 * credential an `orphan_scan` request (credential-transitions.ts), the sweep publishes the first
 * `orphan.scan` page for it, and each page is one invocation: one ListKeys call of 1,000 keys,
 * then a verdict on every key whose marker names one of the requested rotations
 * (rotation/ownership.ts). Nothing else is listed, so cost follows the lost creates, not the
 * number of keys a user holds.
 *
 * A key is deleted only if its marker names a rotation this credential holds, that rotation
 * settled without recording it, Clarifai created it inside the rotation's create window, and no
 * credential knows its fingerprint. Every other marked key it sees for those rotations is left
 * alone and reported once (`orphan.suspected`, and the credential's `left_alone`).
 *
 * Deleting keys shifts Clarifai's offset pages, so a page where anything was deleted is listed
 * again before the scan moves on; a scan whose deletes failed stays owed for the next sweep.
 */
import { type Key, MAX_PER_PAGE } from "../clarifai/index.ts";
import type { EventBus } from "../bus/bus.ts";
import type { EventData } from "../bus/events.ts";
import { deriveId, newEvent } from "../bus/new-event.ts";
import { type CredentialRecord, type LeftAlone, MAX_LEFT_ALONE } from "../credentials/credential.ts";
import { fingerprint, fingerprintPrefix } from "../crypto/fingerprint.ts";
import type { EngineServices } from "../rotation/engine-services.ts";
import { markerOf, orphanVerdict } from "../rotation/ownership.ts";
import type { Rotation } from "../rotation/rotation.ts";
import { isNotFound, unwrap } from "../rotation/step-error.ts";
import { toFailure } from "../failure.ts";
import { keyType } from "../rotation/steps.ts";
import { updateCredential } from "../rotation/update-credential.ts";
import { managerToken } from "../rotation/values.ts";
import { iso } from "../time.ts";

export type OrphanScanPage = EventData<"orphan.scan">;

export interface ScanPageResult {
  deleted: number;
  leftAlone: number;
  /** The next page to scan, or absent when this scan is over. */
  next?: OrphanScanPage;
}

/** Pages one scan may take (Clarifai's 1,000 pages of 1,000, plus re-listings after deletes). */
const MAX_STEPS = 2_000;

/** The first page of a credential's owed scan, as the sweep publishes it. */
export const firstScanPage = (credentialId: string, sweepId: string): OrphanScanPage => ({
  credential_id: credentialId,
  sweep_id: sweepId,
  page: 1,
  step: 0,
  failures: 0,
});

export async function processOrphanScanPage(
  engine: EngineServices,
  bus: EventBus,
  scan: OrphanScanPage,
): Promise<ScanPageResult> {
  const rec = (await engine.store.getCredential(scan.credential_id))?.value;
  // Unmanaged since (or already scanned): nothing of its may be deleted any more.
  if (!rec?.orphan_scan || rec.kind === "secret") return { deleted: 0, leftAlone: 0 };
  const wanted = rec.orphan_scan.rotation_ids;
  const rotations = new Map<string, Rotation | null>(
    await Promise.all(
      wanted.map(async (id) => [id, (await engine.store.getRotation(rec.id, id))?.value ?? null] as const),
    ),
  );
  let token: string;
  let keys: Key[];
  try {
    token = await managerToken(engine, rec);
    keys = unwrap(
      await engine.clarifai.listKeys(token, rec.user_id, {
        type: keyType(rec),
        page: scan.page,
        perPage: MAX_PER_PAGE,
      }),
    );
  } catch (error) {
    // Transient: the queue retries this page. Permanent (the manager is gone or lacks Keys_Get):
    // nothing can be proved, so nothing is deleted; the scan stays owed and the next sweep tries again.
    if (toFailure(error).retryable) throw error;
    return { deleted: 0, leftAlone: 0 };
  }
  const now = engine.now();
  let deleted = 0;
  let shifted = false;
  let failures = scan.failures;
  const found: LeftAlone[] = [];
  for (const key of keys) {
    const rotationId = markerOf(key);
    if (!rotationId || !wanted.includes(rotationId) || key.type !== keyType(rec)) continue;
    const fp = await fingerprint(engine.fingerprintKey, key.id);
    const verdict = orphanVerdict(key, fp, rotations.get(rotationId) ?? null);
    if (!verdict.orphan) {
      if (verdict.leftAlone && !(rec.left_alone ?? []).some((l) => l.fingerprint === fp)) {
        found.push({ fingerprint: fp, rotation_id: rotationId, reason: verdict.leftAlone, found_at: iso(now) });
      }
      continue;
    }
    if (await engine.store.findCredentialByFingerprint(fp)) continue; // some credential holds it
    // Read again, strongly consistent, right before the delete: a credential unmanaged (or a scan
    // finished) since the page began must not lose another key.
    if (!(await engine.store.getCredential(rec.id))?.value.orphan_scan?.rotation_ids.includes(rotationId)) {
      return { deleted, leftAlone: 0 };
    }
    const res = await engine.clarifai.deleteKey(token, rec.user_id, key.id);
    if (!res.ok && !isNotFound(res.error)) {
      failures++;
      continue;
    }
    deleted++;
    shifted ||= res.ok;
    await bus.publish(
      newEvent("orphan.deleted", {
        rotation_id: rotationId,
        fingerprint_prefix: fingerprintPrefix(fp),
        credential_id: rec.id,
      }, {
        source: "/rekey/cron",
        subject: `credential/${rec.id}`,
        id: await deriveId("evt", "orphan", rotationId, fp),
        now,
      }),
    );
  }
  if (found.length) await reportLeftAlone(engine, bus, rec.id, found, now);
  // Re-list a page that lost keys (later keys moved up into it); move on after a full page; stop after a short one.
  const page = shifted ? scan.page : keys.length === MAX_PER_PAGE ? scan.page + 1 : null;
  if (page === null || page > 1000 || scan.step >= MAX_STEPS) {
    await updateCredential(engine, rec.id, (c) => finishScan(c, wanted, failures > 0 || page !== null, now));
    return { deleted, leftAlone: found.length };
  }
  const next: OrphanScanPage = { ...scan, page, step: scan.step + 1, failures };
  await bus.publish(
    newEvent("orphan.scan", next, {
      source: "/rekey/cron",
      subject: `credential/${rec.id}`,
      id: await deriveId("evt", "orphan-scan", scan.sweep_id, rec.id, String(next.step)),
      now,
    }),
  );
  return { deleted, leftAlone: found.length, next };
}

/** Remembers the new left-alone keys on the credential, then reports each once. */
async function reportLeftAlone(
  engine: EngineServices,
  bus: EventBus,
  credentialId: string,
  found: LeftAlone[],
  now: number,
) {
  await updateCredential(engine, credentialId, (c) => {
    const known = c.left_alone ?? [];
    const fresh = found.filter((f) => !known.some((l) => l.fingerprint === f.fingerprint));
    return fresh.length ? { ...c, left_alone: [...known, ...fresh].slice(-MAX_LEFT_ALONE), updated_at: iso(now) } : c;
  });
  for (const f of found) {
    await bus.publish(
      newEvent("orphan.suspected", {
        credential_id: credentialId,
        rotation_id: f.rotation_id,
        fingerprint_prefix: fingerprintPrefix(f.fingerprint),
        reason: f.reason,
      }, {
        source: "/rekey/cron",
        subject: `credential/${credentialId}`,
        // Reported once per key, however many scans see it.
        id: await deriveId("evt", "orphan-suspected", f.rotation_id, f.fingerprint),
        now,
      }),
    );
  }
}

/** The scanned rotations are settled; rotations that asked for a scan meanwhile wait for the next. */
function finishScan(rec: CredentialRecord, scanned: string[], keepOwed: boolean, now: number): CredentialRecord {
  if (!rec.orphan_scan || keepOwed) return rec;
  const rest = rec.orphan_scan.rotation_ids.filter((id) => !scanned.includes(id));
  const { orphan_scan: _, ...without } = rec;
  return rest.length
    ? { ...rec, orphan_scan: { rotation_ids: rest, since: iso(now) }, updated_at: iso(now) }
    : { ...without, updated_at: iso(now) };
}
