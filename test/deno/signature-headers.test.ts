/**
 * Issue 14 item 10 on the real Deno entry point (src/deno.ts, its own process): signatures split
 * across repeated `webhook-signature` headers are read as one list. A verified alert that matches
 * nothing is 404 credential_not_found; one that does not verify is 401.
 */
import assert from "node:assert/strict";
import { signStandardWebhook } from "../../src/core/notify/sign-webhook.ts";
import { startDenoServer } from "./deno-server.ts";

// Test-only secrets (the same as vitest.config.ts and e2e.test.ts): public, never used outside tests.
const ALERT_SECRET = "whsec_dGVzdC1hbGVydC13ZWJob29rLXNlY3JldC0zMmJ5dGVzIQ==";
const ENV = {
  REKEY_ADMIN_TOKEN: "test-admin-token-0123456789-abcdefghij",
  REKEY_ENCRYPTION_KEYS: JSON.stringify({ 1: "dGVzdC1rZXktdmVyc2lvbi1vbmUtMzItYnl0ZXMhISE=" }),
  REKEY_FINGERPRINT_KEY: "dGVzdC1maW5nZXJwcmludC1rZXktMzItYnl0ZXMhISE=",
  ALERT_WEBHOOK_SECRET: ALERT_SECRET,
  CLARIFAI_API_BASE: "http://127.0.0.1:9",
  REKEY_DENO_KV_PATH: ":memory:",
};
const OTHER = "v1,Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmE=";

Deno.test("rekey on Deno: a trusted signature in any of repeated webhook-signature headers verifies", async () => {
  const server = await startDenoServer(ENV);
  try {
    const post = async (signatures: (good: string) => string[]) => {
      const body = JSON.stringify({ fingerprint: "f".repeat(64) });
      const id = `msg_${crypto.randomUUID()}`;
      const timestamp = Math.floor(Date.now() / 1000);
      const good = await signStandardWebhook({ secret: ALERT_SECRET, id, timestamp, body });
      const headers = new Headers({
        "content-type": "application/json",
        "webhook-id": id,
        "webhook-timestamp": String(timestamp),
      });
      for (const s of signatures(good)) headers.append("webhook-signature", s);
      const res = await fetch(`${server.url}/hooks/alerts`, { method: "POST", headers, body });
      return [res.status, ((await res.json()) as { error: { code: string } }).error.code];
    };
    assert.deepEqual(await post((good) => [good, OTHER]), [404, "credential_not_found"]);
    assert.deepEqual(await post((good) => [`${OTHER} ${good}`, OTHER]), [404, "credential_not_found"]);
    assert.deepEqual(await post(() => [OTHER, OTHER]), [401, "invalid_signature"]);
  } finally {
    await server.stop();
  }
});
