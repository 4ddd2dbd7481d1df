/**
 * GitHub App authentication: the App's private key (the PEM GitHub issues) and the RS256 JWT that
 * proves the App's identity to GitHub ("Generating a JSON Web Token (JWT) for a GitHub App").
 *
 * WebCrypto, not a JOSE library: RS256 is RSASSA-PKCS1-v1_5 with SHA-256, which every runtime's
 * WebCrypto signs natively, and a JWT is three base64url parts. What WebCrypto lacks is the PEM
 * GitHub hands out: a PKCS#1 `RSA PRIVATE KEY`, which `importKey` does not take. It is wrapped
 * into the PKCS#8 structure `importKey("pkcs8")` does take (RFC 5208 PrivateKeyInfo: version 0,
 * the rsaEncryption algorithm identifier, the PKCS#1 key as an OCTET STRING): a fixed prefix and
 * two DER lengths, no parsing of the key itself. A PKCS#8 `PRIVATE KEY` (what `openssl pkcs8
 * -topk8 -nocrypt` writes) is taken as it is. An encrypted PEM is refused: rekey has no
 * passphrase to open it with.
 *
 * Trade-offs, recorded here: the imported key is non-extractable and lives in the isolate's
 * memory for its lifetime (imported once, src/services.ts); the PEM text itself stays only in the
 * configuration. Neither is ever logged or put in an error.
 *
 * Runtime-neutral: WebCrypto only.
 */
import { encodeBase64Url } from "../crypto/encoding.ts";
import { pemToDer } from "../inbound/pem.ts";

/** The key's DER as PKCS#8, or undefined when the text is not one of the two PEMs GitHub's keys come in. */
export function appKeyDer(pem: string): Uint8Array<ArrayBuffer> | undefined {
  // A PEM pasted into a one-line variable often arrives with literal "\n" escapes.
  const text = pem.includes("\\n") && !pem.includes("\n") ? pem.replace(/\\n/g, "\n") : pem;
  const pkcs8 = pemToDer(text, "PRIVATE KEY");
  if (pkcs8) return pkcs8;
  const pkcs1 = pemToDer(text, "RSA PRIVATE KEY");
  return pkcs1 ? wrapPkcs1(pkcs1) : undefined;
}

// SEQUENCE { OBJECT IDENTIFIER rsaEncryption (1.2.840.113549.1.1.1), NULL }
const RSA_ALGORITHM = [0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];

function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

function wrapPkcs1(pkcs1: Uint8Array): Uint8Array<ArrayBuffer> {
  const body = [0x02, 0x01, 0x00, ...RSA_ALGORITHM, 0x04, ...derLength(pkcs1.length)];
  const head = [0x30, ...derLength(body.length + pkcs1.length), ...body];
  const out = new Uint8Array(head.length + pkcs1.length);
  out.set(head);
  out.set(pkcs1, head.length);
  return out;
}

/** Imports the App's key for signing. Rejects (a TypeError naming nothing of the key) when it is unusable. */
export async function importAppKey(pem: string): Promise<CryptoKey> {
  const der = appKeyDer(pem);
  if (!der) throw new TypeError("GITHUB_APP_PRIVATE_KEY is not an RSA private key PEM (PKCS#1 or PKCS#8)");
  try {
    return await crypto.subtle.importKey("pkcs8", der, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["sign"]);
  } catch {
    throw new TypeError("GITHUB_APP_PRIVATE_KEY cannot be imported as an RSA signing key");
  }
}

const utf8 = (s: string) => new TextEncoder().encode(s);

/**
 * The App's JWT: `iat` 60 s in the past (GitHub's advice against clock drift), `exp` 9 minutes
 * ahead (GitHub refuses more than 10 minutes), `iss` the App id (or its client id).
 */
export async function signAppJwt(key: CryptoKey, appId: string, nowMs: number): Promise<string> {
  const now = Math.floor(nowMs / 1000);
  const header = encodeBase64Url(utf8(JSON.stringify({ alg: "RS256", typ: "JWT" })));
  const claims = encodeBase64Url(utf8(JSON.stringify({ iat: now - 60, exp: now + 540, iss: appId })));
  const signature = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, utf8(`${header}.${claims}`));
  return `${header}.${claims}.${encodeBase64Url(new Uint8Array(signature))}`;
}
