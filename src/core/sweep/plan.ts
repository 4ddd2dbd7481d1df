/**
 * The plan: what the next sweep would do and why, computed by the sweep's own rules, reading
 * only. Pages through the registry; no upstream call, no write.
 */
import type { Store } from "../store/store.ts";
import { type DueAction, dueActions } from "./rules.ts";

export async function planSweep(store: Store, now: number, opts: { pageSize?: number; maxPages?: number } = {}): Promise<DueAction[]> {
  const actions: DueAction[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < (opts.maxPages ?? 1000); page++) {
    const listed = await store.listCredentials({ limit: opts.pageSize ?? 100, ...(cursor ? { cursor } : {}) });
    for (const rec of listed.items) actions.push(...dueActions(rec, now));
    cursor = listed.cursor;
    if (!cursor) break;
  }
  return actions.sort((a, b) => a.due_at.localeCompare(b.due_at));
}
