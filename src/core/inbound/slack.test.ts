import { describe, expect, it } from "vitest";
import { verifySlackSignature, type VerifySlackSignatureInput } from "./slack.ts";
import { signSlackRequest } from "../../../scripts/lib/slack-signer.ts";

const enc = (s: string) => new TextEncoder().encode(s);

// Slack's documented example (https://api.slack.com/authentication/verifying-requests-from-slack).
const V9 = {
  signingSecret: "8f742231b10e8888abcd99yyyzzz85a5",
  timestamp: "1531420618",
  body:
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
  signature: "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
};

type Case = Omit<VerifySlackSignatureInput, "body" | "now"> & { body: string; now?: number };
async function outcome(c: Case) {
  const r = await verifySlackSignature({ ...c, body: enc(c.body), now: c.now ?? 1531420618 });
  return r.ok ? "ok" : r.error.code;
}

describe("verifySlackSignature", () => {
  it("accepts the documented vector V9", async () => {
    const r = await verifySlackSignature({ ...V9, body: enc(V9.body), now: 1531420618 });
    expect(r).toEqual({ ok: true, value: { timestamp: 1531420618 } });
  });

  it("accepts an uppercase hex signature", async () => {
    expect(await outcome({ ...V9, signature: "v0=" + V9.signature.slice(3).toUpperCase() })).toBe("ok");
  });

  it("reproduces V9 when signing", async () => {
    expect(await signSlackRequest({ ...V9, timestamp: 1531420618 })).toBe(V9.signature);
  });

  it("rejects tampering and the wrong secret", async () => {
    expect(await outcome({ ...V9, body: V9.body.replace("text=", "text=rotate") })).toBe("invalid_signature");
    expect(await outcome({ ...V9, body: V9.body + "\n" })).toBe("invalid_signature");
    expect(await outcome({ ...V9, signingSecret: V9.signingSecret + "x" })).toBe("invalid_signature");
    expect(await outcome({ ...V9, timestamp: "1531420619" })).toBe("invalid_signature");
  });

  it.each([
    "v1=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    "a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b50",
    "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b5033",
    "v0=g2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    "v0=",
  ])("rejects malformed signature %j without throwing", async (signature) => {
    expect(await outcome({ ...V9, signature })).toBe("invalid_signature");
  });

  it("enforces a 5-minute window both ways", async () => {
    expect(await outcome({ ...V9, now: 1531420618 + 300 })).toBe("ok");
    expect(await outcome({ ...V9, now: 1531420618 - 300 })).toBe("ok");
    expect(await outcome({ ...V9, now: 1531420618 + 301 })).toBe("timestamp_out_of_window");
    expect(await outcome({ ...V9, now: 1531420618 - 301 })).toBe("timestamp_out_of_window");
    expect(await outcome({ ...V9, timestamp: "1531420618.0" })).toBe("invalid_timestamp");
  });

  it("reports missing headers and a missing secret", async () => {
    expect(await outcome({ ...V9, signature: null })).toBe("missing_header");
    expect(await outcome({ ...V9, timestamp: "" })).toBe("missing_header");
    expect(await outcome({ ...V9, signingSecret: "" })).toBe("invalid_key");
  });

  it("keeps the secret, signature and body out of error messages", async () => {
    const r = await verifySlackSignature({ ...V9, signingSecret: "other", body: enc(V9.body), now: 1531420618 });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      for (const s of ["other", V9.signature.slice(3), "roadrunner"]) expect(r.error.message).not.toContain(s);
    }
  });
});
