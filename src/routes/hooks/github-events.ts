/**
 * POST /hooks/github/events: GitHub's webhooks from the customer's own repositories,
 * organizations or GitHub App ("Webhook events and payloads", `secret_scanning_alert`), where a
 * secret scanning alert (a built-in or custom pattern) reports a leaked Clarifai credential.
 *
 * - `X-Hub-Signature-256` is verified over the raw body (HMAC-SHA256 under
 *   GITHUB_WEBHOOK_SECRET, constant-time) before a byte is parsed.
 * - `ping` answers 200; `secret_scanning_alert` with action `created`, `reopened` or
 *   `publicly_leaked` is handled; every other event and action answers 204, changing nothing.
 * - A handled delivery claims its `X-GitHub-Delivery` in the ledger: a redelivery (GitHub keeps
 *   the delivery id) answers 200 `duplicate` without acting twice. The claim is released when the
 *   handling fails, so a redelivery after the fix is acted on.
 * - The webhook does not carry the leaked value: the alert is fetched from GitHub
 *   (`GET /repos/{owner}/{repo}/secret-scanning/alerts/{number}`, with the payload's installation
 *   when an App delivered it) and its `secret` handed to the alert pipeline
 *   (core/alerts/pipeline.ts `reportRepoAlert`), which fingerprints it (the value is never kept,
 *   logged or answered), contains a match at once and remembers the alert, to resolve it as
 *   `revoked` once the value is dead. An alert whose secret matches nothing is left untouched.
 * - GitHub unreachable, 5xx or throttling (429, or a 403 that says it is a rate limit) while
 *   fetching: the fetch is made durable instead (core/alerts/owed-fetch.ts):
 *   `github.alert_fetch_owed` is published, the claim completed (a redelivery answers
 *   `duplicate`) and the answer is 202 `queued`; the rotator fetches the alert again with the
 *   bus's backoff (5 retries, about 5 minutes), then round after round of them while the webhook
 *   is under 6 hours old, and contains it. When it dies for good (refused, or still failing after
 *   6 hours) a notice names the alert and the claim is released: a redelivery from GitHub's UI is
 *   then acted on. The owed event's id derives from the alert, the action and the hour of
 *   arrival, not the delivery: one signed body replayed under new delivery ids within the hour
 *   is one owed fetch. A 503 would lose it: "GitHub does not
 *   automatically redeliver failed deliveries" (GitHub docs, "Handling failed webhook
 *   deliveries"). Only if that publish fails (or the repository's name holds 32 hex characters in
 *   a row, which no event carries) is the claim released and the answer 503 `github_unavailable`,
 *   as before (the delivery shows as failed in GitHub's UI, where it can be redelivered, and the
 *   cron backstop lists the alert when its repository is in GITHUB_ALERT_SCOPES). Refused (404,
 *   403): 502 `github_refused`.
 */
import { Hono } from "hono/tiny";
import * as z from "zod/mini";
import type { AppEnv } from "../../app-env.ts";
import { requireConfig } from "../../config.ts";
import { deliveryClaimKey, owedClaimOwner, owedFetchEvent } from "../../core/alerts/owed-fetch.ts";
import { reportRepoAlert } from "../../core/alerts/pipeline.ts";
import { randomId } from "../../core/crypto/random.ts";
import { isFailure } from "../../core/failure.ts";
import { repositorySchema } from "../../core/github/names.ts";
import { verifyGithubWebhook } from "../../core/inbound/github-webhook.ts";
import { refused } from "../../http/on-error.ts";
import { signatureRefused, signedJson, validated } from "../../http/validate.ts";

/** The fields rekey reads of a `secret_scanning_alert` payload; the rest is GitHub's and ignored. */
export const githubAlertEventSchema = z.object({
  action: z.string().check(z.maxLength(64)),
  alert: z.object({ number: z.number().check(z.int(), z.gte(1), z.lte(1_000_000_000)) }),
  repository: z.object({ full_name: repositorySchema, id: z.optional(z.number().check(z.int(), z.gte(1))) }),
  installation: z.optional(z.object({ id: z.number().check(z.int(), z.gte(1)) })),
});

export const githubEventAnswerSchema = z.strictObject({
  status: z.enum(["ping", "duplicate", "unmatched", "accepted", "queued"]),
  credential_id: z.optional(z.string()),
  action: z.optional(z.string()),
  rotation_id: z.optional(z.string()),
});

