/**
 * What the sweep owes each credential, from its policy and state (and its running rotation's
 * lease) alone: pure, so the plan (GET /v1/plan) and the sweep itself use the very same decision.
 * `runningRotation` is the one read they share, to hand that rotation to `dueActions`.
 */
import { type CredentialRecord, owedSealed, type PreviousValue, upstreamExpiryOf } from "../credentials/credential.ts";
import { fingerprintPrefix } from "../crypto/fingerprint.ts";
import { iso } from "../time.ts";
import { backoffDelay } from "../backoff.ts";
import type { Rotation } from "../rotation/rotation.ts";
import type { Store } from "../store/store.ts";

type Rule = "max_age" | "grace_expired" | "expired" | "stuck_rotation" | "orphan_scan" | "upstream_expiry";

export interface DueAction {
  rule: Rule;
  credential_id: string;
  action: "rotate" | "revoke" | "revoke_previous" | "resume" | "scan_orphans" | "warn_expiring";
  due_at: string;
  /** grace_expired: which superseded value; upstream_expiry: the current one (prefix only). */
  fingerprint_prefix?: string;
  /** The current key's expires_at at Clarifai, when it has one. */
  key_expires_at?: string;
  reason: string;
}

/**
 * What the sweep needs of a credential's running rotation to decide whether to resume it: its
 * record (null when it is missing: a crash inside beginRotation left only the intent), or
 * undefined when the caller did not read it (the dashboard's "what next", which shows the resume
 * as the sweep's to decide).
 */
export type RunningRotation =
  | (
    & Pick<Rotation, "state" | "lease" | "next_attempt_at" | "handed_over_at">
    & Partial<Pick<Rotation, "contained_at" | "step">>
  )
  | null
  | undefined;

/**
 * How long the sweep leaves a rotation handed over (no lease, `handed_over_at` set) to the next
 * invocation: a compromise rotation an alert's invocation drove up to containment (drive.ts
 * `stopAfter`), left to the rotator's replay of `credential.compromised`; or one the rotator drove
 * through propagate, or through promote before a revoke_old due at once (drive.ts `handOff`,
 * `HAND_OFF_AFTER`), left to the continuation it published (`rotation.requested`,
 * core/subscribers/rotator.ts). Each normally leases it within seconds (the queue's 1 s batch
 * timeout). Past it, the event is taken as lost and the sweep resumes the rotation; before it, a
 * sweep would only start a second, redundant driver and report a healthy handover as "has no
 * driver".
 */
export const HANDOFF_GRACE_MS = 60_000;

/**
 * Handed over and not picked up since: no lease and no backoff of the rotator's. One the rotator
 * drove and left backing off is not (its `next_attempt_at` rules), and the grace is counted from
 * the handover itself, so it never delays a rotation that is really stuck past HANDOFF_GRACE_MS.
 */
const handedOver = (r: RunningRotation): r is NonNullable<RunningRotation> & { handed_over_at: string } =>
  !!r && r.state === "running" && !r.lease && !r.next_attempt_at && !!r.handed_over_at;

/** Reads the running rotation of `rec` for `dueActions` (no read when nothing runs). */
export async function runningRotation(
  store: Pick<Store, "getRotation">,
  rec: CredentialRecord,
): Promise<RunningRotation> {
  if (!rec.current_rotation) return undefined;
  return (await store.getRotation(rec.id, rec.current_rotation.id))?.value ?? null;
}

const DAY = 86_400_000;
const MAX_JITTER_MS = 6 * 3_600_000;

/**
 * Deterministic jitter: credentials registered together must not all rotate in the same minute.
 * Up to 5% of the maximum age (at most 6 h) after the due time, from a hash of the id.
 */
export function jitterMs(id: string, maxAgeDays: number): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619) >>> 0;
  return Math.floor((h / 2 ** 32) * Math.min(maxAgeDays * DAY * 0.05, MAX_JITTER_MS));
}

/**
 * After a failed attempt the next one waits 10 minutes, doubling up to an hour: the next cron sweep
 * (every 15 minutes) still retries the first failure, but a Clarifai outage is not hammered, and
 * a sweep run again at once finds nothing due.
 */
export const retryDelayMs = (failedAttempts: number) => backoffDelay(failedAttempts, 10 * 60_000, 3_600_000);

/** When an unrevoked superseded value's revocation is next due: its grace end, or its retry time. */
export const owedAt = (p: PreviousValue): number =>
  Math.max(Date.parse(p.revoke_after), p.retry_at ? Date.parse(p.retry_at) : 0);

