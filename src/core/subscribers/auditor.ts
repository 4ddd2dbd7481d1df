/** The auditor: every event on the bus becomes an audit entry (idempotent by event id). */
import type { Dispatcher } from "../bus/bus.ts";
import { eventTypes } from "../bus/events.ts";
import { type AuditLog, auditEntryFor } from "../audit/audit-log.ts";

export function subscribeAuditor(d: Dispatcher, audit: AuditLog) {
  for (const type of eventTypes) {
    if (type === "sweep.batch" || type === "orphan.scan") continue; // plumbing, not history
    d.subscribe(type, "auditor", (event) => audit.append(auditEntryFor(event)));
  }
}
