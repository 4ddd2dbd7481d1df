/** The audit trail on a credential's page: the newest entries, and what the page could not read. */
import type { AuditEntry, AuditLog } from "../core/audit/audit-log.ts";

/** The credential page shows this many audit entries, newest first… */
const AUDIT_SHOWN = 100;
/** …after reading at most this many list pages of 1,000 (the KV maximum the audit log allows). */
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
 * The newest entries of a credential's trail. The log lists oldest first, so every page is read
 * (up to AUDIT_PAGES) keeping the last AUDIT_SHOWN; if a cursor remains, newer entries than
 * those shown may exist, and the page says so.
 */
export async function newestAudit(audit: AuditLog, credentialId: string): Promise<AuditTrail> {
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
    kept = [...kept, ...listed.items].slice(-AUDIT_SHOWN);
    cursor = listed.cursor;
    if (!cursor) break;
  }
  return { entries: kept.reverse(), total, olderHidden: total > kept.length, newerMayBeMissing: cursor !== undefined };
}
