import { describe, expect, it } from "vitest";
import { encodeBase64 } from "./encoding.ts";
import { parseKeyring } from "./keyring.ts";

const key = (fill: number, length = 32) => encodeBase64(new Uint8Array(length).fill(fill));

describe("parseKeyring", () => {
  it("parses versions and picks the highest as current", async () => {
    const r = parseKeyring(JSON.stringify({ "1": key(1), "10": key(10), "2": key(2) }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.currentVersion).toBe(10);
    expect(r.value.versions).toEqual([10, 2, 1]);
    expect(r.value.has(2)).toBe(true);
    expect(r.value.has(3)).toBe(false);
    expect(r.value.cryptoKey(3)).toBeUndefined();
    const k = await r.value.cryptoKey(2)!;
    expect(k.algorithm.name).toBe("AES-GCM");
    expect(k.extractable).toBe(false);
    expect(k.usages.sort()).toEqual(["decrypt", "encrypt"]);
    // Imported once, then cached.
    expect(r.value.cryptoKey(2)).toBe(r.value.cryptoKey(2));
    expect(await r.value.cryptoKey(2)).toBe(k);
    expect(r.value.has(2)).toBe(true);
  });

  it("accepts unpadded base64 keys", () => {
    expect(parseKeyring(JSON.stringify({ "1": key(7).replace(/=+$/, "") })).ok).toBe(true);
  });

  it("does not expose key bytes when serialised", () => {
    const secret = key(0x5a);
    const r = parseKeyring(JSON.stringify({ "1": secret }));
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(JSON.stringify(r.value)).not.toContain(secret);
      expect(JSON.stringify(r.value)).not.toContain("90,90,90");
    }
  });

  const secret = "c2VjcmV0LWtleS1tYXRlcmlhbC1kby1ub3QtbGVhaw"; // base64 "secret-key-material-do-not-leak"
  it.each([
    ["not JSON", `{"1": "${secret}"`, "invalid_json"],
    ["a bare string", JSON.stringify(secret), "invalid_json"],
    ["an array", JSON.stringify([secret]), "invalid_json"],
    ["null", "null", "invalid_json"],
    ["empty", "{}", "empty"],
    ["version 0", JSON.stringify({ "0": key(1) }), "invalid_version"],
    ["negative version", JSON.stringify({ "-1": key(1) }), "invalid_version"],
    ["leading zero", JSON.stringify({ "01": key(1) }), "invalid_version"],
    ["fractional version", JSON.stringify({ "1.5": key(1) }), "invalid_version"],
    ["key as version", JSON.stringify({ [secret]: key(1) }), "invalid_version"],
    ["huge version", JSON.stringify({ "9999999999999999": key(1) }), "invalid_version"],
    ["31-byte key", JSON.stringify({ "1": key(1, 31) }), "invalid_key"],
    ["33-byte key", JSON.stringify({ "1": key(1, 33) }), "invalid_key"],
    ["16-byte key", JSON.stringify({ "1": key(1, 16) }), "invalid_key"],
    ["non-base64 key", JSON.stringify({ "1": secret + "!" }), "invalid_key"],
    ["numeric key", JSON.stringify({ "1": 12345 }), "invalid_key"],
    ["one bad key among good", JSON.stringify({ "1": key(1), "2": secret }), "invalid_key"],
  ])("rejects %s without echoing key material", (_name, json, reason) => {
    const r = parseKeyring(json);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe(reason);
    expect(r.error.message).toMatch(/^Cannot parse encryption keys: /);
    expect(r.error.message).not.toContain(secret);
    expect(r.error.message).not.toContain(key(1));
    expect(r.error.message).not.toContain(secret.slice(0, 8));
  });
});
