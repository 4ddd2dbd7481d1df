/**
 * The notifier: one bus handler per target ("notify:slack", "notify:webhook-<id>"), so a target
 * that is down is retried on its own without repeating deliveries that already succeeded.
 */
import type { Dispatcher } from "../bus/bus.ts";
import type { EventType } from "../bus/events.ts";
import { deliver } from "../notify/deliver.ts";
import type { Target } from "../notify/targets.ts";

export const NOTIFIED_TYPES: EventType[] = ["rotation.completed", "rotation.failed", "credential.revoked", "revocation.overdue", "credential.orphaned_manager", "credential.expiring", "orphan.deleted", "orphan.suspected"];

export function subscribeNotifier(d: Dispatcher, targets: Target[], now: () => number) {
  for (const target of targets) {
    for (const type of NOTIFIED_TYPES) {
      d.subscribe(type, `notify-${target.id}`, (event) => deliver(target, event, now()));
    }
  }
}
