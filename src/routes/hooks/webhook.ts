/**
 * POST /hooks/alerts: a generic compromise alert signed per Standard Webhooks (webhook-id,
 * webhook-timestamp, webhook-signature; secret ALERT_WEBHOOK_SECRET; 5 minute tolerance; any of
 * several signatures may verify). The body names the leaked credential by id, by fingerprint, or by
 * the leaked value itself (exactly one). Answers 202 with the event id. The source's name is
 * "webhook" (its `alert_source`, event source, replay keys and rotations' requester); the path
 * stays /hooks/alerts, which senders are configured with.
 *
 * Replay protection: the signature binds the webhook-id and timestamp; the timestamp window bounds
 * replays in time and the id is claimed in the atomic ledger, so the same id is refused (401) even
 * within the window. The claim happens after verification, so forged requests cannot burn ids,
 * and only for an alert that matched a credential (core/alerts/pipeline.ts `reportNamedLeak`). Its key was `hooks-alerts:<id>`
 * before the source had one name: an id claimed under the old key in the 10 minutes before a
 * deploy can be accepted once more after it, which is harmless (containment is idempotent and the
 * events' ids are derived from the webhook-id, so handlers see duplicates).
 */
import { Hono } from "hono/tiny";
import * as z from "zod/mini";
import type { AppEnv } from "../../app-env.ts";
import { requireConfig } from "../../config.ts";
import { reportNamedLeak } from "../../core/alerts/pipeline.ts";
import { verifyStandardWebhook } from "../../core/inbound/standard-webhooks.ts";
import { refused } from "../../http/on-error.ts";
import { signatureRefused, signedJson, validated } from "../../http/validate.ts";

export const alertBodySchema = z
  .strictObject({
    credential_id: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
    fingerprint: z.optional(z.string().check(z.regex(/^[0-9a-f]{64}$/, "must be a full fingerprint (64 hex)"))),
    value: z.optional(z.string().check(z.minLength(1), z.maxLength(4096))),
    reason: z.optional(z.string().check(z.maxLength(200))),
    source: z.optional(z.string().check(z.maxLength(64))),
  }).check(z.refine((b) => [b.credential_id, b.fingerprint, b.value].filter((x) => x !== undefined).length === 1, {
    message: "name the credential by exactly one of credential_id, fingerprint or value",
  }));

export const alertAcceptedSchema = z.strictObject({
  event_id: z.string(),
  credential_id: z.string(),
  action: z.string(),
  rotation_id: z.optional(z.string()),
});

export const webhook = new Hono<AppEnv>().post("/", async (c) => {
  const services = c.var.services;
  // The start of the containment time a rotation it causes records (before the body is even read).
  const receivedAt = services.now();
  const secret = requireConfig(services.config, "ALERT_WEBHOOK_SECRET");
  const body = new Uint8Array(await c.req.arrayBuffer());
  const webhookId = c.req.header("webhook-id");
  const verified = await verifyStandardWebhook({
    secret,
    id: webhookId,
    timestamp: c.req.header("webhook-timestamp"),
    signature: c.req.header("webhook-signature"),
    body,
    now: Math.floor(services.now() / 1000),
  });
  if (!verified.ok) throw signatureRefused(verified.error, "alert", "ALERT_WEBHOOK_SECRET");
  const message = "The body must name the credential by exactly one of credential_id, fingerprint or value";
  const input = validated(alertBodySchema, signedJson(body, message), message);
  const outcome = await reportNamedLeak(services, await services.engine(), input, {
    source: "webhook",
    deliveryId: verified.value.id,
    reason: input.value ? "token_match" : "named_in_alert",
    receivedAt,
  });
  if (outcome.kind === "unmatched") {
    throw refused("credential_not_found", "No managed credential matches this alert");
  }
  if (outcome.kind === "replayed") throw refused("replayed", "This webhook-id was already received");
  return c.json({
    event_id: outcome.eventId,
    credential_id: outcome.credentialId,
    action: outcome.action,
    ...(outcome.rotationId ? { rotation_id: outcome.rotationId } : {}),
  }, 202);
});
