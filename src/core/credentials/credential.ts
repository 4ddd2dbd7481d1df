/**
 * The credential record: what rekey knows about one managed Clarifai credential.
 * Stored as JSON (schema in docs/storage.md); metadata in the clear, every secret value sealed
 * with AES-256-GCM (src/core/crypto/envelope.ts) under AAD = record id + kind + field (`aadFor`).
 *
 * For `pat` and `app_key` the sealed value is the Clarifai key id, which IS the bearer token.
 * That is why no key id appears anywhere in clear text: records name keys by fingerprint only.
 */
import * as z from "zod/mini";
import { clarifaiIdSchema } from "../clarifai/ids.ts";
import { sealedSchema } from "../crypto/envelope.ts";
import { consumerNameSchema } from "../bus/fields.ts";
import { sinkSchema } from "../sinks/schemas.ts";
import { isoTimeSchema } from "../time.ts";

export const credentialKindSchema = z.enum(["pat", "app_key", "secret"]);
export type CredentialKind = z.infer<typeof credentialKindSchema>;

const DEFAULT_UPSTREAM_EXPIRY_MARGIN_HOURS = 72;

export const policySchema = z.strictObject({
  /** Rotate once the current value is older than this. Unset: no age limit. */
  max_age_days: z.optional(z.number().check(z.int(), z.gte(1), z.lte(3650))),
  /** How long a superseded value stays valid after a non-compromise rotation. */
  grace_hours: z._default(z.number().check(z.gte(0), z.lte(24 * 90)), 24),
  /** Hard expiry: the cron sweep revokes the credential at this time. */
  expires_at: z.optional(isoTimeSchema),
  on_compromise: z._default(z.enum(["rotate", "revoke"]), "rotate"),
  /** secret kind only: how to make a new value when no operator supplies one. */
  generator: z._default(z.enum(["none", "random"]), "none"),
  /**
   * Dead-man switch: every key rekey mints carries Clarifai's `expires_at` = when its next
   * scheduled rotation is due + grace_hours + upstream_expiry_margin_hours, so a key that rekey
   * stops tending (rekey down, its rotations failing) still dies at Clarifai. Needs max_age_days.
   */
  // Optional in the type so records written before these fields still parse as they were;
  // registration writes both (withPolicyDefaults), and code reads them through upstreamExpiryOf.
  upstream_expiry: z.optional(z.boolean()).check(z.meta({ default: false })),
  upstream_expiry_margin_hours: z.optional(z.number().check(z.int(), z.gte(1), z.lte(24 * 365))).check(z.meta({
    default: DEFAULT_UPSTREAM_EXPIRY_MARGIN_HOURS,
  })),
  /**
   * End a routine rotation's grace period as soon as every consumer the credential lists has read
   * the new value over the service binding (core/credentials/read-current.ts): the old value is
   * revoked then instead of after grace_hours. Does nothing for a credential that lists none.
   */
  revoke_when_consumers_moved: z.optional(z.boolean()).check(z.meta({ default: false })),
}).check(z.refine((p) => !p.upstream_expiry || p.max_age_days !== undefined, {
  path: ["upstream_expiry"],
  message: "upstream_expiry needs max_age_days",
}));
export type Policy = z.infer<typeof policySchema>;

/** The dead-man switch of a policy, defaults applied: null when it is off. */
export function upstreamExpiryOf(p: Policy): { marginHours: number; maxAgeDays: number } | null {
  if (!p.upstream_expiry || p.max_age_days === undefined) return null;
  return {
    marginHours: p.upstream_expiry_margin_hours ?? DEFAULT_UPSTREAM_EXPIRY_MARGIN_HOURS,
    maxAgeDays: p.max_age_days,
  };
}

