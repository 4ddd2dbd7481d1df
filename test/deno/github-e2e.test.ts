/**
 * The GitHub webhook path on Deno, end to end: the real entry point (src/deno.ts, its own
 * process with the start task's permissions, Deno KV, its queue and ledger) against the Clarifai
 * and GitHub emulators hosted here by Deno.serve. The GitHub emulator delivers the signed
 * `secret_scanning_alert` webhook to the server itself, as GitHub would; the server fetches the
 * alert as a GitHub App (a PKCS#8 key here; the workerd tests use GitHub's PKCS#1), revokes the
 * leaked key, writes its replacement to the repository's Actions secret (libsodium opens it) and
 * resolves the alert as revoked. A forged signature and a redelivery change nothing. An alert
 * whose fetch GitHub fails (503) is queued and contained by the Deno KV queue's retry.
 */
import assert from "node:assert/strict";
import sodium from "libsodium-wrappers";
import { createEmulator } from "../../emulator/src/index.ts";
import { createGithubEmulator } from "../../emulator/github/index.ts";
import { encodeBase64 } from "../../src/core/crypto/encoding.ts";
import { startDenoServer } from "./deno-server.ts";
import { adminClient, emulatorControl, managedTenant } from "./admin-client.ts";
import { waitFor } from "./wait-for.ts";

const ADMIN_TOKEN = "test-admin-token-0123456789-abcdefghij";
const WEBHOOK_SECRET = "deno-e2e-github-webhook-secret";
const USER = "deno-gh";
const ORG = "deno-org";
const REPO = `${ORG}/app`;

const pem = (label: string, der: ArrayBuffer) =>
  `-----BEGIN ${label}-----\n${encodeBase64(new Uint8Array(der)).replace(/.{64}/g, "$&\n")}\n-----END ${label}-----\n`;

