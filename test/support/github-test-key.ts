/**
 * A P-256 key pair made for the test suite only (public in this repository, trusted by nothing but
 * the tests): the Worker under test trusts its public key through GITHUB_SECRET_SCANNING_KEYS
 * (vitest.config.ts), and tests sign alerts with its private key as GitHub would.
 */
import { signGithubPayload } from "./github-signer.ts";

export const GITHUB_TEST_KEY_ID = "d3a90a67e2d9f2c581ba8c15d407de855b5c581948635cb28169e9bed10163e2";
export const GITHUB_TEST_PUBLIC_PEM =
  "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEtjNJEke7DYe72awp4rNX0fZkc8mV\nuMpxuS0Bv46+mzwkLE0M5aoudtBfzp8e8MnsFkDChvFo9Qhwt01uRJnk9w==\n-----END PUBLIC KEY-----\n";
const PKCS8 =
  "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgUNnUCjE/zOI1U2XMyHXWRx8TZtsefLx7bbtIOVLD+nKhRANCAAS2M0kSR7sNh7vZrCnis1fR9mRzyZW4ynG5LQG/jr6bPCQsTQzlqi520F/Onx7wyewWQMKG8Wj1CHC3TW5EmeT3";

let key: Promise<CryptoKey> | undefined;
export function githubTestPrivateKey(): Promise<CryptoKey> {
  const der = Uint8Array.from(atob(PKCS8), (ch) => ch.charCodeAt(0));
  return (key ??= crypto.subtle.importKey("pkcs8", der, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]));
}

export async function signedGithubAlert(body: string): Promise<Record<string, string>> {
  return {
    "content-type": "application/json",
    "github-public-key-identifier": GITHUB_TEST_KEY_ID,
    "github-public-key-signature": await signGithubPayload(await githubTestPrivateKey(), body),
  };
}
