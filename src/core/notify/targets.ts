/**
 * Where notifications go: a Slack incoming webhook (SLACK_WEBHOOK_URL) and any number of signed
 * outbound webhooks (OUTBOUND_WEBHOOKS = JSON `[{"id","url","secret":"whsec_…"}]`, each signed per
 * Standard Webhooks with its own secret). Notifications carry ids, codes and fingerprint prefixes,
 * never a value.
 */
import * as z from "zod/mini";
import type { Config } from "../../config.ts";

const outboundWebhookSchema = z.strictObject({
  /** Short: it names the bus handler ("notify-wh-<id>"), which the ledger keys on. */
  id: z.string().check(z.regex(/^[a-z0-9_-]{1,14}$/, "must be a short lowercase id")),
  url: z.url(),
  secret: z.string().check(z.minLength(10)),
});

export type Target =
  | { id: "slack"; kind: "slack"; url: string }
  | { id: string; kind: "webhook"; url: string; secret: string };

export function notificationTargets(config: Config): Target[] {
  const targets: Target[] = [];
  if (config.SLACK_WEBHOOK_URL) targets.push({ id: "slack", kind: "slack", url: config.SLACK_WEBHOOK_URL });
  if (config.OUTBOUND_WEBHOOKS) {
    let raw: unknown;
    try {
      raw = JSON.parse(config.OUTBOUND_WEBHOOKS);
    } catch {
      throw new Error('Cannot parse "OUTBOUND_WEBHOOKS": not JSON');
    }
    const parsed = z.array(outboundWebhookSchema).check(z.maxLength(20)).safeParse(raw);
    // The message names the failing index and field only: the value may contain a signing secret.
    if (!parsed.success) {
      throw new Error(`Cannot use "OUTBOUND_WEBHOOKS": invalid at ${parsed.error.issues[0]?.path.join(".")}`);
    }
    for (const w of parsed.data) targets.push({ id: `wh-${w.id}`, kind: "webhook", url: w.url, secret: w.secret });
  }
  return targets;
}
