/**
 * Delivering one notification to one target; failures are classified by ./post-json.ts.
 */
import type { BusEvent } from "../bus/events.ts";
import { signStandardWebhook } from "./sign-webhook.ts";
import { postJson } from "./post-json.ts";
import { slackMessage } from "./slack-message.ts";
import type { Target } from "./targets.ts";

export async function deliver(
  target: Target,
  event: BusEvent,
  now: number,
  fetcher: typeof fetch = fetch,
): Promise<void> {
  let body: string;
  const headers: Record<string, string> = {};
  if (target.kind === "slack") {
    const msg = slackMessage(event);
    if (!msg) return;
    body = JSON.stringify(msg);
  } else {
    // The CloudEvent itself: its schema already keeps values out.
    body = JSON.stringify(event);
    const timestamp = Math.floor(now / 1000);
    headers["webhook-id"] = event.id;
    headers["webhook-timestamp"] = String(timestamp);
    headers["webhook-signature"] = await signStandardWebhook({ secret: target.secret, id: event.id, timestamp, body });
  }
  await postJson(target.url, body, { label: target.id, headers, fetcher });
}
