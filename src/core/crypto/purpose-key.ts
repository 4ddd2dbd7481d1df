/**
 * One key per purpose. Fingerprints are MACed with `REKEY_FINGERPRINT_KEY` itself (kept as it was,
 * so stored fingerprints and the fingerprint index stay valid); every other MAC rekey makes with
 * that secret uses a key derived from it with HKDF-SHA256 (RFC 5869) and an `info` label of its
 * own, so a MAC made for one purpose is never a valid MAC for another.
 *
 * Why not one key with a label inside the message: a fingerprint is the MAC of a value someone
 * else may choose (a managed secret's value). With a shared key, a value equal to
 * `<label>|<message>` made rekey compute, and store in KV, the MAC of that message: whoever could
 * set the value and read KV could forge a chat confirmation (test/workers/confirmation-key.test.ts).
 *
 * Security trade-off, made here: the root secret is used twice, directly as the fingerprint HMAC
 * key and as HKDF's input keying material. HKDF-Extract computes HMAC(salt, IKM), with the root in
 * the message position under a fixed public salt, then Expand keys HMAC with that output; a
 * fingerprint is HMAC(root, value), the root in the key position. No fingerprint is an HKDF output
 * or reveals one, assuming HMAC is a PRF keyed by either input (the "dual PRF" assumption TLS 1.3's
 * key schedule also rests on, RFC 8446 §7.1). The alternative, a separate secret per purpose,
 * would cost operators another variable for no gain against anyone without the root.
 *
 * Runtime-neutral: WebCrypto only.
 *
 * @module
 */
import { err, ok, type Result } from "../result.ts";
import { decodeFingerprintKey, type FingerprintKeyError } from "./fingerprint.ts";

/** What a derived key is for; each has its own HKDF `info` label. */
export type KeyPurpose = "chat_confirmation";

// Changing a label changes the key: whatever was MACed under the old one stops verifying.
const INFO: Record<KeyPurpose, string> = { chat_confirmation: "rekey/key/chat-confirmation/v1" };
// A fixed, public salt (RFC 5869 §3.1: optional, and the root is already uniformly random).
const SALT = new TextEncoder().encode("rekey/hkdf/v1");

/** A non-extractable HMAC-SHA256 key for one purpose. `purpose` keeps the types apart too. */
export interface PurposeKey<P extends KeyPurpose = KeyPurpose> {
  readonly purpose: P;
  readonly cryptoKey: CryptoKey;
}

/** Derives the `purpose` key from `REKEY_FINGERPRINT_KEY` (validated as fingerprint.ts does). */
export async function derivePurposeKey<P extends KeyPurpose>(
  root: string,
  purpose: P,
): Promise<Result<PurposeKey<P>, FingerprintKeyError>> {
  const bytes = decodeFingerprintKey(root);
  if (!bytes.ok) return err(bytes.error);
  const base = await crypto.subtle.importKey("raw", bytes.value, "HKDF", false, ["deriveKey"]);
  const cryptoKey = await crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: SALT, info: new TextEncoder().encode(INFO[purpose]) },
    base,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign"],
  );
  return ok({ purpose, cryptoKey });
}
