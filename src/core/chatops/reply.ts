/**
 * Posting a rotation's outcome back to the chat conversation that asked for it.
 *
 * The reply target (a Slack `response_url`, a Discord interaction follow-up URL) is sealed into
 * the rotation record, so the bus subscriber that sees `rotation.completed` / `rotation.failed`
 * finds it however long the work took and whichever isolate finishes it. Sealed, because each URL
 * lets anyone holding it post into the channel for up to 30 minutes (Slack) or 15 (Discord): a
 * capability, and rekey keeps no capability in clear at rest.
 *
 * Runtime-neutral: web APIs only.
 *
 * @module
 */
import * as z from "zod/mini";
import { decrypt, encrypt } from "../crypto/envelope.ts";
import type { Keyring } from "../crypto/keyring.ts";
import { fingerprintPrefix } from "../crypto/fingerprint.ts";
import type { EngineServices } from "../rotation/engine-services.ts";
import type { Rotation } from "../rotation/rotation.ts";
import type { ChatPlatform } from "./confirmation.ts";
import { postJson } from "../notify/post-json.ts";

export interface ReplyTarget {
  readonly platform: ChatPlatform;
  readonly url: string;
}

const replyTargetSchema = z.strictObject({ platform: z.enum(["slack", "discord"]), url: z.url() });

/** A message for either platform; the poster renders it. Never holds a secret value. */
export interface ChatMessage {
  readonly text: string;
  readonly lines?: readonly string[];
}

/**
 * What a sealed reply target is bound to (also used by the re-encryption job): its rotation, and
 * the `replies` field, so no reply target can be moved into a credential value's place or back.
 */
export const replyAad = (rotationId: string) => ({ id: rotationId, kind: "chat-reply", field: ["replies"] });

export const sealReply = (keyring: Keyring, rotationId: string, target: ReplyTarget) =>
  encrypt(keyring, JSON.stringify(target), replyAad(rotationId));

/** The rotation's reply targets; one that no longer opens (key version dropped) is skipped. */
export async function openReplies(keyring: Keyring, rotation: Rotation): Promise<ReplyTarget[]> {
  const out: ReplyTarget[] = [];
  for (const sealed of rotation.replies ?? []) {
    const opened = await decrypt(keyring, sealed, replyAad(rotation.id));
    if (!opened.ok) continue;
    const parsed = replyTargetSchema.safeParse(JSON.parse(opened.value));
    if (parsed.success) out.push(parsed.data);
  }
  return out;
}

const MAX_REPLIES = 8;

/**
 * Adds `target` to the rotation's replies by compare-and-swap. Returns the rotation as it stood:
 * if it already finished (it can, between being begun and this call), the caller posts at once,
 * since the subscriber may have run before the target was there.
 */
export async function attachReply(
  engine: EngineServices,
  credentialId: string,
  rotationId: string,
  target: ReplyTarget,
): Promise<Rotation | null> {
  for (let i = 0; i < 20; i++) {
    const cur = await engine.store.getRotation(credentialId, rotationId);
    if (!cur) return null;
    const r = cur.value;
    if (r.state !== "running" || (r.replies?.length ?? 0) >= MAX_REPLIES) return r;
    const next: Rotation = { ...r, replies: [...(r.replies ?? []), await sealReply(engine.keyring, r.id, target)] };
    if ((await engine.store.putRotation(next, cur.version)) !== null) return next;
  }
  return null;
}

/** What to tell the conversation about a finished rotation. Ids, codes and prefixes only. */
export function outcomeMessage(r: Rotation): ChatMessage {
  const cred = `\`${r.credential_id}\``;
  if (r.state === "failed") {
    const code = r.error?.code ?? "rotation_failed";
    return {
      text: `:rotating_light: ${r.mode === "revoke" ? "Revocation" : "Rotation"} of ${cred} FAILED: \`${code}\``,
      lines: [
        `At step *${r.error?.step ?? r.step}*${
          r.error?.clarifai_code !== undefined ? `, Clarifai status ${r.error.clarifai_code}` : ""
        }. Nothing was left half done: see \`GET /v1/rotations/${r.id}\`.`,
      ],
    };
  }
  if (r.state === "running") {
    return {
      text: `:hourglass: ${r.mode === "revoke" ? "Revocation" : "Rotation"} of ${cred} is running (\`${r.id}\`)`,
    };
  }
  const old = `\`${fingerprintPrefix(r.old_fingerprint)}…\``;
  if (r.mode === "revoke") {
    return {
      text: `:lock: Credential ${cred} revoked`,
      lines: [`Value ${old} was deleted at Clarifai; rotation \`${r.id}\`.`],
    };
  }
  const replacement = r.new_fingerprint ? `\`${fingerprintPrefix(r.new_fingerprint)}…\`` : "a new value";
  return {
    text: `:white_check_mark: Credential ${cred} rotated`,
    lines: [`${old} → ${replacement}; rotation \`${r.id}\` (${r.reason}).`],
  };
}

/** Slack Block Kit for a response_url or a command's acknowledgement. */
export function slackBody(m: ChatMessage, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const blocks: unknown[] = [{ type: "section", text: { type: "mrkdwn", text: m.text } }];
  if (m.lines?.length) blocks.push({ type: "section", text: { type: "mrkdwn", text: m.lines.join("\n") } });
  return { text: m.text, blocks, ...extra };
}

/** Discord message content (2,000 characters at most). Slack's emoji shortcodes read fine there. */
export function discordContent(m: ChatMessage): string {
  return [m.text, ...(m.lines ?? [])].join("\n").slice(0, 2000);
}

/**
 * Posts to a reply target, classified for retries like every outbound message (../notify/post-json.ts).
 * Slack answers 404 `expired_url` after 30 minutes: permanent, and retrying cannot change it.
 */
export async function postReply(
  target: ReplyTarget,
  m: ChatMessage,
  fetcher: typeof fetch = fetch,
  rendered?: Record<string, unknown>,
): Promise<void> {
  const body = rendered ??
    (target.platform === "slack"
      ? slackBody(m, { response_type: "in_channel", replace_original: false })
      : { content: discordContent(m), allowed_mentions: { parse: [] } });
  // Labelled by platform: the URL itself is a capability and stays out of messages.
  await postJson(target.url, JSON.stringify(body), { label: `${target.platform} reply`, fetcher });
}
