/**
 * What every alert route does once it knows which credential leaked: start containment at once
 * (fast path, after the response) and publish the durable `credential.compromised` event that the
 * rotator replays if the fast path dies. Returns whether this alert was news.
 */
import { contain } from "../../core/alerts/contain.ts";
import type { LeakMatch } from "../../core/alerts/match-leak.ts";
import { deriveId, newEvent } from "../../core/bus/new-event.ts";
import { fingerprintPrefix } from "../../core/crypto/fingerprint.ts";
import type { EngineDeps } from "../../core/rotation/engine-deps.ts";
import type { Deps } from "../../deps.ts";

export type AlertSource = "github" | "webhook";

export async function publishContainment(
  deps: Deps,
  engine: EngineDeps,
  match: LeakMatch,
  alert: { source: AlertSource; id: string; reason: "token_match" | "named_in_alert" },
): Promise<{ matched: boolean; action: string; rotationId?: string }> {
  if (match.kind === "none") return { matched: false, action: "none" };
  const c = await contain(engine, match, alert.source === "webhook" ? "alerts" : alert.source);
  // Already dead: a repeated or second-source report of a handled leak raises nothing new.
  if (c.action === "already_revoked" || c.action === "none") return { matched: true, action: c.action };
  if (c.action === "rotation" || c.action === "revoke_previous") deps.defer(c.run());
  const credentialId = match.credential.id;
  await deps.bus.publish(
    newEvent(
      "credential.compromised",
      { credential_id: credentialId, fingerprint_prefix: fingerprintPrefix(match.fingerprint), alert_source: alert.source, alert_id: alert.id, reason: alert.reason },
      {
        source: `/rekey/hooks/${alert.source}`,
        subject: `credential/${credentialId}`,
        // One event per (alert, credential, value): a redelivered alert is a duplicate for every handler.
        id: await deriveId("evt", "compromised", alert.id, credentialId, match.fingerprint),
        now: deps.now(),
      },
    ),
  );
  return { matched: true, action: c.action, ...(c.action === "rotation" ? { rotationId: c.rotation.id } : {}) };
}
