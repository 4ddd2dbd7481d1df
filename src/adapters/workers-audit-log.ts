/**
 * AuditLog on Workers KV. Keys sort chronologically (`audit:<time>:<event id>`), with a copy under
 * `audit-c:<credential id>:<time>:<event id>` so one credential's trail is a prefix list.
 * The entry rides in the key's metadata (KV allows 1,024 bytes), so listing a page is one KV
 * operation with no value reads; an entry too large for metadata is stored as the value instead.
 * Eventual consistency is acceptable here: the trail is read by people, not by the engine.
 */
import { type AuditEntry, type AuditFilter, auditKey, type AuditLog, matches } from "../core/audit/audit-log.ts";
import type { Page } from "../core/store/store.ts";

const META_LIMIT = 1000;

export class WorkersAuditLog implements AuditLog {
  constructor(private readonly kv: KVNamespace) {}

  async append(entry: AuditEntry): Promise<void> {
    const json = JSON.stringify(entry);
    const small = json.length <= META_LIMIT;
    const put = (key: string) => (small ? this.kv.put(key, "", { metadata: entry }) : this.kv.put(key, json));
    await Promise.all([
      put(`audit:${auditKey(entry)}`),
      ...(entry.credential_id ? [put(`audit-c:${entry.credential_id}:${auditKey(entry)}`)] : []),
    ]);
  }

  async list(f: AuditFilter): Promise<Page<AuditEntry>> {
    const prefix = f.credential_id ? `audit-c:${f.credential_id}:` : "audit:";
    const listed = await this.kv.list<AuditEntry>({
      prefix,
      limit: Math.min(f.limit, 1000),
      ...(f.cursor ? { cursor: f.cursor } : {}),
    });
    const items: AuditEntry[] = [];
    for (const key of listed.keys) {
      const entry = key.metadata ?? (await this.kv.get<AuditEntry>(key.name, "json"));
      if (entry && matches(entry, f)) items.push(entry);
    }
    return listed.list_complete ? { items } : { items, cursor: listed.cursor };
  }
}
