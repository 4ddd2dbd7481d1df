/**
 * Issue 14 item 3 on Deno's own fetch: the Clarifai client and the outbound poster never follow a
 * redirect. The emulator (hosted here by Deno.serve) answers a 307 whose Location is a second local
 * server, the trap; following it would hand the trap the key id (which is the token) in the path.
 */
import assert from "node:assert/strict";
import { createEmulator } from "../../emulator/src/index.ts";
import { createClarifaiClient } from "../../src/core/clarifai/index.ts";
import { isFailure } from "../../src/core/failure.ts";
import { postJson } from "../../src/core/notify/post-json.ts";

Deno.test("on Deno, a redirect is never followed: unexpected_redirect, and the Location gets nothing", async () => {
  const trapped: string[] = [];
  const trap = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    trapped.push(new URL(req.url).pathname);
    // What a hostile host would answer to make a followed delete look done.
    return Response.json({ status: { code: 11101, description: "Resource does not exist" } }, { status: 404 });
  });
  const emulator = createEmulator();
  const clarifai = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => emulator.app.fetch(req));
  try {
    const base = `http://127.0.0.1:${clarifai.addr.port}`;
    const trapUrl = `http://127.0.0.1:${trap.addr.port}`;
    const { userId, pat } = emulator.seed({ userId: "deno-redirect" });
    emulator.state.faults.push({
      method: "DELETE",
      path: `/v2/users/${userId}/keys/*`,
      count: 1,
      status: 307,
      location: `${trapUrl}/v2/users/${userId}/keys/x`,
    });

    const client = createClarifaiClient({ baseUrl: base, timeoutMs: 3_000 });
    const deleted = await client.deleteKey(pat, userId, pat);
    assert.equal(deleted.ok, false);
    if (!deleted.ok) {
      assert.equal(deleted.error.detail.kind, "unexpected_redirect");
      assert.equal(deleted.error.retryable, false);
    }
    assert.ok(emulator.state.keys.has(pat), "the key is still live");

    emulator.state.faults.push({
      method: "POST",
      path: "/v2/hook",
      count: 1,
      status: 302,
      location: `${trapUrl}/hook`,
    });
    await assert.rejects(
      postJson(`${base}/v2/hook`, "{}", { label: "test" }),
      (e: unknown) => isFailure(e, "delivery") && e.code === "unexpected_redirect" && !e.retryable,
    );
    assert.deepEqual(trapped, []);
  } finally {
    await clarifai.shutdown();
    await trap.shutdown();
  }
});
