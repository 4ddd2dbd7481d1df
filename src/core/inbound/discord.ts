/**
 * Discord interaction signatures (discord-api-docs `interactions/overview.mdx`, "Security and
 * Authorization"; https://discord.com/developers/docs/interactions/overview).
 *
 * `X-Signature-Ed25519` is the hex Ed25519 signature of `${X-Signature-Timestamp}${raw body}` under
 * the application's public key (hex, from the Developer Portal).
 *
 * Replay window: Discord documents none. rekey enforces 5 minutes both ways anyway, because
 * chatops commands rotate and revoke credentials; the timestamp is signed, so the check costs a
 * legitimate request nothing unless clocks are minutes apart. Pass `toleranceSeconds: Infinity` to
 * turn it off.
 *
 * Runtime-neutral: WebCrypto only.
 *
 * @module
 */
import { decodeHex, signedBytes } from "../crypto/encoding.ts";
import { ok, type Result } from "../result.ts";
import { importEd25519PublicKey, verifyEd25519 } from "./ed25519.ts";
import {
  checkTimestamp,
  DEFAULT_TOLERANCE_SECONDS,
  fail,
  type HeaderValue,
  present,
  type VerifyError,
} from "./verify-common.ts";

export interface VerifyDiscordSignatureInput {
  /** The application's public key: 64 hex characters. */
  readonly publicKey: string;
  /** `X-Signature-Ed25519` header: 128 hex characters. */
  readonly signature: HeaderValue;
  /** `X-Signature-Timestamp` header (Unix seconds). */
  readonly timestamp: HeaderValue;
  /** The raw request body, exactly as received. */
  readonly body: Uint8Array;
  /** Current time in Unix seconds. */
  readonly now: number;
  readonly toleranceSeconds?: number;
}

/**
 * Verifies a Discord interaction over its raw body, before it is parsed. Discord probes endpoints
 * with invalid signatures and removes those that accept them, so every failure must be refused.
 *
 * @returns the timestamp, or code `missing_header`, `invalid_key` (public key is not 32 bytes of
 *   hex), `invalid_timestamp`, `timestamp_out_of_window` or `invalid_signature`
 */
export async function verifyDiscordSignature(
  input: VerifyDiscordSignatureInput,
): Promise<Result<{ timestamp: number }, VerifyError>> {
  const { signature, timestamp, body } = input;
  if (!present(signature) || !present(timestamp)) {
    return fail(
      "missing_header",
      "Cannot verify Discord interaction: X-Signature-Ed25519 or X-Signature-Timestamp is missing",
    );
  }
  const key = await importPublicKey(input.publicKey);
  if (!key) return fail("invalid_key", "Cannot verify Discord interaction: public key is not 64 hex characters");
  const ts = checkTimestamp(timestamp, input.now, input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS, "Discord");
  if (!ts.ok) return ts;
  // Length first: workerd throws on a signature that is not 64 bytes.
  const sig = signature.length === 128 ? decodeHex(signature) : undefined;
  if (sig?.ok && (await verifyEd25519(key, sig.value, signedBytes(timestamp, body)))) {
    return ok({ timestamp: ts.value });
  }
  return fail("invalid_signature", "Cannot verify Discord interaction: signature does not match");
}

// The public key is configuration, not secret; caching the one import saves work per request.
let cached: { hex: string; key: Promise<CryptoKey | undefined> } | undefined;

function importPublicKey(hex: string): Promise<CryptoKey | undefined> {
  if (cached?.hex !== hex) {
    const raw = hex.length === 64 ? decodeHex(hex) : undefined;
    cached = { hex, key: raw?.ok ? importEd25519PublicKey(raw.value) : Promise.resolve(undefined) };
  }
  return cached.key;
}
