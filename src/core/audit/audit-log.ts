/**
 * The audit trail: one append-only entry per bus event, built from the event's data, which the
 * bus schemas already keep free of secret values (strict objects, bounded fields). Entries are
 * keyed by event id, so a redelivered event rewrites the same entry instead of adding one.
 */
import type { BusEvent } from "../bus/events.ts";
import { auditActor } from "./actor.ts";
import type { Page } from "../store/store.ts";

export interface AuditEntry {
  id: string;
  time: string;
  type: BusEvent["type"];
  source: string;
  subject?: string;
  credential_id?: string;
  rotation_id?: string;
  /** Who did it (./actor.ts): an admin action's actor, a rotation's requester, a consumer, the sweep. */
  actor?: string;
  data: Record<string, unknown>;
}

export interface AuditFilter {
  credential_id?: string;
  type?: string;
  /** Inclusive ISO bounds on `time`. */
  since?: string;
  until?: string;
  cursor?: string;
  limit: number;
}

export interface AuditLog {
  append(entry: AuditEntry): Promise<void>;
  /** Oldest first. A page may hold fewer than `limit` entries when filters skip some. */
  list(filter: AuditFilter): Promise<Page<AuditEntry>>;
}

export function auditEntryFor(event: BusEvent): AuditEntry {
  const data = withoutSealed(event);
  const credential = typeof data.credential_id === "string" ? data.credential_id : undefined;
  const rotation = typeof data.rotation_id === "string" ? data.rotation_id : undefined;
  const actor = auditActor(event);
  return {
    id: event.id,
    time: event.time,
    type: event.type,
    source: event.source,
    ...(event.subject ? { subject: event.subject } : {}),
    ...(credential ? { credential_id: credential } : {}),
    ...(rotation ? { rotation_id: rotation } : {}),
    ...(actor ? { actor } : {}),
    data,
  };
}

export function matches(e: AuditEntry, f: AuditFilter): boolean {
  return (
    (!f.credential_id || e.credential_id === f.credential_id) &&
    (!f.type || e.type === f.type) &&
    (!f.since || e.time >= f.since) &&
    (!f.until || e.time <= f.until)
  );
}

/** Chronological, unique key for an entry: time first, then the event id. */
export const auditKey = (e: Pick<AuditEntry, "time" | "id">) => `${e.time}:${e.id}`;

/**
 * An event's data as the trail keeps it. A deferred GitHub chunk (`github.tokens_deferred`) carries
 * leaked tokens sealed: the trail keeps its alert, index and counts, not the ciphertext, so no copy
 * of third-party tokens outlives the queue message in a store that is kept for years.
 */
function withoutSealed(event: BusEvent): Record<string, unknown> {
  if (event.type !== "github.tokens_deferred") return event.data as Record<string, unknown>;
  const { sealed: _sealed, ...rest } = event.data;
  return rest;
}
