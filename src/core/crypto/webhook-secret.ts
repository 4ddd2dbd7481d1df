/**
 * The two halves of the Standard Webhooks 1.0.0 `v1` scheme that verifying and signing share
 * (standard-webhooks/standard-webhooks `spec/standard-webhooks.md`, "Signature scheme",
 * https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md): the
 * secret `whsec_<base64>`, whose decoded bytes are the HMAC-SHA256 key, and the signed content
 * `${webhook-id}.${webhook-timestamp}.${raw body}`. Inbound alerts are verified by
 * core/inbound/standard-webhooks.ts; rekey's own outbound webhooks are signed by
 * core/notify/sign-webhook.ts.
 *
 * Runtime-neutral: WebCrypto only.
 *
 * @module
 */
import { decodeBase64, signedBytes } from "./encoding.ts";

const SECRET_PREFIX = "whsec_";
const MIN_SECRET_BYTES = 16;

/**
 * Imported keys by secret and usage, for the isolate's life: every alert was paying an import
 * (bench P5: about a fifth of a signed alert's verification). The keys are non-extractable and
 * the secrets are the configuration's own, already in memory; a secret no longer configured
 * simply stops being asked for. Bounded, since outbound targets each have their own secret.
 */
const imported = new Map<string, Promise<CryptoKey | undefined>>();
const MAX_IMPORTED = 64;

/** The HMAC key of a `whsec_<base64>` secret (the prefix and padding are optional), or undefined if unusable. */
export function importWebhookSecret(
  secret: string,
  usages: ("sign" | "verify")[],
): Promise<CryptoKey | undefined> {
  const cacheKey = `${usages.join(",")} ${secret}`;
  let key = imported.get(cacheKey);
  if (!key) {
    if (imported.size >= MAX_IMPORTED) imported.clear();
    const bytes = decodeBase64(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret);
    key = !bytes.ok || bytes.value.length < MIN_SECRET_BYTES
      ? Promise.resolve(undefined)
      : crypto.subtle.importKey("raw", bytes.value, { name: "HMAC", hash: "SHA-256" }, false, usages);
    imported.set(cacheKey, key);
  }
  return key;
}

/** What a `v1` signature covers: `${id}.${timestamp}.` followed by the raw body bytes. */
export function webhookSignedContent(
  id: string,
  timestamp: string | number,
  body: Uint8Array,
): Uint8Array<ArrayBuffer> {
  return signedBytes(`${id}.${timestamp}.`, body);
}