/** A parsed policy with the dead-man switch's defaults written out, as registration stores it. */
export const withPolicyDefaults = (p: Policy): Policy => ({
  ...p,
  upstream_expiry: p.upstream_expiry ?? false,
  upstream_expiry_margin_hours: p.upstream_expiry_margin_hours ?? DEFAULT_UPSTREAM_EXPIRY_MARGIN_HOURS,
  revoke_when_consumers_moved: p.revoke_when_consumers_moved ?? false,
});

/**
 * A change to a policy (PATCH /v1/credentials/:id): any of its fields, none defaulted, so that
 * what is not sent stays as it was. The merged policy is checked with `policySchema` again.
 */
/**
 * A policy change (PATCH): any of the policy's fields; `null` unsets one that may be unset
 * (`max_age_days`, `expires_at`, ...: the optional ones), so a limit set once is not forever.
 */
export const policyPatchSchema = z.partial(z.strictObject(
  Object.fromEntries(
    Object.entries(policySchema.shape).map((
      [k, v],
    ) => [
      k,
      v instanceof z.ZodMiniDefault
        ? v.def.innerType
        : v instanceof z.ZodMiniOptional
        ? z.nullable(v.def.innerType)
        : v,
    ]),
  ),
)) as unknown as z.ZodMiniType<PolicyPatch>;
export type PolicyPatch = { [K in keyof Policy]?: Policy[K] | null };

/**
 * The consumer Workers allowed to read the credential's current value over the service binding
 * (RekeyCredentials in src/worker.ts), by the name their binding's `props.consumer` gives.
 */
export const consumersSchema = z.array(consumerNameSchema).check(
  z.maxLength(50),
  z.refine((c) => new Set(c).size === c.length, {
    message: "consumers must not repeat a name",
  }),
);

export const appRefSchema = z.object({ id: z.string(), user_id: z.string() });

/**
 * A superseded value. It stays sealed until revoked (like AWS's AWSPREVIOUS); once revoked the
 * sealed value is dropped, a dead secret is of no use and only a liability, but the fingerprint
 * stays so that a later alert for it is recognised as already handled.
 */
const previousValueSchema = z.object({
  fingerprint: z.string(),
  value: z.optional(sealedSchema),
  rotation_id: z.string(),
  superseded_at: isoTimeSchema,
  revoke_after: isoTimeSchema,
  revoked_at: z.optional(isoTimeSchema),
  /** Revocation attempts that failed; the sweep keeps trying and raises revocation.overdue. */
  revoke_attempts: z._default(z.number().check(z.int(), z.gte(0)), 0),
  last_error: z.optional(z.string()),
  /** After a failed attempt: not retried before this (owed-revocations.ts, backoff per attempt). */
  retry_at: z.optional(isoTimeSchema),
  /**
   * A leaked value whose delete Clarifai refused: owed now, retried by every sweep without backoff
   * and overdue from its first failure. Without `value` and with the record's current fingerprint,
   * it is the current value itself (no replacement was promoted): paying it revokes the credential.
   */
  leaked: z.optional(z.boolean()),
  /**
   * Its grace period was cut short (policy revoke_when_consumers_moved): every consumer the
   * credential lists had read the value that replaced it (core/credentials/read-current.ts).
   */
  consumers_moved_at: z.optional(isoTimeSchema),
});
export type PreviousValue = z.infer<typeof previousValueSchema>;

/** Rotations one orphan scan looks for at a time; more wait for the next scan. */
export const MAX_SCANNED_ROTATIONS = 16;
/** Left-alone keys remembered per credential (the oldest go first); each was reported when found. */
export const MAX_LEFT_ALONE = 50;

const leftAloneSchema = z.object({
  fingerprint: z.string(),
  rotation_id: z.string(),
  reason: z.enum(["outside_create_window", "rotation_running", "rotation_unknown"]),
  found_at: isoTimeSchema,
});
export type LeftAlone = z.infer<typeof leftAloneSchema>;

/** GitHub alerts remembered per credential until resolved; an alert past this is contained but left for a human to resolve. */
export const MAX_GITHUB_ALERTS = 20;

