/**
 * Property tests for every inbound signature verifier (src/core/inbound): whatever the secret or
 * key, id, timestamp and body, a signature made for them verifies; change any byte of the body,
 * any character of the signature, the timestamp, the id or the key and it is refused; and no input
 * at all, however malformed, makes a verifier throw or accept. The unit tests beside the code pin
 * the published vectors; these look for the case nobody wrote down.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeBase64, encodeHex } from "../../src/core/crypto/encoding.ts";
import { verifyDiscordSignature } from "../../src/core/inbound/discord.ts";
import { signDiscordInteraction } from "../support/discord-signer.ts";
import { parseGithubPublicKeys, verifyGithubSignature } from "../../src/core/inbound/github-secret-scanning.ts";
import { generateGithubSigningKey, githubPublicKeysFor, signGithubPayload } from "../support/github-signer.ts";
import { verifySlackSignature } from "../../src/core/inbound/slack.ts";
import { signSlackRequest } from "../../scripts/lib/slack-signer.ts";
import { verifyStandardWebhook } from "../../src/core/inbound/standard-webhooks.ts";
import { signStandardWebhook } from "../../src/core/notify/sign-webhook.ts";
import { runs, timeout } from "./soak.ts";

const NOW = 1_760_000_000;
const body = fc.uint8Array({ maxLength: 600 });
/** A timestamp inside the 5 minute window around NOW. */
const timestamp = fc.integer({ min: NOW - 300, max: NOW + 300 });
/** Header values as a client may send them: absent, empty, printable junk, or anything. */
const header = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.constant(""),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: "grapheme", maxLength: 50 }),
);
/** A nonzero XOR mask for a byte. */
const flip = fc.integer({ min: 1, max: 255 });

/** `s` with the character at `at` replaced by a different one drawn from `alphabet`. */
function replaceChar(s: string, at: number, pick: number, alphabet: string): string {
  const i = at % s.length;
  const choices = alphabet.split("").filter((c) => c !== s[i]);
  return s.slice(0, i) + choices[pick % choices.length]! + s.slice(i + 1);
}
const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
const HEX = "0123456789abcdef";

function flipped(bytes: Uint8Array, at: number, mask: number): Uint8Array {
  const copy = bytes.slice();
  copy[at % copy.length]! ^= mask;
  return copy;
}

const outcome = (r: { ok: boolean; error?: { code: string } }) => (r.ok ? "ok" : r.error!.code);

describe("GitHub secret scanning (ECDSA P-256)", async () => {
  const [a, b] = await Promise.all([generateGithubSigningKey(), generateGithubSigningKey()]);
  const parsed = parseGithubPublicKeys(githubPublicKeysFor([a, { ...b, isCurrent: false }]));
  if (!parsed.ok) throw new Error(parsed.error.message);
  const keys = parsed.value;

  it("verifies what the key signed, refuses any flipped body byte, another key, another signature byte", {
    timeout: timeout(30_000),
  }, async () => {
    await fc.assert(
      fc.asyncProperty(body, fc.nat(), flip, fc.nat(), fc.nat(), async (payload, at, mask, sigAt, pick) => {
        const signature = await signGithubPayload(a.privateKey, payload);
        expect(outcome(await verifyGithubSignature({ keys, keyId: a.keyIdentifier, signature, body: payload }))).toBe(
          "ok",
        );
        // The other listed key's identifier: a real key, the wrong one.
        expect(outcome(await verifyGithubSignature({ keys, keyId: b.keyIdentifier, signature, body: payload }))).toBe(
          "invalid_signature",
        );
        if (payload.length > 0) {
          expect(
            outcome(
              await verifyGithubSignature({
                keys,
                keyId: a.keyIdentifier,
                signature,
                body: flipped(payload, at, mask),
              }),
            ),
          ).toBe("invalid_signature");
        }
        const edited = replaceChar(signature, sigAt, pick, BASE64);
        expect(outcome(await verifyGithubSignature({ keys, keyId: a.keyIdentifier, signature: edited, body: payload })))
          .not.toBe("ok");
        // A truncated or extended signature. (Dropping only the "=" padding is the same signature:
        // padding is optional, so at least one data character goes.)
        const data = signature.replace(/=+$/, "");
        expect(
          outcome(
            await verifyGithubSignature({
              keys,
              keyId: a.keyIdentifier,
              signature: data.slice(0, sigAt % data.length),
              body: payload,
            }),
          ),
        ).not.toBe("ok");
        expect(
          outcome(
            await verifyGithubSignature({ keys, keyId: a.keyIdentifier, signature: signature + "AA==", body: payload }),
          ),
        ).not.toBe("ok");
      }),
      { numRuns: runs(60, 5_000) },
    );
  });

  it("never throws and never accepts arbitrary headers", { timeout: timeout(30_000) }, async () => {
    await fc.assert(
      fc.asyncProperty(header, header, body, async (keyId, signature, payload) => {
        const r = await verifyGithubSignature({ keys, keyId, signature, body: payload });
        expect(r.ok).toBe(false);
      }),
      { numRuns: runs(200, 20_000) },
    );
  });

  it("accepts only the listed identifier, exactly", { timeout: timeout(30_000) }, async () => {
    const payload = new TextEncoder().encode("[]");
    const signature = await signGithubPayload(a.privateKey, payload);
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.nat(), async (at, pick) => {
        const keyId = replaceChar(a.keyIdentifier, at, pick, HEX + "ABCDEF ");
        expect(outcome(await verifyGithubSignature({ keys, keyId, signature, body: payload }))).toBe("unknown_key");
      }),
      { numRuns: runs(100, 5_000) },
    );
  });
});

