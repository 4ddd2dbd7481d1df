/**
 * What the admin API shows of records. Built field by field (never by spreading a record), so a
 * field added to storage later cannot leak a sealed value into a response by accident.
 * Fingerprints are cut to their first 8 hex: enough to tell values apart, useless for guessing.
 */
import * as z from "zod/mini";
import {
  appRefSchema,
  credentialKindSchema,
  type CredentialRecord,
  credentialStateSchema,
  policySchema,
} from "../../core/credentials/credential.ts";
import { fingerprintPrefix } from "../../core/crypto/fingerprint.ts";
import { sinkSchema } from "../../core/sinks/schemas.ts";
import type { ConsumerRead } from "../../core/credentials/reads.ts";
import { isoTimeSchema } from "../../core/time.ts";
import {
  containmentMs,
  type Rotation,
  rotationErrorSchema,
  rotationModeSchema,
  rotationReasonSchema,
  stepSchema,
} from "../../core/rotation/rotation.ts";

const prefix = z.string().check(z.regex(/^[0-9a-f]{8}$/));

/** Response schemas: strict, so a test that parses every response also proves nothing else leaks. */
const credentialViewSchema = z.strictObject({
  id: z.string(),
  kind: credentialKindSchema,
  state: credentialStateSchema,
  user_id: z.string(),
  app_id: z.nullable(z.string()),
  secret_id: z.nullable(z.string()),
  description: z.string(),
  manager_id: z.nullable(z.string()),
  scopes: z.array(z.string()),
  apps: z.array(appRefSchema),
  endpoints: z.array(z.string()),
  fingerprint: prefix,
  value_created_at: isoTimeSchema,
  /** When Clarifai itself expires the current key (policy upstream_expiry, or the key's own expiry). */
  key_expires_at: z.nullable(isoTimeSchema),
  previous: z.array(
    z.strictObject({
      fingerprint: prefix,
      rotation_id: z.string(),
      superseded_at: isoTimeSchema,
      revoke_after: isoTimeSchema,
      revoked_at: z.nullable(isoTimeSchema),
      leaked: z.boolean(),
    }),
  ),
  /** A leaked value (current or superseded) whose delete Clarifai has not yet confirmed: it still works. */
  leaked_live: z.boolean(),
  /** A leaked self-managed PAT lost without a successor: register a new manager. */
  needs_manager: z.nullable(z.strictObject({ since: isoTimeSchema, rotation_id: z.string() })),
  policy: policySchema,
  sinks: z.array(sinkSchema),
  /** Consumer Workers allowed to read the current value over the service binding. */
  consumers: z.array(z.string()),
  /**
   * One credential's page only (GET /v1/credentials/:id): which value each consumer last read over
   * the service binding, and whether that is the current one. Listed consumers that never read are
   * included (`fingerprint` null); Deno has no pull path, so there it is always empty.
   */
  readers: z.optional(z.array(z.strictObject({
    consumer: z.string(),
    fingerprint: z.nullable(prefix),
    read_at: z.nullable(isoTimeSchema),
    current: z.boolean(),
    listed: z.boolean(),
  }))),
  current_rotation_id: z.nullable(z.string()),
  last_rotation: z.nullable(z.strictObject({
    id: z.string(),
    state: z.enum(["done", "failed"]),
    reason: z.string(),
    finished_at: isoTimeSchema,
  })),
  created_at: isoTimeSchema,
  updated_at: isoTimeSchema,
  revoked_at: z.nullable(isoTimeSchema),
});

const rotationViewSchema = z.strictObject({
  id: z.string(),
  credential_id: z.string(),
  reason: rotationReasonSchema,
  mode: rotationModeSchema,
  state: z.enum(["running", "done", "failed"]),
  step: stepSchema,
  plan: z.array(stepSchema),
  requested_by: z.string(),
  approved_by: z.nullable(z.string()),
  old_fingerprint: prefix,
  new_fingerprint: z.nullable(prefix),
  old_revoked: z.boolean(),
  attempts: z.number().check(z.int()),
  next_attempt_at: z.nullable(isoTimeSchema),
  error: z.nullable(rotationErrorSchema),
  /** Compromise only: when the alert arrived (the first trigger that started or joined the rotation). */
  alert_received_at: z.nullable(isoTimeSchema),
  /** Compromise only: when Clarifai confirmed the leaked value deleted. */
  contained_at: z.nullable(isoTimeSchema),
  /** contained_at − alert_received_at: the containment time. */
  containment_ms: z.nullable(z.number().check(z.int(), z.gte(0))),
  created_at: isoTimeSchema,
  updated_at: isoTimeSchema,
  finished_at: z.nullable(isoTimeSchema),
});

