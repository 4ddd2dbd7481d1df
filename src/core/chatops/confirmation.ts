/**
 * Confirmation tokens for destructive chat actions: what a Confirm / Cancel button carries.
 *
 * A token names the action, the credential, the requesting user, the value it was shown for
 * (fingerprint prefix), an expiry and a nonce, and is MACed by rekey. So a button payload that
 * was forged (no valid MAC), expired, or minted for a value that has since changed is refused
 * without any stored state; single use is the caller's claim on the ledger (see ../bus/ledger.ts),
 * keyed by the MAC.
 *
 * Why stateless: Discord limits a button's `custom_id` to 100 characters, and rekey has no
 * general-purpose key-value port; a MACed token fits in 97 characters with a Discord user id.
 *
 * Key: its own, HKDF-derived from `REKEY_FINGERPRINT_KEY` (../crypto/purpose-key.ts), never the
 * fingerprint key itself. With the fingerprint key and a label inside the message, a managed
 * secret whose value was `rekey.chatops.confirm.v1|slack|<body>` had rekey store that body's MAC
 * in KV as the secret's fingerprint: whoever could choose the value and read KV could forge a
 * confirmation. The label below stays only to name the token format. The MAC is truncated to 96
 * bits: forgery is online only (each guess is a signed Slack or Discord request), so 2^-96 per
 * guess is ample.
 *
 * Runtime-neutral: WebCrypto only.
 *
 * @module
 */
import { decodeBase64Url, encodeBase64Url } from "../crypto/encoding.ts";
import type { PurposeKey } from "../crypto/purpose-key.ts";
import { timingSafeEqual } from "../crypto/timing-safe-equal.ts";
import { err, type ErrorValue, ok, type Result } from "../result.ts";

export type ChatPlatform = "slack" | "discord";
export type ConfirmableAction = "rotate" | "revoke";
/** The key confirmations are MACed with, and only they. */
export type ConfirmationKey = PurposeKey<"chat_confirmation">;

export interface Confirmation {
  readonly action: ConfirmableAction;
  readonly credentialId: string;
  /** The platform user id of who asked (Slack `U…`, Discord snowflake). */
  readonly requester: string;
  /** First 8 hex characters of the fingerprint of the value the requester saw. */
  readonly fingerprintPrefix: string;
  /** Unix seconds. */
  readonly expiresAt: number;
  readonly nonce: string;
}

export type ConfirmationError = ErrorValue<"confirmation_invalid" | "confirmation_expired">;

/** A confirmation holds for 15 minutes, as Discord's interaction tokens do. */
export const CONFIRMATION_TTL_SECONDS = 15 * 60;

const LABEL = "rekey.chatops.confirm.v1";
const MAC_BYTES = 12;
const ACTION_CODES: Record<ConfirmableAction, string> = { rotate: "r", revoke: "v" };
const TOKEN =
  /^([rv])\|(cred_[0-9a-z]{1,26})\|([0-9a-z]{1,8})\|([0-9a-f]{8})\|([0-9a-z]{6})\|([A-Za-z0-9]{1,24})\|([A-Za-z0-9_-]{16})$/;

export async function mintConfirmation(key: ConfirmationKey, platform: ChatPlatform, c: Confirmation): Promise<string> {
  const body = [
    ACTION_CODES[c.action],
    c.credentialId,
    c.expiresAt.toString(36),
    c.fingerprintPrefix,
    c.nonce,
    c.requester,
  ].join("|");
  if (!TOKEN.test(`${body}|${"A".repeat(16)}`)) {
    throw new TypeError("Cannot mint a confirmation: a field has the wrong shape");
  }
  return `${body}|${encodeBase64Url(await mac(key, platform, body))}`;
}

/** A fresh 6-character nonce (30 bits): it only keeps two identical requests in one second apart. */
export function confirmationNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(bytes, (b) => "0123456789abcdefghijklmnopqrstuv"[b % 32]).join("");
}

/**
 * Checks the MAC first (so nothing about a forged token is believed), then the expiry.
 * `now` is Unix seconds. The returned `id` is the token's MAC, the key for single use.
 */
export async function openConfirmation(
  key: ConfirmationKey,
  platform: ChatPlatform,
  token: string,
  now: number,
): Promise<Result<Confirmation & { id: string }, ConfirmationError>> {
  const m = TOKEN.exec(token);
  const given = m ? decodeBase64Url(m[7]!) : undefined;
  if (!m || !given?.ok) {
    return err({ code: "confirmation_invalid", message: "This confirmation is not one rekey issued" });
  }
  const body = token.slice(0, token.lastIndexOf("|"));
  if (!timingSafeEqual(given.value, await mac(key, platform, body))) {
    return err({ code: "confirmation_invalid", message: "This confirmation is not one rekey issued" });
  }
  const c: Confirmation = {
    action: m[1] === "r" ? "rotate" : "revoke",
    credentialId: m[2]!,
    expiresAt: parseInt(m[3]!, 36),
    fingerprintPrefix: m[4]!,
    nonce: m[5]!,
    requester: m[6]!,
  };
  if (!(now < c.expiresAt)) {
    return err({ code: "confirmation_expired", message: "This confirmation has expired; run the command again" });
  }
  return ok({ ...c, id: m[7]! });
}

async function mac(key: ConfirmationKey, platform: ChatPlatform, body: string): Promise<Uint8Array> {
  const data = new TextEncoder().encode(`${LABEL}|${platform}|${body}`);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key.cryptoKey, data)).slice(0, MAC_BYTES);
}
