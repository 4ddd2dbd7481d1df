/**
 * GitHub for the matrices (./world.ts): the test App the case's in-process GitHub emulator
 * (emulator/github/) trusts, and a way to read back what an Actions secret holds.
 *
 * The emulator keeps each sealing key's private half; opening a sealed box needs X25519 (WebCrypto,
 * in workerd and Deno alike) and XSalsa20-Poly1305 with a BLAKE2b nonce (@noble/ciphers,
 * @noble/hashes). These are the primitives rekey's own sealing uses (src/core/github/sealed-box.ts),
 * so this opener alone would not catch a sealing bug both share: that the boxes are libsodium's is
 * checked against libsodium itself (test/node/, test/deno/github-e2e.test.ts). What the matrices
 * ask is only which value a secret ends up holding, on every store.
 *
 * Runner-agnostic: vitest in workerd and Deno.test both use it.
 */
import { hsalsa, xsalsa20poly1305 } from "@noble/ciphers/salsa.js";
import { blake2b } from "@noble/hashes/blake2.js";
import type { GithubEmulator } from "../../../emulator/github/index.ts";
import { encodeBase64 } from "../../../src/core/crypto/encoding.ts";

export const GITHUB_APP_ID = "1717";

const pem = (label: string, der: ArrayBuffer) =>
  `-----BEGIN ${label}-----\n${encodeBase64(new Uint8Array(der)).replace(/.{64}/g, "$&\n")}\n-----END ${label}-----\n`;

let app: Promise<{ privateKey: string; publicKey: string }> | undefined;

/** The test App's key pair as PEM (PKCS#8, SPKI): made once per file, an RSA key takes a while. */
export function githubAppKeys(): Promise<{ privateKey: string; publicKey: string }> {
  app ??= (async () => {
    const pair = (await crypto.subtle.generateKey(
      { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
      true,
      ["sign", "verify"],
    )) as CryptoKeyPair;
    return {
      privateKey: pem("PRIVATE KEY", (await crypto.subtle.exportKey("pkcs8", pair.privateKey)) as ArrayBuffer),
      publicKey: pem("PUBLIC KEY", (await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer),
    };
  })();
  return app;
}

// "expand 32-byte k", the Salsa20 constant, as little-endian words.
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);
// An X25519 PrivateKeyInfo (RFC 8410) before its 32 key bytes.
const PKCS8_X25519 = Uint8Array.from("302e020100300506032b656e04220420".match(/../g)!, (h) => parseInt(h, 16));

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
 * The value the Actions secret `name` of `scope` (the emulator's `repo:owner/name`,
 * `org:name` keys) holds, opened with the emulator's private key; undefined: no such secret, or
 * one the emulator cannot open (written before rekey, or not a box for its current key).
 */
export async function githubSecretValue(
  github: GithubEmulator,
  scope: string,
  name: string,
): Promise<string | undefined> {
  const secret = github.state.secrets.get(scope)?.get(name.toUpperCase());
  const key = github.state.keys.get(scope);
  if (!secret || !key || secret.key_id !== key.key_id || !secret.encrypted_value) return undefined;
  const sealed = Uint8Array.from(atob(secret.encrypted_value), (c) => c.charCodeAt(0));
  const epk = sealed.slice(0, 32);
  const privateKey = await crypto.subtle.importKey(
    "pkcs8",
    new Uint8Array([...PKCS8_X25519, ...key.privateKey]),
    { name: "X25519" },
    false,
    ["deriveBits"],
  );
  const peer = await crypto.subtle.importKey("raw", epk, { name: "X25519" }, false, []);
  const params = { name: "X25519", public: peer } as unknown as Parameters<typeof crypto.subtle.deriveBits>[0];
  const shared = new Uint8Array(await crypto.subtle.deriveBits(params, privateKey, 256));
  const boxKey = new Uint32Array(8);
  hsalsa(SIGMA, words(shared), new Uint32Array(4), boxKey);
  const nonce = blake2b(new Uint8Array([...epk, ...key.publicKey]), { dkLen: 24 });
  try {
    return new TextDecoder().decode(xsalsa20poly1305(bytesOf(boxKey), nonce).decrypt(sealed.slice(32)));
  } catch {
    return undefined; // not a box for this key
  }
}
