/**
 * What the admin API shows of records. Built field by field (never by spreading a record), so a
 * field added to storage later cannot leak a sealed value into a response by accident.
 * Fingerprints are cut to their first 8 hex: enough to tell values apart, useless for guessing.
 */
import { z } from "zod";
import type { CredentialRecord } from "../../core/credentials/credential.ts";
import { fingerprintPrefix } from "../../core/crypto/fingerprint.ts";
import type { Rotation } from "../../core/rotation/rotation.ts";

export function credentialView(rec: CredentialRecord) {
  return {
    id: rec.id,
    kind: rec.kind,
    state: rec.state,
    user_id: rec.user_id,
    app_id: rec.app_id ?? null,
    secret_id: rec.secret_id ?? null,
    description: rec.description,
    manager_id: rec.manager_id ?? null,
    scopes: rec.scopes,
    apps: rec.apps,
    fingerprint: fingerprintPrefix(rec.fingerprint),
    value_created_at: rec.value_created_at,
    previous: rec.previous.map((p) => ({
      fingerprint: fingerprintPrefix(p.fingerprint),
      rotation_id: p.rotation_id,
      superseded_at: p.superseded_at,
      revoke_after: p.revoke_after,
      revoked_at: p.revoked_at ?? null,
    })),
    policy: rec.policy,
    sinks: rec.sinks,
    current_rotation_id: rec.current_rotation?.id ?? null,
    last_rotation: rec.last_rotation ?? null,
    created_at: rec.created_at,
    updated_at: rec.updated_at,
    revoked_at: rec.revoked_at ?? null,
  };
}

export function rotationView(r: Rotation) {
  return {
    id: r.id,
    credential_id: r.credential_id,
    reason: r.reason,
    mode: r.mode,
    state: r.state,
    step: r.step,
    plan: r.plan,
    requested_by: r.requested_by,
    old_fingerprint: fingerprintPrefix(r.old_fingerprint),
    new_fingerprint: r.new_fingerprint ? fingerprintPrefix(r.new_fingerprint) : null,
    old_revoked: r.old_revoked,
    attempts: r.attempts,
    next_attempt_at: r.next_attempt_at ?? null,
    error: r.error ?? null,
    created_at: r.created_at,
    updated_at: r.updated_at,
    finished_at: r.finished_at ?? null,
  };
}

export type CredentialView = ReturnType<typeof credentialView>;
export type RotationView = ReturnType<typeof rotationView>;

export const listQuerySchema = z.strictObject({
  cursor: z.string().max(1024).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

export const rotateBodySchema = z.strictObject({
  /** secret kind only: the new value to store. Never echoed. */
  value: z.string().min(1).max(4096).optional(),
  reason: z.enum(["manual", "compromise"]).default("manual"),
});

export const revokeBodySchema = z.strictObject({
  reason: z.enum(["manual", "compromise", "expiry"]).default("manual"),
});
