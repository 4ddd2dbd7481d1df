/**
 * The rotation record: one persisted run of the rotation state machine for one credential.
 * Each step's result is written here (compare-and-swap) before the next step starts, so a crash
 * at any point resumes from the last persisted step. See ./step-plan.ts for the step orders.
 */
import * as z from "zod/mini";
import { sealedSchema } from "../crypto/envelope.ts";
import { isoTimeSchema } from "../time.ts";

export const rotationReasonSchema = z.enum(["compromise", "scheduled", "manual", "expiry"]);
export type RotationReason = z.infer<typeof rotationReasonSchema>;

export const stepSchema = z.enum(["revoke_old", "create", "propagate", "verify", "promote", "done"]);
export type Step = z.infer<typeof stepSchema>;

/** rotate: replace the value; revoke: kill it and leave no replacement. */
export const rotationModeSchema = z.enum(["rotate", "revoke"]);
export type RotationMode = z.infer<typeof rotationModeSchema>;

/** Create calls one rotation may make; past that its answers were lost too often to go on. */
export const MAX_CREATE_CALLS = 6;

export const rotationErrorSchema = z.object({
  code: z.string(),
  message: z.string(),
  clarifai_code: z.optional(z.number()),
  step: stepSchema,
});
export type RotationError = z.infer<typeof rotationErrorSchema>;

export const rotationSchema = z.object({
  id: z.string(),
  credential_id: z.string(),
  reason: rotationReasonSchema,
  mode: rotationModeSchema,
  state: z.enum(["running", "done", "failed"]),
  /** The step plan: the ordered steps for this run, fixed when it begins (./step-plan.ts). */
  plan: z.array(stepSchema),
  step: stepSchema,
  /** Who asked: "admin", "github", "webhook", "slack:U123", "cron". Never a secret. */
  requested_by: z.string(),
  /** Who confirmed it, when a confirmation was required (chat: "slack:U456"). */
  approved_by: z.optional(z.string()),
  old_fingerprint: z.string(),
  /** The new value, sealed as soon as it exists so that a crash cannot lose it. */
  new_value: z.optional(sealedSchema),
  new_fingerprint: z.optional(z.string()),
  /** The new key's `expires_at` at Clarifai, when it was minted with one; promote records it. */
  new_key_expires_at: z.optional(isoTimeSchema),
  /** Sinks (by sinkKey) that already hold the new value. */
  propagated: z._default(z.array(z.string()), []),
  /**
   * When propagate last began writing each sink (by sinkKey), by rekey's clock: a sink whose
   * value cannot be read back (a GitHub Actions secret) is verified by its own update time.
   */
  sink_written_at: z.optional(z.record(z.string(), isoTimeSchema)),
  old_revoked: z._default(z.boolean(), false),
  /** Clarifai refused to delete the leaked old value: its revocation is owed to the sweep (credential `previous[].leaked`). */
  old_revoke_owed: z.optional(z.boolean()),
  /**
   * A leaked self-managed PAT's successor could not be minted (or was, but the rotation failed
   * and its rollback deleted it), so the leaked PAT was deleted (`old_revoked`) or its delete is
   * owed: the credential needs a new manager.
   */
  manager_lost: z.optional(z.boolean()),
  /**
   * When this rotation may have minted a key at Clarifai: the start of each create call, written
   * (by compare-and-swap) before the call. Each call's window runs from its start to start +
   * CREATE_CALL_MAX_MS. A key is adopted or deleted as this rotation's own only if Clarifai's
   * `created_at` for it falls inside one of them (see ./ownership.ts): a marker alone proves
   * nothing, since anyone who can edit a key's description can copy it. Bounded: a create whose
   * answers keep getting lost fails rather than widening the windows without end.
   */
  create_calls: z.optional(z.array(isoTimeSchema).check(z.maxLength(MAX_CREATE_CALLS))),
  /**
   * A create call's outcome was lost (a crash or a lost response after the window opened), so
   * Clarifai may hold a key this rotation minted but never recorded. Once the rotation settles,
   * its credential owes an orphan scan (core/sweep/orphan-scan.ts).
   */
  create_outcome_lost: z.optional(z.boolean()),
  /** The rollback could not delete the key this rotation recorded: the orphan scan owes it. */
  rollback_incomplete: z.optional(z.boolean()),
  /**
   * Compromise only: when the alert was received, by the first trigger that started this rotation
   * or joined it as a compromise (an alert route's arrival time; an operator's request otherwise).
   */
  alert_received_at: z.optional(isoTimeSchema),
  /**
   * Compromise only: when Clarifai confirmed the leaked value dead: the revoke step (for a secret
   * being rotated, the propagate that overwrote it), or the sweep paying it.
   */
  contained_at: z.optional(isoTimeSchema),
  /**
   * When a driver last gave its lease back for another invocation to go on: the alert's own
   * invocation stopping at containment (./drive.ts `stopAfter`), or the rotator handing the rest
   * to its continuation after propagate, or after promote before a revoke_old due at once
   * (./drive.ts `handOff`, `HAND_OFF_AFTER`; core/subscribers/rotator.ts). Twice at most in the
   * usual runs (a compromise: containment, propagate; a routine rotation: propagate, promote),
   * each written by the write that released the lease, never refreshed otherwise: the sweep's
   * grace for the next driver (core/sweep/rules.ts `HANDOFF_GRACE_MS`) is counted from the latest.
   */
  handed_over_at: z.optional(isoTimeSchema),
  attempts: z._default(z.number().check(z.int(), z.gte(0)), 0),
  next_attempt_at: z.optional(isoTimeSchema),
  /** Who is driving this run, and until when; see ./drive.ts. */
  lease: z.optional(z.object({ owner: z.string(), until: isoTimeSchema })),
  error: z.optional(rotationErrorSchema),
  /**
   * Where to post the outcome for the chat users who asked (Slack response_url, Discord
   * follow-up webhook), sealed: each URL is a short-lived capability to post into a channel.
   * See core/chatops/reply.ts.
   */
  replies: z.optional(z.array(sealedSchema).check(z.maxLength(8))),
  created_at: isoTimeSchema,
  updated_at: isoTimeSchema,
  finished_at: z.optional(isoTimeSchema),
});
export type Rotation = z.infer<typeof rotationSchema>;

/**
 * Time from the leak alert to the leaked value confirmed dead: rekey's headline number, recorded
 * on every compromise rotation that got that far. Null until then, and for other rotations.
 */
export function containmentMs(r: Pick<Rotation, "alert_received_at" | "contained_at">): number | null {
  if (!r.alert_received_at || !r.contained_at) return null;
  return Math.max(0, Date.parse(r.contained_at) - Date.parse(r.alert_received_at));
}

/** Marker put in a new Clarifai key's description, so a resumed run can find a key it created. */
export const rotationMarker = (rotationId: string) => `[rekey:${rotationId}]`;
/** Any rekey marker, well-formed or not (for stripping). */
const ANY_MARKER = /\s*\[rekey:[^\]]*\]/g;
/** A description without rekey's markers: a new key gets exactly one, its own rotation's. */
export const withoutMarkers = (description: string) => description.replace(ANY_MARKER, "").trim();
