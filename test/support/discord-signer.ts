/** Signs an interaction as Discord does (src/core/inbound/discord.ts verifies it), for the tests. */
import { encodeHex } from "../../src/core/crypto/encoding.ts";
import { signedBytes } from "../../src/core/crypto/encoding.ts";

/** The `X-Signature-Ed25519` value Discord would send, given an Ed25519 private key. */
export async function signDiscordInteraction(
  input: { privateKey: CryptoKey; timestamp: string; body: Uint8Array | string },
): Promise<string> {
  const body = typeof input.body === "string" ? new TextEncoder().encode(input.body) : input.body;
  const sig = await crypto.subtle.sign("Ed25519", input.privateKey, signedBytes(input.timestamp, body));
  return encodeHex(new Uint8Array(sig));
}
