/**
 * The events rekey's bus carries: CloudEvents 1.0 JSON envelopes (cloudevents/spec `spec.md`,
 * `formats/json-format.md`) with one zod schema per `type`.
 *
 * `type` is the plain short name (`rotation.failed`), not a reverse-DNS one
 * (`dev.rekey.rotation.failed`) as the spec recommends: these envelopes never leave rekey's own
 * queues, and `source` (`/rekey/...`) already says whose they are. Whatever forwards them to a
 * third party should add a prefix at that boundary.
 *
 * Every object is strict (unknown fields are rejected) and every string bounded (./fields.ts):
 * `data` carries ids, fingerprint prefixes, reasons and codes, never a secret value in clear or a
 * free-text message that might quote one (`github.tokens_deferred` carries leaked tokens sealed).
 *
 * Runtime-neutral: zod only.
 */
import * as z from "zod/mini";
import { err, type ErrorValue, ok, type Result } from "../result.ts";
import { rotationModeSchema, rotationReasonSchema, stepSchema } from "../rotation/rotation.ts";
import { credentialKindSchema } from "../credentials/credential.ts";
import { deepFreeze } from "../deep-freeze.ts";
import {
  actorSchema,
  alertIdSchema,
  alertSourceSchema,
  codeSchema,
  consumerNameSchema,
  credentialIdSchema,
  eventIdSchema,
  fingerprintPrefixSchema,
  githubDeliverySchema,
  handlerNameSchema,
  jobIdSchema,
  repoAlertSchema,
  requesterSchema,
  rotationIdSchema,
  sourceSchema,
  subjectSchema,
  sweepIdSchema,
} from "./fields.ts";
import { isoTimeSchema } from "../time.ts";

export const eventTypes = [
  "alert.received",
  "credential.compromised",
  "rotation.requested",
  "rotation.step",
  "rotation.completed",
  "rotation.failed",
  "credential.revoked",
  "revocation.overdue",
  "credential.orphaned_manager",
  "credential.expiring",
  "sweep.batch",
  "orphan.deleted",
  "orphan.scan",
  "orphan.suspected",
  "maintenance.reencrypt",
  "maintenance.completed",
  "github.alert_linked",
  "github.alert_resolved",
  "github.alerts_scan",
  "github.tokens_deferred",
  "github.alert_fetch_owed",
  "event.dead_lettered",
  "credential.registered",
  "credential.updated",
  "credential.unmanaged",
  "credential.read",
] as const;
export const eventTypeSchema = z.enum(eventTypes);

/**
 * The longest sealed chunk `github.tokens_deferred` carries: base64 of at most 40,000 bytes of
 * plaintext (core/alerts/deferred-tokens.ts `CHUNK_MAX_BYTES`) and the GCM tag.
 */
const SEALED_CHUNK_MAX_CHARS = 53_400;

const count = z.number().check(z.int(), z.gte(0), z.lte(10_000));

/** Base64's standard alphabet, by char code (ASCII only). */
const BASE64_CHARS = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") BASE64_CHARS[c.charCodeAt(0)] = 1;

/**
 * Whether `s` matches `/^[A-Za-z0-9+/]+={0,2}$/` (base64 text, padded or not), by one loop over
 * char codes. Why not that regex: a GitHub request seals a 1,000-token alert's later tokens into
 * chunks whose ciphertext this schema checks as each event is built (about 80 kB of base64 for
 * bench P5's 900 deferred tokens), and each chunk's consumer checks its own again; zod's regex
 * check was 3-5% of `github_batch_1000`'s CPU samples there, more than any one of our functions
 * but the body's parse. The test (./events.test.ts) holds the loop to the regex's answers.
 */
function isBase64Text(s: string): boolean {
  let end = s.length;
  // At most two `=`, at the end only.
  if (end > 0 && s.charCodeAt(end - 1) === 61) end--;
  if (end > 0 && s.charCodeAt(end - 1) === 61) end--;
  if (end === 0) return false;
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c > 127 || BASE64_CHARS[c] === 0) return false;
  }
  return true;
}

/**
 * Who did it (core/audit/actor.ts). Optional on the event types that existed before actors, so an
 * event already queued without one still parses; everything rekey publishes now sets it.
 */
const actor = z.optional(actorSchema);

