/**
 * Issue 14, items 7, 8 and 9 on Deno: the real entry point (src/deno.ts, Deno KV, its queue)
 * against the Clarifai emulator, as test/workers/key-restrictions, upstream-expiry and
 * leaked-value-dies do on Workers. A replacement keeps every restriction of the key it replaces;
 * the dead-man switch mints keys with an expiry; a leaked value whose delete is refused is owed
 * and paid by a later sweep; a leaked self-managed PAT without a successor is deleted anyway.
 */
import assert from "node:assert/strict";
import { createEmulator } from "../../emulator/src/index.ts";
import { startDenoServer } from "./deno-server.ts";
import { waitFor } from "./wait-for.ts";

// Test-only secrets (the same as vitest.config.ts): public, never used outside tests.
const ADMIN_TOKEN = "test-admin-token-0123456789-abcdefghij";
const ENV = {
  REKEY_ADMIN_TOKEN: ADMIN_TOKEN,
  REKEY_ENCRYPTION_KEYS: JSON.stringify({ 1: "dGVzdC1rZXktdmVyc2lvbi1vbmUtMzItYnl0ZXMhISE=" }),
  REKEY_FINGERPRINT_KEY: "dGVzdC1maW5nZXJwcmludC1rZXktMzItYnl0ZXMhISE=",
  ALERT_WEBHOOK_SECRET: "whsec_dGVzdC1hbGVydC13ZWJob29rLXNlY3JldC0zMmJ5dGVzIQ==",
  CLARIFAI_TIMEOUT_MS: "3000",
  REKEY_BUS_RETRY_BASE_SECONDS: "1",
  REKEY_DENO_KV_PATH: ":memory:",
  // The sweep is fired through GET /__scheduled, which deno task start serves in dev mode only.
  REKEY_DEV_MODE: "true",
};
const USER = "deno-key-safety";
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

