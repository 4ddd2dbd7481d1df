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
import { codeSchema, handlerNameSchema } from "../bus/fields.ts";
import { requeueDeadChunk } from "../alerts/deferred-tokens.ts";

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
 * An event whose handling died: a human must hear of it, whatever its type (a dead `sweep.batch`
 * is a page of the sweep that did not run, a dead `maintenance.reencrypt` a stalled job, a dead
 * `alert.received` a missing audit entry).
 *
 * Every dead event becomes an `event.dead_lettered` notice (the auditor records it, the notifier
 * posts it to every target) naming the dead event's type, id and source, and its permanent
 * failure if it had one, never its data. Its id derives from the dead event, so a dead letter
 * redelivered notifies once. The one exception is a dead notice itself, which is only logged: its
 * death means a target could not be told, and telling the targets about it would repeat the same
 * failure about itself, one notice after another.
 *
 * One exception the other way: a `github.tokens_deferred` chunk whose retries ran out is sent to
 * the main queue again, under a new id, while its alert is under an hour old
 * (core/alerts/deferred-tokens.ts `requeueDeadChunk`): its tokens exist nowhere else, and a notice
 * comes only once it dies older.
 *
 * Work on a credential that died also becomes a `rotation.failed` event (so the credential's audit
 * trail, its chat conversations and the notifier say the rotation failed). Only the rotator's work
 * counts. A record of something that already happened (a completed rotation, a revocation, an
 * orphan report) dies only because a notification or chat reply could not be delivered; a
 * `rotation.failed` for it would be a false alarm about the credential, posted to every other
 * target and written into the audit trail, so one unreachable target would make all the others
 * lie. Its death is the notice, which says only that the event died.
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
  if (event.type === "event.dead_lettered") return;
  const now = services.now();
  // A GitHub chunk that ran out of retries goes round again while its alert is young: its tokens
  // are not kept anywhere else (core/alerts/deferred-tokens.ts).
  const again = await requeueDeadChunk(event, info, now);
  if (again) {
    console.error(JSON.stringify({
      level: "warn",
      msg: "github.chunk_requeued",
      event_id: event.id,
      requeued_id: again.id,
      alert_id: (again.data as { alert_id: string }).alert_id,
    }));
    return services.bus.publish(again);
  }
  const [handler, failureCode] = info.failure?.split(":", 2) ?? [];
  const notice = newEvent(
    "event.dead_lettered",
    {
      event_type: event.type,
      event_id: event.id,
      event_source: event.source,
      reason: info.reason,
      // Both come from the dead event's `rekeyfailure`; a part its own schema refuses is left out.
      ...(handlerNameSchema.safeParse(handler).success ? { handler } : {}),
      ...(codeSchema.safeParse(failureCode).success ? { error_code: failureCode } : {}),
      // A dead chunk's tokens were never matched: which alert, how many (core/alerts/deferred-tokens.ts).
      ...(event.type === "github.tokens_deferred"
        ? { alert_id: event.data.alert_id, token_count: event.data.token_count }
        : {}),
      // A dead owed fetch's alert was never read: which repository and alert (core/alerts/owed-fetch.ts).
      ...(event.type === "github.alert_fetch_owed" ? { github_alert: event.data.actor } : {}),
    },
    {
      source: "/rekey/bus",
      ...(event.subject ? { subject: event.subject } : {}),
      id: await deriveId("evt", "dead-notice", event.source, event.id),
      now,
    },
  );
  const failed = await rotationFailed(event, info, now);
  await services.bus.publishAll(failed ? [notice, failed] : [notice]);
}

/** The `rotation.failed` for dead work on a credential (see `onDeadLetter`), or null. */
async function rotationFailed(event: BusEvent, info: DeadLetterInfo, now: number) {
  const data = event.data as { credential_id?: string; rotation_id?: string };
  if (!data.credential_id || !CREDENTIAL_WORK.includes(event.type)) return null;
  // A permanent failure names its handler: another handler's (the auditor's) is not the work's.
  if (info.failure && !info.failure.startsWith("rotator:")) return null;
  const candidate = `dead_letter_${info.failure?.split(":")[1] ?? info.reason}`;
  const code = codeSchema.safeParse(candidate).success ? candidate : "dead_letter";
  return newEvent(
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
}
