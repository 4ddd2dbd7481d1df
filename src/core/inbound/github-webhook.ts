/**
 * GitHub webhook signatures ("Validating webhook deliveries"): `X-Hub-Signature-256:
 * sha256=<hex HMAC-SHA256 of the raw body>`, keyed with the webhook's secret as UTF-8. GitHub
 * signs no timestamp: a captured delivery can be replayed, which the route refuses by claiming
 * `X-GitHub-Delivery` in the ledger (redeliveries keep their delivery id).
 *
 * The comparison is `crypto.subtle.verify`, which compares MACs in constant time; the legacy
 * SHA-1 `X-Hub-Signature` is not accepted.
 *
 * Runtime-neutral: WebCrypto only.
 *
 * @module
 */
import { decodeHex, encodeHex } from "../crypto/encoding.ts";
import { ok, type Result } from "../result.ts";
import { fail, type HeaderValue, present, type VerifyError } from "./verify-common.ts";

export interface VerifyGithubWebhookInput {
  /** GITHUB_WEBHOOK_SECRET. */
  readonly secret: string;
  /** The `X-Hub-Signature-256` header. */
  readonly signature: HeaderValue;
  /** The raw request body, exactly as received. */
  readonly body: Uint8Array;
}

export async function verifyGithubWebhook(input: VerifyGithubWebhookInput): Promise<Result<true, VerifyError>> {
  if (!present(input.signature)) {
    return fail("missing_header", "Cannot verify GitHub webhook: X-Hub-Signature-256 is missing");
  }
  if (!input.secret) return fail("invalid_key", "Cannot verify GitHub webhook: no secret is configured");
  const mac = /^sha256=[0-9a-f]{64}$/.test(input.signature) ? decodeHex(input.signature.slice(7)) : undefined;
  if (mac?.ok) {
    const key = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(input.secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["verify"],
    );
    if (await crypto.subtle.verify("HMAC", key, mac.value, input.body as Uint8Array<ArrayBuffer>)) return ok(true);
  }
  return fail("invalid_signature", "Cannot verify GitHub webhook: signature does not match");
}

/** Signs a body as GitHub does (the emulator, the demo and tests; rekey itself only verifies). */
export async function signGithubWebhook(secret: string, body: string | Uint8Array): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, bytes as Uint8Array<ArrayBuffer>));
  return `sha256=${encodeHex(mac)}`;
}