Deno.test("rekey on Deno: restrictions kept, dead-man expiry, leaked values die", async (t) => {
  const emulator = createEmulator();
  const clarifai = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => emulator.app.fetch(req));
  const server = await startDenoServer({ ...ENV, CLARIFAI_API_BASE: `http://127.0.0.1:${clarifai.addr.port}` });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, text, json: text.startsWith("{") ? JSON.parse(text) : undefined };
  };
  const control = async (path: string, body: unknown) =>
    (await emulator.fetch(`http://e/_emulator/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    })).json();
  const keys = () => [...emulator.state.keys.values()].filter((k) => k.user_id === USER);
  const mint = async (body: Record<string, unknown>) =>
    (await control(`users/${USER}/keys`, body)).key as Record<string, any>;
  const appKey = (extra: Record<string, unknown> = {}) =>
    mint({
      type: "app_specific_key",
      scopes: ["Predict"],
      apps: [{ id: "app1", user_id: USER }],
      description: "workload",
      ...extra,
    });
  const rotated = async (id: string, reason = "manual") => {
    const res = await call("POST", `/v1/credentials/${id}/rotate`, { reason });
    assert.equal(res.status, 202, res.text);
    const rid = res.json.rotation.id as string;
    await waitFor(
      `rotation ${rid}`,
      async () => (await call("GET", `/v1/rotations/${rid}`)).json.rotation.state !== "running",
      30_000,
      50,
    );
    return (await call("GET", `/v1/rotations/${rid}`)).json.rotation;
  };
  const sweep = async () => {
    const tick = await fetch(`${server.url}/__scheduled`);
    assert.equal(tick.status, 200);
    await tick.body?.cancel();
  };

  try {
    await control("users", { id: USER });
    await control(`users/${USER}/apps`, { id: "app1" });
    const manager = await mint({ type: "personal_access_token", scopes: ["All"], description: "manager" });
    const reg = await call("POST", "/v1/credentials", { kind: "pat", user_id: USER, value: manager.id });
    assert.equal(reg.status, 201, reg.text);
    const managerId = reg.json.credential.id as string;
    const register = async (key: Record<string, any>, policy: Record<string, unknown> = {}) => {
      const res = await call("POST", "/v1/credentials", {
        kind: "app_key",
        user_id: USER,
        value: key.id,
        manager_id: managerId,
        policy: { grace_hours: 0, ...policy },
      });
      assert.equal(res.status, 201, res.text);
      return res.json.credential.id as string;
    };

    await t.step("a replacement keeps the old key's endpoints and expiry", async () => {
      const expiresAt = new Date(Date.now() + 30 * DAY).toISOString();
      const old = await appKey({ endpoints: ["/clarifai.api.V2/PostModelOutputs"], expires_at: expiresAt });
      const r = await rotated(await register(old));
      assert.equal(r.state, "done");
      const fresh = keys().filter((k) => k.description.includes(`[rekey:${r.id}]`));
      assert.equal(fresh.length, 1);
      assert.deepEqual(fresh[0]!.endpoints, ["/clarifai.api.V2/PostModelOutputs"]);
      assert.equal(fresh[0]!.expires_at, expiresAt);
    });

    await t.step(
      "upstream_expiry: refused without max_age_days; a minted key expires after due + grace + margin",
      async () => {
        const refused = await call("POST", "/v1/credentials", {
          kind: "app_key",
          user_id: USER,
          value: (await appKey()).id,
          manager_id: managerId,
          policy: { upstream_expiry: true },
        });
        assert.equal(refused.status, 400, refused.text);
        const id = await register(await appKey(), {
          max_age_days: 10,
          grace_hours: 1,
          upstream_expiry: true,
          upstream_expiry_margin_hours: 24,
        });
        const before = Date.now();
        const r = await rotated(id);
        assert.equal(r.state, "done");
        const expires = Date.parse(keys().find((k) => k.description.includes(`[rekey:${r.id}]`))!.expires_at!);
        assert.ok(
          expires >= before + 10 * DAY + 25 * HOUR && expires <= Date.now() + 10 * DAY + 31 * HOUR,
          `expires_at ${new Date(expires).toISOString()}`,
        );
        assert.equal(Date.parse((await call("GET", `/v1/credentials/${id}`)).json.credential.key_expires_at), expires);
      },
    );

    await t.step(
      "a leaked key whose delete is refused is replaced, shown live, and deleted by a later sweep",
      async () => {
        const leaked = await appKey();
        const id = await register(leaked);
        await control("faults", {
          method: "DELETE",
          path: `/v2/users/${USER}/keys/*`,
          count: 1,
          status: 400,
          code: 11102,
        });
        const r = await rotated(id, "compromise");
        assert.equal(r.state, "done");
        assert.ok(keys().some((k) => k.id === leaked.id));
        assert.equal((await call("GET", `/v1/credentials/${id}`)).json.credential.leaked_live, true);
        await sweep();
        await waitFor(
          "the sweep to delete the leaked key",
          async () => !keys().some((k) => k.id === leaked.id),
          20_000,
          100,
        );
        await waitFor(
          "the record to say so",
          async () => (await call("GET", `/v1/credentials/${id}`)).json.credential.leaked_live === false,
          20_000,
          100,
        );
      },
    );

    await t.step(
      "a leaked self-managed PAT whose successor cannot be created is deleted and needs a new manager",
      async () => {
        const pat = await mint({ type: "personal_access_token", scopes: ["All"], description: "self-managed" });
        const res = await call("POST", "/v1/credentials", { kind: "pat", user_id: USER, value: pat.id });
        assert.equal(res.status, 201, res.text);
        const id = res.json.credential.id as string;
        await control("faults", {
          method: "POST",
          path: `/v2/users/${USER}/keys`,
          count: 50,
          status: 503,
          code: 98004,
        });
        const r = await rotated(id, "compromise");
        emulator.state.faults = [];
        assert.equal(r.state, "failed");
        assert.equal(r.old_revoked, true);
        assert.ok(!keys().some((k) => k.id === pat.id));
        const cred = (await call("GET", `/v1/credentials/${id}`)).json.credential;
        assert.equal(cred.state, "revoked");
        assert.equal(cred.needs_manager.rotation_id, r.id);
        await waitFor(
          "credential.orphaned_manager in the audit trail",
          async () =>
            (await call("GET", `/v1/audit?type=credential.orphaned_manager&credential_id=${id}`)).json.entries.length >
              0,
          20_000,
          100,
        );
      },
    );
  } catch (error) {
    console.error(`--- Deno server output ---\n${server.output()}`);
    throw error;
  } finally {
    await server.stop();
    await clarifai.shutdown();
  }
});
