/**
 * "What happens to this credential next, and why", for the dashboard and chat. Derived from the
 * sweep's own pure rules (./rules.ts), so neither can disagree with the sweep:
 * whatever `dueActions` reports at the record's `nextActionAt` is, by construction, the next
 * scheduled action.
 */
import type { CredentialRecord } from "../credentials/credential.ts";
import { dueActions, nextActionAt } from "./rules.ts";

export interface NextAction {
  action: string;
  at: string;
  reason: string;
  /** Already due: the next sweep acts on it. */
  due: boolean;
}

export function nextActions(rec: CredentialRecord, now: number): NextAction[] {
  const due = dueActions(rec, now);
  if (due.length) return due.map((d) => ({ action: d.action, at: d.due_at, reason: d.reason, due: true }));
  const out: NextAction[] = [];
  const selfManagedPat = rec.kind === "pat" && !rec.manager_id && rec.state === "active";
  if (selfManagedPat) {
    out.push({ action: "reconcile", at: new Date(now).toISOString(), reason: "self-managed PAT: every sweep looks for orphaned rekey keys of its user", due: true });
  }
  // nextActionAt answers 0 for a self-managed PAT (visited every sweep); looked at as if it had a
  // manager, the same record yields the time of its own next rule.
  const at = nextActionAt(selfManagedPat ? { ...rec, manager_id: "(self)" } : rec);
  if (at === null || at <= now) return out;
  for (const d of dueActions(rec, at)) out.push({ action: d.action, at: d.due_at, reason: d.reason, due: false });
  return out;
}
