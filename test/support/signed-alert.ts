/**
 * Headers for a Standard Webhooks alert to `POST /hooks/alerts`, signed as a sender signs it
 * (with the test Worker's ALERT_WEBHOOK_SECRET unless a test signs with another secret).
 * `authorization: ""` keeps the admin API's bearer header off the request.
 */
import { env } from "cloudflare:workers";
import { signStandardWebhook } from "../../src/core/notify/sign-webhook.ts";

export async function signedAlert(
  body: string,
  opts: { id?: string; timestamp?: number; secret?: string } = {},
): Promise<Record<string, string>> {
  const id = opts.id ?? `msg_${crypto.randomUUID()}`;
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const secret = opts.secret ?? env.ALERT_WEBHOOK_SECRET;
  return {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": await signStandardWebhook({ secret, id, timestamp, body }),
    authorization: "",
  };
}
