/**
 * AuditLog on Deno KV, with the Workers layout (adapters/workers-audit-log.ts): entries sort
 * chronologically under ["audit", <time>:<event id>], with a copy under
 * ["audit-c", <credential id>, <time>:<event id>] so one credential's trail is a prefix.
 */
import { type AuditEntry, type AuditFilter, auditKey, type AuditLog, matches } from "../core/audit/audit-log.ts";
import type { Page } from "../core/store/store.ts";
import { listPage } from "./deno-kv-page.ts";

export class DenoKvAuditLog implements AuditLog {
  constructor(private readonly kv: Deno.Kv) {}

  async append(entry: AuditEntry): Promise<void> {
    const op = this.kv.atomic().set(["audit", auditKey(entry)], entry);
    if (entry.credential_id) op.set(["audit-c", entry.credential_id, auditKey(entry)], entry);
    await op.commit();
  }

  list(f: AuditFilter): Promise<Page<AuditEntry>> {
    const prefix = f.credential_id ? ["audit-c", f.credential_id] : ["audit"];
    return listPage<AuditEntry, AuditEntry>(
      this.kv,
      prefix,
      { cursor: f.cursor, limit: Math.min(f.limit, 1000) },
      (e) => matches(e.value, f) ? e.value : undefined,
    );
  }
}
