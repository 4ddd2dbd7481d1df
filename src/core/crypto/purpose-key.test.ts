import { describe, expect, it } from "vitest";
import { encodeHex } from "./encoding.ts";
import { fingerprint, importFingerprintKey } from "./fingerprint.ts";
import { derivePurposeKey } from "./purpose-key.ts";

const ROOT = "dGVzdC1maW5nZXJwcmludC1rZXktMzItYnl0ZXMhISE=";
const OTHER = "b3RoZXItZmluZ2VycHJpbnQta2V5LTMyLWJ5dGVzISE=";
const mac = async (key: CryptoKey, text: string) =>
  encodeHex(new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(text))));

async function confirmationKey(root: string) {
  const r = await derivePurposeKey(root, "chat_confirmation");
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

describe("derivePurposeKey (pure logic)", () => {
  it("gives a key whose MACs are no fingerprint, whatever label the message carries", async () => {
    const fp = await importFingerprintKey(ROOT);
    if (!fp.ok) throw new Error("test key");
    const derived = await confirmationKey(ROOT);
    expect(derived.purpose).toBe("chat_confirmation");
    for (const m of ["v|cred_1|x|abcdef01|abcdef|U1", "rekey.chatops.confirm.v1|slack|v|cred_1|x|abcdef01|abcdef|U1"]) {
      expect(await mac(derived.cryptoKey, m)).not.toBe(await fingerprint(fp.value, m));
    }
  });

  it("is deterministic per root and differs between roots", async () => {
    const m = "same message";
    expect(await mac((await confirmationKey(ROOT)).cryptoKey, m)).toBe(
      await mac((await confirmationKey(ROOT)).cryptoKey, m),
    );
    expect(await mac((await confirmationKey(ROOT)).cryptoKey, m)).not.toBe(
      await mac((await confirmationKey(OTHER)).cryptoKey, m),
    );
  });

  it("refuses a root the fingerprint key would refuse, without quoting it", async () => {
    for (const bad of ["not base64!", "c2hvcnQ="]) {
      const r = await derivePurposeKey(bad, "chat_confirmation");
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe("invalid_key");
        expect(r.error.message).not.toContain(bad);
      }
    }
  });
});
