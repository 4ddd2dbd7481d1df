/**
 * Block Kit messages for the Slack incoming webhook: what happened, to which credential, why, and
 * what a human should do. Built from event data only (ids, codes, fingerprint prefixes).
 */
import type { BusEvent } from "../bus/events.ts";

type Block = Record<string, unknown>;
const section = (text: string): Block => ({ type: "section", text: { type: "mrkdwn", text } });
const context = (text: string): Block => ({ type: "context", elements: [{ type: "mrkdwn", text }] });

/** What a human should do about a dead event, by its type. */
const DEAD_HINT = "Its work may be undone: look its id up in the logs.";
const DEAD_HINTS: Record<string, string> = {
  "sweep.batch": "The next cron sweep goes over this page again.",
  "maintenance.reencrypt": "The re-encryption job stopped here: `POST /v1/maintenance/reencrypt` resumes it.",
  "alert.received": "Only its audit entry may be missing: its credentials are contained by events of their own.",
  "github.alert_fetch_owed":
    "The GitHub alert's secret may not have been read or contained: a managed key it leaked may still be live. Open the alert at GitHub and rotate what it leaked (README, Deploy to Cloudflare, on dead letters).",
  "github.tokens_deferred":
    "Part of a GitHub secret scanning alert was never matched: a managed key among those tokens may still be live. Find the alert by its id in the audit trail and rotate any credential it may have leaked (README, Deploy to Cloudflare, on dead letters).",
};

/**
 * Dead work for which no `rotation.failed` was raised (core/subscribers/dead-work.ts): its rotation
 * is still running, young, and the sweep resumes it (the death of that resume, or of work on a
 * rotation too old or retried too often, is `rotation.failed`), or it had settled: the dead letter
 * publishes that rotation's own `rotation.completed` / `rotation.failed` again with the engine's id,
 * so it is announced once whether or not the engine's send arrived. Anything else: its type's hint.
 */
const deadHint = (d: Record<string, unknown>) =>
  d.rotation_state === "running"
    ? `Rotation \`${d.rotation_id}\` is still running, not failed: the next cron sweep resumes it, and if that resume dies too, \`rotation.failed\` is raised (\`GET /v1/rotations/${d.rotation_id}\`).`
    : d.rotation_state
    ? `Its rotation \`${d.rotation_id}\` had already ${
      d.rotation_state === "done" ? "completed" : "failed"
    }: its \`rotation.${
      d.rotation_state === "done" ? "completed" : "failed"
    }\` is announced (once, even if the engine's own send was lost; \`GET /v1/rotations/${d.rotation_id}\`).`
    : DEAD_HINTS[String(d.event_type)] ?? DEAD_HINT;

export function slackMessage(event: BusEvent): { text: string; blocks: Block[] } | null {
  const d = event.data as Record<string, unknown>;
  const cred = `\`${String(d.credential_id ?? "?")}\``;
  let headline: string;
  let detail: string;
  switch (event.type) {
    case "rotation.completed":
      headline = d.mode === "revoke"
        ? `:lock: Credential ${cred} revoked`
        : `:white_check_mark: Credential ${cred} rotated`;
      detail = `Reason: *${d.reason}*. Old value \`${d.old_fingerprint_prefix}…\`${
        d.new_fingerprint_prefix ? `, new value \`${d.new_fingerprint_prefix}…\`` : ""
      }.`;
      break;
    case "rotation.failed":
      headline = `:rotating_light: Rotation of ${cred} FAILED`;
      detail = `Error \`${d.error_code}\`${d.clarifai_code ? ` (Clarifai ${d.clarifai_code})` : ""}${
        d.step ? ` at step *${d.step}*` : ""
      }. A human needs to look: \`GET /v1/rotations/${d.rotation_id ?? ""}\`.`;
      break;
    case "credential.revoked":
      headline = `:lock: Value \`${d.fingerprint_prefix}…\` of ${cred} revoked at Clarifai${
        typeof d.containment_ms === "number" ? `, contained in ${d.containment_ms} ms` : ""
      }`;
      detail = `Reason: *${d.reason}*.${
        typeof d.containment_ms === "number"
          ? ` From the leak alert's arrival to Clarifai confirming the delete: ${d.containment_ms} ms.`
          : ""
      }`;
      break;
    case "revocation.overdue":
      headline = `:warning: Revocation of \`${d.fingerprint_prefix}…\` (${cred}) is overdue`;
      detail = `Due since ${d.revoke_after}, ${d.attempts} failed attempts${
        d.last_error_code ? `, last error \`${d.last_error_code}\`` : ""
      }. The old value still works.`;
      break;
    case "credential.orphaned_manager":
      headline = `:rotating_light: Leaked manager PAT ${cred} ${
        d.old_revoked ? "deleted" : "could not be deleted"
      } without a successor`;
      detail = `It has no working replacement (\`${d.error_code}\`), so ${
        d.old_revoked ? "the leaked PAT was deleted anyway" : "its deletion is owed and retried by every sweep"
      }. ${cred} and every credential it manages need a new manager: register a new PAT and re-register them.`;
      break;
    case "credential.expiring":
      headline =
        `:hourglass_flowing_sand: Key \`${d.fingerprint_prefix}…\` of ${cred} expires at Clarifai at ${d.expires_at}`;
      detail = `It has not been replaced${
        d.last_rotation_state === "failed" ? `: its last rotation \`${d.last_rotation_id}\` failed` : ""
      }. Once it expires, whatever uses it stops working: fix the rotation (\`GET /v1/plan\`) before then.`;
      break;
    case "orphan.deleted":
      headline = `:broom: Orphaned key \`${d.fingerprint_prefix}…\` deleted at Clarifai`;
      detail =
        `It carried the marker of rotation \`${d.rotation_id}\` and was created while that rotation's create call was in flight, but the rotation never recorded it.`;
      break;
    case "orphan.suspected":
      headline = `:mag: Key \`${d.fingerprint_prefix}…\` carries a rekey marker but was left alone`;
      detail = `It names rotation \`${d.rotation_id}\` of ${cred}, but rekey cannot prove it minted it (${
        String(d.reason).replaceAll("_", " ")
      }), so it will never delete it. Check who made it at Clarifai.`;
      break;
    case "event.dead_lettered":
      // Owed to the sweep is not a death of the work: the push text (the headline alone) says so.
      headline = d.rotation_state === "running"
        ? `:hourglass: Rotation \`${d.rotation_id}\`${
          event.subject ? ` (${event.subject})` : ""
        } still running, owed to the sweep: its \`${d.event_type}\` \`${d.event_id}\` died in the dead-letter queue`
        : `:skull: Event \`${d.event_type}\` \`${d.event_id}\` died in the dead-letter queue${
          event.subject ? ` (${event.subject})` : ""
        }${d.alert_id ? ` (alert \`${d.alert_id}\`, ${d.token_count} tokens unmatched)` : ""}${
          d.github_alert ? ` (GitHub alert \`${String(d.github_alert).slice("github:".length)}\`)` : ""
        }`;
      detail = `${
        d.reason === "permanent"
          ? `A handler failed permanently${d.handler ? `: \`${d.handler}\`` : ""}${
            d.error_code ? ` with \`${d.error_code}\`` : ""
          }`
          : "Its retries ran out"
      }. ${deadHint(d)}`;
      break;
    default:
      return null;
  }
  return {
    text: headline,
    blocks: [section(`*${headline}*`), section(detail), context(`rekey · ${event.type} · ${event.id}`)],
  };
}
