/**
 * A credential's newest audit entries, for every surface that shows them (the dashboard's
 * credential page, chat's `status`), and what the read could not reach.
 *
 * Runtime-neutral.
 */
import type { AuditEntry, AuditLog } from "./audit-log.ts";

/** At most this many list pages of 1,000 (the KV maximum the audit log allows) are read. */
const AUDIT_PAGES = 10;
const AUDIT_PAGE_SIZE = 1000;

export interface AuditTrail {
  /** Newest first (of what was read). */
  entries: AuditEntry[];
  /** How many entries were read. */
  total: number;
  /** More entries were read than are shown: the older ones are not on the page. */
  olderHidden: boolean;
  /** The read stopped with a cursor left: entries newer than those shown may exist. */
  newerMayBeMissing: boolean;
}

/**
 * The newest `shown` entries of a credential's trail. The log lists oldest first (KV lists keys
 * in order only), so every page is read (up to AUDIT_PAGES) keeping the last `shown`; if a cursor
 * remains, newer entries than those shown may exist, and the caller says so.
 */
export async function newestAudit(audit: AuditLog, credentialId: string, shown: number): Promise<AuditTrail> {
  let kept: AuditEntry[] = [];
  let total = 0;
  let cursor: string | undefined;
  for (let i = 0; i < AUDIT_PAGES; i++) {
    const listed = await audit.list({
      credential_id: credentialId,
      limit: AUDIT_PAGE_SIZE,
      ...(cursor ? { cursor } : {}),
    });
    total += listed.items.length;
    kept = [...kept, ...listed.items].slice(-shown);
    cursor = listed.cursor;
    if (!cursor) break;
  }
  return { entries: kept.reverse(), total, olderHidden: total > kept.length, newerMayBeMissing: cursor !== undefined };
}
