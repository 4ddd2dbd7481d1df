/**
 * A settled rotation and its credential: the write that releases the credential, the
 * announcements, and what readers and writers do while the credential still names a rotation
 * that is over.
 *
 * A rotation's own record settles first (`done`/`failed`, drive.ts `persistOutcome`); the write
 * that clears the credential's `current_rotation` marker with what the outcome leaves (`finish`)
 * follows, then the announcements. Settling the credential first would let a crash leave a
 * credential that forgot a rotation still running. So there is a window, one write long while the
 * driver lives and until the next driver's or the sweep's `settleRotation` after a crash in
 * between, in which GET /v1/rotations/:id says `done` while the credential still names the
 * rotation. A caller polls the rotation and then acts on the credential, so:
 * - a reader takes the credential as the settlement leaves it (`readSettled`), from a copy read
 *   after the rotation was seen settled: a settled rotation makes no credential write but its
 *   release, while an older copy may predate its last ones (a salvage's promote), and `finish`
 *   on it would say revoked a credential that is active on its new value;
 * - a writer (begin, PATCH, DELETE) settles the rotation first (`settleStaleMarker`: the release
 *   and the announcements, as the driver would have), then reads the credential again. Taking
 *   the marker in its own write would leave a crashed driver's rotation unannounced for good:
 *   `settleRotation` announces only while the credential still names it.
 *
 * Runtime-neutral.
 */
import type { CredentialRecord } from "../credentials/credential.ts";
import type { Store } from "../store/store.ts";
import { finish } from "./credential-transitions.ts";
import type { EngineServices } from "./engine-services.ts";
import type { Rotation } from "./rotation.ts";
import { terminalEvents } from "./terminal-events.ts";
import { updateCredential } from "./update-credential.ts";

/**
 * A settled rotation whose credential still names it: its driver died before releasing it, or is
 * about to, or a reader or writer found it so (`settleStaleMarker`). Release and announce it now
 * (events are at-least-once, with ids of their own: a second announcement is dropped as a duplicate).
 */
export async function settleRotation(engine: EngineServices, r: Rotation): Promise<Rotation> {
  const rec = await engine.store.getCredential(r.credential_id);
  if (rec?.value.current_rotation?.id === r.id) await finishCredential(engine, r);
  return r;
}

/** The release and the announcements of the settled `r`. */
async function finishCredential(engine: EngineServices, r: Rotation) {
  await announceSettled(engine, r, await releaseCredential(engine, r));
}

/** Clears the credential's marker of the settled `r`, with what its outcome leaves (`finish`). */
export function releaseCredential(engine: EngineServices, r: Rotation): Promise<CredentialRecord | null> {
  return updateCredential(engine, r.credential_id, (c) => finish(c, r, engine.now()));
}

/** The settled `r`'s announcements; `rec`: its credential as the release left it. */
export async function announceSettled(engine: EngineServices, r: Rotation, rec: CredentialRecord | null) {
  for (const event of terminalEvents(r, rec?.state === "revoked")) await safeEmit(engine, event, TERMINAL_TRIES);
}

/**
 * Sends of a settled rotation's announcements (./terminal-events.ts): a lost one is silence about
 * a failure (or a revocation), so a failed send is tried again a couple of times, briefly. The dead
 * letter re-announces a settled rotation too (core/subscribers/dead-work.ts), but only when work on
 * it died; this is the one path every settlement takes.
 */
const TERMINAL_TRIES = 3;
const TERMINAL_PAUSE_MS = 250;

/** One event's send, never throwing: `tries` sends at most. */
export async function safeEmit(engine: EngineServices, event: Parameters<EngineServices["emit"]>[0], tries = 1) {
  for (let i = 1; i <= tries; i++) {
    try {
      return await engine.emit(event);
    } catch {
      // The transition is persisted; a lost notification must not undo or repeat it, so never throw.
      if (i < tries) await engine.sleep(TERMINAL_PAUSE_MS * i);
    }
  }
}

/** `rec` with the settlement of `r` applied, when `r` is the settled rotation its marker names; else `rec`. */
export function asSettled(rec: CredentialRecord, r: Rotation | null | undefined): CredentialRecord {
  if (!r || r.state === "running" || rec.current_rotation?.id !== r.id) return rec;
  // The rotation's own finish time, so repeated reads in the window show one settlement.
  return finish(rec, r, Date.parse(r.finished_at ?? r.updated_at));
}

/**
 * The credential `rec` as its rotation's settlement leaves it, and the rotation its marker names
 * as read (running or settled; null without a marker or before a driver recorded it). One rotation
 * read while a marker is set, and one credential read more when that rotation has settled.
 */
export async function readSettled(
  store: Pick<Store, "getRotation" | "getCredential">,
  rec: CredentialRecord,
): Promise<{ rec: CredentialRecord; rotation: Rotation | null }> {
  const intent = rec.current_rotation;
  if (!intent) return { rec, rotation: null };
  const rotation = (await store.getRotation(rec.id, intent.id))?.value ?? null;
  if (!rotation || rotation.state === "running") return { rec, rotation };
  const fresh = (await store.getCredential(rec.id))?.value ?? rec;
  return { rec: asSettled(fresh, rotation), rotation };
}

/**
 * For a writer: when `rec`'s marker names a rotation that has settled, settles it (its release and
 * announcements, `settleRotation`) and says so; the caller then reads the credential again.
 */
export async function settleStaleMarker(engine: EngineServices, rec: CredentialRecord): Promise<boolean> {
  const intent = rec.current_rotation;
  if (!intent) return false;
  const r = (await engine.store.getRotation(rec.id, intent.id))?.value;
  if (!r || r.state === "running") return false;
  await settleRotation(engine, r);
  return true;
}
