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
 * and only for an alert that matched a credential (see below). Its key was `hooks-alerts:<id>`
 * before the source had one name: an id claimed under the old key in the 10 minutes before a
 * deploy can be accepted once more after it, which is harmless (containment is idempotent and the
 * events' ids are derived from the webhook-id, so handlers see duplicates).
 */
import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../../app-env.ts";
import { requireConfig } from "../../config.ts";
import { matchNamed } from "../../core/alerts/match-leak.ts";
import { reportLeak } from "../../core/alerts/pipeline.ts";
import { deriveId } from "../../core/bus/new-event.ts";
import { verifyStandardWebhook } from "../../core/inbound/standard-webhooks.ts";
import { AppError } from "../../http/app-error.ts";
import { loneSurrogatePath } from "../../http/validate.ts";
import { randomId } from "../../core/crypto/random.ts";

export const alertBodySchema = z
  .strictObject({
    credential_id: z.string().min(1).max(64).optional(),
    fingerprint: z.string().regex(/^[0-9a-f]{64}$/, "must be a full fingerprint (64 hex)").optional(),
    value: z.string().min(1).max(4096).optional(),
    reason: z.string().max(200).optional(),
    source: z.string().max(64).optional(),
  })
  .refine((b) => [b.credential_id, b.fingerprint, b.value].filter((x) => x !== undefined).length === 1, {
    message: "name the credential by exactly one of credential_id, fingerprint or value",
  });

export const alertAcceptedSchema = z.strictObject({
  event_id: z.string(),
  credential_id: z.string(),
  action: z.string(),
  rotation_id: z.string().optional(),
});

/** Longer than the 5-minute signature window, so a replay is refused even if completing failed. */
const CLAIM_LEASE_MS = 10 * 60_000;

export const webhook = new Hono<AppEnv>().post("/", async (c) => {
  const deps = c.var.deps;
  const secret = requireConfig(deps.config, "ALERT_WEBHOOK_SECRET");
  const body = new Uint8Array(await c.req.arrayBuffer());
  const webhookId = c.req.header("webhook-id");
  const verified = await verifyStandardWebhook({
    secret,
    id: webhookId,
    timestamp: c.req.header("webhook-timestamp"),
    signature: c.req.header("webhook-signature"),
    body,
    now: Math.floor(deps.now() / 1000),
  });
  if (!verified.ok) {
    const code = verified.error.reason === "timestamp_out_of_window" ? "stale_timestamp" : "invalid_signature";
    throw new AppError(401, code, "The alert signature does not verify or is outside the 5 minute window");
  }
  let input: z.infer<typeof alertBodySchema>;
  try {
    const json: unknown = JSON.parse(new TextDecoder().decode(body));
    if (loneSurrogatePath(json) !== undefined) throw new Error("not Unicode");
    const parsed = alertBodySchema.safeParse(json);
    if (!parsed.success) throw new Error("shape");
    input = parsed.data;
  } catch {
    throw new AppError(400, "invalid_request", "The body must name the credential by exactly one of credential_id, fingerprint or value");
  }
  const engine = await deps.engine();
  // The lookup comes first and only a matching alert spends its webhook-id: one that matches
  // nothing changes nothing, so replaying it is harmless, and not recording it keeps a flood of
  // junk alerts to one read each (no ledger write). A replay of it that matches later (the value
  // was registered meanwhile) is acted on, which is right: the value did leak.
  const match = await matchNamed(engine, input);
  if (match.kind === "none") throw new AppError(404, "credential_not_found", "No managed credential matches this alert");
  // Claimed for the work, completed only once containment is durable (its event published): if
  // anything fails first, the claim is released and the sender's retry with the same id is
  // processed, not refused as a replay. Reprocessing is safe: event ids are derived and a second
  // begin joins the running rotation.
  const replayKey = `hooks-webhook:${verified.value.id}`;
  const owner = randomId("own", deps.now());
  if ((await deps.ledger.claim(replayKey, { owner, leaseMs: CLAIM_LEASE_MS })) !== "new") {
    throw new AppError(401, "replayed", "This webhook-id was already received");
  }
  const alert = { source: "webhook", id: await deriveId("alrt", "webhook", verified.value.id), reason: input.value ? "token_match" : "named_in_alert" } as const;
  const outcome = await reportLeak(deps, engine, match, alert).catch(async (error: unknown) => {
    await deps.ledger.release(replayKey, owner).catch(() => undefined);
    throw error;
  });
  // Off the response path: until it lands, the claim's lease already refuses a replay.
  deps.defer(deps.ledger.complete(replayKey, owner));
  return c.json({ event_id: outcome.eventId, credential_id: match.credential.id, action: outcome.action, ...(outcome.rotationId ? { rotation_id: outcome.rotationId } : {}) }, 202);
});
