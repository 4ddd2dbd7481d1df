/**
 * The encoding halves of src/core/inbound/ecdsa-der.ts and pem.ts, which only decode: signing
 * like GitHub (test/support/github-signer.ts, the demo) needs DER signatures and PEM keys.
 */
import { encodeBase64 } from "../../src/core/crypto/encoding.ts";

/** `r || s` → DER `SEQUENCE { INTEGER r, INTEGER s }`. The inverse of `derToP1363`. */
export function p1363ToDer(raw: Uint8Array): Uint8Array<ArrayBuffer> {
  const half = raw.length / 2;
  const integer = (v: Uint8Array): number[] => {
    let start = 0;
    while (start < v.length - 1 && v[start] === 0) start++;
    const body = [...v.subarray(start)];
    if (body[0]! & 0x80) body.unshift(0);
    return [0x02, ...encodeLength(body.length), ...body];
  };
  const content = [...integer(raw.subarray(0, half)), ...integer(raw.subarray(half))];
  return new Uint8Array([0x30, ...encodeLength(content.length), ...content]);
}

function encodeLength(len: number): number[] {
  if (len < 0x80) return [len];
  if (len < 0x100) return [0x81, len];
  return [0x82, len >> 8, len & 0xff];
}

/** DER → PEM with 64-character lines and a final newline, the layout GitHub (and OpenSSL) use. */
export function derToPem(der: Uint8Array, label = "PUBLIC KEY"): string {
  const lines = encodeBase64(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