describe("Standard Webhooks (HMAC v1)", () => {
  const secretBytes = fc.uint8Array({ minLength: 24, maxLength: 64 });
  // Ids as senders make them: no "." (the signed content would be ambiguous; signing refuses it).
  const msgId = fc.string({ minLength: 1, maxLength: 40 }).filter((s) =>
    !s.includes(".") && s.trim() === s && s.length > 0
  );

  it("verifies what was signed; refuses any change of body, id, timestamp, secret or signature", {
    timeout: timeout(30_000),
  }, async () => {
    await fc.assert(
      fc.asyncProperty(
        secretBytes,
        msgId,
        timestamp,
        body,
        fc.nat(),
        flip,
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 1, max: 300 }),
        async (raw, id, ts, payload, at, mask, sigAt, pick, dt) => {
          const secret = `whsec_${encodeBase64(raw)}`;
          const signature = await signStandardWebhook({ secret, id, timestamp: ts, body: payload });
          const verify = (
            o: { id?: string; timestamp?: string; signature?: string; body?: Uint8Array; secret?: string },
          ) =>
            verifyStandardWebhook({
              secret: o.secret ?? secret,
              id: o.id ?? id,
              timestamp: o.timestamp ?? String(ts),
              signature: o.signature ?? signature,
              body: o.body ?? payload,
              now: NOW,
            });
          expect(outcome(await verify({}))).toBe("ok");
          if (payload.length > 0) {
            expect(outcome(await verify({ body: flipped(payload, at, mask) }))).toBe("invalid_signature");
          }
          expect(outcome(await verify({ body: new Uint8Array([...payload, 0x20]) }))).toBe("invalid_signature");
          expect(outcome(await verify({ id: replaceChar(id, at, pick, "abcdefXYZ_-0123456789") }))).toBe(
            "invalid_signature",
          );
          const other = ts + (ts + dt <= NOW + 300 ? dt : -dt);
          expect(outcome(await verify({ timestamp: String(other) }))).toBe("invalid_signature");
          const otherSecret = `whsec_${encodeBase64(flipped(raw, at, mask))}`;
          expect(outcome(await verify({ secret: otherSecret }))).toBe("invalid_signature");
          // "v1," then 44 base64 characters: edit any of them.
          const edited = "v1," + replaceChar(signature.slice(3), sigAt, pick, BASE64);
          expect(outcome(await verify({ signature: edited }))).toBe("invalid_signature");
          expect(outcome(await verify({ signature: "v1a" + signature.slice(2) }))).toBe("invalid_signature");
        },
      ),
      { numRuns: runs(100, 5_000) },
    );
  });

  it("never throws and never accepts arbitrary headers", { timeout: timeout(30_000) }, async () => {
    const secret = `whsec_${encodeBase64(new Uint8Array(32).fill(7))}`;
    await fc.assert(
      fc.asyncProperty(header, header, header, body, async (id, ts, signature, payload) => {
        const r = await verifyStandardWebhook({ secret, id, timestamp: ts, signature, body: payload, now: NOW });
        expect(r.ok).toBe(false);
      }),
      { numRuns: runs(300, 20_000) },
    );
  });
});

