/**
 * PEM ↔ DER for SPKI public keys (RFC 7468 §13), as GitHub publishes its secret-scanning keys.
 *
 * @module
 */
import { decodeBase64 } from "../crypto/encoding.ts";

/**
 * The DER bytes inside a `-----BEGIN PUBLIC KEY-----` block, or `undefined` if there is no single
 * well-formed block. Line breaks (LF or CRLF) inside the base64 are allowed, as RFC 7468 requires.
 */
export function pemToDer(pem: string, label = "PUBLIC KEY"): Uint8Array<ArrayBuffer> | undefined {
  const match = new RegExp(
    `^\\s*-----BEGIN ${label}-----\\r?\\n([A-Za-z0-9+/=\\r\\n]+?)\\r?\\n?-----END ${label}-----\\s*$`,
  ).exec(pem);
  if (!match) return undefined;
  const der = decodeBase64(match[1]!.replace(/\r?\n/g, ""));
  return der.ok && der.value.length > 0 ? der.value : undefined;
}