/**
 * A GitHub secret scanning alert that reported one of this credential's values (by fingerprint),
 * kept until rekey has resolved it as `revoked` (core/github/alert-links.ts). The repository and
 * number are GitHub's own public names for the alert: enough to resolve it, nothing of the value.
 */
const githubAlertLinkSchema = z.object({
  alert_id: z.string(),
  repository: z.string().check(z.maxLength(140)),
  number: z.number().check(z.int(), z.gte(1)),
  installation_id: z.optional(z.number().check(z.int(), z.gte(1))),
  fingerprint: z.string(),
  linked_at: isoTimeSchema,
  /**
   * When GitHub refused the resolution for good (403: the App may only read alerts; 422), and its
   * code: the link is kept (so the backstop does not link it anew) and never tried again, until a
   * webhook delivers the alert again (core/github/alert-links.ts).
   */
  failed_at: z.optional(isoTimeSchema),
  failed_code: z.optional(z.string().check(z.maxLength(64))),
});
export type GithubAlertLink = z.infer<typeof githubAlertLinkSchema>;

export const credentialStateSchema = z.enum(["active", "revoked"]);

export const credentialRecordSchema = z.object({
  id: z.string(),
  kind: credentialKindSchema,
  state: credentialStateSchema,
  user_id: clarifaiIdSchema,
  /** app_key: the app the key is bound to. */
  app_id: z.optional(clarifaiIdSchema),
  /** secret: the Clarifai secret id. */
  secret_id: z.optional(clarifaiIdSchema),
  description: z._default(z.string().check(z.maxLength(500)), ""),
  /** The registered PAT used to manage this one; absent for a PAT that manages itself. */
  manager_id: z.optional(z.string()),
  /** Read from Clarifai at registration and copied onto every replacement. */
  scopes: z._default(z.array(z.string()), []),
  apps: z._default(z.array(appRefSchema), []),
  /**
   * The other restricting fields of Clarifai's `Key` (resources.proto), read at registration and
   * copied onto every replacement too: a rotation must never widen what a leaked key could do.
   */
  endpoints: z.optional(z.array(z.string())),
  authorized_idp_ids: z.optional(z.array(z.string())),
  organization_id: z.optional(z.string()),
  /** The key's `expires_at` at registration: no replacement is minted to outlive it. */
  key_expiry_bound: z.optional(isoTimeSchema),
  /** The current key's `expires_at` at Clarifai, when it has one. */
  key_expires_at: z.optional(isoTimeSchema),
  value: sealedSchema,
  fingerprint: z.string(),
  /** When the current value was created: the age that max_age_days is measured against. */
  value_created_at: isoTimeSchema,
  previous: z._default(z.array(previousValueSchema), []),
  policy: policySchema,
  sinks: z._default(z.array(sinkSchema), []),
  consumers: z._default(consumersSchema, []),
  /**
   * The running rotation's intent. Written by compare-and-swap on this record, which is what makes
   * "at most one rotation per credential" hold; the rotation record is materialised from it.
   */
  current_rotation: z.optional(z
    .object({
      id: z.string(),
      reason: z.enum(["compromise", "scheduled", "manual", "expiry"]),
      mode: z.enum(["rotate", "revoke"]),
      requested_by: z.string(),
      approved_by: z.optional(z.string()),
      created_at: isoTimeSchema,
      /** Compromise only: when the alert was received (copied into the rotation record). */
      alert_received_at: z.optional(isoTimeSchema),
      /** secret kind: the operator-supplied value, sealed before anything else happens. */
      new_value: z.optional(sealedSchema),
      new_fingerprint: z.optional(z.string()),
    })),
  last_rotation: z.optional(z
    .object({ id: z.string(), state: z.enum(["done", "failed"]), reason: z.string(), finished_at: isoTimeSchema })),
  /**
   * Settled rotations of this credential that may have left a key at Clarifai that no record
   * names (a create whose answer was lost, a rollback that could not delete): the sweep hands
   * them to the orphan scan (core/sweep/orphan-scan.ts), which clears them when done. Deleting
   * the credential drops them: unmanaging never leads to a later deletion.
   */
  orphan_scan: z.optional(
    z.object({
      rotation_ids: z.array(z.string()).check(z.minLength(1), z.maxLength(MAX_SCANNED_ROTATIONS)),
      since: isoTimeSchema,
    }),
  ),
  /**
   * Keys carrying one of this credential's rotation markers that rekey cannot prove it minted,
   * so it never deletes them; reported once each (`orphan.suspected`) and listed by the plan.
   * By fingerprint only, and never part of the fingerprint index: these are not its values.
   */
  left_alone: z.optional(z.array(leftAloneSchema).check(z.maxLength(MAX_LEFT_ALONE))),
  /**
   * A leaked self-managed PAT left with no working successor (none could be minted, or the
   * rotation's rollback deleted it) was deleted (or its delete is owed): nothing can mint for it, or for the credentials it manages, until an operator
   * registers a new manager PAT (`credential.orphaned_manager`).
   */
  needs_manager: z.optional(z.object({ since: isoTimeSchema, rotation_id: z.string() })),
  /** GitHub alerts for this credential's values that rekey resolves once the value is dead. */
  github_alerts: z.optional(z.array(githubAlertLinkSchema).check(z.maxLength(MAX_GITHUB_ALERTS))),
  created_at: isoTimeSchema,
  updated_at: isoTimeSchema,
  revoked_at: z.optional(isoTimeSchema),
});
export type CredentialRecord = z.infer<typeof credentialRecordSchema>;

