/** Signs a request as Slack does (src/core/inbound/slack.ts verifies it), for the demo and the tests. */
import { encodeHex } from "../../src/core/crypto/encoding.ts";
import { signedBytes } from "../../src/core/crypto/encoding.ts";

/** The `X-Slack-Signature` value Slack would send: the signing secret used as UTF-8 bytes. */
export async function signSlackRequest(
  input: { signingSecret: string; timestamp: number; body: Uint8Array | string },
): Promise<string> {
  const body = typeof input.body === "string" ? new TextEncoder().encode(input.body) : input.body;
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(input.signingSecret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, signedBytes(`v0:${input.timestamp}:`, body));
  return `v0=${encodeHex(new Uint8Array(mac))}`;
}
