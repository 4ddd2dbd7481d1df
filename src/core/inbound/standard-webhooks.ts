/**
 * Standard Webhooks 1.0.0 (standard-webhooks/standard-webhooks `spec/standard-webhooks.md`,
 * "Signature scheme" and "Verifying webhook authenticity",
 * https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md): verification of inbound
 * alerts. rekey's own outbound webhooks are signed by core/notify/sign-webhook.ts; the secret and
 * the signed content both use are core/crypto/webhook-secret.ts.
 *
 * - Signed content: `${webhook-id}.${webhook-timestamp}.${raw body}`.
 * - `v1`: base64 HMAC-SHA256 under the secret `whsec_<base64>` (the key is the decoded bytes).
 * - `v1a` (Ed25519 under a public key) is in the spec, but rekey trusts no public key: its entries
 *   are skipped like any unknown version.
 * - `webhook-signature` is a space-separated list of `<version>,<signature>`; any trusted entry
 *   that verifies is enough (senders list old and new keys during rotation); unknown versions are
 *   skipped. A sender (or a proxy) may split the list across repeated `webhook-signature` headers;
 *   fetch's Headers joins repeated headers with ", " (Fetch standard, "combine"), so a comma
 *   before whitespace separates entries too and the whole is read as one list.
 * - Replay window: 5 minutes both ways, as the reference libraries use.
 *
 * Runtime-neutral: WebCrypto only.
 *
 * @module
 */
import { decodeBase64 } from "../crypto/encoding.ts";
import { importWebhookSecret, webhookSignedContent } from "../crypto/webhook-secret.ts";
import { ok, type Result } from "../result.ts";
import {
  checkTimestamp,
  DEFAULT_TOLERANCE_SECONDS,
  fail,
  type HeaderValue,
  present,
  type VerifyError,
} from "./verify-common.ts";

// Bounds the work an unauthenticated request can cause with a long signature header.
const MAX_SIGNATURES = 10;

export interface VerifyStandardWebhookInput {
  /** `whsec_<base64>` (the prefix is optional, padding too), for `v1` signatures. */
  readonly secret?: string;
  /** `webhook-id` header. */
  readonly id: HeaderValue;
  /** `webhook-timestamp` header (Unix seconds). */
  readonly timestamp: HeaderValue;
  /** `webhook-signature` header. */
  readonly signature: HeaderValue;
  /** The raw request body, exactly as received. */
  readonly body: Uint8Array;
  /** Current time in Unix seconds. */
  readonly now: number;
  readonly toleranceSeconds?: number;
}

/**
 * Verifies a Standard Webhooks request over its raw body, before it is parsed.
 *
 * @returns the message id (the idempotency key) and timestamp, or code `missing_header`,
 *   `invalid_timestamp`, `timestamp_out_of_window`, `invalid_key` (no usable secret is configured)
 *   or `invalid_signature`
 */
export async function verifyStandardWebhook(
  input: VerifyStandardWebhookInput,
): Promise<Result<{ id: string; timestamp: number }, VerifyError>> {
  const { id, timestamp, signature, body } = input;
  if (!present(id) || !present(timestamp) || !present(signature)) {
    return fail(
      "missing_header",
      "Cannot verify webhook: webhook-id, webhook-timestamp or webhook-signature is missing",
    );
  }
  const ts = checkTimestamp(timestamp, input.now, input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS, "webhook");
  if (!ts.ok) return ts;
  const hmacKey = input.secret === undefined ? undefined : await importWebhookSecret(input.secret, ["verify"]);
  if (!hmacKey) return fail("invalid_key", "Cannot verify webhook: no usable secret is configured");

  const content = webhookSignedContent(id, timestamp, body);
  // Base64 has no comma, so ", " can only be the join of repeated headers, never part of an entry.
  const entries = signature.split(/,?\s+/).filter((e) => e.length > 0).slice(0, MAX_SIGNATURES);
  for (const entry of entries) {
    const comma = entry.indexOf(",");
    if (comma < 0) continue;
    const version = entry.slice(0, comma);
    const sig = decodeBase64(entry.slice(comma + 1));
    if (!sig.ok) continue;
    if (version === "v1" && sig.value.length === 32) {
      if (await crypto.subtle.verify("HMAC", hmacKey, sig.value, content)) return ok({ id, timestamp: ts.value });
    }
  }
  return fail("invalid_signature", "Cannot verify webhook: no signature matches");
}
