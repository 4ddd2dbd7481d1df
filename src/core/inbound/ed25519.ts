/**
 * Ed25519 verification that behaves the same in workerd, Deno and Node (Secure Curves in
 * the Web Cryptography API, https://wicg.github.io/webcrypto-secure-curves/): the
 * standard `"Ed25519"` algorithm name, lengths checked before WebCrypto sees them (workerd throws
 * `OperationError` on a signature that is not 64 bytes), and every failure reported as `false` or
 * `undefined`, never thrown.
 *
 * @module
 */

/** Imports a raw 32-byte Ed25519 public key, or `undefined` if it is not one. */
export async function importEd25519PublicKey(raw: Uint8Array<ArrayBuffer>): Promise<CryptoKey | undefined> {
  if (raw.length !== 32) return undefined;
  try {
    return await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
  } catch {
    return undefined;
  }
}

/** True only if `signature` is a valid 64-byte Ed25519 signature of `data` under `key`. */
export async function verifyEd25519(
  key: CryptoKey,
  signature: Uint8Array<ArrayBuffer>,
  data: Uint8Array<ArrayBuffer>,
): Promise<boolean> {
  if (signature.length !== 64) return false;
  try {
    return await crypto.subtle.verify("Ed25519", key, signature, data);
  } catch {
    return false;
  }
}
