/**
 * Who listens on the bus (the table in ./handlers.ts: rotator, auditor, notifier, chat replier,
 * sweeper, orphan scanner, maintainer), and what happens when an event's handling dies. Wired by
 * each entry point's consumer.
 */
import type { DeadLetterInfo, Dispatcher } from "../bus/bus.ts";
import type { BusEvent } from "../bus/events.ts";
import type { Services } from "../../services.ts";
import { subscribeHandlers } from "./handlers.ts";
import { notificationTargets } from "../notify/targets.ts";
import { deriveId, newEvent } from "../bus/new-event.ts";
import { codeSchema, handlerNameSchema } from "../bus/fields.ts";
import { requeueDeadChunk } from "../alerts/deferred-tokens.ts";
import { releaseOwedClaim, requeueOwedFetch } from "../alerts/owed-fetch.ts";
import { deadWork } from "./dead-work.ts";

export function subscribeAll(d: Dispatcher, services: Services) {
  subscribeHandlers(d, {
    ...services,
    targets: notificationTargets(services.config),
    githubScopes: services.config.GITHUB_ALERT_SCOPES,
  });
}

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
 * comes only once it dies older. Likewise a `github.alert_fetch_owed` while its webhook is under 6
 * hours old (core/alerts/owed-fetch.ts `requeueOwedFetch`); when it dies for good, its delivery's
 * claim is released before the notice (`releaseOwedClaim`), so GitHub's redelivery is acted on.
 *
 * Work on a credential that died also becomes a `rotation.failed` event (so the credential's audit
 * trail, its chat conversations and the notifier say the rotation failed), unless its rotation has
 * settled or is still running, young, and owed to the sweep: the notice then names that rotation and
 * its state instead (./dead-work.ts). A settled one's own announcements (`rotation.failed` or
 * `rotation.completed`, and `credential.revoked`) are published again with the engine's ids, in case
 * the engine's send was lost: if it was not, every handler drops them as duplicates. Only the
 * rotator's work counts.
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
      // Ids only: which alert a dead owed fetch was for, also where no notice target is configured.
      ...(event.type === "github.alert_fetch_owed" ? { github_alert: event.data.actor } : {}),
    }),
  );
  if (event.type === "event.dead_lettered") return;
  const now = services.now();
  // A dead GitHub chunk, or an owed GitHub alert fetch, goes round again while its alert is young:
  // nothing else holds the chunk's tokens (core/alerts/deferred-tokens.ts), and the owed alert is
  // still unread (for hours: GitHub's rate-limit window, an outage; core/alerts/owed-fetch.ts).
  const again = (await requeueDeadChunk(event, info, now)) ?? (await requeueOwedFetch(event, info, now));
  if (again) {
    console.error(JSON.stringify({
      level: "warn",
      event_id: event.id,
      requeued_id: again.id,
      ...(again.type === "github.alert_fetch_owed"
        ? { msg: "github.owed_fetch_requeued", round: again.data.round, github_alert: again.data.actor }
        : { msg: "github.chunk_requeued", alert_id: (again.data as { alert_id: string }).alert_id }),
    }));
    return services.bus.publish(again);
  }
  // Once an owed fetch dies for good its delivery's claim is released, so GitHub's redelivery is
  // acted on.
  await releaseOwedClaim(services.ledger, event);
  const [handler, failureCode] = info.failure?.split(":", 2) ?? [];
  const work = await deadWork(services.store, event, info, now);
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
      // The rotation it was for, when no rotation.failed is raised: still running and owed to the
      // sweep, or settled (its own announcements follow, with the engine's ids: ./dead-work.ts).
      ...(work.rotation ? { rotation_id: work.rotation.id, rotation_state: work.rotation.state } : {}),
      // A dead owed fetch's alert may not have been read or contained: which repository and alert
      // (core/alerts/owed-fetch.ts).
      ...(event.type === "github.alert_fetch_owed" ? { github_alert: event.data.actor } : {}),
    },
    {
      source: "/rekey/bus",
      ...(event.subject ? { subject: event.subject } : {}),
      id: await deriveId("evt", "dead-notice", event.source, event.id),
      now,
    },
  );
  await services.bus.publishAll([notice, ...(work.failed ? [work.failed] : []), ...(work.settled ?? [])]);
}
