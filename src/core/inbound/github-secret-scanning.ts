/**
 * Verification of GitHub secret scanning partner alerts (GitHub docs "Secret scanning partner
 * program", "Implement signature verification":
 * https://docs.github.com/en/code-security/secret-scanning/secret-scanning-partnership-program/secret-scanning-partner-program).
 *
 * GitHub signs the raw request body with ECDSA P-256 / SHA-256 (`ECDSA-NIST-P256V1-SHA256`) and
 * sends base64 of the ASN.1 DER signature in `Github-Public-Key-Signature`; the key is chosen by
 * `Github-Public-Key-Identifier` from the list at
 * `GET https://api.github.com/meta/public_keys/secret_scanning`. There is no timestamp, so there is
 * no replay window: a replay only re-reports an already public token, and handling is idempotent.
 *
 * Runtime-neutral: WebCrypto only.
 *
 * @module
 */
import * as z from "zod/mini";
import { decodeBase64 } from "../crypto/encoding.ts";
import { ok, type Result } from "../result.ts";
import { derToP1363 } from "./ecdsa-der.ts";
import { pemToDer } from "./pem.ts";
import { fail, type HeaderValue, present, type VerifyError } from "./verify-common.ts";

/** The body of GitHub's public-keys endpoint. Unknown fields are allowed: GitHub may add some. */
const githubPublicKeysSchema = z.object({
  public_keys: z.array(
    z.object({
      key_identifier: z.string().check(z.minLength(1)),
      /** PEM SPKI of a P-256 key. */
      key: z.string().check(z.minLength(1)),
      is_current: z.boolean(),
    }),
  ),
});
export type GithubPublicKeys = z.infer<typeof githubPublicKeysSchema>;
type GithubPublicKey = GithubPublicKeys["public_keys"][number];

/** Validates the JSON from GitHub's public-keys endpoint. Failure has code `invalid_key`. */
export function parseGithubPublicKeys(json: unknown): Result<GithubPublicKeys, VerifyError> {
  const parsed = githubPublicKeysSchema.safeParse(json);
  return parsed.success
    ? ok(parsed.data)
    : fail("invalid_key", "Cannot parse GitHub public keys: response does not match the expected shape");
}

export interface VerifyGithubSignatureInput {
  /** The current key list (cache it; re-fetch once when the result is `unknown_key`). */
  readonly keys: GithubPublicKeys;
  /** `Github-Public-Key-Identifier` header. */
  readonly keyId: HeaderValue;
  /** `Github-Public-Key-Signature` header: base64 of a DER ECDSA signature. */
  readonly signature: HeaderValue;
  /** The raw request body, exactly as received. */
  readonly body: Uint8Array;
}

/**
 * Verifies a GitHub secret scanning alert over its raw body, before it is parsed.
 *
 * Any listed key is accepted, not only `is_current` ones (crates.io rejects non-current keys).
 * During a GitHub key rotation alerts signed with the outgoing key are still in flight, and
 * dropping a leak report is worse than accepting a key GitHub itself still publishes; a key GitHub
 * withdraws disappears from the list and is refused from then on.
 *
 * @returns the key that verified, or code `missing_header`, `unknown_key`, `invalid_key` (the
 *   listed key cannot be imported) or `invalid_signature`
 */
export async function verifyGithubSignature(
  input: VerifyGithubSignatureInput,
): Promise<Result<{ keyId: string; isCurrent: boolean }, VerifyError>> {
  const { keys, keyId, signature, body } = input;
  if (!present(keyId) || !present(signature)) {
    return fail("missing_header", "Cannot verify GitHub alert: signature or key identifier header is missing");
  }
  const entry = keys.public_keys.find((k) => k.key_identifier === keyId);
  if (!entry) return fail("unknown_key", "Cannot verify GitHub alert: unknown public key identifier");
  const key = await importKey(entry.key);
  if (!key) return fail("invalid_key", "Cannot verify GitHub alert: the listed public key is not a P-256 SPKI key");
  const der = decodeBase64(signature);
  const raw = der.ok ? derToP1363(der.value) : undefined;
  if (!raw) return fail("invalid_signature", "Cannot verify GitHub alert: signature is not base64 DER");
  let valid = false;
  try {
    // Cast: Deno's WebCrypto types refuse a view that might be over a SharedArrayBuffer; this one never is.
    valid = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, raw, body as Uint8Array<ArrayBuffer>);
  } catch {
    valid = false;
  }
  return valid
    ? ok({ keyId, isCurrent: entry.is_current })
    : fail("invalid_signature", "Cannot verify GitHub alert: signature does not match");
}

// Public keys are not secret, so a module-level cache is harmless; it is bounded because the PEM
// text comes from a network response.
const imported = new Map<string, Promise<CryptoKey | undefined>>();

function importKey(pem: string): Promise<CryptoKey | undefined> {
  const cached = imported.get(pem);
  if (cached) return cached;
  const der = pemToDer(pem);
  const pending = der
    ? crypto.subtle
      .importKey("spki", der, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"])
      .catch(() => undefined)
    : Promise.resolve(undefined);
  if (imported.size >= 16) imported.clear();
  imported.set(pem, pending);
  return pending;
}
