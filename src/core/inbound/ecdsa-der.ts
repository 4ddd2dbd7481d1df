/**
 * Conversion between ASN.1 DER ECDSA signatures (what GitHub sends) and IEEE P1363 `r || s` (what
 * WebCrypto verifies). Passing DER straight to `crypto.subtle.verify` does not throw: it silently
 * returns `false` (Web Cryptography API, ECDSA "Verify": the signature is `r || s`,
 * https://w3c.github.io/webcrypto/#ecdsa-operations), so the conversion is not optional.
 *
 * Parsing is strict DER (X.690 §10.1, §8.3.2): definite minimal lengths, INTEGER tags, no negative
 * or zero-padded integers beyond the one sign byte, no trailing bytes. Anything else is `undefined`,
 * which callers report as an invalid signature. Strictness costs nothing with GitHub (Go's
 * `encoding/asn1` emits canonical DER) and leaves one byte string per signature.
 *
 * @module
 */

/**
 * `SEQUENCE { INTEGER r, INTEGER s }` → `r || s`, each left-padded to `size` bytes (32 for P-256).
 * Returns `undefined` for anything that is not strict DER or whose integers exceed `size` bytes.
 */
export function derToP1363(der: Uint8Array, size = 32): Uint8Array<ArrayBuffer> | undefined {
  let i = 0;
  const byte = (): number => (i < der.length ? der[i++]! : -1);
  const length = (): number => {
    const first = byte();
    if (first < 0x80) return first; // short form, or -1 at the end of input
    const count = first & 0x7f;
    if (count === 0 || count > 2) return -1; // indefinite or absurd for a signature
    let len = 0;
    for (let k = 0; k < count; k++) {
      const b = byte();
      if (b < 0) return -1;
      len = (len << 8) | b;
    }
    // DER uses the long form only when needed, with no leading zero byte.
    return len < 0x80 || (count === 2 && len < 0x100) ? -1 : len;
  };

  if (byte() !== 0x30) return undefined;
  const seqLen = length();
  if (seqLen < 0 || i + seqLen !== der.length) return undefined;
  const out = new Uint8Array(2 * size);
  for (const offset of [0, size]) {
    if (byte() !== 0x02) return undefined;
    const len = length();
    if (len <= 0 || i + len > der.length) return undefined;
    let v = der.subarray(i, i + len);
    i += len;
    if (v[0]! & 0x80) return undefined; // negative
    if (v.length > 1 && v[0] === 0) {
      if (!(v[1]! & 0x80)) return undefined; // a zero byte that is not needed as a sign byte
      v = v.subarray(1);
    }
    if (v.length > size) return undefined;
    out.set(v, offset + size - v.length);
  }
  return i === der.length ? out : undefined;
}
