import { describe, expect, it } from "vitest";
import { encodeBase64 } from "./encoding.ts";
import { fingerprint, fingerprintAll, fingerprintPrefix, importFingerprintKey } from "./fingerprint.ts";

const KEY_A = encodeBase64(new Uint8Array(32).fill(0x0b));
const KEY_B = encodeBase64(new Uint8Array(32).fill(0x0c));

async function fp(rawKey: string, value: string): Promise<string> {
  const key = await importFingerprintKey(rawKey);
  if (!key.ok) throw new Error(key.error.message);
  return fingerprint(key.value, value);
}

describe("fingerprint", () => {
  it("is lowercase hex HMAC-SHA256 (RFC 4231 test case 2 layout, 32-byte key)", async () => {
    // Independent computation with WebCrypto sign, to pin the format.
    const k = await crypto.subtle.importKey(
      "raw",
      new Uint8Array(32).fill(0x0b),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", k, new TextEncoder().encode("Hi There")));
    const hex = [...mac].map((b) => b.toString(16).padStart(2, "0")).join("");
    expect(await fp(KEY_A, "Hi There")).toBe(hex);
    expect(hex).toMatch(/^[0-9a-f]{64}$/);
  });

  it("is deterministic under a non-extractable key", async () => {
    const imported = await importFingerprintKey(KEY_A);
    expect(imported.ok).toBe(true);
    if (!imported.ok) return;
    const first = await fingerprint(imported.value, "tok_123");
    expect(await fingerprint(imported.value, "tok_123")).toBe(first);
    expect(await fp(KEY_A, "tok_123")).toBe(first);
    expect(imported.value.cryptoKey.extractable).toBe(false);
  });

  it("depends on the key and on every character of the value", async () => {
    const first = await fp(KEY_A, "tok_123");
    expect(await fp(KEY_B, "tok_123")).not.toBe(first);
    expect(await fp(KEY_A, "tok_124")).not.toBe(first);
    expect(await fp(KEY_A, "tok_123 ")).not.toBe(first);
  });

  it("fingerprintAll gives each value's fingerprint, in order, from strings or their UTF-8 bytes", async () => {
    const key = await importFingerprintKey(KEY_A);
    if (!key.ok) throw new Error(key.error.message);
    const values = ["tok_1", "tok_2", "tok_1", "ünïcode", ""];
    const one = await Promise.all(values.map((v) => fingerprint(key.value, v)));
    expect(await fingerprintAll(key.value, values)).toEqual(one);
    expect(await fingerprintAll(key.value, values.map((v) => new Uint8Array(new TextEncoder().encode(v))))).toEqual(
      one,
    );
    expect(await fingerprintAll(key.value, [])).toEqual([]);
  });

  it("gives an 8-character prefix", async () => {
    const full = await fp(KEY_A, "x");
    expect(fingerprintPrefix(full)).toBe(full.slice(0, 8));
    expect(fingerprintPrefix(full)).toMatch(/^[0-9a-f]{8}$/);
  });

  it.each([
    ["too short", encodeBase64(new Uint8Array(31).fill(1))],
    ["not base64", "not base64 at all!"],
    ["empty", ""],
  ])("rejects a key that is %s without echoing it", async (_name, key) => {
    const r = await importFingerprintKey(key);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe("invalid_key");
      if (key) expect(r.error.message).not.toContain(key);
    }
    await expect(fp(key, "v")).rejects.toThrow(/^Cannot import fingerprint key/);
  });

  it("accepts longer keys", async () => {
    expect((await importFingerprintKey(encodeBase64(new Uint8Array(64)))).ok).toBe(true);
  });
});
