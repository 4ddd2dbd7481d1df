/**
 * The plan: what the next sweep would do and why, computed by the sweep's own rules, reading
 * only (no upstream call, no write).
 *
 * Like the sweep, it reads the registry index (next-action times in KV key metadata: one list
 * operation per 1,000 credentials) and fetches only the records whose time has come, so a plan
 * over 100,000 credentials costs ~100 list operations plus the due records, not a read of every
 * record. At most `maxRecords` due records are read per plan (a request has a subrequest budget);
 * past that the plan says it is truncated rather than silently short.
 */
import type { LeftAlone } from "../credentials/credential.ts";
import { fingerprintPrefix } from "../crypto/fingerprint.ts";
import type { Store } from "../store/store.ts";
import { type DueAction, dueActions, runningRotation } from "./rules.ts";

/** A marked key at Clarifai that rekey cannot prove it minted, so it never deletes it. */
export interface LeftAloneKey {
  credential_id: string;
  rotation_id: string;
  fingerprint_prefix: string;
  reason: LeftAlone["reason"];
  found_at: string;
}

export interface SweepPlan {
  actions: DueAction[];
  /** Marked keys the orphan scan found and left alone (reported once each as orphan.suspected). */
  left_alone: LeftAloneKey[];
  /** More credentials were due than this plan read. */
  truncated: boolean;
}

const INDEX_PAGE = 1000;
const PARALLEL_READS = 20;

export async function planSweepReport(
  store: Store,
  now: number,
  opts: { maxRecords?: number } = {},
): Promise<SweepPlan> {
  const maxRecords = opts.maxRecords ?? 500;
  const due: string[] = [];
  let truncated = false;
  let cursor: string | undefined;
  do {
    const page = await store.listIndex({ limit: INDEX_PAGE, ...(cursor ? { cursor } : {}) });
    // Unknown time (written before the index existed): read it, as the sweep does.
    // Records with left-alone keys are read too: the plan lists those keys.
    for (const e of page.items) {
      if (e.next_action_at === undefined || (e.next_action_at !== null && e.next_action_at <= now) || e.left_alone) {
        due.push(e.id);
      }
    }
    cursor = page.cursor;
    if (due.length > maxRecords) {
      truncated = true;
      break;
    }
  } while (cursor);
  const actions: DueAction[] = [];
  const leftAlone: LeftAloneKey[] = [];
  const ids = due.slice(0, maxRecords);
  for (let i = 0; i < ids.length; i += PARALLEL_READS) {
    const found = await Promise.all(ids.slice(i, i + PARALLEL_READS).map((id) => store.getCredential(id)));
    for (const f of found) {
      if (!f) continue;
      actions.push(...dueActions(f.value, now, await runningRotation(store, f.value)));
      for (const l of f.value.left_alone ?? []) {
        leftAlone.push({
          credential_id: f.value.id,
          rotation_id: l.rotation_id,
          fingerprint_prefix: fingerprintPrefix(l.fingerprint),
          reason: l.reason,
          found_at: l.found_at,
        });
      }
    }
  }
  return { actions: actions.sort((a, b) => a.due_at.localeCompare(b.due_at)), left_alone: leftAlone, truncated };
}

/** The plan's actions alone, for callers that show them as a list. */
export async function planSweep(store: Store, now: number, opts: { maxRecords?: number } = {}): Promise<DueAction[]> {
  return (await planSweepReport(store, now, opts)).actions;
}
