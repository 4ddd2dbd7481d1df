/**
 * Starting a rotation, or joining the one already running. Duplicate triggers (the same alert
 * twice, an alert and the sweep together, 50 concurrent API calls) all land here; exactly one
 * wins the compare-and-swap on the credential record and the rest get the winner's rotation back.
 */
import { type CredentialRecord, intentNewValue, rotationNewValue } from "../credentials/credential.ts";
import { randomId } from "../crypto/random.ts";
import type { Versioned } from "../store/store.ts";
import type { EngineServices } from "./engine-services.ts";
import { stepPlanFor } from "./step-plan.ts";
import type { Rotation, RotationMode, RotationReason } from "./rotation.ts";
import { moveSealed, seal } from "./values.ts";
import { settleRotation } from "./settle.ts";
import { isFailure } from "../failure.ts";
import { iso } from "../time.ts";

export interface RotationRequest {
  reason: RotationReason;
  mode: RotationMode;
  requestedBy: string;
  /** Who confirmed a destructive request on someone else's behalf (chat's two-person rule). */
  approvedBy?: string;
  /** secret kind only: the operator's new value. Sealed at once; never stored or logged in clear. */
  newValue?: string;
  /**
   * Compromise of a specific value: begin only while that value is still current. An alert that
   * matched the value just before another rotation replaced it must not rotate the replacement.
   */
  expectedFingerprint?: string;
  /**
   * Compromise only: when the alert asking for it was received (ms); default: now. Recorded as the
   * rotation's `alert_received_at` by the first compromise trigger that begins or joins it.
   */
  alertReceivedAt?: number;
}

export type BeginResult =
  /** `version`: the rotation record's, when this begin created it (the driver starts from it). */
  | { ok: true; rotation: Rotation; joined: boolean; version?: string }
  | {
    ok: false;
    code: "credential_not_found" | "credential_revoked" | "value_required" | "value_superseded" | "conflict";
  };

const MAX_CAS_TRIES = 20;

/**
 * `known`: the credential's record as the caller just read it (an alert's match), used for the
 * first try instead of reading it again: one Durable Object call and its parse fewer before an
 * alert's 202 (bench P5). A stale copy costs only a retry: the write is a compare-and-swap on its
 * version, and what the first try may decide without writing holds for a stale copy too (a
 * revoked credential stays revoked; a rotation is joined only once its own record, read fresh,
 * says it is running). One decision differs, harmlessly: a stale copy naming a rotation already
 * past its promote joins and escalates it (its old value is the matched one, deleted at its
 * revoke_old), where a fresh read answers `value_superseded` and the caller revokes that value as
 * a previous one; both delete it at once.
 */
export async function beginRotation(
  engine: EngineServices,
  credentialId: string,
  req: RotationRequest,
  known?: Versioned<CredentialRecord>,
): Promise<BeginResult> {
  for (let i = 0; i < MAX_CAS_TRIES; i++) {
    const cur = i === 0 && known?.value.id === credentialId ? known : await engine.store.getCredential(credentialId);
    if (!cur) return { ok: false, code: "credential_not_found" };
    const rec = cur.value;
    if (rec.current_rotation) {
      const running = await materialise(engine, rec);
      if (running?.state === "running") {
        // The value an alert matched is no longer current (this rotation's promote replaced it
        // since the match): there is nothing of it to join. The caller matches it again and revokes
        // it as the previous value it now is, at once (core/alerts/contain.ts `revokePreviousNow`).
        if (req.expectedFingerprint && rec.fingerprint !== req.expectedFingerprint) {
          return { ok: false, code: "value_superseded" };
        }
        return { ok: true, rotation: await escalate(engine, running, req), joined: true };
      }
      if (running) {
        // Settled, its marker not yet cleared (./settle.ts): settled first, released and announced
        // as its driver would, then decided on the credential read again (a revoke's is revoked).
        // Writing over the marker as it stands would drop the settlement and its announcements.
        try {
          await settleRotation(engine, running);
        } catch (error) {
          // Its release kept losing to other writers: whoever won settled it, or this loop's
          // next read finds it still named and tries again; out of tries, a `conflict` (409).
          if (!isFailure(error, "step") || error.code !== "conflict") throw error;
        }
        continue;
      }
    }
    if (rec.state === "revoked") return { ok: false, code: "credential_revoked" };
    if (req.expectedFingerprint && rec.fingerprint !== req.expectedFingerprint) {
      return { ok: false, code: "value_superseded" };
    }
    const intent = await intentFor(engine, rec, req);
    if (!intent.ok) return intent;
    const next: CredentialRecord = {
      ...rec,
      current_rotation: intent.value,
      updated_at: iso(engine.now()),
    };
    if ((await engine.store.putCredential(next, cur.version)) === null) continue;
    // Our intent just won the CAS: its record cannot exist unless a joiner raced us to it.
    const made = await materialiseVersioned(engine, next, { fresh: true });
    if (made) {
      return { ok: true, rotation: made.value, joined: false, ...(made.version ? { version: made.version } : {}) };
    }
  }
  return { ok: false, code: "conflict" };
}