/** The `data` schema of each event type. */
export const eventDataSchemas = {
  /**
   * A signed alert arrived. Counts only: the leaked tokens themselves never enter the bus (a large
   * GitHub alert's later tokens do, sealed: `github.tokens_deferred`). `token_count`: all the
   * alert's tokens; `matched_count`: those matched in the request itself (its inline part), not
   * the deferred chunks' matches, which are their own `credential.compromised` events.
   */
  "alert.received": z.strictObject({
    alert_source: alertSourceSchema,
    alert_id: alertIdSchema,
    token_count: count,
    matched_count: count,
  }),
  "credential.compromised": z.strictObject({
    credential_id: credentialIdSchema,
    fingerprint_prefix: fingerprintPrefixSchema,
    alert_source: alertSourceSchema,
    /** Absent when an operator reported the leak by hand. */
    alert_id: z.optional(alertIdSchema),
    /** How the alert was tied to the credential. */
    reason: z.enum(["token_match", "named_in_alert", "operator"]),
    /** A repository's alert (`github:owner/repo#12`); absent: the alert source's own actor. */
    actor,
  }),
  "rotation.requested": z.strictObject({
    credential_id: credentialIdSchema,
    /** Present when the rotation was already begun (e.g. by the fast path) before publishing. */
    rotation_id: z.optional(rotationIdSchema),
    reason: rotationReasonSchema,
    mode: rotationModeSchema,
    requested_by: requesterSchema,
    /** Who confirmed it on the requester's behalf (chat's two-person rule). */
    approved_by: z.optional(requesterSchema),
    /** The requester, as the audit trail names actors. */
    actor,
  }),
  "rotation.step": z.strictObject({
    credential_id: credentialIdSchema,
    rotation_id: rotationIdSchema,
    /** The step just finished. */
    step: stepSchema,
    next_step: stepSchema,
    state: z.enum(["running", "done", "failed"]),
    /** The engine acts for its rotation's requester. */
    actor,
  }),
  "rotation.completed": z.strictObject({
    credential_id: credentialIdSchema,
    rotation_id: rotationIdSchema,
    reason: rotationReasonSchema,
    mode: rotationModeSchema,
    old_fingerprint_prefix: fingerprintPrefixSchema,
    /** Absent for a revoke-only run, which leaves no replacement. */
    new_fingerprint_prefix: z.optional(fingerprintPrefixSchema),
    actor,
  }),
  /** Also raised for work that died in the dead-letter queue, hence the optional rotation fields. */
  "rotation.failed": z.strictObject({
    credential_id: credentialIdSchema,
    rotation_id: z.optional(rotationIdSchema),
    reason: z.optional(rotationReasonSchema),
    mode: z.optional(rotationModeSchema),
    step: z.optional(stepSchema),
    error_code: codeSchema,
    clarifai_code: z.optional(z.number().check(z.int(), z.gte(0), z.lte(1_000_000))),
    actor,
  }),
  "credential.revoked": z.strictObject({
    credential_id: credentialIdSchema,
    fingerprint_prefix: fingerprintPrefixSchema,
    rotation_id: z.optional(rotationIdSchema),
    /** `consumers_moved`: its grace period ended early, every listed consumer having read the new value. */
    reason: z.enum([...rotationReasonSchema.options, "grace_expired", "consumers_moved"]),
    /** A leaked value (reason compromise): ms from the alert's arrival to Clarifai confirming the delete. */
    containment_ms: z.optional(z.number().check(z.int(), z.gte(0), z.lte(1_000_000_000))),
    /** Its rotation's requester; `sweep` for a grace period's end; the alert's source for a leaked previous value. */
    actor,
  }),
  /** A superseded value still works at Clarifai well past its revoke_after: a human must look. */
  "revocation.overdue": z.strictObject({
    credential_id: credentialIdSchema,
    fingerprint_prefix: fingerprintPrefixSchema,
    rotation_id: rotationIdSchema,
    revoke_after: isoTimeSchema,
    attempts: count,
    last_error_code: z.optional(codeSchema),
  }),
  /**
   * A leaked self-managed PAT left with no working successor (none could be minted, or the
   * rotation failed and its rollback deleted it) was deleted anyway (containment first;
   * `old_revoked` false: its delete is owed to the sweep): nothing can rotate it, or the
   * credentials it manages, until an operator registers a new manager PAT.
   */
  "credential.orphaned_manager": z.strictObject({
    credential_id: credentialIdSchema,
    rotation_id: rotationIdSchema,
    fingerprint_prefix: fingerprintPrefixSchema,
    error_code: codeSchema,
    old_revoked: z.boolean(),
    actor,
  }),
  /**
   * The dead-man switch is close: the credential's current key expires at Clarifai within its
   * policy's margin (upstream_expiry) and has not been replaced. Raised by the sweep, once a day.
   */
  "credential.expiring": z.strictObject({
    credential_id: credentialIdSchema,
    fingerprint_prefix: fingerprintPrefixSchema,
    expires_at: isoTimeSchema,
    last_rotation_id: z.optional(rotationIdSchema),
    last_rotation_state: z.optional(z.enum(["done", "failed"])),
  }),
  /**
   * One page of the cron sweep. `cursor` is the storage's opaque list cursor (null: first page),
   * the one field allowed to be long; it is a position in the key space, not a value.
   */
  "sweep.batch": z.strictObject({
    sweep_id: sweepIdSchema,
    cursor: z.nullable(z.string().check(z.maxLength(1024), z.regex(/^[A-Za-z0-9+/=_.:-]*$/))),
    batch_size: z.number().check(z.int(), z.gte(1), z.lte(1000)),
    /**
     * Resume inside the index page after this credential id (ids sort stably; an offset would not,
     * since acting on a credential changes whether it is still due).
     */
    after: z.optional(credentialIdSchema),
  }),
  /**
   * The sweep's reconcile deleted a key at Clarifai that carried a rekey rotation marker but that
   * no record knows (a rotation that died before recording it, and whose rollback failed).
   */
  "orphan.deleted": z.strictObject({
    rotation_id: rotationIdSchema,
    fingerprint_prefix: fingerprintPrefixSchema,
    credential_id: z.optional(credentialIdSchema),
  }),
  /**
   * One page of a credential's orphan scan (core/sweep/orphan-scan.ts): list `page` of its user's
   * keys (1,000 a page) and settle the marked keys of the rotations it owes a scan. `step` counts
   * the pages taken so far, so a page listed again after deletions is a new event.
   */
  "orphan.scan": z.strictObject({
    credential_id: credentialIdSchema,
    sweep_id: sweepIdSchema,
    page: z.number().check(z.int(), z.gte(1), z.lte(1000)),
    step: z.number().check(z.int(), z.gte(0), z.lte(10_000)),
    /** Deletes that failed so far: the scan is kept owed for the next sweep. */
    failures: count,
  }),
  /**
   * A key at Clarifai carries one of rekey's rotation markers but rekey cannot prove it minted
   * it (created outside that rotation's create window, the rotation is unknown or still running),
   * so it is left alone: reported once, for a human to look at.
   */
  "orphan.suspected": z.strictObject({
    credential_id: credentialIdSchema,
    rotation_id: rotationIdSchema,
    fingerprint_prefix: fingerprintPrefixSchema,
    reason: z.enum(["outside_create_window", "rotation_running", "rotation_unknown"]),
  }),
  /**
   * One batch of a re-encryption job (core/maintenance/reencrypt-job.ts): move the records of
   * this page of the registry to the newest key version. `cursor` as in `sweep.batch`.
   */
  "maintenance.reencrypt": z.strictObject({
    job_id: jobIdSchema,
    cursor: z.nullable(z.string().check(z.maxLength(1024), z.regex(/^[A-Za-z0-9+/=_.:-]*$/))),
    batch_size: z.number().check(z.int(), z.gte(1), z.lte(1000)),
    /** Who started the job. */
    actor,
  }),
  /** A re-encryption job went through the whole registry. `remaining`: records it could not open. */
  "maintenance.completed": z.strictObject({
    job_id: jobIdSchema,
    target_version: z.number().check(z.int(), z.gte(1), z.lte(1_000_000)),
    scanned: z.number().check(z.int(), z.gte(0), z.lte(100_000_000)),
    rewritten: z.number().check(z.int(), z.gte(0), z.lte(100_000_000)),
    remaining: z.number().check(z.int(), z.gte(0), z.lte(100_000_000)),
    /** Who started the job. */
    actor,
  }),
  /**
   * A GitHub secret scanning alert in the customer's own repositories reported a managed value
   * (core/github/alert-links.ts): the credential remembers the alert, and resolves it as
   * `revoked` once the value is dead. No repository name: names are the sender's free text, and
   * no field here may be able to carry a token; the alert id is derived from them.
   */
  "github.alert_linked": z.strictObject({
    credential_id: credentialIdSchema,
    fingerprint_prefix: fingerprintPrefixSchema,
    alert_id: alertIdSchema,
    alert_number: z.number().check(z.int(), z.gte(1), z.lte(1_000_000_000)),
    /** The alert, `github:owner/repo#12` (core/audit/actor.ts): who asked for the containment. */
    actor: actorSchema,
  }),
  /** rekey resolved that alert at GitHub as `revoked`, naming the rotation and the replacement's fingerprint prefix. */
  "github.alert_resolved": z.strictObject({
    credential_id: credentialIdSchema,
    fingerprint_prefix: fingerprintPrefixSchema,
    alert_id: alertIdSchema,
    alert_number: z.number().check(z.int(), z.gte(1), z.lte(1_000_000_000)),
    rotation_id: z.optional(rotationIdSchema),
    new_fingerprint_prefix: z.optional(fingerprintPrefixSchema),
  }),
  /**
   * One page of the cron backstop over GITHUB_ALERT_SCOPES (core/github/backstop.ts): list the
   * open alerts of the `scope`-th entry from `cursor` (GitHub's opaque `after` cursor, null: the
   * first page; the one other field allowed to be long, a position in GitHub's list and not a
   * value), skipping the alerts of that page already `handled` (`<repository id>:<number>`, the id
   * 0 in a repository scope), and handle the managed values found there.
   */
  "github.alerts_scan": z.strictObject({
    sweep_id: sweepIdSchema,
    scope: z.number().check(z.int(), z.gte(0), z.lte(99)),
    cursor: z.nullable(z.string().check(z.maxLength(1024), z.regex(/^[A-Za-z0-9+/=_.:-]*$/))),
    handled: z.array(z.string().check(z.regex(/^\d{1,12}:\d{1,10}$/))).check(z.maxLength(100)),
    page: z.number().check(z.int(), z.gte(1), z.lte(10_000)),
  }),
  /**
   * Part of a GitHub partner alert too large for one invocation (core/alerts/deferred-tokens.ts):
   * chunk `chunk` of `chunks` (chunk 0, the first tokens, was handled by the request), its
   * `token_count` leaked tokens (the alert's from position `first`, 0-based) sealed in `sealed`.
   *
   * The one event whose data holds secret values, and only as AES-256-GCM ciphertext under the
   * keyring's current key, its AAD binding the alert id and the tokens' positions (`first`,
   * `token_count`: a chunk cannot be moved to another alert or positions). The auditor keeps the counts without `sealed` (core/audit/audit-log.ts);
   * no notifier subscribes. Bounded so that a message fits Deno KV's 64 KiB value limit and Queues'
   * 128 KB message limit.
   */
  "github.tokens_deferred": z.strictObject({
    alert_source: z.literal("github"),
    alert_id: alertIdSchema,
    chunk: z.number().check(z.int(), z.gte(1), z.lte(10_000)),
    chunks: z.number().check(z.int(), z.gte(1), z.lte(10_000)),
    first: z.number().check(z.int(), z.gte(1), z.lte(9_999)),
    token_count: z.number().check(z.int(), z.gte(1), z.lte(10_000)),
    sealed: z.strictObject({
      v: z.number().check(z.int(), z.positive(), z.lte(1_000_000)),
      aad: z.literal(2),
      iv: z.string().check(z.regex(/^[A-Za-z0-9+/]{16}$/)),
      ct: z.string().check(z.maxLength(SEALED_CHUNK_MAX_CHARS), z.refine(isBase64Text, "must be base64")),
    }),
  }),
  /**
   * `POST /hooks/github/events` could not fetch a repository's alert (GitHub unreachable, 5xx,
   * throttled), and GitHub does not redeliver a failed delivery by itself: the fetch is owed,
   * and the `rotator` fetches it again with the bus's backoff and runs it through the alert
   * pipeline (core/alerts/owed-fetch.ts). `actor`: the alert (`github:owner/repo#12`, whose name
   * the fetch needs); `alert_number` as in `github.alert_linked`; the installation and repository
   * id as the webhook gave them; `delivery_id`: GitHub's `X-GitHub-Delivery`, when it has
   * GitHub's GUID shape (to find the delivery in the webhook's "Recent Deliveries"); `received_at`:
   * when the webhook arrived, where the rotation's containment time starts, and what bounds the
   * requeue rounds; `round`: which round of retries this copy is, on a copy the dead-letter
   * handler published again after the retries ran out (core/alerts/owed-fetch.ts
   * `requeueOwedFetch`). Never the secret: the webhook does not carry it, and it is read from
   * GitHub again.
   */
  "github.alert_fetch_owed": z.strictObject({
    actor: repoAlertSchema,
    alert_number: z.number().check(z.int(), z.gte(1), z.lte(1_000_000_000)),
    installation_id: z.optional(z.number().check(z.int(), z.gte(1), z.lte(Number.MAX_SAFE_INTEGER))),
    repository_id: z.optional(z.number().check(z.int(), z.gte(1), z.lte(Number.MAX_SAFE_INTEGER))),
    delivery_id: z.optional(githubDeliverySchema),
    received_at: isoTimeSchema,
    round: z.optional(z.number().check(z.int(), z.gte(1), z.lte(1_000))),
  }),
  /**
   * An event's handling died (its retries ran out, or a handler failed permanently): raised by the
   * dead-letter handler (core/subscribers/index.ts) for every type, so a human hears of every death.
   * It names the dead event by type, id and source, never by its data; the envelope's `subject`
   * is the dead event's. `handler` and `error_code`: the permanent failure, when there was one.
   * `alert_id` and `token_count`: a dead `github.tokens_deferred` chunk's alert and how many of its
   * tokens were never matched (counts, never the tokens), so an operator can find the alert at
   * GitHub and check those tokens by hand. `rotation_id` and `rotation_state`: dead work on a
   * credential for which no `rotation.failed` was raised (core/subscribers/dead-work.ts): its
   * rotation is "running", young enough, and owed to the cron sweep, which resumes it; or it had
   * settled ("done", "failed"), and its own `rotation.completed` or `rotation.failed` said so.
   * `github_alert`: a dead `github.alert_fetch_owed`'s
   * alert (`github:owner/repo#12`), whose secret may not have been read or contained, so that a
   * human can look at it.
   */
  "event.dead_lettered": z.strictObject({
    event_type: eventTypeSchema,
    event_id: eventIdSchema,
    event_source: sourceSchema,
    reason: z.enum(["permanent", "retries_exhausted"]),
    handler: z.optional(handlerNameSchema),
    error_code: z.optional(codeSchema),
    alert_id: z.optional(alertIdSchema),
    token_count: z.optional(count),
    rotation_id: z.optional(rotationIdSchema),
    rotation_state: z.optional(z.enum(["running", "done", "failed"])),
    github_alert: z.optional(repoAlertSchema),
  }),
  /** An admin registered a credential (POST /v1/credentials). */
  "credential.registered": z.strictObject({
    credential_id: credentialIdSchema,
    actor: actorSchema,
    kind: credentialKindSchema,
    fingerprint_prefix: fingerprintPrefixSchema,
  }),
  /** An admin changed a credential (PATCH /v1/credentials/:id): which fields, never their values. */
  "credential.updated": z.strictObject({
    credential_id: credentialIdSchema,
    actor: actorSchema,
    fields: z.array(z.enum(["description", "policy", "sinks", "consumers"])).check(z.minLength(1), z.maxLength(4)),
  }),
  /** An admin stopped managing a credential (DELETE /v1/credentials/:id); nothing was revoked. */
  "credential.unmanaged": z.strictObject({
    credential_id: credentialIdSchema,
    actor: actorSchema,
    fingerprint_prefix: fingerprintPrefixSchema,
  }),
  /**
   * A consumer Worker read a value over the service binding for the first time (RekeyCredentials,
   * src/worker.ts): once per value and consumer, so "who has fetched this value" is answerable.
   */
  "credential.read": z.strictObject({
    credential_id: credentialIdSchema,
    consumer: consumerNameSchema,
    fingerprint_prefix: fingerprintPrefixSchema,
  }),
} as const satisfies Record<(typeof eventTypes)[number], z.ZodMiniType>;

