/**
 * Who listens on the bus (the table in ./handlers.ts: rotator, auditor, notifier, chat replier,
 * sweeper, orphan scanner, maintainer), and what happens when an event's handling dies. Wired by
 * each entry point's consumer.
 */
import type { DeadLetterInfo, Dispatcher } from "../bus/bus.ts";
import type { BusEvent, EventType } from "../bus/events.ts";
import type { Services } from "../../services.ts";
import { subscribeHandlers } from "./handlers.ts";
import { notificationTargets } from "../notify/targets.ts";
import { deriveId, newEvent } from "../bus/new-event.ts";
import { codeSchema } from "../bus/fields.ts";

export function subscribeAll(d: Dispatcher, services: Services) {
  subscribeHandlers(d, {
    ...services,
    targets: notificationTargets(services.config),
    githubScopes: services.config.GITHUB_ALERT_SCOPES,
  });
}

/** The events whose death can mean that work on a credential died: the rotator handles them. */
const CREDENTIAL_WORK: readonly EventType[] = ["rotation.requested", "credential.compromised"];

/**
 * An event whose handling died: a human must hear of it. Work on a credential that died becomes a
 * `rotation.failed` event (so the auditor records it and the notifier alerts), with an id derived
 * from the dead event so a redelivered dead letter alerts once. Everything else is logged (ids and
 * codes only, never a value).
 *
 * Only the rotator's work counts. A record of something that already happened (a completed
 * rotation, a revocation, an orphan report) dies only because a notification or chat reply could
 * not be delivered; a `rotation.failed` for it would be a false alarm about the credential, posted
 * to every other target and written into the audit trail, so one unreachable target would make
 * all the others lie. Its death is the log line below.
 */
export async function onDeadLetter(services: Services, event: BusEvent, info: DeadLetterInfo): Promise<void> {
  console.error(
    JSON.stringify({
      level: "error",
      msg: "dead_letter",
      type: event.type,
      event_id: event.id,
      subject: event.subject,
      reason: info.reason,
      failure: info.failure,
    }),
  );
  const data = event.data as { credential_id?: string; rotation_id?: string };
  if (!data.credential_id || !CREDENTIAL_WORK.includes(event.type)) return;
  // A permanent failure names its handler: another handler's (the auditor's) is not the work's.
  if (info.failure && !info.failure.startsWith("rotator:")) return;
  const candidate = `dead_letter_${info.failure?.split(":")[1] ?? info.reason}`;
  const code = codeSchema.safeParse(candidate).success ? candidate : "dead_letter";
  await services.bus.publish(
    newEvent(
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
        now: services.now(),
      },
    ),
  );
}
