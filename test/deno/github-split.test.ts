/**
 * A GitHub partner alert split across invocations on Deno (core/alerts/deferred-tokens.ts): the
 * real entry point (src/deno.ts, its own process, Deno KV and its queue) against the Clarifai
 * emulator. With GITHUB_INLINE_TOKENS=100, a 250-token alert is answered for its first 100 tokens
 * and its other 150 go through the Deno KV queue as two sealed `github.tokens_deferred` chunks;
 * the only managed token is in the first chunk, and the chunk's consumer gets it contained.
 */
import assert from "node:assert/strict";
import { createEmulator } from "../../emulator/src/index.ts";
import { GITHUB_TEST_KEY_ID, GITHUB_TEST_PUBLIC_PEM, signedGithubAlert } from "../support/github-test-key.ts";
import { startDenoServer } from "./deno-server.ts";
import { adminClient, emulatorControl, managedTenant } from "./admin-client.ts";
import { waitFor } from "./wait-for.ts";

const ADMIN_TOKEN = "test-admin-token-0123456789-abcdefghij";
const USER = "deno-split";

Deno.test("rekey on Deno: a GitHub partner alert past GITHUB_INLINE_TOKENS is matched through sealed chunks", async () => {
  const clarifaiEmu = createEmulator();
  const clarifai = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => clarifaiEmu.app.fetch(req),
  );
  const clarifaiUrl = `http://127.0.0.1:${clarifai.addr.port}`;
  const server = await startDenoServer({
    REKEY_ADMIN_TOKEN: ADMIN_TOKEN,
    REKEY_ENCRYPTION_KEYS: JSON.stringify({ 1: "dGVzdC1rZXktdmVyc2lvbi1vbmUtMzItYnl0ZXMhISE=" }),
    REKEY_FINGERPRINT_KEY: "dGVzdC1maW5nZXJwcmludC1rZXktMzItYnl0ZXMhISE=",
    CLARIFAI_API_BASE: clarifaiUrl,
    CLARIFAI_TIMEOUT_MS: "3000",
    REKEY_BUS_RETRY_BASE_SECONDS: "1",
    REKEY_DENO_KV_PATH: ":memory:",
    GITHUB_SECRET_SCANNING_KEYS: JSON.stringify({
      public_keys: [{ key_identifier: GITHUB_TEST_KEY_ID, key: GITHUB_TEST_PUBLIC_PEM, is_current: true }],
    }),
    GITHUB_INLINE_TOKENS: "100",
  });
  const secrets: string[] = [ADMIN_TOKEN];
  const bodies: string[] = [];
  const call = adminClient(server.url, ADMIN_TOKEN, bodies);
  const cl = emulatorControl(clarifaiUrl);

  try {
    const { mint, managerId } = await managedTenant(USER, cl, call, secrets);
    const leaked = await mint("app_specific_key", ["Predict"]);
    const reg = await call("POST", "/v1/credentials", {
      kind: "app_key",
      user_id: USER,
      value: leaked.id,
      manager_id: managerId,
      policy: { grace_hours: 0 },
    });
    assert.equal(reg.status, 201, reg.text);
    const credentialId = reg.json.credential.id as string;

    const items = Array.from({ length: 250 }, (_, i) => ({
      token: `denosplit_${i}_${crypto.randomUUID()}`,
      type: "clarifai_api_key",
      source: "content",
    }));
    items[180]!.token = leaked.id;
    secrets.push(items[0]!.token, items[120]!.token, items[249]!.token);
    const body = JSON.stringify(items);
    const res = await fetch(`${server.url}/hooks/github/secret-scanning`, {
      method: "POST",
      headers: await signedGithubAlert(body),
      body,
    });
    const text = await res.text();
    bodies.push(text);
    assert.equal(res.status, 200, text);
    const feedback = JSON.parse(text) as { label: string }[];
    assert.equal(feedback.length, 100);
    assert.ok(feedback.every((f) => f.label === "false_positive"));

    const cred = await waitFor(
      "the compromise rotation from the deferred chunk",
      async () => {
        const c = (await call("GET", `/v1/credentials/${credentialId}`)).json.credential;
        return c.current_rotation_id === null && c.last_rotation?.state === "done" ? c : undefined;
      },
      20_000,
      50,
    );
    assert.equal(cred.last_rotation.reason, "compromise");
    const keys = (await cl("state")).keys as { id: string; description: string }[];
    assert.ok(!keys.some((k) => k.id === leaked.id), "the leaked key still works");
    const replacement = keys.find((k) => k.description.includes(cred.last_rotation.id));
    assert.ok(replacement, "no replacement");
    secrets.push(replacement.id);

    // The trail: both chunks, with their counts and without their ciphertext.
    const chunks = await waitFor(
      "the chunks' audit entries",
      async () => {
        const entries = (await call("GET", "/v1/audit?limit=1000")).json.entries as any[];
        const found = entries.filter((e) => e.type === "github.tokens_deferred");
        return found.length === 2 ? found : undefined;
      },
      10_000,
      50,
    );
    assert.deepEqual(
      chunks.map((e) => [e.data.chunk, e.data.chunks, e.data.first, e.data.token_count, e.data.sealed]).sort(),
      [
        [1, 2, 100, 100, undefined],
        [2, 2, 200, 50, undefined],
      ],
    );
    const received = ((await call("GET", "/v1/audit?limit=1000")).json.entries as any[])
      .find((e) => e.type === "alert.received");
    assert.equal(received.data.token_count, 250);

    // No token, managed or not, in anything the server answered or printed.
    const said = [...bodies, server.output()].join("\n");
    for (const s of secrets) assert.ok(!said.includes(s), "a secret leaked");
  } finally {
    await server.stop();
    await clarifai.shutdown();
  }
});