/**
 * CloudEvents extension attribute set only on events forwarded to the dead-letter queue after a
 * permanent handler failure: `<handler>:<code>`. Names follow the spec: lower-case alphanumerics.
 */
export const deadLetterReasonSchema = z
  .string().check(z.maxLength(73), z.regex(/^[a-z][a-z0-9_.-]{0,23}:[a-z]{1,16}(_[a-z0-9]{1,16})*$/));

const envelopeOf = <T extends EventType, D extends z.ZodMiniType>(type: T, data: D) =>
  z.strictObject({
    specversion: z.literal("1.0"),
    id: eventIdSchema,
    source: sourceSchema,
    type: z.literal(type),
    time: isoTimeSchema,
    subject: z.optional(subjectSchema),
    datacontenttype: z.literal("application/json"),
    data,
    rekeyfailure: z.optional(deadLetterReasonSchema),
  });

const s = eventDataSchemas;
export const busEventSchema = z.discriminatedUnion("type", [
  envelopeOf("alert.received", s["alert.received"]),
  envelopeOf("credential.compromised", s["credential.compromised"]),
  envelopeOf("rotation.requested", s["rotation.requested"]),
  envelopeOf("rotation.step", s["rotation.step"]),
  envelopeOf("rotation.completed", s["rotation.completed"]),
  envelopeOf("rotation.failed", s["rotation.failed"]),
  envelopeOf("credential.revoked", s["credential.revoked"]),
  envelopeOf("revocation.overdue", s["revocation.overdue"]),
  envelopeOf("credential.orphaned_manager", s["credential.orphaned_manager"]),
  envelopeOf("credential.expiring", s["credential.expiring"]),
  envelopeOf("sweep.batch", s["sweep.batch"]),
  envelopeOf("orphan.deleted", s["orphan.deleted"]),
  envelopeOf("orphan.scan", s["orphan.scan"]),
  envelopeOf("orphan.suspected", s["orphan.suspected"]),
  envelopeOf("maintenance.reencrypt", s["maintenance.reencrypt"]),
  envelopeOf("maintenance.completed", s["maintenance.completed"]),
  envelopeOf("github.alert_linked", s["github.alert_linked"]),
  envelopeOf("github.alert_resolved", s["github.alert_resolved"]),
  envelopeOf("github.alerts_scan", s["github.alerts_scan"]),
  envelopeOf("github.tokens_deferred", s["github.tokens_deferred"]),
  envelopeOf("github.alert_fetch_owed", s["github.alert_fetch_owed"]),
  envelopeOf("event.dead_lettered", s["event.dead_lettered"]),
  envelopeOf("credential.registered", s["credential.registered"]),
  envelopeOf("credential.updated", s["credential.updated"]),
  envelopeOf("credential.unmanaged", s["credential.unmanaged"]),
  envelopeOf("credential.read", s["credential.read"]),
]);

