/**
 * Issue 14 item 4 on the real Deno entry point (src/deno.ts, its own process): an over-long path id
 * is 404 and a lone surrogate is 400, never a 500, and nothing of either reaches the server's output.
 */
import assert from "node:assert/strict";
import { startDenoServer } from "./deno-server.ts";

// Test-only secrets (the same as vitest.config.ts and e2e.test.ts): public, never used outside tests.
const ADMIN_TOKEN = "test-admin-token-0123456789-abcdefghij";
const ENV = {
  REKEY_ADMIN_TOKEN: ADMIN_TOKEN,
  REKEY_ENCRYPTION_KEYS: JSON.stringify({ 1: "dGVzdC1rZXktdmVyc2lvbi1vbmUtMzItYnl0ZXMhISE=" }),
  REKEY_FINGERPRINT_KEY: "dGVzdC1maW5nZXJwcmludC1rZXktMzItYnl0ZXMhISE=",
  ALERT_WEBHOOK_SECRET: "whsec_dGVzdC1hbGVydC13ZWJob29rLXNlY3JldC0zMmJ5dGVzIQ==",
  // Nothing here may reach Clarifai: every request below is refused first.
  CLARIFAI_API_BASE: "http://127.0.0.1:9",
  REKEY_DENO_KV_PATH: ":memory:",
};

Deno.test("rekey on Deno: over-long ids are 404, lone surrogates 400, and neither is logged", async () => {
  const server = await startDenoServer(ENV);
  try {
    const send = async (method: string, path: string, body?: string) => {
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${ADMIN_TOKEN}`,
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
        },
        ...(body !== undefined ? { body } : {}),
      });
      const text = await res.text();
      return { status: res.status, text, json: JSON.parse(text) };
    };
    const longRotation = `rot_${"a".repeat(508)}`;
    const got = await send("GET", `/v1/rotations/${longRotation}`);
    assert.equal(got.status, 404);
    assert.equal(got.json.error.code, "rotation_not_found");
    const longCredential = `cred_${"b".repeat(507)}`;
    assert.equal((await send("POST", `/v1/credentials/${longCredential}/revoke`)).status, 404);

    const lone = await send("POST", "/v1/credentials", '{"kind":"pat","user_id":"u1","value":"abc\\ud800def"}');
    assert.equal(lone.status, 400);
    assert.deepEqual(lone.json.error.issues, [{ path: "value", code: "invalid_unicode" }]);

    const token = "0123456789abcdef0123456789abcdef";
    const echoed = await send(
      "POST",
      "/v1/credentials",
      JSON.stringify({ kind: "app_key", user_id: "u1", value: "v".repeat(32), manager_id: token }),
    );
    assert.equal(echoed.status, 400);
    assert.ok(!echoed.text.includes(token));

    const output = server.output();
    for (const needle of ["aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb", token]) {
      assert.ok(!output.includes(needle), `server output holds "${needle.slice(0, 8)}…"`);
    }
  } finally {
    await server.stop();
  }
});
