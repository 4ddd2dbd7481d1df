/**
 * Signs payloads the way GitHub signs secret scanning alerts, with a freshly generated P-256 key.
 * For tests; production code only verifies (src/core/inbound/github-secret-scanning.ts).
 *
 * The key identifier is lowercase hex SHA-256 of the PEM text including its final newline. That is
 * how GitHub's identifiers are derived (observed on GitHub's published key list, undocumented); verification never
 * relies on it and only looks identifiers up in the list.
 *
 * @module
 */
import { encodeBase64, encodeHex } from "../../src/core/crypto/encoding.ts";
import type { GithubPublicKeys } from "../../src/core/inbound/github-secret-scanning.ts";
import { derToPem, p1363ToDer } from "../../scripts/lib/der-encode.ts";

export interface GithubSigningKey {
  readonly privateKey: CryptoKey;
  /** PEM SPKI with 64-character lines and a final newline. */
  readonly publicKeyPem: string;
  readonly keyIdentifier: string;
}

/** Generates a P-256 key pair and its GitHub-style identifier. */
export async function generateGithubSigningKey(): Promise<GithubSigningKey> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const spki = new Uint8Array((await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer);
  const publicKeyPem = derToPem(spki);
  return { privateKey: pair.privateKey, publicKeyPem, keyIdentifier: await githubKeyIdentifier(publicKeyPem) };
}

/** Lowercase hex SHA-256 of the PEM text, as GitHub's `key_identifier` values are. */
export async function githubKeyIdentifier(publicKeyPem: string): Promise<string> {
  return encodeHex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(publicKeyPem))));
}

/** The `Github-Public-Key-Signature` value for `body`: base64 of a DER ECDSA P-256 / SHA-256 signature. */
export async function signGithubPayload(privateKey: CryptoKey, body: Uint8Array | string): Promise<string> {
  // Cast: Deno's WebCrypto types refuse a view that might be over a SharedArrayBuffer; these never are.
  const bytes = (typeof body === "string" ? new TextEncoder().encode(body) : body) as Uint8Array<ArrayBuffer>;
  const raw = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, bytes));
  return encodeBase64(p1363ToDer(raw));
}

/** The body GitHub's public-keys endpoint would return for these keys. */
export function githubPublicKeysFor(
  keys: readonly { publicKeyPem: string; keyIdentifier: string; isCurrent?: boolean }[],
): GithubPublicKeys {
  return {
    public_keys: keys.map((k) => ({
      key_identifier: k.keyIdentifier,
      key: k.publicKeyPem,
      is_current: k.isCurrent ?? true,
    })),
  };
}