export type EventType = (typeof eventTypes)[number];
export type BusEvent = z.infer<typeof busEventSchema>;
export type EventOf<T extends EventType> = Extract<BusEvent, { type: T }>;
export type EventData<T extends EventType> = z.input<(typeof eventDataSchemas)[T]>;

/** Issues with paths and codes only: zod's messages for a failed regex do not echo the input. */
interface EventIssue {
  path: string;
  code: string;
}

export interface InvalidEvent extends ErrorValue<"invalid_event"> {
  issues: EventIssue[];
}

/** Validates an envelope that came from outside this isolate (a queue body, a test). */
export function parseEvent(input: unknown): Result<BusEvent, InvalidEvent> {
  const parsed = busEventSchema.safeParse(input);
  if (parsed.success) return ok(parsed.data);
  return err({
    code: "invalid_event",
    message: "The event does not match its schema",
    issues: parsed.error.issues.map((i) => ({ path: i.path.join("."), code: i.code })),
  });
}

/**
 * Envelopes this isolate validated when it built them (`newEvent`), frozen since: checking one
 * again before sending would parse the same frozen value with the same schema (bench P5: each
 * event of a rotation was validated twice, a tenth of a containment's CPU in zod).
 */
const validated = new WeakSet<object>();

/** Marks an envelope `busEventSchema` has just produced, freezing it so the mark stays true. */
export function markValidated<T extends BusEvent>(event: T): T {
  validated.add(deepFreeze(event));
  return event;
}

/**
 * The check every transport makes before sending: the validated envelope, or a TypeError naming
 * the invalid paths only (never a value, which might be the very secret that made it invalid).
 */
export function assertPublishable(event: BusEvent): BusEvent {
  if (validated.has(event)) return event;
  const parsed = parseEvent(event);
  if (parsed.ok) return parsed.value;
  const paths = parsed.error.issues.map((i) => `"${i.path || "(root)"}"`).join(", ");
  throw new TypeError(`Cannot publish event: invalid ${paths}`);
}
