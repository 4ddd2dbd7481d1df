import { describe, expect, it } from "vitest";
import { decodeBase64, encodeBase64 } from "../crypto/encoding.ts";
import { derToP1363 } from "./ecdsa-der.ts";
import { type GithubPublicKeys, parseGithubPublicKeys, verifyGithubSignature } from "./github-secret-scanning.ts";
import {
  generateGithubSigningKey,
  githubKeyIdentifier,
  githubPublicKeysFor,
  signGithubPayload,
} from "../../../test/support/github-signer.ts";

const pem = (a: string, b: string) => `-----BEGIN PUBLIC KEY-----\n${a}\n${b}\n-----END PUBLIC KEY-----\n`;
const enc = (s: string) => new TextEncoder().encode(s);

// The signed sample request in GitHub's docs, "Secret scanning partner program"
// (https://docs.github.com/en/code-security/secret-scanning/secret-scanning-partnership-program/secret-scanning-partner-program).
const V1 = {
  keyId: "bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c",
  key: pem(
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYAGMWO8XgCamYKMJS6jc/qgvSlAd",
    "AjPuDPRcXU22YxgBrz+zoN19MzuRyW87qEt9/AmtoNP5GrobzUvQSyJFVw==",
  ),
  body: `[{"source":"commit","token":"some_token","type":"some_type","url":"https://example.com/base-repo-url/"}]`,
  signature: "MEQCIQDaMKqrGnE27S0kgMrEK0eYBmyG0LeZismAEz/BgZyt7AIfXt9fErtRS4XaeSt/AO1RtBY66YcAdjxji410VQV4xg==",
};
const TEST_KEY = pem(
  "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEsz9ugWDj5jK5ELBK42ynytbo38gP",
  "HzZFI03Exwz8Lh/tCfL3YxwMdLjB+bMznsanlhK0RwcGP3IDb34kQDIo3Q==",
);
const V2 = {
  keyId: "f9525bf080f75b3506ca1ead061add62b8633a346606dc5fe544e29231c6ee0d",
  key: TEST_KEY,
  body: `[{"token":"some_token","type":"some_type","url":"some_url","source":"some_source"}]`,
  signature: "MEUCIFLZzeK++IhS+y276SRk2Pe5LfDrfvTXu6iwKKcFGCrvAiEAhHN2kDOhy2I6eGkOFmxNkOJ+L2y8oQ9A2T9GGJo6WJY=",
};
const V3 = {
  keyId: V2.keyId,
  key: TEST_KEY,
  body:
    `[{"token":"NMIfyYncKcRALEXAMPLE","type":"mycompany_api_token","url":"https://github.com/octocat/Hello-World/blob/12345600b9cbe38a219f39a9941c9319b600c002/foo/bar.txt","source":"content"}]`,
  signature: "MEUCIQDfLvT8/zM8F1aB3cM0ZwyeWF1m5YR6IhcUIv1OKQYL0wIgBZ5lVXB3gHK+dT8+xt0WgRVLqvsTPFiDO9QP/7eJ4yE=",
};
const V4 = {
  keyId: "90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a",
  key: pem(
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE9MJJHnMfn2+H4xL4YaPDA4RpJqUq",
    "kCmRCBnYERxZanmcpzQSXs1X/AljlKkbJ8qpVIW4clayyef9gWhFbNHWAA==",
  ),
  body:
    `[{"token":"NMIfyYncKcRALEXAMPLE","type":"mycompany_api_token","url":"https://github.com/octocat/Hello-World/blob/12345600b9cbe38a219f39a9941c9319b600c002/foo/bar.txt"}]`,
  signature: "MEQCIA6C6L8ZYvZnqgV0zwrrmRab10QmIFV396gsba/WYm9oAiAI6Q+/jNaWqkgG5YhaWshTXbRwIgqIK6Ru7LxVYDbV5Q==",
};

// The shape GitHub's endpoint returns, with one key not current (as in the real responses).
const keysJson: unknown = JSON.parse(JSON.stringify({
  public_keys: [
    { key_identifier: V1.keyId, key: V1.key, is_current: true },
    { key_identifier: V2.keyId, key: V2.key, is_current: false },
    { key_identifier: V4.keyId, key: V4.key, is_current: false },
  ],
}));
const parsed = parseGithubPublicKeys(keysJson);
if (!parsed.ok) throw new Error(parsed.error.message);
const KEYS: GithubPublicKeys = parsed.value;

async function outcome(
  input: { keyId?: string | null; signature?: string | null; body: string | Uint8Array; keys?: GithubPublicKeys },
) {
  const body = typeof input.body === "string" ? enc(input.body) : input.body;
  const r = await verifyGithubSignature({
    keys: input.keys ?? KEYS,
    keyId: input.keyId,
    signature: input.signature,
    body,
  });
  return r.ok ? "ok" : r.error.code;
}

describe("parseGithubPublicKeys", () => {
  it("accepts the endpoint's shape, with unknown fields", () => {
    expect(parseGithubPublicKeys({ public_keys: [], extra: 1 }).ok).toBe(true);
    expect(KEYS.public_keys).toHaveLength(3);
  });
  it.each([null, [], { public_keys: [{ key_identifier: "x", key: "y" }] }, { public_keys: "x" }])(
    "rejects %j",
    (json) => {
      const r = parseGithubPublicKeys(json);
      expect(r.ok ? "ok" : r.error.code).toBe("invalid_key");
    },
  );
});

