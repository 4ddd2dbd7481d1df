/**
 * Authenticated encryption of secret values at rest (DESIGN.md, Storage).
 *
 * AES-256-GCM under the keyring's current version, a fresh random 96-bit IV per call (NIST SP
 * 800-38D §8.2.2 random construction; ~2^32 seals per key stay within its collision bound, far above
 * rekey's write volume), and additional authenticated data binding the ciphertext to its record id,
 * credential kind and key version, so that a value cannot be moved to another record or relabelled
 * without failing authentication.
 *
 * Runtime-neutral: WebCrypto only.
 *
 * @module
 */
import * as z from "zod";
import { err, ok, type Result } from "../result.ts";
import { decodeBase64, encodeBase64 } from "./encoding.ts";
import type { Keyring } from "./keyring.ts";

const IV_BYTES = 12;
const TAG_BYTES = 16;
// Bumping this label invalidates every AAD, so it only changes with the envelope format.
const AAD_LABEL = "rekey.sealed.v1";

/** A sealed secret value as stored in a record. */
export const sealedSchema = z.object({
  /** Version of the keyring key that sealed it. */
  v: z.number().int().positive(),
  /** Base64 of the 96-bit IV. */
  iv: z.string(),
  /** Base64 of ciphertext followed by the 128-bit GCM tag. */
  ct: z.string(),
});
export type Sealed = z.infer<typeof sealedSchema>;

/** What a sealed value is bound to. Both must match exactly at decryption. */
export interface SealedAad {
  readonly id: string;
  readonly kind: string;
}

/** Why a sealed value was refused. Messages name the record id, never the value. */
export interface DecryptError {
  readonly reason: "malformed" | "unknown_key_version" | "tampered";
  readonly message: string;
}

/**
 * Encrypts `plaintext` (UTF-8) under the keyring's current version.
 *
 * @throws {TypeError} if `plaintext` holds a lone surrogate, which UTF-8 cannot round-trip
 */
export async function encrypt(keyring: Keyring, plaintext: string, aad: SealedAad): Promise<Sealed> {
  // TextEncoder would silently turn a lone surrogate into U+FFFD: a secret would come back altered.
  if (/[\uD800-\uDFFF]/u.test(plaintext)) throw new TypeError("Cannot encrypt value: it is not well-formed UTF-16");
  const v = keyring.currentVersion;
  const key = await keyring.cryptoKey(v)!;
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const ct = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encodeAad(aad, v), tagLength: TAG_BYTES * 8 },
    key,
    new TextEncoder().encode(plaintext),
  );
  return { v, iv: encodeBase64(iv), ct: encodeBase64(new Uint8Array(ct)) };
}

/**
 * Decrypts a sealed value for the record `aad` names. Never throws on malformed or tampered input:
 * `malformed` (shape, base64 or IV length), `unknown_key_version` (the version is not in the
 * keyring, e.g. it was dropped too early), `tampered` (authentication failed: wrong record, kind,
 * version, IV, ciphertext or key).
 */
export async function decrypt(keyring: Keyring, sealed: Sealed, aad: SealedAad): Promise<Result<string, DecryptError>> {
  const fail = (reason: DecryptError["reason"], detail: string) =>
    err({ reason, message: `Cannot decrypt record "${aad.id}": ${detail}` });
  const parsed = sealedSchema.safeParse(sealed);
  if (!parsed.success) return fail("malformed", "sealed value has the wrong shape");
  const { v } = parsed.data;
  const key = keyring.cryptoKey(v);
  if (!key) return fail("unknown_key_version", `unknown key version "${v}"`);
  const iv = decodeBase64(parsed.data.iv);
  if (!iv.ok || iv.value.length !== IV_BYTES) return fail("malformed", "IV is not 12 bytes of base64");
  const ct = decodeBase64(parsed.data.ct);
  if (!ct.ok || ct.value.length < TAG_BYTES) return fail("malformed", "ciphertext is not base64 with a tag");
  try {
    const pt = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: iv.value, additionalData: encodeAad(aad, v), tagLength: TAG_BYTES * 8 },
      await key,
      ct.value,
    );
    // ignoreBOM keeps a leading U+FEFF that the value really had; fatal refuses invalid UTF-8.
    return ok(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(pt));
  } catch {
    return fail("tampered", "authentication failed");
  }
}

/** True if `sealed` is not under the keyring's current version and should be re-encrypted. */
export function needsReencrypt(keyring: Keyring, sealed: Sealed): boolean {
  return sealed.v !== keyring.currentVersion;
}

/** Decrypts and seals again under the current version (fresh IV), for master-key rotation. */
export async function reencrypt(keyring: Keyring, sealed: Sealed, aad: SealedAad): Promise<Result<Sealed, DecryptError>> {
  const plain = await decrypt(keyring, sealed, aad);
  return plain.ok ? ok(await encrypt(keyring, plain.value, aad)) : plain;
}

// A JSON array is an unambiguous encoding of the tuple: ("a","bc") and ("ab","c") serialise
// differently, and JSON.stringify escapes quotes, separators and lone surrogates.
function encodeAad(aad: SealedAad, version: number): Uint8Array<ArrayBuffer> {
  // Copied into a fresh ArrayBuffer-backed array: the Node and Workers type libraries disagree on
  // what TextEncoder returns, and WebCrypto wants ArrayBuffer-backed input in both.
  return new Uint8Array(new TextEncoder().encode(JSON.stringify([AAD_LABEL, aad.id, aad.kind, version])));
}
