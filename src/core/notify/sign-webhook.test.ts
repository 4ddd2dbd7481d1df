import { describe, expect, it } from "vitest";
import { encodeBase64 } from "../crypto/encoding.ts";
import { verifyStandardWebhook } from "../inbound/standard-webhooks.ts";
import { signStandardWebhook } from "./sign-webhook.ts";

const enc = (s: string) => new TextEncoder().encode(s);

/** A signing secret as a receiver would generate it: `whsec_` + base64 of 32 random bytes. */
const newSecret = () => "whsec_" + encodeBase64(crypto.getRandomValues(new Uint8Array(32)));

async function outcome(c: { secret: string; id: string; timestamp: string; body: string; signature: string }) {
  const r = await verifyStandardWebhook({ ...c, body: enc(c.body), now: Number(c.timestamp) });
  return r.ok ? "ok" : r.error.code;
}

describe("signStandardWebhook", () => {
  it("signs what verifies, including an empty body and raw bytes", async () => {
    const secret = newSecret();
    for (const body of ["", `{"type":"rotation.completed"}`]) {
      const signature = await signStandardWebhook({ secret, id: "evt_1", timestamp: 1_700_000_000, body: enc(body) });
      expect(signature).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
      expect(await outcome({ secret, id: "evt_1", timestamp: "1700000000", body, signature })).toBe("ok");
    }
  });

  it("refuses ambiguous ids, bad timestamps and bad secrets", async () => {
    const secret = newSecret();
    await expect(signStandardWebhook({ secret, id: "a.b", timestamp: 1, body: "" })).rejects.toThrow(TypeError);
    await expect(signStandardWebhook({ secret, id: "", timestamp: 1, body: "" })).rejects.toThrow(TypeError);
    await expect(signStandardWebhook({ secret, id: "a", timestamp: 1.5, body: "" })).rejects.toThrow(TypeError);
    await expect(signStandardWebhook({ secret: "whsec_!!", id: "a", timestamp: 1, body: "" })).rejects.toThrow(
      /^Cannot sign webhook: secret/,
    );
  });
});
