/**
 * libsodium's sealed box (`crypto_box_seal`), which GitHub requires for every Actions secret
 * value ("Encrypting secrets for the REST API"): an ephemeral X25519 key pair, the nonce
 * BLAKE2b-192(ephemeral public key ‖ recipient public key), and `crypto_box` (X25519, then
 * HSalsa20 of the shared secret as the key of XSalsa20-Poly1305) over the value; the output is
 * the ephemeral public key followed by the box (Poly1305 tag, then ciphertext).
 *
 * X25519 comes from WebCrypto (workerd and Deno both implement it), so the ephemeral private key
 * never leaves a non-extractable CryptoKey. WebCrypto has no XSalsa20, Poly1305 or BLAKE2b:
 * those come from `@noble/ciphers` and `@noble/hashes`, small (about 7 KiB gzip together in the
 * Worker), audited, dependency-free and maintained, pure ESM that runs unchanged in workerd and
 * Deno alike; the output is checked against libsodium itself (`libsodium-wrappers`, test/node/).
 *
 * Runtime-neutral: WebCrypto + those two libraries.
 */
import { hsalsa, xsalsa20poly1305 } from "@noble/ciphers/salsa.js";
import { blake2b } from "@noble/hashes/blake2.js";
import { decodeBase64, encodeBase64 } from "../crypto/encoding.ts";

// "expand 32-byte k", the Salsa20 constant, as little-endian words.
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);

const words = (bytes: Uint8Array) => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Uint32Array.from({ length: bytes.length / 4 }, (_, i) => view.getUint32(i * 4, true));
};
const bytesOf = (w: Uint32Array) => {
  const out = new Uint8Array(w.length * 4);
  const view = new DataView(out.buffer);
  w.forEach((v, i) => view.setUint32(i * 4, v, true));
  return out;
};

/**
 * Seals `value` (UTF-8) for the base64 X25519 public key GitHub gave, as base64, which is what the
 * secret PUT takes as `encrypted_value`. Throws a TypeError for a key that is not 32 bytes.
 */
export async function sealForGithub(publicKeyBase64: string, value: string): Promise<string> {
  const pk = decodeBase64(publicKeyBase64);
  if (!pk.ok || pk.value.length !== 32) throw new TypeError("GitHub's public key is not a 32-byte X25519 key");
  const ephemeral = (await crypto.subtle.generateKey({ name: "X25519" }, false, ["deriveBits"])) as CryptoKeyPair;
  const epk = new Uint8Array((await crypto.subtle.exportKey("raw", ephemeral.publicKey)) as ArrayBuffer);
  const recipient = await crypto.subtle.importKey("raw", pk.value, { name: "X25519" }, false, []);
  // The private half stays non-extractable; a public key is always exportable.
  // deriveBits rejects an all-zero shared secret (a low-order public key), as libsodium does.
  // `public` is WebCrypto's name for the peer key; workerd's types spell it `$public`.
  const params = { name: "X25519", public: recipient } as unknown as Parameters<typeof crypto.subtle.deriveBits>[0];
  const shared = new Uint8Array(await crypto.subtle.deriveBits(params, ephemeral.privateKey, 256));
  const key = new Uint32Array(8);
  hsalsa(SIGMA, words(shared), new Uint32Array(4), key);
  shared.fill(0);
  const nonce = blake2b(new Uint8Array([...epk, ...pk.value]), { dkLen: 24 });
  const boxed = xsalsa20poly1305(bytesOf(key), nonce).encrypt(new TextEncoder().encode(value));
  key.fill(0);
  const out = new Uint8Array(epk.length + boxed.length);
  out.set(epk);
  out.set(boxed, epk.length);
  return encodeBase64(out);
}
