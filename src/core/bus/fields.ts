/**
 * Field schemas shared by the event types in ./events.ts.
 *
 * Every string field is an enum or a tightly bounded pattern, on purpose: events travel through
 * queues, dead-letter queues, logs and notification payloads, so a field loose enough to carry a
 * token would sooner or later carry one. The bounds below are chosen so that no field except
 * `sweep.batch`'s opaque cursor can hold a whole Clarifai key or PAT (32 hex characters) or a
 * typical 40+ character API secret. Tested in ./events.test.ts.
 *
 * Runtime-neutral: zod only.
 */
import * as z from "zod/mini";

/** `<prefix>_<up to 26 lowercase base32 chars>`: the shape of ids from crypto/random.ts. */
const prefixedId = (prefix: string) =>
  z.string().check(z.regex(new RegExp(`^${prefix}_[0-9a-z]{1,26}$`), `must be a "${prefix}_" id`));

export const credentialIdSchema = prefixedId("cred");
export const rotationIdSchema = prefixedId("rot");
export const sweepIdSchema = prefixedId("swp");
export const jobIdSchema = prefixedId("job");

/** `evt_` + 22 base64url characters (128 bits), random or derived; see ./new-event.ts. */
export const eventIdSchema = z.string().check(z.regex(/^evt_[A-Za-z0-9_-]{22}$/, "must be an event id"));

/** Alert ids are derived by hashing the sender's id (./new-event.ts `deriveId`), never copied. */
export const alertIdSchema = z.string().check(z.regex(/^alrt_[A-Za-z0-9_-]{22}$/, "must be an alert id"));

/** First 8 hex characters, as crypto/fingerprint.ts `fingerprintPrefix` gives them. */
export const fingerprintPrefixSchema = z.string().check(z.regex(/^[0-9a-f]{8}$/, "must be 8 hex characters"));

/**
 * A stable snake_case code (`credential_not_found`, `clarifai_insufficient_scopes`). Words of at
 * most 16 characters, the first letters only: a hex or base64 blob does not pass for a code.
 */
export const codeSchema = z.string().check(
  z.maxLength(48),
  z.regex(/^[a-z]{1,16}(_[a-z0-9]{1,16})*$/, "must be a snake_case code"),
);

/**
 * Who did something, as the audit trail names them (issue 18's vocabulary, exactly):
 * - a person or machine signed in through Cloudflare Access: the token's `email`, or a service
 *   token's `common_name` (its client id, `<32 hex>.access`);
 * - `admin-token`: whoever holds REKEY_ADMIN_TOKEN (the API's bearer token, the dashboard's token sign-in);
 * - a chat user: `slack:U0123ABCD`, `discord:80351110224678912`;
 * - `sweep`: the cron sweep;
 * - an alert's source: `github:owner/repo#12` (a repository's secret scanning alert), or
 *   `github:repo-id:123456#12` when the name holds 32 hex characters in a row (see below),
 *   `github-partner` (GitHub's partner program), `webhook` (a Standard Webhooks alert).
 *
 * Trade-off, made here: this is the one event field that can hold 32 hex characters in a row (a
 * service token's client id; an email's local part could too), against the rule above. It is
 * bounded: an Access identity comes out of a JWT that Cloudflare signed, the rest are fixed names
 * or ids rekey builds itself, except a repository's owner and name, which whoever creates the
 * repository chooses. A Clarifai key is 32 hex characters, so `github:` actors refuse any run of
 * 32 hex characters (the repository is then named by GitHub's numeric id).
 */
const REPO_ALERT = "github:(?![^#]*[0-9A-Fa-f]{32})[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}#[0-9]{1,10}";
export const actorSchema = z.string().check(
  z.maxLength(160),
  z.regex(
    new RegExp(
      "^(?:admin-token|sweep|webhook|github-partner|slack:[A-Z0-9]{1,24}|discord:[0-9]{1,24}" +
        `|${REPO_ALERT}` +
        "|github:repo-id:[0-9]{1,12}#[0-9]{1,10}" +
        "|[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,90}|[A-Za-z0-9._-]{1,64}\\.access)$",
    ),
    "must be an actor",
  ),
);
export type Actor = z.infer<typeof actorSchema>;

/**
 * A repository's secret scanning alert by name, `github:owner/repo#12`: the one actor form an
 * event may carry so that the alert can be fetched from GitHub again (`github.alert_fetch_owed`)
 * and a human told which alert it was (its dead letter notice). The same bound as the actor's
 * (no run of 32 hex characters; the trade-off above): GitHub's numeric repository id cannot
 * address the alert (GitHub's REST API documents `/repos/{owner}/{repo}` paths only).
 */
export const repoAlertSchema = z.string().check(
  z.maxLength(160),
  z.regex(new RegExp(`^${REPO_ALERT}$`), "must be a repository's alert"),
);

/**
 * Who asked for a rotation (`requested_by`, `approved_by`): an actor, or a name recorded before
 * actors existed ("admin", "cron", "github", "ui"), which events still in a queue may carry.
 */
export const requesterSchema = z.union([
  z.string().check(z.regex(/^[a-z]{1,16}(:[A-Za-z0-9_.-]{1,24})?$/)),
  actorSchema,
], "must be a requester");

/**
 * A consumer Worker's name, as its service binding's `props.consumer` says and a credential's
 * `consumers` lists it (`billing-api`). At most 31 characters: no consumer name can hold a whole
 * 32-hex Clarifai key.
 */
export const consumerNameSchema = z.string().check(
  z.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,30}$/, "must be a consumer name"),
);

/** Where an alert came from. */
export const alertSourceSchema = z.enum(["github", "webhook", "chatops", "admin"]);

/** CloudEvents `source`: a URI-reference; ours are short absolute paths such as `/rekey/hooks/github`. */
export const sourceSchema = z.string().check(z.regex(/^\/rekey(\/[a-z0-9-]{1,24}){0,3}$/, "must be a /rekey/... path"));

/** CloudEvents `subject`: what the event is about, e.g. `credential/cred_01j...`. */
export const subjectSchema = z.string().check(z.regex(/^[a-z]{1,16}\/[a-z]{1,8}_[0-9a-z]{1,26}$/, "must be kind/id"));

/** Handler names (the third part of an idempotency key) and notification target ids. */
export const handlerNameSchema = z.string().check(z.regex(/^[a-z][a-z0-9_.-]{0,23}$/, "must be a handler name"));

/**
 * GitHub's `X-GitHub-Delivery`: "A globally unique identifier (GUID) to identify the event"
 * (GitHub docs, "Webhook events and payloads", delivery headers). Its 32 hex digits come in the
 * GUID's dashed groups only, so a Clarifai key or PAT (32 hex characters in a row) does not pass.
 */
export const githubDeliverySchema = z.string().check(
  z.regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, "must be a GitHub delivery GUID"),
);