Deno.test("rekey on Deno: a GitHub secret scanning alert, from webhook to resolved alert", async () => {
  await sodium.ready;
  const clarifaiEmu = createEmulator();
  const clarifai = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => clarifaiEmu.app.fetch(req),
  );
  const githubEmu = createGithubEmulator({
    openSealedBox: (sealed, pk, sk) => {
      try {
        return sodium.crypto_box_seal_open(sealed, pk, sk);
      } catch {
        return null;
      }
    },
  });
  const github = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => githubEmu.app.fetch(req));
  const clarifaiUrl = `http://127.0.0.1:${clarifai.addr.port}`;
  const githubUrl = `http://127.0.0.1:${github.addr.port}`;

  const pair = (await crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
  const privatePem = pem("PRIVATE KEY", await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const publicPem = pem("PUBLIC KEY", await crypto.subtle.exportKey("spki", pair.publicKey));

  const server = await startDenoServer({
    REKEY_ADMIN_TOKEN: ADMIN_TOKEN,
    REKEY_ENCRYPTION_KEYS: JSON.stringify({ 1: "dGVzdC1rZXktdmVyc2lvbi1vbmUtMzItYnl0ZXMhISE=" }),
    REKEY_FINGERPRINT_KEY: "dGVzdC1maW5nZXJwcmludC1rZXktMzItYnl0ZXMhISE=",
    CLARIFAI_API_BASE: clarifaiUrl,
    CLARIFAI_TIMEOUT_MS: "3000",
    REKEY_BUS_RETRY_BASE_SECONDS: "1",
    REKEY_DENO_KV_PATH: ":memory:",
    GITHUB_API_BASE: githubUrl,
    GITHUB_APP_ID: "4242",
    GITHUB_APP_PRIVATE_KEY: privatePem,
    GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
  });
  const secrets: string[] = [ADMIN_TOKEN, WEBHOOK_SECRET, privatePem.split("\n")[5]!];
  const bodies: string[] = [];

  const call = adminClient(server.url, ADMIN_TOKEN, bodies);
  const cl = emulatorControl(clarifaiUrl);
  const gh = emulatorControl(githubUrl);

  try {
    await gh("app", { id: "4242", public_key: publicPem });
    await gh("webhook", { url: `${server.url}/hooks/github/events`, secret: WEBHOOK_SECRET });
    await gh("repos", { full_name: REPO });
    await gh("installations", { account: ORG });
    const { mint, managerId } = await managedTenant(USER, cl, call, secrets);
    const leaked = await mint("app_specific_key", ["Predict"]);
    const reg = await call("POST", "/v1/credentials", {
      kind: "app_key",
      user_id: USER,
      value: leaked.id,
      manager_id: managerId,
      policy: { grace_hours: 0 },
      sinks: [{ type: "github_actions_secret", repository: REPO, name: "CLARIFAI_KEY" }],
    });
    assert.equal(reg.status, 201, reg.text);
    const credentialId = reg.json.credential.id as string;

    // GitHub finds the key and delivers the webhook to the server, signed.
    const created = await gh(`repos/${REPO}/alerts`, { secret: leaked.id, deliver: true });
    assert.equal(created.response.status, 202, created.response.body);
    bodies.push(created.response.body);
    const answer = JSON.parse(created.response.body);
    assert.equal(answer.credential_id, credentialId);

    const cred = await waitFor(
      "the compromise rotation",
      async () => {
        const c = (await call("GET", `/v1/credentials/${credentialId}`)).json.credential;
        return c.current_rotation_id === null && c.last_rotation?.state === "done" ? c : undefined;
      },
      20_000,
      50,
    );
    const keys = (await cl("state")).keys as { id: string; description: string }[];
    assert.ok(!keys.some((k) => k.id === leaked.id), "the leaked key still works");
    const replacement = keys.find((k) => k.description.includes(cred.last_rotation.id));
    assert.ok(replacement, "no replacement");
    secrets.push(replacement.id);
    const state = await waitFor(
      "the alert to be resolved",
      async () => {
        const s = await gh("state");
        return s.alerts.find((a: any) => a.number === created.alert.number)?.state === "resolved" ? s : undefined;
      },
      20_000,
      50,
    );
    const alert = state.alerts.find((a: any) => a.number === created.alert.number);
    assert.equal(alert.resolution, "revoked");
    assert.ok(alert.resolution_comment.includes(cred.last_rotation.id));
    const sink = state.secrets.find((s: any) => s.name === "CLARIFAI_KEY");
    assert.equal(sink.value, replacement.id, "the Actions secret does not hold the replacement");

    // A redelivery (same X-GitHub-Delivery) changes nothing; a forged signature is refused.
    const again = await gh(`deliveries/${created.delivery.id}/redeliver`, {});
    assert.equal(again.response.status, 200);
    assert.deepEqual(JSON.parse(again.response.body), { status: "duplicate" });
    const forged = await fetch(`${server.url}/hooks/github/events`, {
      method: "POST",
      headers: { ...created.delivery.headers, "x-hub-signature-256": `sha256=${"0".repeat(64)}` },
      body: created.delivery.body,
    });
    assert.equal(forged.status, 401);
    bodies.push(await forged.text());

    // GitHub failing the alert's fetch (the webhook's, then the first retry's): 202 queued, and
    // the Deno KV queue's retry fetches it and contains the key (core/alerts/owed-fetch.ts).
    const second = await mint("app_specific_key", ["Predict"]);
    const reg2 = await call("POST", "/v1/credentials", {
      kind: "app_key",
      user_id: USER,
      value: second.id,
      manager_id: managerId,
      policy: { grace_hours: 0 },
    });
    assert.equal(reg2.status, 201, reg2.text);
    await gh("faults", { method: "GET", path: `/repos/${REPO}/secret-scanning/alerts/*`, status: 503, count: 2 });
    const owed = await gh(`repos/${REPO}/alerts`, { secret: second.id, deliver: true });
    bodies.push(owed.response.body);
    assert.equal(owed.response.status, 202, owed.response.body);
    assert.deepEqual(JSON.parse(owed.response.body), { status: "queued" });
    const cred2 = await waitFor(
      "the owed fetch's compromise rotation",
      async () => {
        const c = (await call("GET", `/v1/credentials/${reg2.json.credential.id}`)).json.credential;
        return c.current_rotation_id === null && c.last_rotation?.state === "done" ? c : undefined;
      },
      20_000,
      50,
    );
    assert.equal(cred2.last_rotation.reason, "compromise");
    const gets = ((await gh("state")).calls as { method: string; path: string; status: number }[])
      .filter((c) => c.method === "GET" && c.path === `/repos/${REPO}/secret-scanning/alerts/${owed.alert.number}`);
    assert.deepEqual(gets.map((c) => c.status).slice(0, 3), [503, 503, 200]);
    const keys2 = (await cl("state")).keys as { id: string; description: string }[];
    assert.ok(!keys2.some((k) => k.id === second.id), "the leaked key still works");
    secrets.push(...keys2.filter((k) => k.description.includes(cred2.last_rotation.id)).map((k) => k.id));

    // Nothing the server said or printed holds a key, the App key, or the webhook secret.
    const said = [...bodies, server.output()].join("\n");
    for (const s of secrets) assert.ok(!said.includes(s), "a secret leaked");
  } finally {
    await server.stop();
    await clarifai.shutdown();
    await github.shutdown();
  }
});
