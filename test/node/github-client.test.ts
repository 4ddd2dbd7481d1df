/**
 * rekey's GitHub pieces against independent implementations, in Node (vitest.node.config.ts):
 * - the App JWT (src/core/github/app-jwt.ts, WebCrypto) verified by node:crypto (OpenSSL), from
 *   the PKCS#1 PEM GitHub issues and from PKCS#8;
 * - the sealed box (src/core/github/sealed-box.ts: WebCrypto X25519 + @noble) opened by libsodium;
 * - the client (src/core/github/client.ts) against the emulator: every endpoint, the App's token
 *   exchange and its cache, GITHUB_TOKEN, and failures that never carry a token.
 */
import sodium from "libsodium-wrappers";
import { generateKeyPairSync, verify } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { createGithubEmulator, type GithubEmulator } from "../../emulator/github/index.ts";
import { libsodiumOpener } from "../../emulator/node/serve-github.ts";
import { appKeyDer, importAppKey, signAppJwt } from "../../src/core/github/app-jwt.ts";
import { createGithubClient, type GithubClient } from "../../src/core/github/client.ts";
import { Failure } from "../../src/core/failure.ts";
import { sealForGithub } from "../../src/core/github/sealed-box.ts";

const APP_ID = "31337";
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const PKCS1 = rsa.privateKey.export({ type: "pkcs1", format: "pem" }).toString();
const PKCS8 = rsa.privateKey.export({ type: "pkcs8", format: "pem" }).toString();

const decodeJson = (part: string) => JSON.parse(Buffer.from(part, "base64url").toString("utf8"));

describe("the App JWT, verified by node:crypto", () => {
  for (
    const [label, pem] of [["PKCS#1", PKCS1], ["PKCS#8", PKCS8], [
      "PKCS#1 with \\n escapes",
      PKCS1.replace(/\n/g, "\\n"),
    ]]
  ) {
    it(`signs RS256 from a ${label} key: iss the App id, iat 60 s back, exp within 10 minutes`, async () => {
      const now = Date.now();
      const jwt = await signAppJwt(await importAppKey(pem!), APP_ID, now);
      const [h, c, s] = jwt.split(".") as [string, string, string];
      expect(decodeJson(h)).toEqual({ alg: "RS256", typ: "JWT" });
      const claims = decodeJson(c);
      const sec = Math.floor(now / 1000);
      expect(claims).toEqual({ iss: APP_ID, iat: sec - 60, exp: sec + 540 });
      expect(claims.exp - claims.iat).toBeLessThanOrEqual(600);
      expect(verify("RSA-SHA256", Buffer.from(`${h}.${c}`), rsa.publicKey, Buffer.from(s, "base64url"))).toBe(true);
    });
  }

  it("refuses what is not an RSA private key PEM, naming nothing of it", async () => {
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" });
    const encrypted = rsa.privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "x" });
    for (const bad of ["", "not a pem", encrypted.toString(), PKCS1.replace(/[A-Za-z]{8}\n/, "!!!!!!!!\n")]) {
      expect(appKeyDer(bad)).toBeUndefined();
      await expect(importAppKey(bad)).rejects.toThrow(/GITHUB_APP_PRIVATE_KEY/);
    }
    // An EC key is a well-formed PKCS#8 PEM, so it gets as far as importKey, which refuses it.
    const refused = await importAppKey(ec.toString()).catch((e: Error) => e.message);
    expect(refused).toMatch(/cannot be imported/);
    expect(refused).not.toContain(ec.toString().slice(40, 60));
  });
});

describe("the sealed box, opened by libsodium", () => {
  it("opens every value sealed for a libsodium key pair, and only with that pair", async () => {
    await sodium.ready;
    const kp = sodium.crypto_box_keypair();
    const other = sodium.crypto_box_keypair();
    const pk = sodium.to_base64(kp.publicKey, sodium.base64_variants.ORIGINAL);
    const values = ["", "x", "a".repeat(4096), "kéy-✓-🔑", ...Array.from({ length: 40 }, () => crypto.randomUUID())];
    for (const value of values) {
      const sealed = sodium.from_base64(await sealForGithub(pk, value), sodium.base64_variants.ORIGINAL);
      expect(sealed.length).toBe(48 + new TextEncoder().encode(value).length);
      expect(sodium.to_string(sodium.crypto_box_seal_open(sealed, kp.publicKey, kp.privateKey))).toBe(value);
      expect(() => sodium.crypto_box_seal_open(sealed, other.publicKey, other.privateKey)).toThrow();
    }
    // Two seals of one value differ (a fresh ephemeral key each time).
    expect(await sealForGithub(pk, "same")).not.toBe(await sealForGithub(pk, "same"));
  });

  it("refuses a key that is not 32 bytes of base64", async () => {
    await expect(sealForGithub("AAAA", "v")).rejects.toThrow(TypeError);
    await expect(sealForGithub("not base64!", "v")).rejects.toThrow(TypeError);
  });
});

