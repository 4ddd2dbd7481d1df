import { describe, expect, it } from "vitest";
import { encodeHex } from "../crypto/encoding.ts";
import { verifyDiscordSignature, type VerifyDiscordSignatureInput } from "./discord.ts";
import { signDiscordInteraction } from "../../../test/support/discord-signer.ts";

const enc = (s: string) => new TextEncoder().encode(s);

// Self-generated vector on the RFC 8032 §7.1 TEST 1 key (https://www.rfc-editor.org/rfc/rfc8032#section-7.1).
const V10 = {
  publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
  timestamp: "1700000000",
  body:
    `{"application_id":"123456789012345678","id":"123456789012345679","token":"ThisIsATokenFromDiscordThatIsVeryLong","type":1,"version":1}`,
  signature:
    "8d38e9e86645627564683994aa8630556c0bb4c70565d5d9b2e916074755bad5fdf0573c6411b5814aecefb1a930565a88bfa9e59927ce5bb3104a0ef0a5660d",
};

type Case = Omit<VerifyDiscordSignatureInput, "body" | "now"> & { body: string; now?: number };
async function outcome(c: Case) {
  const r = await verifyDiscordSignature({ ...c, body: enc(c.body), now: c.now ?? 1700000000 });
  return r.ok ? "ok" : r.error.code;
}

describe("verifyDiscordSignature", () => {
  it("accepts vector V10", async () => {
    const r = await verifyDiscordSignature({ ...V10, body: enc(V10.body), now: 1700000000 });
    expect(r).toEqual({ ok: true, value: { timestamp: 1700000000 } });
    expect(await outcome({ ...V10, publicKey: V10.publicKey.toUpperCase(), signature: V10.signature.toUpperCase() }))
      .toBe("ok");
  });

  it("rejects V10's signature with another timestamp or body", async () => {
    expect(await outcome({ ...V10, timestamp: "1700000001" })).toBe("invalid_signature");
    expect(await outcome({ ...V10, body: V10.body.replace('"type":1', '"type":2') })).toBe("invalid_signature");
    expect(await outcome({ ...V10, body: V10.body + "\n" })).toBe("invalid_signature");
  });

  it("rejects any flipped signature byte", async () => {
    for (let at = 0; at < 128; at += 2) {
      const flipped = (parseInt(V10.signature.slice(at, at + 2), 16) ^ 1).toString(16).padStart(2, "0");
      const signature = V10.signature.slice(0, at) + flipped + V10.signature.slice(at + 2);
      expect(await outcome({ ...V10, signature }), `byte ${at / 2}`).toBe("invalid_signature");
    }
  });

  it.each([
    ["63 bytes", V10.signature.slice(0, 126)],
    ["65 bytes", V10.signature + "00"],
    ["odd length", V10.signature.slice(0, 127)],
    ["non-hex", "z" + V10.signature.slice(1)],
    ["base64", btoa("x".repeat(64))],
  ])("rejects a %s signature without throwing", async (_name, signature) => {
    expect(await outcome({ ...V10, signature })).toBe("invalid_signature");
  });

  it("enforces a 5-minute window (rekey policy) unless turned off", async () => {
    expect(await outcome({ ...V10, now: 1700000300 })).toBe("ok");
    expect(await outcome({ ...V10, now: 1700000301 })).toBe("timestamp_out_of_window");
    expect(await outcome({ ...V10, now: 1699999699 })).toBe("timestamp_out_of_window");
    expect(await outcome({ ...V10, now: 1800000000, toleranceSeconds: Infinity })).toBe("ok");
    expect(await outcome({ ...V10, timestamp: "now" })).toBe("invalid_timestamp");
  });

  it("reports missing headers and a bad public key", async () => {
    expect(await outcome({ ...V10, signature: null })).toBe("missing_header");
    expect(await outcome({ ...V10, timestamp: undefined })).toBe("missing_header");
    expect(await outcome({ ...V10, publicKey: V10.publicKey.slice(2) })).toBe("invalid_key");
    expect(await outcome({ ...V10, publicKey: "x".repeat(64) })).toBe("invalid_key");
    expect(await outcome({ ...V10, publicKey: "" })).toBe("invalid_key");
  });

  it("verifies a key pair generated here, and only under its own key", async () => {
    const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const publicKey = encodeHex(new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer));
    const body = `{"type":2,"data":{"name":"rekey","options":[{"name":"rotate","value":"cred_1"}]}}`;
    const signature = await signDiscordInteraction({ privateKey: pair.privateKey, timestamp: "1700000000", body });
    expect(signature).toMatch(/^[0-9a-f]{128}$/);
    expect(await outcome({ publicKey, signature, timestamp: "1700000000", body })).toBe("ok");
    expect(await outcome({ ...V10, signature })).toBe("invalid_signature");
    expect(await outcome({ publicKey, signature: V10.signature, timestamp: V10.timestamp, body: V10.body })).toBe(
      "invalid_signature",
    );
  });
});