export type CredentialView = z.infer<typeof credentialViewSchema>;
export type RotationView = z.infer<typeof rotationViewSchema>;

export const credentialResponseSchema = z.strictObject({ credential: credentialViewSchema });
/** PATCH /v1/credentials/:id: the credential as it is now, and which fields changed (none: nothing to do). */
export const credentialUpdatedResponseSchema = z.strictObject({
  credential: credentialViewSchema,
  updated: z.array(z.enum(["description", "policy", "sinks", "consumers"])),
});
export const credentialListResponseSchema = z.strictObject({
  credentials: z.array(credentialViewSchema),
  next_cursor: z.nullable(z.string()),
});
export const rotationResponseSchema = z.strictObject({ rotation: rotationViewSchema, joined: z.optional(z.boolean()) });
export const errorResponseSchema = z.object({ error: z.looseObject({ code: z.string(), message: z.string() }) });

export function credentialView(rec: CredentialRecord, reads?: readonly ConsumerRead[]): CredentialView {
  return {
    ...(reads ? { readers: readersView(rec, reads) } : {}),
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
    endpoints: rec.endpoints ?? [],
    fingerprint: fingerprintPrefix(rec.fingerprint),
    value_created_at: rec.value_created_at,
    key_expires_at: rec.key_expires_at ?? null,
    previous: rec.previous.map((p) => ({
      fingerprint: fingerprintPrefix(p.fingerprint),
      rotation_id: p.rotation_id,
      superseded_at: p.superseded_at,
      revoke_after: p.revoke_after,
      revoked_at: p.revoked_at ?? null,
      leaked: p.leaked === true,
    })),
    leaked_live: rec.previous.some((p) => p.leaked === true && !p.revoked_at),
    needs_manager: rec.needs_manager
      ? { since: rec.needs_manager.since, rotation_id: rec.needs_manager.rotation_id }
      : null,
    policy: rec.policy,
    sinks: rec.sinks,
    consumers: rec.consumers,
    current_rotation_id: rec.current_rotation?.id ?? null,
    last_rotation: rec.last_rotation ?? null,
    created_at: rec.created_at,
    updated_at: rec.updated_at,
    revoked_at: rec.revoked_at ?? null,
  };
}

/** Every listed consumer (read or not), then any reader no longer listed; by name. */
function readersView(rec: CredentialRecord, reads: readonly ConsumerRead[]): NonNullable<CredentialView["readers"]> {
  const byName = new Map(reads.map((r) => [r.consumer, r]));
  const names = [...new Set([...rec.consumers, ...byName.keys()])].sort();
  return names.map((consumer) => {
    const r = byName.get(consumer);
    return {
      consumer,
      fingerprint: r ? fingerprintPrefix(r.fingerprint) : null,
      read_at: r?.read_at ?? null,
      current: r?.fingerprint === rec.fingerprint,
      listed: rec.consumers.includes(consumer),
    };
  });
}

export function rotationView(r: Rotation): RotationView {
  return {
    id: r.id,
    credential_id: r.credential_id,
    reason: r.reason,
    mode: r.mode,
    state: r.state,
    step: r.step,
    plan: r.plan,
    requested_by: r.requested_by,
    approved_by: r.approved_by ?? null,
    old_fingerprint: fingerprintPrefix(r.old_fingerprint),
    new_fingerprint: r.new_fingerprint ? fingerprintPrefix(r.new_fingerprint) : null,
    old_revoked: r.old_revoked,
    attempts: r.attempts,
    next_attempt_at: r.next_attempt_at ?? null,
    error: r.error ?? null,
    alert_received_at: r.alert_received_at ?? null,
    contained_at: r.contained_at ?? null,
    containment_ms: containmentMs(r),
    created_at: r.created_at,
    updated_at: r.updated_at,
    finished_at: r.finished_at ?? null,
  };
}

export const listQuerySchema = z.strictObject({
  cursor: z.optional(z.string().check(z.maxLength(1024))),
  limit: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(100)), 50),
});

export const rotateBodySchema = z.strictObject({
  /** secret kind only: the new value to store. Never echoed. */
  value: z.optional(z.string().check(z.minLength(1), z.maxLength(4096))),
  reason: z._default(z.enum(["manual", "compromise"]), "manual"),
});

export const revokeBodySchema = z.strictObject({
  reason: z._default(z.enum(["manual", "compromise", "expiry"]), "manual"),
});