describe("the client against the emulator", () => {
  let emu: GithubEmulator;
  let clock = Date.now();
  let installationId: number;
  const BASE = "http://github.emulator";
  const control = async (path: string, body?: unknown) => {
    const res = await emu.fetch(`${BASE}/_emulator/${path}`, {
      method: body === undefined ? "GET" : "POST",
      ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
    });
    return res.json() as Promise<any>;
  };
  const calls = async (pattern: RegExp) =>
    ((await control("state")).calls as any[]).filter((c) => pattern.test(`${c.method} ${c.path}`)).length;
  const app = (opts: { timeoutMs?: number } = {}): GithubClient =>
    createGithubClient({
      baseUrl: BASE,
      credentials: { kind: "app", appId: APP_ID, privateKey: PKCS1 },
      fetch: emu.fetch,
      now: () => clock,
      ...opts,
    });

  beforeAll(async () => {
    emu = createGithubEmulator({ openSealedBox: await libsodiumOpener(), now: () => new Date(clock) });
    await control("app", { id: APP_ID, public_key: rsa.publicKey.export({ type: "spki", format: "pem" }).toString() });
    await control("repos", { full_name: "acme/api", environments: ["production"] });
    installationId = (await control("installations", { account: "acme" })).installation.id;
  });

  it("alerts: get (with its secret), list open ones, resolve as revoked", async () => {
    const gh = app();
    await control("repos/acme/api/alerts", { secret: "leaked-1" });
    await control("repos/acme/api/alerts", { secret: "leaked-2" });
    expect(await gh.getAlert("acme/api", 1)).toMatchObject({ number: 1, state: "open", secret: "leaked-1" });
    const listed = await gh.listOpenAlerts({ repository: "acme/api" }, null);
    expect(listed.alerts.map((a) => a.secret).sort()).toEqual(["leaked-1", "leaked-2"]);
    expect(listed.next).toBeNull();
    const org = await gh.listOpenAlerts({ organization: "acme" }, null);
    expect(org.alerts.map((a) => a.repository?.full_name)).toEqual(["acme/api", "acme/api"]);
    await gh.resolveAlert("acme/api", 1, "rekey revoked it", installationId);
    const s = await control("state");
    expect(s.alerts.find((a: any) => a.number === 1)).toMatchObject({
      state: "resolved",
      resolution: "revoked",
      resolution_comment: "rekey revoked it",
    });
  });

  it("secrets: a libsodium-openable value for each kind of target; visibility kept for an organization", async () => {
    const gh = app();
    const targets = [
      { repository: "acme/api" },
      { repository: "acme/api", environment: "production" },
      { organization: "acme" },
    ] as const;
    for (const target of targets) {
      const key = await gh.getPublicKey(target);
      expect(await gh.getSecret(target, "CLARIFAI_PAT")).toBeNull();
      await gh.putSecret(target, "CLARIFAI_PAT", {
        encrypted_value: await sealForGithub(key.key, `value-for-${JSON.stringify(target)}`),
        key_id: key.key_id,
        ...("organization" in target ? { visibility: "selected" as const } : {}),
      });
      const meta = await gh.getSecret(target, "clarifai_pat");
      expect(meta?.name).toBe("CLARIFAI_PAT");
    }
    const secrets = (await control("state")).secrets as any[];
    expect(secrets.map((s) => s.value).sort()).toEqual(targets.map((t) => `value-for-${JSON.stringify(t)}`).sort());
    expect(secrets.find((s) => s.scope === "org:acme").visibility).toBe("selected");
  });

  it("pages by GitHub's cursors: an alert resolved while paging moves no other alert past the cursor", async () => {
    const gh = app();
    await control("repos", { full_name: "acme/many" });
    for (let i = 0; i < 230; i++) await control("repos/acme/many/alerts", { secret: `s-${i}` });
    const first = await gh.listOpenAlerts({ repository: "acme/many" }, null);
    expect(first.alerts).toHaveLength(100);
    expect(first.next).toBeTruthy();
    // Resolve everything on the first page before reading the second: nothing is skipped.
    for (const a of first.alerts) await gh.resolveAlert("acme/many", a.number, "done");
    const second = await gh.listOpenAlerts({ repository: "acme/many" }, first.next);
    const third = await gh.listOpenAlerts({ repository: "acme/many" }, second.next);
    expect(third.next).toBeNull();
    const seen = [...first.alerts, ...second.alerts, ...third.alerts].map((a) => a.number);
    expect(new Set(seen).size).toBe(230);
  });

  it("exchanges the App JWT once per installation and reuses the token until 5 minutes before it expires", async () => {
    const before = await calls(/access_tokens$/);
    const lookups = await calls(/\/installation$/);
    const gh = app();
    await gh.getPublicKey({ repository: "acme/api" });
    await gh.getPublicKey({ repository: "acme/api" });
    await gh.getPublicKey({ organization: "acme" });
    expect(await calls(/access_tokens$/)).toBe(before + 1);
    expect(await calls(/\/installation$/)).toBe(lookups + 2); // one per repository or organization
    clock += 56 * 60_000; // the token (1 h) is inside its last 5 minutes
    await gh.getPublicKey({ repository: "acme/api" });
    expect(await calls(/access_tokens$/)).toBe(before + 2);
    clock = Date.now();
  });

  it("replaces a cached token GitHub stops accepting, once", async () => {
    const gh = app();
    await gh.getPublicKey({ repository: "acme/api" });
    const exchanges = await calls(/access_tokens$/);
    emu.state.tokens.clear(); // revoked at GitHub
    await gh.getPublicKey({ repository: "acme/api" });
    expect(await calls(/access_tokens$/)).toBe(exchanges + 1);
  });

  it("GITHUB_TOKEN: one token for every call, no exchange", async () => {
    const { token } = await control("tokens", {});
    const exchanges = await calls(/access_tokens$/);
    const gh = createGithubClient({ baseUrl: BASE, credentials: { kind: "token", token }, fetch: emu.fetch });
    expect((await gh.getPublicKey({ organization: "acme" })).key_id).toBeTruthy();
    expect(await calls(/access_tokens$/)).toBe(exchanges);
  });

  it("failures are typed, retryable or not, and never carry a token", async () => {
    const { token } = await control("tokens", {});
    const gh = createGithubClient({
      baseUrl: BASE,
      credentials: { kind: "token", token },
      fetch: emu.fetch,
      timeoutMs: 100,
    });
    const fault = (f: object) =>
      control("faults", { method: "GET", path: "/repos/acme/api/actions/secrets/public-key", ...f });
    const cases: [object, string, boolean][] = [
      [{ status: 503 }, "github_unavailable", true],
      [{ status: 429 }, "github_rate_limited", true],
      [{ status: 404 }, "github_not_found", false],
      [{ drop: true }, "github_network", true],
      [{ delay_ms: 300 }, "github_timeout", true],
      [{ status: 301, location: "https://elsewhere.example/" }, "unexpected_redirect", false],
    ];
    for (const [f, code, retryable] of cases) {
      await fault(f);
      const error = await gh.getPublicKey({ repository: "acme/api" }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Failure);
      expect(error).toMatchObject({ tag: "github", code, retryable });
      expect(`${(error as Error).message} ${JSON.stringify(error)}`).not.toContain(token);
    }
    const unauthorized = await createGithubClient({
      baseUrl: BASE,
      credentials: { kind: "token", token: "ghp_not_a_real_token_000" },
      fetch: emu.fetch,
    }).getPublicKey({ repository: "acme/api" }).catch((e: unknown) => e);
    expect(unauthorized).toMatchObject({ code: "github_unauthorized", retryable: false });
    expect((unauthorized as Error).message).not.toContain("ghp_not_a_real_token_000");
  });
});