const HANDLED_ACTIONS = new Set(["created", "reopened", "publicly_leaked"]);
/** Longer than any handling takes; a redelivery while it runs is answered `duplicate`. */
const CLAIM_LEASE_MS = 10 * 60_000;

const headerSchema = z.object({
  event: z.string().check(z.regex(/^[a-z_]{1,64}$/)),
  delivery: z.string().check(z.regex(/^[A-Za-z0-9-]{1,64}$/)),
});

export const githubEvents = new Hono<AppEnv>().post("/events", async (c) => {
  const services = c.var.services;
  // When the alert arrived: where its rotation's containment time starts (`containment_ms`).
  const receivedAt = services.now();
  const secret = requireConfig(services.config, "GITHUB_WEBHOOK_SECRET");
  const body = new Uint8Array(await c.req.arrayBuffer());
  const verified = await verifyGithubWebhook({ secret, signature: c.req.header("x-hub-signature-256"), body });
  if (!verified.ok) throw signatureRefused(verified.error, "webhook", "GITHUB_WEBHOOK_SECRET");
  const headers = headerSchema.safeParse({
    event: c.req.header("x-github-event"),
    delivery: c.req.header("x-github-delivery"),
  });
  if (!headers.success) {
    throw refused("invalid_request", "X-GitHub-Event and X-GitHub-Delivery must name the event and its delivery");
  }
  const { event, delivery } = headers.data;
  if (event === "ping") return c.json({ status: "ping" as const }, 200);
  if (event !== "secret_scanning_alert") return c.body(null, 204);
  const message = "The secret_scanning_alert payload lacks its action, alert number or repository";
  const payload = validated(githubAlertEventSchema, signedJson(body, message), message);
  if (!HANDLED_ACTIONS.has(payload.action)) return c.body(null, 204);

  const engine = await services.engine();
  if (!engine.github) {
    throw refused(
      "not_configured",
      'Cannot serve this route: "GITHUB_APP_ID" and "GITHUB_APP_PRIVATE_KEY", or "GITHUB_TOKEN", are not configured',
    );
  }
  const replayKey = deliveryClaimKey(delivery);
  const owner = randomId("own", services.now());
  if ((await services.ledger.claim(replayKey, { owner, leaseMs: CLAIM_LEASE_MS })) !== "new") {
    return c.json({ status: "duplicate" as const }, 200);
  }
  const repository = payload.repository.full_name;
  const installationId = payload.installation?.id;
  let outcome: Awaited<ReturnType<typeof reportRepoAlert>>;
  try {
    const alert = await engine.github.getAlert(repository, payload.alert.number, installationId).catch(
      async (error: unknown) => {
        if (!isFailure(error, "github") || !error.retryable) throw error;
        const owed = await owedFetchEvent({
          repository,
          number: payload.alert.number,
          action: payload.action,
          installationId,
          repositoryId: payload.repository.id,
          delivery,
          receivedAt,
        }, services.now());
        // Not queued: the claim is released below and the answer is 503, as before.
        if (!owed || !(await services.bus.publish(owed).then(() => true, () => false))) throw error;
        return null;
      },
    );
    if (!alert) {
      // Completed as the owner the owed fetch's final death releases (core/alerts/owed-fetch.ts
      // `releaseOwedClaim`), and awaited: a release landing before this complete would be lost.
      await services.ledger.complete(replayKey, await owedClaimOwner(delivery)).catch(() => undefined);
      return c.json({ status: "queued" as const }, 202);
    }
    outcome = alert.secret
      ? await reportRepoAlert(services, engine, {
        repository,
        number: alert.number,
        ...(installationId ? { installationId } : {}),
        ...(payload.repository.id ? { repositoryId: payload.repository.id } : {}),
        secret: alert.secret,
      }, { delivery, fastPath: true, receivedAt })
      : { kind: "unmatched" };
  } catch (error) {
    await services.ledger.release(replayKey, owner).catch(() => undefined);
    if (isFailure(error, "github")) {
      throw error.retryable ? refused("github_unavailable", error.message) : refused("github_refused", error.message);
    }
    throw error;
  }
  services.defer(services.ledger.complete(replayKey, owner));
  if (outcome.kind === "unmatched") return c.json({ status: "unmatched" as const }, 200);
  return c.json({
    status: "accepted" as const,
    credential_id: outcome.credentialId,
    action: outcome.action,
    ...(outcome.rotationId ? { rotation_id: outcome.rotationId } : {}),
  }, 202);
});