/**
 * Where a credential's sealed value sits: the current value, a previous value (named by its
 * fingerprint), the running rotation's intent (`current_rotation.new_value`) or the rotation
 * record's new value (both named by the rotation id). Bound into the AAD, so a ciphertext moved
 * to another field fails to open; a value that changes field is opened and sealed again
 * (rotation/values.ts `moveSealed`).
 */
export type ValueField =
  | { readonly at: "value" }
  | { readonly at: "previous"; readonly fingerprint: string }
  | { readonly at: "current_rotation.new_value"; readonly rotationId: string }
  | { readonly at: "rotation.new_value"; readonly rotationId: string };

export const CURRENT_VALUE: ValueField = { at: "value" };
export const previousValue = (fingerprint: string): ValueField => ({ at: "previous", fingerprint });
export const intentNewValue = (rotationId: string): ValueField => ({ at: "current_rotation.new_value", rotationId });
export const rotationNewValue = (rotationId: string): ValueField => ({ at: "rotation.new_value", rotationId });

const fieldPath = (f: ValueField): string[] =>
  f.at === "value" ? [f.at] : f.at === "previous" ? [f.at, f.fingerprint] : [f.at, f.rotationId];

/**
 * The AAD that binds a sealed value to its record and its field: moving ciphertext between
 * records, or between fields of one record, fails.
 */
export const aadFor = (rec: Pick<CredentialRecord, "id" | "kind">, field: ValueField) => ({
  id: rec.id,
  kind: rec.kind,
  field: fieldPath(field),
});

/** Every fingerprint that should lead back to this record, current and previous (each once). */
export const fingerprintsOf = (rec: CredentialRecord): string[] => [
  ...new Set([rec.fingerprint, ...rec.previous.map((p) => p.fingerprint)]),
];

/**
 * The sealed value an unrevoked `previous` entry owes a revocation for: its own, or, for a leaked
 * current value that no replacement superseded (see `leaked`), the record's current one.
 */
export const owedSealed = (rec: CredentialRecord, p: PreviousValue) =>
  p.revoked_at
    ? undefined
    : (p.value ?? (p.leaked && p.fingerprint === rec.fingerprint && rec.state === "active" ? rec.value : undefined));
