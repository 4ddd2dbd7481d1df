/**
 * Authenticated encryption of secret values at rest (docs/storage.md).
 *
 * AES-256-GCM under the keyring's current version, a fresh random 96-bit IV per call (NIST SP
 * 800-38D §8.2.2 random construction; ~2^32 seals per key stay within its collision bound, far above
 * rekey's write volume), and additional authenticated data binding the ciphertext to its record id,
 * credential kind, the field it sits in and the key version, so that a value cannot be moved to
 * another record or another field of its record (the current value into a previous value's place,
 * one previous value into another's, a rotation's new value into the current one) or relabelled
 * without failing authentication.
 *
 * Runtime-neutral: WebCrypto only.
 *
 * @module
 */
import * as z from "zod/mini";
import { err, type ErrorValue, ok, type Result } from "../result.ts";
import { decodeBase64, encodeBase64 } from "./encoding.ts";
import type { Keyring } from "./keyring.ts";

const IV_BYTES = 12;
const TAG_BYTES = 16;
// Bumping a label invalidates every AAD made with it, so it only changes with the envelope format.
const AAD_LABEL = "rekey.sealed.v2";
const LEGACY_AAD_LABEL = "rekey.sealed.v1";
/** The AAD format new values are sealed with: the field is bound. */
const AAD_FORMAT = 2;
// Shared codecs: every value sealed or opened would otherwise allocate its own.
const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A sealed secret value as stored in a record. */
export const sealedSchema = z.object({
  /** Version of the keyring key that sealed it. */
  v: z.number().check(z.int(), z.positive()),
  /**
   * AAD format: 2 binds the field the value sits in. Absent: sealed before fields were bound
   * (record id, kind and version only); such a value opens, and re-encryption rewraps it.
   */
  aad: z.optional(z.literal(AAD_FORMAT)),
  /** Base64 of the 96-bit IV. */
  iv: z.string(),
  /** Base64 of ciphertext followed by the 128-bit GCM tag. */
  ct: z.string(),
});
export type Sealed = z.infer<typeof sealedSchema>;

/** What a sealed value is bound to. Every part must match exactly at decryption. */
export interface SealedAad {
  readonly id: string;
  readonly kind: string;
  /** Where in its record the value sits, e.g. `["value"]` or `["previous", <fingerprint>]`. */
  readonly field: readonly string[];
}

/** Why a sealed value was refused. Messages name the record id, never the value. */
export type DecryptError = ErrorValue<"malformed" | "unknown_key_version" | "tampered">;

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
    { name: "AES-GCM", iv, additionalData: encodeAad(aad, v, AAD_FORMAT), tagLength: TAG_BYTES * 8 },
    key,
    utf8.encode(plaintext),
  );
  return { v, aad: AAD_FORMAT, iv: encodeBase64(iv), ct: encodeBase64(new Uint8Array(ct)) };
}

/**
 * Decrypts a sealed value for the record `aad` names. Never throws on malformed or tampered input:
 * `malformed` (shape, base64 or IV length), `unknown_key_version` (the version is not in the
 * keyring, e.g. it was dropped too early), `tampered` (authentication failed: wrong record, kind,
 * field, version, IV, ciphertext or key).
 *
 * Security trade-off, made here: a value without `aad` (sealed before fields were bound) is opened
 * under the binding it was sealed with, record id, kind and version, ignoring `aad.field`. So an
 * upgrade needs no downtime and no migration before it serves; the price is that, until the
 * re-encryption job rewraps it ({@link needsReencrypt} counts it as behind), such a value could
 * still be moved to another field of its own record unnoticed, exactly as before the upgrade and
 * no worse. Dropping `aad` from a new value does not downgrade it: it was sealed under the new
 * AAD and fails under the old. The old format stops opening at all once the key versions that
 * sealed it are retired (add a version, re-encrypt, drop the old ones): nothing is sealed in it
 * under a version added after the upgrade.
 */
export async function decrypt(keyring: Keyring, sealed: Sealed, aad: SealedAad): Promise<Result<string, DecryptError>> {
  const fail = (code: DecryptError["code"], detail: string) =>
    err({ code, message: `Cannot decrypt record "${aad.id}": ${detail}` });
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
      { name: "AES-GCM", iv: iv.value, additionalData: encodeAad(aad, v, parsed.data.aad), tagLength: TAG_BYTES * 8 },
      await key,
      ct.value,
    );
    // ignoreBOM keeps a leading U+FEFF that the value really had; fatal refuses invalid UTF-8.
    return ok(strictUtf8.decode(pt));
  } catch {
    return fail("tampered", "authentication failed");
  }
}

/**
 * True if `sealed` should be re-encrypted: it is not under the keyring's current version, or it
 * was sealed before fields were bound.
 */
export function needsReencrypt(keyring: Keyring, sealed: Sealed): boolean {
  return sealed.v !== keyring.currentVersion || sealed.aad !== AAD_FORMAT;
}

/**
 * Decrypts and seals again under the current version and AAD format (fresh IV), for master-key
 * rotation; with `to`, into another field (a value moving from a rotation into the record).
 */
export async function reencrypt(
  keyring: Keyring,
  sealed: Sealed,
  aad: SealedAad,
  to: SealedAad = aad,
): Promise<Result<Sealed, DecryptError>> {
  const plain = await decrypt(keyring, sealed, aad);
  return plain.ok ? ok(await encrypt(keyring, plain.value, to)) : plain;
}

// A JSON array is an unambiguous encoding of the tuple: ("a","bc") and ("ab","c") serialise
// differently, the field is a nested array (["previous","ab"] is not ["previousab"] nor
// ["previous","a","b"]), and JSON.stringify escapes quotes, separators and lone surrogates.
function encodeAad(aad: SealedAad, version: number, format: number | undefined): Uint8Array<ArrayBuffer> {
  const tuple = format === AAD_FORMAT
    ? [AAD_LABEL, aad.id, aad.kind, [...aad.field], version]
    : [LEGACY_AAD_LABEL, aad.id, aad.kind, version];
  // Copied into a fresh ArrayBuffer-backed array: the Node and Workers type libraries disagree on
  // what TextEncoder returns, and WebCrypto wants ArrayBuffer-backed input in both.
  return new Uint8Array(utf8.encode(JSON.stringify(tuple)));
}
