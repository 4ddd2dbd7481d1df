/**
 * Dead work on a credential (./index.ts `onDeadLetter`): whether it is a `rotation.failed`, a
 * rotation still running that the cron sweep finishes, or a rotation that has already settled.
 *
 * The rotator's replay of `credential.compromised` is what finishes every compromise rotation
 * after the alert's containment (./rotator.ts), and a replay whose every delivery failed
 * (Clarifai refusing for the queue's ~5 minutes of retries) leaves that rotation running and
 * backing off, which the sweep resumes and completes (core/sweep/rules.ts). A `rotation.failed`
 * then would be a false alarm ("failed", then "completed") posted to chat, every notification
 * target and the audit trail; the dead-letter notice says instead that the rotation is running
 * and owed to the sweep. Only while that is plausible, though: nothing in the engine bounds a
 * rotation's retries (drive.ts bumps `attempts` and backs off 4 s; the sweep resumes it every
 * 15 minutes), so a rotation stuck for good would otherwise be "owed to the sweep" forever.
 */
import type { DeadLetterInfo } from "../bus/bus.ts";
import type { BusEvent, EventType } from "../bus/events.ts";
import { deriveId, newEvent } from "../bus/new-event.ts";
import { fromEngineEvent } from "../bus/engine-events.ts";
import { codeSchema } from "../bus/fields.ts";
import type { CredentialRecord } from "../credentials/credential.ts";
import { fingerprintPrefix } from "../crypto/fingerprint.ts";
import type { Rotation } from "../rotation/rotation.ts";
import { terminalEvents } from "../rotation/terminal-events.ts";
import type { Store } from "../store/store.ts";
import { sweepDrivesOn } from "../sweep/rules.ts";

/** The events whose death can mean that work on a credential died: the rotator handles them. */
const CREDENTIAL_WORK: readonly EventType[] = ["rotation.requested", "credential.compromised"];

/**
 * How young a running rotation must be for "the sweep finishes it" to be believed. A replay dies
 * about 5 minutes after its first delivery (core/bus/backoff.ts: 10 + 20 + 40 + 80 + 160 s) and
 * the sweep runs every 15 minutes, so an hour leaves it about four resumes; a rotation running
 * longer than that is stuck, and a human must hear `rotation.failed`.
 */
export const OWED_MAX_AGE_MS = 3_600_000;
/**
 * Failed drives in a row at the rotation's current step (`attempts`, drive.ts; reset by each step
 * that succeeds) below which it is still owed to the sweep. The dying replay alone accounts for up
 * to 6 (one per delivery: 1 + wrangler.toml's `max_retries` 5); the 4 more are the hour's sweeps.
 */
export const OWED_MAX_ATTEMPTS = 10;
/** The source of the sweep's events (core/sweep/run.ts): its own resume dying is never "owed to the sweep". */
const SWEEP_SOURCE = "/rekey/cron";

/**
 * `failed`: the `rotation.failed` to publish. `rotation`: the rotation the dead work was for, when
 * no dead-letter `rotation.failed` is raised for it: running and owed to the sweep, or settled
 * (`done`, `failed`). `settled`: for a settled one, the engine's own announcements of it
 * (`rotation.completed` or `rotation.failed`, and `credential.revoked` / `credential.orphaned_manager`
 * when the engine sends them), rebuilt from its record exactly as the engine builds them
 * (rotation/terminal-events.ts, bus/engine-events.ts): same source, same ids. The engine's one send
 * of them swallows a failure (drive.ts `safeEmit`), and the driver may die before sending at all; when
 * it did arrive, every handler drops the copy as a duplicate (the ledger keys a run by event source,
 * id and handler: bus/ledger.ts `ledgerKey`, used by bus.ts on Workers and Deno alike); when it was
 * lost, this copy is the announcement.
 */
export interface DeadWork {
  failed?: BusEvent;
  rotation?: { id: string; state: Rotation["state"] };
  settled?: BusEvent[];
}

/** What the rules read of the rotation the dead work was for (from its record, or its intent alone). */
type Found = Pick<Rotation, "id" | "state" | "reason" | "mode" | "old_fingerprint" | "attempts" | "created_at"> & {
  finished_at?: string | undefined;
  /** The rotation's record, whole, when there is one (always, once settled: an intent alone is running). */
  record?: Rotation;
  /** Whether its credential's record says `revoked` (settle.ts `finishCredential` then sends `credential.revoked`). */
  revoked?: boolean;
  /** The credential's current rotation (the record, or null for the intent alone), when it is that one. */
  current?: { rec: CredentialRecord; running: Rotation | null };
};

/**
 * What the death of `event` means for its credential's rotation. Only the rotator's work counts.
 * A record of something that already happened (a completed rotation, a revocation, an orphan
 * report) dies only because a notification or chat reply could not be delivered; a
 * `rotation.failed` for it would be a false alarm about the credential, posted to every other
 * target and written into the audit trail, so one unreachable target would make all the others
 * lie. Its death is the notice, which says only that the event died.
 */
