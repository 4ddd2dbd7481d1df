/**
 * Delivering one notification to one target. A 5xx, 429 or network failure is retryable (the bus
 * redelivers with backoff); any other 4xx is permanent (the target refuses it; retrying will not
 * help, and the dead-letter path tells a human).
 */
import type { BusEvent } from "../bus/events.ts";
import { signStandardWebhook } from "../inbound/standard-webhooks.ts";
import { slackMessage } from "./slack-message.ts";
import type { Target } from "./targets.ts";

export class DeliveryFailed extends Error {
  override readonly name = "DeliveryFailed";
  constructor(
    readonly retryable: boolean,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function deliver(target: Target, event: BusEvent, now: number, fetcher: typeof fetch = fetch): Promise<void> {
  let body: string;
  const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "rekey" };
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
  let res: Response;
  try {
    res = await fetcher(target.url, { method: "POST", headers, body, signal: AbortSignal.timeout(10_000) });
  } catch {
    throw new DeliveryFailed(true, "network", `Delivery to "${target.id}" failed: network error or timeout`);
  }
  await res.body?.cancel();
  if (res.ok) return;
  const retryable = res.status >= 500 || res.status === 429;
  throw new DeliveryFailed(retryable, `http_${res.status}`, `Delivery to "${target.id}" answered ${res.status}`);
}