async function intentFor(engine: EngineServices, rec: CredentialRecord, req: RotationRequest) {
  let mode = req.mode;
  const id = randomId("rot", engine.now());
  let sealed: { value: CredentialRecord["value"]; fingerprint: string } | undefined;
  if (rec.kind === "secret" && mode === "rotate") {
    if (req.newValue !== undefined) sealed = await seal(engine, rec, intentNewValue(id), req.newValue);
    else if (rec.policy.generator !== "random") {
      // A leaked third-party secret with no way to make a new value: delete it rather than wait
      // for a human, since containment comes first. A routine rotation must be given a value.
      if (req.reason !== "compromise") return { ok: false as const, code: "value_required" as const };
      mode = "revoke";
    }
  }
  if (req.reason === "compromise" && rec.policy.on_compromise === "revoke") mode = "revoke";
  return {
    ok: true as const,
    value: {
      id,
      reason: req.reason,
      mode,
      requested_by: req.requestedBy,
      ...(req.approvedBy ? { approved_by: req.approvedBy } : {}),
      created_at: iso(engine.now()),
      ...(req.reason === "compromise" ? { alert_received_at: alertTime(engine, req) } : {}),
      ...(sealed ? { new_value: sealed.value, new_fingerprint: sealed.fingerprint } : {}),
    },
  };
}

/**
 * The rotation record for the credential's current intent, created from the intent if no driver
 * has yet. Creation is a compare-and-swap on a fresh key, so racing callers end up with one record.
 */
export async function materialise(
  engine: EngineServices,
  rec: CredentialRecord,
  opts: { fresh?: boolean } = {},
): Promise<Rotation | null> {
  return (await materialiseVersioned(engine, rec, opts))?.value ?? null;
}

/** `materialise`, with the record's version when this call wrote it (else the version read, or none). */
async function materialiseVersioned(
  engine: EngineServices,
  rec: CredentialRecord,
  opts: { fresh?: boolean } = {},
): Promise<{ value: Rotation; version?: string } | null> {
  const intent = rec.current_rotation;
  if (!intent) return null;
  // A fresh intent goes straight to the create (a read would find nothing); the CAS below catches a joiner.
  if (!opts.fresh) {
    const existing = await engine.store.getRotation(rec.id, intent.id);
    if (existing) return existing;
  }
  const stepPlan = stepPlanFor(rec, intent.mode, intent.reason);
  const rotation: Rotation = {
    id: intent.id,
    credential_id: rec.id,
    reason: intent.reason,
    mode: intent.mode,
    state: "running",
    plan: stepPlan,
    step: stepPlan[0]!,
    requested_by: intent.requested_by,
    ...(intent.approved_by ? { approved_by: intent.approved_by } : {}),
    old_fingerprint: rec.fingerprint,
    // The intent's value moves into the rotation record: sealed again for its new field.
    ...(intent.new_value
      ? {
        new_value: await moveSealed(
          engine,
          rec,
          intent.new_value,
          intentNewValue(intent.id),
          rotationNewValue(intent.id),
        ),
        new_fingerprint: intent.new_fingerprint,
      }
      : {}),
    propagated: [],
    old_revoked: false,
    attempts: 0,
    ...(intent.alert_received_at ? { alert_received_at: intent.alert_received_at } : {}),
    created_at: intent.created_at,
    updated_at: intent.created_at,
  };
  const version = await engine.store.putRotation(rotation, null);
  if (version !== null) return { value: rotation, version };
  return (await engine.store.getRotation(rec.id, intent.id)) ?? null;
}

/**
 * A compromise that joins a routine rotation must not wait out a grace period: the running
 * rotation takes the compromise reason, so promote revokes the old value at once.
 */
async function escalate(engine: EngineServices, running: Rotation, req: RotationRequest): Promise<Rotation> {
  if (req.reason !== "compromise" || running.reason === "compromise") return running;
  for (let i = 0; i < MAX_CAS_TRIES; i++) {
    const cur: Versioned<Rotation> | null = await engine.store.getRotation(running.credential_id, running.id);
    if (!cur || cur.value.state !== "running" || cur.value.reason === "compromise") return cur?.value ?? running;
    // Only a leak of the value this rotation retires makes it a compromise: its revoke_old then
    // kills that value at once (drive.ts `inGrace`). An alert naming another value (the one its
    // promote just made current) leaves it routine, its old value in its grace period; the replay of
    // that alert contains the leak once this rotation is over (core/subscribers/rotator.ts). A
    // request naming no value (an operator's) is taken to mean the value it retires.
    if (req.expectedFingerprint && req.expectedFingerprint !== cur.value.old_fingerprint) return cur.value;
    const next = {
      ...cur.value,
      reason: "compromise" as const,
      alert_received_at: cur.value.alert_received_at ?? alertTime(engine, req),
      updated_at: iso(engine.now()),
    };
    if ((await engine.store.putRotation(next, cur.version)) !== null) return next;
  }
  return running;
}

const alertTime = (engine: EngineServices, req: RotationRequest) => iso(req.alertReceivedAt ?? engine.now());