describe("verifyGithubSignature: published vectors", () => {
  it.each([["V1", V1], ["V2", V2], ["V3", V3]])("accepts %s", async (_name, v) => {
    const r = await verifyGithubSignature({ keys: KEYS, keyId: v.keyId, signature: v.signature, body: enc(v.body) });
    expect(r).toEqual({ ok: true, value: { keyId: v.keyId, isCurrent: v.keyId === V1.keyId } });
  });

  it("rejects V4, which does not verify", async () => {
    expect(await outcome(V4)).toBe("invalid_signature");
  });

  it("derives GitHub's key identifiers from the PEM text", async () => {
    expect(await githubKeyIdentifier(V1.key)).toBe(V1.keyId);
    expect(await githubKeyIdentifier(V2.key)).toBe(V2.keyId);
    expect(await githubKeyIdentifier(V4.key)).toBe(V4.keyId);
  });
});

describe("verifyGithubSignature: refusals", () => {
  it("rejects V1's signature over V2's payload, under either key", async () => {
    expect(await outcome({ ...V1, body: V2.body })).toBe("invalid_signature");
    expect(await outcome({ ...V2, signature: V1.signature })).toBe("invalid_signature");
  });

  it("rejects the payload with a trailing newline, or any changed byte", async () => {
    expect(await outcome({ ...V1, body: V1.body + "\n" })).toBe("invalid_signature");
    const body = enc(V1.body);
    for (const at of [0, 50, body.length - 1]) {
      const copy = body.slice();
      copy[at]! ^= 1;
      expect(await outcome({ ...V1, body: copy })).toBe("invalid_signature");
    }
  });

  it("rejects a signature with a flipped byte, anywhere", async () => {
    const der = decodeBase64(V1.signature);
    if (!der.ok) throw new Error("bad vector");
    for (let at = 0; at < der.value.length; at++) {
      const copy = der.value.slice();
      copy[at]! ^= 0x01;
      expect(await outcome({ ...V1, signature: encodeBase64(copy) }), `byte ${at}`).toBe("invalid_signature");
    }
  });

  it("reports an unknown key identifier as unknown_key", async () => {
    expect(await outcome({ ...V1, keyId: "0".repeat(64) })).toBe("unknown_key");
    expect(await outcome({ ...V1, keyId: V1.keyId.toUpperCase() })).toBe("unknown_key");
    expect(await outcome({ ...V1, keys: { public_keys: [] } })).toBe("unknown_key");
  });

  it("reports missing headers", async () => {
    expect(await outcome({ ...V1, keyId: null })).toBe("missing_header");
    expect(await outcome({ ...V1, signature: "" })).toBe("missing_header");
    expect(await outcome({ ...V1, signature: undefined })).toBe("missing_header");
  });

  it("rejects, without throwing, raw r||s, garbage and non-base64 signatures", async () => {
    const der = decodeBase64(V1.signature);
    if (!der.ok) throw new Error("bad vector");
    const raw = derToP1363(der.value)!;
    for (
      const signature of [
        encodeBase64(raw),
        "AAAA",
        "not base64!",
        "MEQCIQ",
        "=".repeat(8),
        encodeBase64(new Uint8Array(72)),
      ]
    ) {
      expect(await outcome({ ...V1, signature }), signature).toBe("invalid_signature");
    }
  });

  it("reports a listed key that cannot be imported as invalid_key", async () => {
    const keys = { public_keys: [{ key_identifier: "k", key: "not a pem", is_current: true }] };
    expect(await outcome({ ...V1, keyId: "k", keys })).toBe("invalid_key");
    const rsaLike = { public_keys: [{ key_identifier: "k", key: pem("AAAA", "AAAA"), is_current: true }] };
    expect(await outcome({ ...V1, keyId: "k", keys: rsaLike })).toBe("invalid_key");
  });

  it("never puts the signature or body in the message", async () => {
    const r = await verifyGithubSignature({ keys: KEYS, keyId: V1.keyId, signature: V2.signature, body: enc(V1.body) });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.message).not.toContain(V2.signature);
      expect(r.error.message).not.toContain("some_token");
    }
  });
});

describe("github-secret-scanning-signer", () => {
  it("signs payloads that verify, with current and non-current keys", async () => {
    const current = await generateGithubSigningKey();
    const old = await generateGithubSigningKey();
    expect(current.publicKeyPem).toMatch(
      /^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/\n]+=*\n-----END PUBLIC KEY-----\n$/,
    );
    expect(current.keyIdentifier).toMatch(/^[0-9a-f]{64}$/);
    const keys = githubPublicKeysFor([current, { ...old, isCurrent: false }]);
    expect(parseGithubPublicKeys(keys).ok).toBe(true);
    const body = `[{"token":"clarifai_pat_x","type":"clarifai_pat","url":"","source":"commit"}]`;
    for (const [k, isCurrent] of [[current, true], [old, false]] as const) {
      const signature = await signGithubPayload(k.privateKey, body);
      expect(decodeBase64(signature).ok).toBe(true);
      const r = await verifyGithubSignature({ keys, keyId: k.keyIdentifier, signature, body: enc(body) });
      expect(r).toEqual({ ok: true, value: { keyId: k.keyIdentifier, isCurrent } });
    }
    // A signature by one key does not verify under the other's identifier.
    const signature = await signGithubPayload(old.privateKey, body);
    expect(await outcome({ keys, keyId: current.keyIdentifier, signature, body })).toBe("invalid_signature");
  });
});
