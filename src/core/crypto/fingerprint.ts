/**
 * Keyed fingerprints of secret values, so that a leaked token can be matched to a managed credential
 * without storing or comparing plaintext (docs/storage.md; ARCHITECTURE.md, "Following an alert").
 *
 * `REKEY_FINGERPRINT_KEY` is base64 (standard alphabet, padding optional) of at least 32 random
 * bytes (`openssl rand -base64 32`). It is a different secret from the encryption keys: a leak of
 * one does not weaken the other. A keyed MAC rather than a plain SHA-256 means that someone who
 * reads KV cannot confirm a guessed token offline.
 *
 * The key cannot be rotated in place: every stored fingerprint is derived from it. Changing it means
 * recomputing fingerprints from the decrypted values.
 *
 * Runtime-neutral: WebCrypto only.
 *
 * @module
 */
import { err, type ErrorValue, ok, type Result } from "../result.ts";
import { decodeBase64, encodeHex } from "./encoding.ts";

const MIN_KEY_BYTES = 32;
// One encoder for every call: a GitHub batch fingerprints up to 10,000 tokens, and each
// TextEncoder is a runtime object to allocate and collect.
const utf8 = new TextEncoder();

/** An imported fingerprint key. */
export interface FingerprintKey {
  readonly cryptoKey: CryptoKey;
}

/** Why `REKEY_FINGERPRINT_KEY` was refused. Messages never contain key material. */
export type FingerprintKeyError = ErrorValue<"invalid_key">;

/** The bytes of `REKEY_FINGERPRINT_KEY`, checked: base64 of at least 32 bytes. */
export function decodeFingerprintKey(value: string): Result<Uint8Array<ArrayBuffer>, FingerprintKeyError> {
  const bytes = decodeBase64(value);
  if (!bytes.ok) return err({ code: "invalid_key", message: "Cannot import fingerprint key: value is not base64" });
  if (bytes.value.length < MIN_KEY_BYTES) {
    return err({
      code: "invalid_key",
      message: `Cannot import fingerprint key: key is shorter than ${MIN_KEY_BYTES} bytes`,
    });
  }
  return bytes;
}

/**
 * Validates and imports `REKEY_FINGERPRINT_KEY` as a non-extractable HMAC-SHA256 key. The key
 * is used as it is, for fingerprints only: every stored fingerprint and the fingerprint index
 * derive from it, so it stays exactly as it was. Other purposes get keys derived from it
 * (./purpose-key.ts), never this one.
 */
export async function importFingerprintKey(value: string): Promise<Result<FingerprintKey, FingerprintKeyError>> {
  const bytes = decodeFingerprintKey(value);
  if (!bytes.ok) return bytes;
  const cryptoKey = await crypto.subtle.importKey("raw", bytes.value, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return ok({ cryptoKey });
}

/** Lowercase hex HMAC-SHA256 of `value` (UTF-8, used exactly as given: no trimming) under the fingerprint key. */
export async function fingerprint(key: FingerprintKey, value: string): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", key.cryptoKey, utf8.encode(value));
  return encodeHex(new Uint8Array(mac));
}

/**
 * `fingerprint` of each value, in order, for a batch (a GitHub alert lists up to 10,000 tokens):
 * the same MACs, started together and encoded in one loop, without an async step per value.
 * A value may be given already UTF-8 encoded (the caller hashes the same bytes for another use).
 */
export async function fingerprintAll(
  key: FingerprintKey,
  values: readonly (string | Uint8Array<ArrayBuffer>)[],
): Promise<string[]> {
  const macs = await Promise.all(
    values.map((v) => crypto.subtle.sign("HMAC", key.cryptoKey, typeof v === "string" ? utf8.encode(v) : v)),
  );
  return macs.map((mac) => encodeHex(new Uint8Array(mac)));
}

/**
 * The first 8 hex characters of a fingerprint: what API responses show to tell credentials apart.
 * 32 bits identify a value among an operator's credentials but reveal nothing useful about it.
 */
export function fingerprintPrefix(fp: string): string {
  return fp.slice(0, 8);
}
