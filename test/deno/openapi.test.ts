/**
 * On Deno, as on Workers (test/workers/openapi-served.test.ts): GET /openapi.json answers the
 * document src/openapi/document.ts generates, byte for byte, as application/json. The Worker
 * serves it from a static asset; Deno generates it on first use (src/deno.ts). The real entry point,
 * its own process, the start task's flags.
 */
import assert from "node:assert/strict";
import { openApiDocument } from "../../src/openapi/document.ts";
import { startDenoServer } from "./deno-server.ts";

// Test-only secrets (the same as test/deno/e2e.test.ts): public, never used outside tests.
const ENV = {
  REKEY_ADMIN_TOKEN: "test-admin-token-0123456789-abcdefghij",
  REKEY_ENCRYPTION_KEYS: JSON.stringify({ 1: "dGVzdC1rZXktdmVyc2lvbi1vbmUtMzItYnl0ZXMhISE=" }),
  REKEY_FINGERPRINT_KEY: "dGVzdC1maW5nZXJwcmludC1rZXktMzItYnl0ZXMhISE=",
  CLARIFAI_API_BASE: "http://127.0.0.1:9",
  REKEY_DENO_KV_PATH: ":memory:",
};

Deno.test("rekey on Deno answers GET /openapi.json with the generated document, as application/json", async () => {
  const server = await startDenoServer(ENV);
  try {
    const res = await fetch(`${server.url}/openapi.json`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.equal(await res.text(), JSON.stringify(openApiDocument()));
  } finally {
    await server.stop();
  }
});
