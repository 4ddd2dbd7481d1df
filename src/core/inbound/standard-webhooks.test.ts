import { describe, expect, it } from "vitest";
import { encodeBase64 } from "../crypto/encoding.ts";
import { signStandardWebhook } from "../notify/sign-webhook.ts";
import { verifyStandardWebhook, type VerifyStandardWebhookInput } from "./standard-webhooks.ts";

const enc = (s: string) => new TextEncoder().encode(s);

// Vectors from the Standard Webhooks and Svix reference libraries' tests
// (https://github.com/standard-webhooks/standard-webhooks/tree/main/libraries, https://github.com/svix/svix-webhooks).
const V5 = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  timestamp: "1614265330",
  body: `{"test": 2432232314}`,
  signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};
const V6 = {
  secret: "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
  id: "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
  timestamp: "1649367553",
  body: `{"email":"test@example.com","username":"test_user"}`,
  signature: "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
};
// A v1a (Ed25519) entry from the same vectors: rekey trusts no public key, so it is skipped.
const V7_SIGNATURE = "v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag==";

type Case = Omit<VerifyStandardWebhookInput, "body" | "now"> & { body: string; now?: number };
async function verify(c: Case) {
  return verifyStandardWebhook({ ...c, body: enc(c.body), now: c.now ?? Number(c.timestamp) });
}
async function outcome(c: Case) {
  const r = await verify(c);
  return r.ok ? "ok" : r.error.code;
}

describe("verifyStandardWebhook: published vectors", () => {
  it.each([["V5", V5], ["V6", V6]])("accepts v1 vector %s", async (_name, v) => {
    expect(await verify(v)).toEqual({ ok: true, value: { id: v.id, timestamp: Number(v.timestamp) } });
  });

  it("are what rekey's outbound signer (core/notify/sign-webhook.ts) produces", async () => {
    for (const v of [V5, V6]) {
      expect(await signStandardWebhook({ secret: v.secret, id: v.id, timestamp: Number(v.timestamp), body: v.body }))
        .toBe(v.signature);
    }
  });
});

describe("verifyStandardWebhook: refusals", () => {
  it("rejects a tampered body, id or timestamp", async () => {
    expect(await outcome({ ...V5, body: V5.body + " " })).toBe("invalid_signature");
    expect(await outcome({ ...V5, body: `{"test": 2432232315}` })).toBe("invalid_signature");
    expect(await outcome({ ...V5, id: V5.id + "x" })).toBe("invalid_signature");
    expect(await outcome({ ...V5, timestamp: "1614265331" })).toBe("invalid_signature");
  });

  it("rejects the wrong secret, and a v1a signature (no public key is trusted)", async () => {
    expect(await outcome({ ...V5, secret: V6.secret })).toBe("invalid_signature");
    expect(await outcome({ ...V5, signature: V7_SIGNATURE })).toBe("invalid_signature");
  });

  it("enforces a 5-minute window both ways", async () => {
    const ts = Number(V5.timestamp);
    expect(await outcome({ ...V5, now: ts + 300 })).toBe("ok");
    expect(await outcome({ ...V5, now: ts - 300 })).toBe("ok");
    expect(await outcome({ ...V5, now: ts + 301 })).toBe("timestamp_out_of_window");
    expect(await outcome({ ...V5, now: ts - 301 })).toBe("timestamp_out_of_window");
    expect(await outcome({ ...V5, now: Number.NaN })).toBe("timestamp_out_of_window");
    expect(await outcome({ ...V5, now: ts + 3600, toleranceSeconds: 7200 })).toBe("ok");
  });

  it.each(["", "abc", "1614265330.5", "-1614265330", "+1614265330", "1e9", " 1614265330"])(
    "rejects timestamp %j",
    async (timestamp) => {
      expect(await outcome({ ...V5, timestamp })).toBe(timestamp === "" ? "missing_header" : "invalid_timestamp");
    },
  );

  it("reports missing headers", async () => {
    expect(await outcome({ ...V5, id: null })).toBe("missing_header");
    expect(await outcome({ ...V5, timestamp: undefined })).toBe("missing_header");
    expect(await outcome({ ...V5, signature: "" })).toBe("missing_header");
  });

  it("reports an unusable configuration as invalid_key", async () => {
    expect(await outcome({ ...V5, secret: undefined })).toBe("invalid_key");
    expect(await outcome({ ...V5, secret: "whsec_not base64!" })).toBe("invalid_key");
    expect(await outcome({ ...V5, secret: "whsec_c2hvcnQ=" })).toBe("invalid_key");
  });

  it("accepts a secret without the prefix or padding", async () => {
    expect(await outcome({ ...V5, secret: V5.secret.slice("whsec_".length) })).toBe("ok");
    const unpadded = "whsec_" + encodeBase64(new Uint8Array(25).fill(3)).replace(/=+$/, "");
    const signature = await signStandardWebhook({ secret: unpadded, id: "m", timestamp: 10, body: "x" });
    expect(await outcome({ secret: unpadded, id: "m", timestamp: "10", body: "x", signature })).toBe("ok");
  });

  it("rejects malformed signature entries without throwing", async () => {
    for (
      const signature of [
        "v1,",
        "v1",
        ",",
        "v1,not base64!",
        "v1,AAAA",
        "v2," + V5.signature.slice(3),
        V5.signature.slice(3),
        "v1a,AAAA",
        "v1a," + "A".repeat(88),
      ]
    ) {
      expect(await outcome({ ...V5, signature }), signature).toBe("invalid_signature");
    }
  });
});

