/**
 * Standard Webhooks 1.0.0 (standard-webhooks/standard-webhooks `spec/standard-webhooks.md`,
 * "Signature scheme" and "Verifying webhook authenticity",
 * https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md): verification of inbound
 * alerts and signing of rekey's own outbound webhooks.
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
import { decodeBase64, encodeBase64 } from "../crypto/encoding.ts";
import { ok, type Result } from "../result.ts";
import {
  checkTimestamp,
  DEFAULT_TOLERANCE_SECONDS,
  fail,
  type HeaderValue,
  present,
  signedBytes,
  type VerifyError,
} from "./verify-common.ts";

const SECRET_PREFIX = "whsec_";
const MIN_SECRET_BYTES = 16;
// Bounds the work an unauthenticated request can cause with a long signature header.
const MAX_SIGNATURES = 10;
const utf8 = new TextEncoder();

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
 * @returns the message id (the idempotency key) and timestamp, or reason `missing_header`,
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
  const hmacKey = input.secret === undefined ? undefined : await importSecret(input.secret, ["verify"]);
  if (!hmacKey) return fail("invalid_key", "Cannot verify webhook: no usable secret is configured");

  const content = signedBytes(`${id}.${timestamp}.`, body);
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
  const key = await importSecret(secret, ["sign"]);
  if (!key) throw new TypeError("Cannot sign webhook: secret is not whsec_ followed by base64 of at least 16 bytes");
  const body = typeof input.body === "string" ? utf8.encode(input.body) : input.body;
  const mac = await crypto.subtle.sign("HMAC", key, signedBytes(`${id}.${timestamp}.`, body));
  return `v1,${encodeBase64(new Uint8Array(mac))}`;
}

/** A new signing secret for an outbound webhook endpoint: `whsec_` + base64 of 32 random bytes. */
export function generateStandardWebhookSecret(): string {
  return SECRET_PREFIX + encodeBase64(crypto.getRandomValues(new Uint8Array(32)));
}

/**
 * Imported keys by secret and usage, for the isolate's life: every alert was paying an import
 * (bench P5: about a fifth of a signed alert's verification). The keys are non-extractable and
 * the secrets are the configuration's own, already in memory; a secret no longer configured
 * simply stops being asked for. Bounded, since outbound targets each have their own secret.
 */
const imported = new Map<string, Promise<CryptoKey | undefined>>();
const MAX_IMPORTED = 64;

function importSecret(secret: string, usages: ("sign" | "verify")[]): Promise<CryptoKey | undefined> {
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
