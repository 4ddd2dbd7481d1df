/**
 * Who listens on the bus: the rotator (drives rotations), the auditor (appends every event to the
 * audit trail) and the notifier (Slack, outbound webhooks). Wired by each entry point's consumer.
 */
import type { DeadLetterInfo, Dispatcher } from "../bus/bus.ts";
import type { BusEvent } from "../bus/events.ts";
import type { Services } from "../../services.ts";
import { subscribeRotator } from "./rotator.ts";

export function subscribeAll(d: Dispatcher, services: Services) {
  subscribeRotator(d, services.engine);
}

/**
 * An event whose handling died. A human must hear of it: until the notifier lands this logs a
 * structured line (ids and codes only, never a value).
 */
export async function onDeadLetter(_services: Services, event: BusEvent, info: DeadLetterInfo): Promise<void> {
  console.error(JSON.stringify({ level: "error", msg: "dead_letter", type: event.type, event_id: event.id, subject: event.subject, reason: info.reason, failure: info.failure }));
}
