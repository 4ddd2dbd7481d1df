/**
 * Signing rekey's outbound webhooks (./deliver.ts) per Standard Webhooks 1.0.0
 * (standard-webhooks/standard-webhooks `spec/standard-webhooks.md`, "Signature scheme",
 * https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md):
 * `v1,<base64 HMAC-SHA256>` of the signed content under the receiver's `whsec_` secret
 * (core/crypto/webhook-secret.ts, shared with the verifier of inbound alerts).
 *
 * Runtime-neutral: WebCrypto only.
 *
 * @module
 */
import { encodeBase64 } from "../crypto/encoding.ts";
import { importWebhookSecret, webhookSignedContent } from "../crypto/webhook-secret.ts";

/**
 * The `webhook-signature` value (`v1,<base64>`) for an outbound webhook. Send it with
 * `webhook-id: id` and `webhook-timestamp: timestamp`.
 *
 * @throws {TypeError} if the secret is invalid or the id contains "." (which would make the signed
 *   content ambiguous)
 */
export async function signStandardWebhook(input: {
  secret: string;
  id: string;
  timestamp: number;
  body: Uint8Array | string;
}): Promise<string> {
  const { secret, id, timestamp } = input;
  if (!id || id.includes(".")) throw new TypeError('Cannot sign webhook: id must be non-empty and contain no "."');
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new TypeError(`Cannot sign webhook: timestamp must be Unix seconds: current value is ${timestamp}`);
  }
  const key = await importWebhookSecret(secret, ["sign"]);
  if (!key) throw new TypeError("Cannot sign webhook: secret is not whsec_ followed by base64 of at least 16 bytes");
  const body = typeof input.body === "string" ? new TextEncoder().encode(input.body) : input.body;
  const mac = await crypto.subtle.sign("HMAC", key, webhookSignedContent(id, timestamp, body));
  return `v1,${encodeBase64(new Uint8Array(mac))}`;
}
