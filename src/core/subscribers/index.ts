/**
 * Who listens on the bus: the rotator (drives rotations), the auditor (appends every event to the
 * audit trail), the notifier (Slack, outbound webhooks) and the chat replier (results back to the
 * conversation that asked). Wired by each entry point's consumer.
 */
import type { DeadLetterInfo, Dispatcher } from "../bus/bus.ts";
import type { BusEvent } from "../bus/events.ts";
import type { Services } from "../../services.ts";
import { subscribeRotator } from "./rotator.ts";
import { subscribeAuditor } from "./auditor.ts";
import { subscribeNotifier } from "./notifier.ts";
import { subscribeSweeper } from "./sweeper.ts";
import { subscribeChatReplier } from "./chat-replier.ts";
import { subscribeMaintainer } from "./maintainer.ts";
import { notificationTargets } from "../notify/targets.ts";
import { deriveId, newEvent } from "../bus/new-event.ts";
import { codeSchema } from "../bus/fields.ts";

export function subscribeAll(d: Dispatcher, services: Services) {
  subscribeRotator(d, services.engine);
  subscribeAuditor(d, services.audit);
  subscribeNotifier(d, notificationTargets(services.config), services.now);
  subscribeSweeper(d, services.engine, services.bus);
  subscribeChatReplier(d, services.engine);
  subscribeMaintainer(d, services.engine, services);
}

/**
 * An event whose handling died: a human must hear of it. Work on a credential that died becomes a
 * `rotation.failed` event (so the auditor records it and the notifier alerts), with an id derived
 * from the dead event so a redelivered dead letter alerts once. Everything else is logged (ids and
 * codes only, never a value).
 */
export async function onDeadLetter(services: Services, event: BusEvent, info: DeadLetterInfo): Promise<void> {
  console.error(JSON.stringify({ level: "error", msg: "dead_letter", type: event.type, event_id: event.id, subject: event.subject, reason: info.reason, failure: info.failure }));
  const data = event.data as { credential_id?: string; rotation_id?: string };
  // A dead orphan-scan page is not a failed rotation: the scan stays owed and the next sweep restarts it.
  if (!data.credential_id || event.type === "rotation.failed" || event.type === "orphan.scan") return;
  const candidate = `dead_letter_${info.failure?.split(":")[1] ?? info.reason}`;
  const code = codeSchema.safeParse(candidate).success ? candidate : "dead_letter";
  await services.bus.publish(
    newEvent(
      "rotation.failed",
      { credential_id: data.credential_id, ...(data.rotation_id ? { rotation_id: data.rotation_id } : {}), error_code: code },
      { source: "/rekey/bus", subject: `credential/${data.credential_id}`, id: await deriveId("evt", "dead", event.source, event.id), now: services.now() },
    ),
  );
}
