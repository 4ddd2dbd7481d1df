/**
 * Constant-time comparison of byte strings, for secrets that cannot go through
 * `crypto.subtle.verify` (bearer tokens, stored digests).
 *
 * Trade-offs, recorded where they are made:
 * - workerd has a native `crypto.subtle.timingSafeEqual` (BoringSSL `CRYPTO_memcmp`); Deno and Node
 *   do not. We use the native one when present and otherwise an XOR-accumulate loop over every byte
 *   (as Deno std `crypto/timing_safe_equal.ts` does). JavaScript gives no formal constant-time
 *   guarantee, but the loop has no data-dependent branch or early exit for a JIT to exploit.
 * - Length is not secret in {@link timingSafeEqual}: unequal lengths return `false` at once (the
 *   native function would throw). Compare fixed-length values there (MACs, digests), or use
 *   {@link timingSafeEqualDigest}, which hashes both sides first so that neither the length nor the
 *   position of a mismatch leaks.
 *
 * @module
 */

type NativeTimingSafeEqual = (a: ArrayBufferView, b: ArrayBufferView) => boolean;

/** Compares two byte arrays in time that depends only on their length. */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const native = (crypto.subtle as { timingSafeEqual?: NativeTimingSafeEqual }).timingSafeEqual;
  if (typeof native === "function") return native.call(crypto.subtle, a, b);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * Compares two secrets of possibly different lengths (e.g. a presented bearer token and the
 * configured one) by comparing their SHA-256 digests in constant time. Strings are UTF-8 encoded.
 */
export async function timingSafeEqualDigest(a: string | Uint8Array, b: string | Uint8Array): Promise<boolean> {
  const [da, db] = await Promise.all([sha256(a), sha256(b)]);
  return timingSafeEqual(da, db);
}

async function sha256(value: string | Uint8Array): Promise<Uint8Array> {
  const bytes = typeof value === "string" ? new TextEncoder().encode(value) : value;
  // Cast: Deno's WebCrypto types refuse a view that might be over a SharedArrayBuffer; this one never is.
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
}
