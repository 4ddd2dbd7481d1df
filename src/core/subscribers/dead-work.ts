/**
 * Dead work on a credential (./index.ts `onDeadLetter`): whether it is a `rotation.failed`, or a
 * rotation still running that the cron sweep finishes.
 *
 * The rotator's replay of `credential.compromised` is what finishes every compromise rotation
 * after the alert's containment (./rotator.ts), and a replay whose every delivery failed
 * (Clarifai refusing for the queue's ~5 minutes of retries) leaves that rotation running and
 * backing off, which the sweep resumes and completes (core/sweep/rules.ts). A `rotation.failed`
 * then would be a false alarm ("failed", then "completed") posted to chat, every notification
 * target and the audit trail; the dead-letter notice says instead that the rotation is running
 * and owed to the sweep.
 */
import type { DeadLetterInfo } from "../bus/bus.ts";
import type { BusEvent, EventType } from "../bus/events.ts";
import { deriveId, newEvent } from "../bus/new-event.ts";
import { codeSchema } from "../bus/fields.ts";
import type { Store } from "../store/store.ts";
import { runningRotation, sweepDrivesOn } from "../sweep/rules.ts";

/** The events whose death can mean that work on a credential died: the rotator handles them. */
const CREDENTIAL_WORK: readonly EventType[] = ["rotation.requested", "credential.compromised"];

/** `failed`: the `rotation.failed` to publish; `running`: the rotation owed to the sweep instead. */
export interface DeadWork {
  failed?: BusEvent;
  running?: string;
}

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
  const running = await owedToSweep(store, data.credential_id, data.rotation_id);
  if (running) return { running };
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
 * The id of the credential's rotation that the sweep will drive on (the one the dead event named,
 * when it named one), or null: none runs (never begun, settled, the credential gone), so the work
 * did die. Two reads, the credential's record and its rotation's, as the sweep reads them.
 */
async function owedToSweep(
  store: Pick<Store, "getCredential" | "getRotation">,
  credentialId: string,
  named: string | undefined,
): Promise<string | null> {
  try {
    const rec = (await store.getCredential(credentialId))?.value;
    const id = rec?.current_rotation?.id;
    if (!rec || !id || (named && named !== id)) return null;
    return sweepDrivesOn(rec, await runningRotation(store, rec)) ? id : null;
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