export async function deadWork(
  store: Pick<Store, "getCredential" | "getRotation">,
  event: BusEvent,
  info: DeadLetterInfo,
  now: number,
): Promise<DeadWork> {
  const data = event.data as { credential_id?: string; rotation_id?: string };
  if (!data.credential_id || !CREDENTIAL_WORK.includes(event.type)) return {};
  // A permanent failure names its handler: another handler's (the auditor's) is not the work's.
  if (info.failure && !info.failure.startsWith("rotator:")) return {};
  const found = await rotationOf(store, event, data.credential_id);
  if (found && found.state !== "running") {
    const settled = found.record
      ? await Promise.all(terminalEvents(found.record, !!found.revoked).map((e) => fromEngineEvent(e, now)))
      : [];
    return { rotation: { id: found.id, state: found.state }, settled };
  }
  if (found && owedToSweep(event, info, found, now)) return { rotation: { id: found.id, state: "running" } };
  const candidate = `dead_letter_${info.failure?.split(":")[1] ?? info.reason}`;
  const code = codeSchema.safeParse(candidate).success ? candidate : "dead_letter";
  const failed = newEvent(
    "rotation.failed",
    {
      credential_id: data.credential_id,
      ...(data.rotation_id ? { rotation_id: data.rotation_id } : {}),
      error_code: code,
    },
    {
      source: "/rekey/bus",
      subject: `credential/${data.credential_id}`,
      id: await deriveId("evt", "dead", event.source, event.id),
      now,
    },
  );
  return { failed };
}

/**
 * Running, and the sweep finishing it is believable: the replay's retries ran out (a permanent
 * failure will not pass on the sweep's next try either), the dead event is not the sweep's own
 * resume (that one already was the sweep trying), and the rotation is within the bounds above.
 */
function owedToSweep(event: BusEvent, info: DeadLetterInfo, r: Found, now: number): boolean {
  return info.reason === "retries_exhausted" && event.source !== SWEEP_SOURCE && !!r.current &&
    sweepDrivesOn(r.current.rec, r.current.running) && now - Date.parse(r.created_at) < OWED_MAX_AGE_MS &&
    r.attempts < OWED_MAX_ATTEMPTS;
}

/**
 * The rotation the dead work was for, or null (none, never begun, the credential gone, or the
 * store cannot say: then the work did die). The one it named; else the credential's current
 * rotation, then its last, if it is the one the event asked for (`isFor`). Read by id, so one
 * settled but whose marker is not cleared yet (its driver died in between) counts as settled.
 */
async function rotationOf(
  store: Pick<Store, "getCredential" | "getRotation">,
  event: BusEvent,
  credentialId: string,
): Promise<Found | null> {
  try {
    const rec = (await store.getCredential(credentialId))?.value;
    if (!rec) return null;
    const intent = rec.current_rotation;
    if (intent) {
      // The read the sweep makes (core/sweep/rules.ts `runningRotation`), whole: null is the intent alone.
      const running = (await store.getRotation(rec.id, intent.id))?.value ?? null;
      const r: Found = running ?? {
        ...intent,
        state: "running",
        // What the rotation record materialised from this intent will say (rotation/begin.ts).
        old_fingerprint: rec.fingerprint,
        attempts: 0,
      };
      if (isFor(event, r)) return { ...r, ...settledAs(running, rec), current: { rec, running } };
    }
    const last = rec.last_rotation && (await store.getRotation(rec.id, rec.last_rotation.id))?.value;
    if (last && last.state !== "running" && isFor(event, last)) return { ...last, ...settledAs(last, rec) };
    const named = (event.data as { rotation_id?: string }).rotation_id;
    const settled = named && named !== intent?.id && named !== last?.id
      ? (await store.getRotation(rec.id, named))?.value
      : undefined;
    return settled && settled.state !== "running" ? { ...settled, ...settledAs(settled, rec) } : null;
  } catch (error) {
    // Storage cannot say: report the rotation failed, as before this check existed. A possibly
    // false "failed" (the sweep may still finish it) is better than silence about a rotation that
    // may really have died.
    console.error(JSON.stringify({
      level: "warn",
      msg: "dead_letter.rotation_unread",
      credential_id: credentialId,
      error: error instanceof Error ? error.name : typeof error,
    }));
    return null;
  }
}

/** A rotation record read, and its credential's state, for `terminalEvents`. */
const settledAs = (record: Rotation | null, rec: CredentialRecord) =>
  record ? { record, revoked: rec.state === "revoked" } : {};

/**
 * Whether `r` is the rotation the dead `event` asked for. A request naming its rotation: that one.
 * A compromise replay: a compromise rotation (begun by it, or a routine one it escalated,
 * rotation/begin.ts `escalate`) of the leaked value, by its fingerprint prefix; a routine rotation
 * that happens to run is not, nor is one of another value. The sweep's request naming none: one of
 * its reason and mode begun since. A settled one that was not named must have settled after the
 * event, so that its own announcement is news about this work, not an older outcome.
 */
function isFor(event: BusEvent, r: Found): boolean {
  const d = event.data as { rotation_id?: string; fingerprint_prefix?: string; reason?: string; mode?: string };
  if (d.rotation_id) return r.id === d.rotation_id;
  const after = (t: string | undefined) => !!t && Date.parse(t) >= Date.parse(event.time);
  if (r.state !== "running" && !after(r.finished_at)) return false;
  if (event.type === "credential.compromised") {
    return r.reason === "compromise" && fingerprintPrefix(r.old_fingerprint) === d.fingerprint_prefix;
  }
  return r.reason === d.reason && r.mode === d.mode && after(r.created_at);
}