describe("Slack (HMAC v0)", () => {
  const secret = fc.string({ minLength: 1, maxLength: 64 });

  it("verifies what was signed; refuses any change of body, timestamp, secret or signature", {
    timeout: timeout(30_000),
  }, async () => {
    await fc.assert(
      fc.asyncProperty(
        secret,
        timestamp,
        body,
        fc.nat(),
        flip,
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 1, max: 300 }),
        async (signingSecret, ts, payload, at, mask, sigAt, pick, dt) => {
          const signature = await signSlackRequest({ signingSecret, timestamp: ts, body: payload });
          const verify = (o: { timestamp?: string; signature?: string; body?: Uint8Array; signingSecret?: string }) =>
            verifySlackSignature({
              signingSecret: o.signingSecret ?? signingSecret,
              timestamp: o.timestamp ?? String(ts),
              signature: o.signature ?? signature,
              body: o.body ?? payload,
              now: NOW,
            });
          expect(outcome(await verify({}))).toBe("ok");
          if (payload.length > 0) {
            expect(outcome(await verify({ body: flipped(payload, at, mask) }))).toBe("invalid_signature");
          }
          expect(outcome(await verify({ body: new Uint8Array([...payload, 0x0a]) }))).toBe("invalid_signature");
          const other = ts + (ts + dt <= NOW + 300 ? dt : -dt);
          expect(outcome(await verify({ timestamp: String(other) }))).toBe("invalid_signature");
          // Same number, other spelling: the signed bytes differ.
          expect(outcome(await verify({ timestamp: `0${ts}` }))).toBe("invalid_signature");
          expect(outcome(await verify({ signingSecret: signingSecret + "x" }))).toBe("invalid_signature");
          const edited = "v0=" + replaceChar(signature.slice(3).toLowerCase(), sigAt, pick, HEX);
          expect(outcome(await verify({ signature: edited }))).toBe("invalid_signature");
          expect(outcome(await verify({ signature: signature.slice(0, 3 + (sigAt % 64)) }))).toBe("invalid_signature");
        },
      ),
      { numRuns: runs(100, 5_000) },
    );
  });

  it("never throws and never accepts arbitrary headers", { timeout: timeout(30_000) }, async () => {
    await fc.assert(
      fc.asyncProperty(header, header, body, async (ts, signature, payload) => {
        const r = await verifySlackSignature({
          signingSecret: "slack-signing-secret",
          timestamp: ts,
          signature,
          body: payload,
          now: NOW,
        });
        expect(r.ok).toBe(false);
      }),
      { numRuns: runs(300, 20_000) },
    );
  });
});

describe("Discord (Ed25519)", async () => {
  const pairs = await Promise.all([0, 1].map(async () => {
    const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
    return {
      privateKey: pair.privateKey,
      publicKey: encodeHex(new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer)),
    };
  }));
  const [mine, other] = pairs as [(typeof pairs)[0], (typeof pairs)[0]];

  it(
    "verifies what was signed; refuses any change of body, timestamp, key or signature",
    { timeout: timeout(30_000) },
    async () => {
      await fc.assert(
        fc.asyncProperty(
          timestamp,
          body,
          fc.nat(),
          flip,
          fc.nat(),
          fc.nat(),
          fc.integer({ min: 1, max: 300 }),
          async (ts, payload, at, mask, sigAt, pick, dt) => {
            const signature = await signDiscordInteraction({
              privateKey: mine.privateKey,
              timestamp: String(ts),
              body: payload,
            });
            const verify = (o: { timestamp?: string; signature?: string; body?: Uint8Array; publicKey?: string }) =>
              verifyDiscordSignature({
                publicKey: o.publicKey ?? mine.publicKey,
                timestamp: o.timestamp ?? String(ts),
                signature: o.signature ?? signature,
                body: o.body ?? payload,
                now: NOW,
              });
            expect(outcome(await verify({}))).toBe("ok");
            if (payload.length > 0) {
              expect(outcome(await verify({ body: flipped(payload, at, mask) }))).toBe(
                "invalid_signature",
              );
            }
            const otherTs = ts + (ts + dt <= NOW + 300 ? dt : -dt);
            expect(outcome(await verify({ timestamp: String(otherTs) }))).toBe("invalid_signature");
            expect(outcome(await verify({ publicKey: other.publicKey }))).toBe("invalid_signature");
            expect(outcome(await verify({ signature: replaceChar(signature, sigAt, pick, HEX) }))).toBe(
              "invalid_signature",
            );
            expect(outcome(await verify({ signature: signature.slice(0, sigAt % 128) }))).not.toBe("ok");
          },
        ),
        { numRuns: runs(100, 5_000) },
      );
    },
  );

  it("never throws and never accepts arbitrary headers or keys", { timeout: timeout(30_000) }, async () => {
    await fc.assert(
      fc.asyncProperty(
        header,
        header,
        body,
        fc.oneof(fc.constant(mine.publicKey), fc.string({ maxLength: 70 })),
        async (ts, signature, payload, publicKey) => {
          const r = await verifyDiscordSignature({ publicKey, timestamp: ts, signature, body: payload, now: NOW });
          expect(r.ok).toBe(false);
        },
      ),
      { numRuns: runs(300, 20_000) },
    );
  });
});