/**
 * When the sweep may resume the credential's running rotation: as soon as no driver holds it,
 * whatever the rotation's age. A lease (drive.ts) is held until `lease.until` and renewed with
 * every step, so a live driver is never interrupted, and a dead one is replaced by the first
 * sweep after its lease ran out (a minute by default, not a fixed 15 minutes after the rotation
 * began). A rotation backing off after transient failures waits for its `next_attempt_at`. A
 * rotation no driver ever leased (the request's fast path died before its first write) and a
 * missing or already settled record (its driver died before clearing the marker) are resumable at
 * once: driving it again is safe, since the lease makes concurrent drivers return at once. A
 * rotation handed over (at containment, or by the rotator after propagate or promote) waits
 * HANDOFF_GRACE_MS from that handover for the next driver.
 */
function resumableAt(rec: CredentialRecord, running: RunningRotation): number | null {
  if (!rec.current_rotation) return null;
  const began = Date.parse(rec.current_rotation.created_at);
  if (!running || running.state !== "running") return began;
  return Math.max(
    began,
    running.lease ? Date.parse(running.lease.until) : 0,
    running.next_attempt_at ? Date.parse(running.next_attempt_at) : 0,
    handedOver(running) ? Date.parse(running.handed_over_at) + HANDOFF_GRACE_MS : 0,
  );
}

/**
 * Whether the sweep's resume of `rec`'s rotation (due from `resumableAt` on) drives work on, not
 * only clears a marker: the record is running, or missing (drive.ts materialises it from the
 * intent). A settled record is only settled. The dead-letter handler reads it to tell dead work
 * the sweep will finish from work that failed (core/subscribers/dead-work.ts).
 */
export const sweepDrivesOn = (rec: CredentialRecord, running: RunningRotation): boolean =>
  !!rec.current_rotation && (running === null || running?.state === "running");

/**
 * What is due for `rec` at `now`. `running` is its running rotation's record, when it has one
 * (see RunningRotation): the sweep and the plan read it, since only the rotation record knows
 * whether a driver holds it.
 */
export function dueActions(rec: CredentialRecord, now: number, running?: RunningRotation): DueAction[] {
  const out: DueAction[] = [];
  const id = rec.id;
  for (const p of rec.previous) {
    if (!owedSealed(rec, p) || owedAt(p) > now) continue;
    const what = p.leaked ? "leaked value is still live at Clarifai" : "superseded value's grace period ended";
    out.push({
      rule: "grace_expired",
      credential_id: id,
      action: "revoke_previous",
      due_at: p.revoke_after,
      fingerprint_prefix: fingerprintPrefix(p.fingerprint),
      reason: `${what}${p.revoke_attempts ? ` (${p.revoke_attempts} failed attempts)` : ""}`,
    });
  }
  if (rec.orphan_scan) {
    const n = rec.orphan_scan.rotation_ids.length;
    out.push({
      rule: "orphan_scan",
      credential_id: id,
      action: "scan_orphans",
      due_at: rec.orphan_scan.since,
      reason: `${n} settled rotation${
        n === 1 ? "" : "s"
      } may have left an unrecorded key at Clarifai (a create whose answer was lost)`,
    });
  }
  // Before the running-rotation cut-off: a rotation stuck inside the margin is worth a warning too.
  const warnAt = expiringAt(rec);
  if (warnAt !== null && warnAt <= now) {
    const failed = rec.last_rotation?.state === "failed" ? `; last rotation ${rec.last_rotation.id} failed` : "";
    out.push({
      rule: "upstream_expiry",
      credential_id: id,
      action: "warn_expiring",
      due_at: iso(warnAt),
      fingerprint_prefix: fingerprintPrefix(rec.fingerprint),
      reason: `the key expires at Clarifai at ${rec.key_expires_at} and has not been replaced${failed}`,
      ...keyExpiry(rec),
    });
  }
  if (rec.current_rotation) {
    const stuckAt = resumableAt(rec, running)!;
    if (stuckAt <= now) {
      out.push({
        rule: "stuck_rotation",
        credential_id: id,
        action: "resume",
        due_at: iso(stuckAt),
        reason: `rotation ${rec.current_rotation.id} ${stuckReason(running)}`,
      });
    }
    return out; // a running rotation is the one thing that may act on this credential now
  }
  if (rec.state !== "active") return out;
  const expires = rec.policy.expires_at ? Date.parse(rec.policy.expires_at) : undefined;
  if (expires !== undefined && expires <= now) {
    out.push({
      rule: "expired",
      credential_id: id,
      action: "revoke",
      due_at: iso(expires),
      reason: "hard expiry passed",
    });
    return out;
  }
  const due = maxAgeDueAt(rec);
  if (due !== null) {
    if (due <= now) {
      out.push({
        rule: "max_age",
        credential_id: id,
        action: "rotate",
        due_at: iso(due),
        reason: `older than ${rec.policy.max_age_days} days`,
        ...keyExpiry(rec),
      });
    }
  }
  return out;
}

