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
  const at = nextActionAt(rec);
  if (at === null || at <= now) return out;
  for (const d of dueActions(rec, at)) out.push({ action: d.action, at: d.due_at, reason: d.reason, due: false });
  return out;
}
