/**
 * Slack request signing (Slack docs "Verifying requests from Slack"; bolt-js
 * `verifySlackRequest`; https://api.slack.com/authentication/verifying-requests-from-slack).
 *
 * `X-Slack-Signature: v0=<hex HMAC-SHA256>` over `v0:${X-Slack-Request-Timestamp}:${raw body}`,
 * keyed with the app's signing secret used as a UTF-8 string (not decoded). Replay window 5 minutes
 * both ways, as Slack's Python SDK does (bolt-js checks only the past).
 *
 * Runtime-neutral: WebCrypto only.
 *
 * @module
 */
import { decodeHex, signedBytes } from "../crypto/encoding.ts";
import { ok, type Result } from "../result.ts";
import {
  checkTimestamp,
  DEFAULT_TOLERANCE_SECONDS,
  fail,
  type HeaderValue,
  present,
  type VerifyError,
} from "./verify-common.ts";

export interface VerifySlackSignatureInput {
  /** The app's signing secret. */
  readonly signingSecret: string;
  /** `X-Slack-Request-Timestamp` header (Unix seconds). */
  readonly timestamp: HeaderValue;
  /** `X-Slack-Signature` header. */
  readonly signature: HeaderValue;
  /** The raw request body (e.g. the whole form-encoded string), exactly as received. */
  readonly body: Uint8Array;
  /** Current time in Unix seconds. */
  readonly now: number;
  readonly toleranceSeconds?: number;
}

/**
 * Verifies a Slack request over its raw body, before it is parsed.
 *
 * @returns the timestamp, or code `missing_header`, `invalid_timestamp`,
 *   `timestamp_out_of_window`, `invalid_key` (empty signing secret) or `invalid_signature`
 */
export async function verifySlackSignature(
  input: VerifySlackSignatureInput,
): Promise<Result<{ timestamp: number }, VerifyError>> {
  const { timestamp, signature, body } = input;
  if (!present(timestamp) || !present(signature)) {
    return fail(
      "missing_header",
      "Cannot verify Slack request: X-Slack-Signature or X-Slack-Request-Timestamp is missing",
    );
  }
  if (!input.signingSecret) return fail("invalid_key", "Cannot verify Slack request: no signing secret is configured");
  const ts = checkTimestamp(timestamp, input.now, input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS, "Slack");
  if (!ts.ok) return ts;
  const mac = signature.startsWith("v0=") && signature.length === 67 ? decodeHex(signature.slice(3)) : undefined;
  if (mac?.ok) {
    const key = await importSecret(input.signingSecret, "verify");
    if (await crypto.subtle.verify("HMAC", key, mac.value, signedBytes(`v0:${timestamp}:`, body))) {
      return ok({ timestamp: ts.value });
    }
  }
  return fail("invalid_signature", "Cannot verify Slack request: signature does not match");
}

function importSecret(secret: string, usage: "verify"): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    usage,
  ]);
}