describe("verifyStandardWebhook: multiple signatures", () => {
  it("accepts when any trusted entry verifies, skipping unknown versions and junk", async () => {
    const bad = "v1,Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmE=";
    expect(await outcome({ ...V5, signature: `${bad} v2,abc ${V5.signature}` })).toBe("ok");
    expect(await outcome({ ...V5, signature: `${bad}  garbage   ${V5.signature}` })).toBe("ok");
    expect(await outcome({ ...V5, signature: `${bad} v2,abc` })).toBe("invalid_signature");
    // v1 and v1a side by side, as the spec's example header: the v1a entry is skipped.
    expect(await outcome({ ...V5, signature: `${V7_SIGNATURE} ${V5.signature}` })).toBe("ok");
  });

  it("reads signatures split across repeated webhook-signature headers as one list (pure logic)", async () => {
    const bad = "v1,Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmE=";
    // What Headers.get gives for two headers: the values joined with ", " (Fetch standard).
    const combined = (...values: string[]) => {
      const h = new Headers();
      for (const v of values) h.append("webhook-signature", v);
      return h.get("webhook-signature")!;
    };
    expect(await outcome({ ...V5, signature: combined(V5.signature, bad) })).toBe("ok");
    expect(await outcome({ ...V5, signature: combined(bad, V5.signature) })).toBe("ok");
    expect(await outcome({ ...V5, signature: combined(`${bad} ${V5.signature}`, bad) })).toBe("ok");
    expect(await outcome({ ...V5, signature: combined(bad, bad) })).toBe("invalid_signature");
  });

  it("looks at no more than 10 entries", async () => {
    const bad = "v1,Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmE=";
    expect(await outcome({ ...V5, signature: `${Array(9).fill(bad).join(" ")} ${V5.signature}` })).toBe("ok");
    expect(await outcome({ ...V5, signature: `${Array(10).fill(bad).join(" ")} ${V5.signature}` })).toBe(
      "invalid_signature",
    );
  });
});

describe("verifyStandardWebhook: messages", () => {
  it("keeps secrets, signatures and bodies out of error messages", async () => {
    const r = await verify({ ...V5, secret: V6.secret });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      for (const s of [V6.secret.slice(6), V5.signature.slice(3), "2432232314"]) {
        expect(r.error.message).not.toContain(s);
      }
    }
  });
});
