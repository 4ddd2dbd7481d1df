/** In-memory AuditLog for unit tests. */
import { type AuditEntry, type AuditFilter, auditKey, type AuditLog, matches } from "./audit-log.ts";
import type { Page } from "../store/store.ts";

export class MemoryAuditLog implements AuditLog {
  #entries = new Map<string, AuditEntry>();

  async append(entry: AuditEntry): Promise<void> {
    this.#entries.set(auditKey(entry), structuredClone(entry));
  }

  async list(f: AuditFilter): Promise<Page<AuditEntry>> {
    const keys = [...this.#entries.keys()].sort().filter((k) => !f.cursor || k > f.cursor);
    const page = keys.slice(0, f.limit);
    const items = page.map((k) => this.#entries.get(k)!).filter((e) => matches(e, f)).map((e) => structuredClone(e));
    return page.length === f.limit && keys.length > f.limit ? { items, cursor: page.at(-1)! } : { items };
  }
}