function stuckReason(running: RunningRotation): string {
  if (running === undefined) return "is running: a sweep resumes it once no driver holds it";
  if (handedOver(running)) {
    // Contained (at the alert's stop, or before the rotator's own hand-off), or a routine one the
    // rotator delivered, or promoted before a revoke_old due at once, and handed to its
    // continuation (drive.ts `handOff`).
    if (running.contained_at) return "was contained and handed to the rotator, which has not finished it";
    return running.step === "revoke_old"
      ? "was promoted and handed to the rotator's continuation, which has not revoked its old value"
      : "was delivered and handed to the rotator's continuation, which has not finished it";
  }
  return running?.lease ? "lost its driver (lease expired)" : "has no driver";
}

const keyExpiry = (rec: CredentialRecord) => (rec.key_expires_at ? { key_expires_at: rec.key_expires_at } : {});

/**
 * When the current key enters its dead-man margin (expires_at - margin), or null. A key is
 * minted to expire grace + margin after its rotation is due, so inside the margin its rotation is
 * overdue by the whole grace period: it keeps failing, or nothing is running it.
 */
function expiringAt(rec: CredentialRecord): number | null {
  const deadMan = upstreamExpiryOf(rec.policy);
  if (!deadMan || !rec.key_expires_at || rec.state !== "active") return null;
  return Date.parse(rec.key_expires_at) - deadMan.marginHours * 3_600_000;
}

/**
 * The earliest time anything in `dueActions` can become due for this record, or null if nothing
 * ever will. Stored beside the record in the registry index, so a sweep reads only records whose
 * time has come.
 */
export function nextActionAt(rec: CredentialRecord): number | null {
  const times: number[] = [];
  if (rec.orphan_scan) times.push(Date.parse(rec.orphan_scan.since));
  for (const p of rec.previous) if (owedSealed(rec, p)) times.push(owedAt(p));
  // The lease lives on the rotation record (renewed at every step, never written here), so the
  // index cannot know when it runs out: a running rotation is due for a look at every sweep, which
  // reads its rotation record and leaves it alone while a driver holds it. Rotations run for
  // seconds, so that is one extra read per sweep for the few that are running.
  if (rec.current_rotation) times.push(Date.parse(rec.current_rotation.created_at));
  else if (rec.state === "active") {
    if (rec.policy.expires_at) times.push(Date.parse(rec.policy.expires_at));
    const due = maxAgeDueAt(rec);
    if (due !== null) times.push(due);
  }
  const warnAt = expiringAt(rec);
  if (warnAt !== null) times.push(warnAt);
  return times.length ? Math.min(...times) : null;
}

/** When the current value is past its maximum age (with the jitter), or null without a max age. */
function maxAgeDueAt(rec: CredentialRecord): number | null {
  const days = rec.policy.max_age_days;
  return days ? Date.parse(rec.value_created_at) + days * DAY + jitterMs(rec.id, days) : null;
}

/** A revocation, rotation or expiry the sweep will perform, and when it becomes due (ms; maybe past). */
export type ScheduledAction =
  | { rule: "max_age" | "expired"; at: number }
  /** A superseded value: its grace end (ms), and whether it leaked (owed at once, overdue from its first failure). */
  | { rule: "grace_expired"; at: number; revokeAfter: number; leaked: boolean };

/**
 * The dashboard's "next 7 days": when each of these rules will report this record due, as things
 * stand (a rotation it causes schedules its own grace revocation only once it has run). The same
 * decisions as `dueActions`, which reports each one from its `at` on: every superseded value
 * still owed (at its grace end or retry time); and, while no rotation is running and the
 * credential is active, its hard expiry, or its max-age rotation if that comes first (from the
 * expiry on, the rules revoke instead of rotating).
 */
export function scheduledActions(rec: CredentialRecord): ScheduledAction[] {
  const out: ScheduledAction[] = [];
  for (const p of rec.previous) {
    if (!owedSealed(rec, p)) continue;
    out.push({
      rule: "grace_expired",
      at: owedAt(p),
      revokeAfter: Date.parse(p.revoke_after),
      leaked: p.leaked === true,
    });
  }
  if (rec.current_rotation || rec.state !== "active") return out;
  const expires = rec.policy.expires_at ? Date.parse(rec.policy.expires_at) : null;
  const rotate = maxAgeDueAt(rec);
  if (expires !== null) out.push({ rule: "expired", at: expires });
  if (rotate !== null && (expires === null || rotate < expires)) out.push({ rule: "max_age", at: rotate });
  return out;
}

/**
 * When the current value is due to be replaced or to stop working, as far as its policy and key
 * say (max age with its jitter, hard expiry, the key's own expiry at Clarifai), or null. A consumer
 * reading it over the service binding may cache it until then at most (core/credentials/read-current.ts).
 */
export function replacementDueAt(rec: CredentialRecord): number | null {
  const times = [maxAgeDueAt(rec), rec.policy.expires_at ? Date.parse(rec.policy.expires_at) : null];
  if (rec.key_expires_at) times.push(Date.parse(rec.key_expires_at));
  const known = times.filter((t): t is number => t !== null);
  return known.length ? Math.min(...known) : null;
}
