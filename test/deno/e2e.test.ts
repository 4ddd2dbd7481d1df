/**
 * rekey on Deno end to end: the real entry point (src/deno.ts, its own process, Deno KV, the KV
 * queue, the ledger) against the Clarifai emulator (emulator/src, hosted here by Deno.serve).
 * The scenarios of test/workers/hooks, admin-api and sweep-worker: a signed compromise alert
 * revokes and replaces a key; a manual rotation; a sweep; 50 concurrent alerts, one rotation.
 */
import assert from "node:assert/strict";
import { createEmulator } from "../../emulator/src/index.ts";
import { signStandardWebhook } from "../../src/core/notify/sign-webhook.ts";
import { startDenoServer } from "./deno-server.ts";
import { waitFor } from "./wait-for.ts";

// Test-only secrets (the same as vitest.config.ts): public, never used outside tests.
const ADMIN_TOKEN = "test-admin-token-0123456789-abcdefghij";
const ALERT_SECRET = "whsec_dGVzdC1hbGVydC13ZWJob29rLXNlY3JldC0zMmJ5dGVzIQ==";
const ENCRYPTION_KEY = "dGVzdC1rZXktdmVyc2lvbi1vbmUtMzItYnl0ZXMhISE=";
const FINGERPRINT_KEY = "dGVzdC1maW5nZXJwcmludC1rZXktMzItYnl0ZXMhISE=";
const ENV = {
  REKEY_ADMIN_TOKEN: ADMIN_TOKEN,
  REKEY_ENCRYPTION_KEYS: JSON.stringify({ 1: ENCRYPTION_KEY }),
  REKEY_FINGERPRINT_KEY: FINGERPRINT_KEY,
  ALERT_WEBHOOK_SECRET: ALERT_SECRET,
  CLARIFAI_TIMEOUT_MS: "3000",
  REKEY_BUS_RETRY_BASE_SECONDS: "1",
  REKEY_DENO_KV_PATH: ":memory:",
  // For GET /__scheduled (the sweep step), served only in dev mode; the requests go to 127.0.0.1.
  REKEY_DEV_MODE: "true",
};
const USER = "deno-e2e";

Deno.test("rekey on Deno: alerts, rotation and sweep against the Clarifai emulator", async (t) => {
  const emulator = createEmulator();
  const clarifai = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => emulator.app.fetch(req));
  const clarifaiUrl = `http://127.0.0.1:${clarifai.addr.port}`;
  const server = await startDenoServer({ ...ENV, CLARIFAI_API_BASE: clarifaiUrl });
  // Every secret it is configured with, and (pushed as they appear) every Clarifai key value.
  const secrets: string[] = [
    ADMIN_TOKEN,
    ALERT_SECRET,
    ALERT_SECRET.slice("whsec_".length),
    ENCRYPTION_KEY,
    FINGERPRINT_KEY,
  ];
  const bodies: string[] = [];
  let contained: { credentialId: string; rotationId: string } | undefined;

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    bodies.push(text);
    return {
      status: res.status,
      text,
      json: text.startsWith("{") || text.startsWith("[") ? JSON.parse(text) : undefined,
    };
  };
  const control = async (path: string, body?: unknown) => {
    const res = await emulator.fetch(`${clarifaiUrl}/_emulator/${path}`, {
      method: body === undefined ? "GET" : "POST",
      ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
    });
    return res.json();
  };
  const mint = async (type: string, scopes: string[], description: string) => {
    const key = (await control(`users/${USER}/keys`, {
      type,
      scopes,
      description,
      apps: type === "app_specific_key" ? [{ id: "app1", user_id: USER }] : [],
    })).key as { id: string };
    secrets.push(key.id);
    return key;
  };
  const clarifaiState = async () => {
    const s = await control("state");
    return {
      keys: s.keys.filter((k: any) => k.user_id === USER) as any[],
      calls: s.calls.filter((c: any) => String(c.path).includes(`/users/${USER}/`)) as any[],
    };
  };
  const signedAlert = async (body: string) => {
    const id = `msg_${crypto.randomUUID()}`;
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = await signStandardWebhook({ secret: ALERT_SECRET, id, timestamp, body });
    return {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": signature,
      authorization: "",
    };
  };
  const settled = async (id: string) => {
    await waitFor(
      `credential ${id} to settle`,
      async () => {
        const c = (await call("GET", `/v1/credentials/${id}`)).json.credential;
        return c.current_rotation_id === null && c.last_rotation !== null;
      },
      20_000,
      50,
    );
    return (await call("GET", `/v1/credentials/${id}`)).json.credential;
  };

  try {
    await control("users", { id: USER });
    await control(`users/${USER}/apps`, { id: "app1" });
    const manager = await mint("personal_access_token", ["All"], "manager");
    const reg = await call("POST", "/v1/credentials", {
      kind: "pat",
      user_id: USER,
      value: manager.id,
      description: "manager",
    });
    assert.equal(reg.status, 201, reg.text);
    const managerId = reg.json.credential.id as string;
    const managedKey = async (policy: Record<string, unknown> = {}) => {
      const key = await mint("app_specific_key", ["Predict"], "workload");
      const res = await call("POST", "/v1/credentials", {
        kind: "app_key",
        user_id: USER,
        value: key.id,
        manager_id: managerId,
        policy: { grace_hours: 0, ...policy },
      });
      assert.equal(res.status, 201, res.text);
      return { key, id: res.json.credential.id as string };
    };

    await t.step("a signed compromise alert revokes the leaked key first, then replaces it", async () => {
      const { key, id } = await managedKey({ grace_hours: 24 });
      const mark = (await clarifaiState()).calls.length;
      const body = JSON.stringify({ credential_id: id, reason: "found in a paste", source: "siem" });
      const headers = await signedAlert(body);
      const res = await call("POST", "/hooks/alerts", body, headers);
      assert.equal(res.status, 202, res.text);
      contained = { credentialId: id, rotationId: res.json.rotation_id };
      // The webhook-id is claimed in the Deno KV ledger: the same delivery again is refused.
      const replay = await call("POST", "/hooks/alerts", body, headers);
      assert.equal(replay.status, 401);
      assert.equal(replay.json.error.code, "replayed");
      const cred = await settled(id);
      assert.equal(cred.last_rotation.state, "done");
      assert.equal(cred.last_rotation.reason, "compromise");
      const state = await clarifaiState();
      assert.ok(!state.keys.some((k) => k.id === key.id), "the leaked key still exists");
      const calls = state.calls.slice(mark).map((c) => `${c.method} ${c.path}`);
      const del = calls.findIndex((c) => c.startsWith("DELETE") && c.endsWith(`/keys/${key.id}`));
      const create = calls.findIndex((c) => c.startsWith("POST") && c.endsWith("/keys"));
      assert.ok(del >= 0 && create > del, `revoke before create: ${calls.join(", ")}`);
      const fresh = state.keys.filter((k) => String(k.description).includes(cred.last_rotation.id));
      assert.equal(fresh.length, 1);
      secrets.push(fresh[0].id);
      // The bus (Deno KV queue) carried the events to the auditor. Each is its own queue message,
      // delivered in no set order, so wait for all four rather than for the last one sent.
      const wanted = ["credential.compromised", "rotation.step", "credential.revoked", "rotation.completed"];
      await waitFor(`the audit trail to hold ${wanted.join(", ")}`, async () => {
        const types = (await call("GET", `/v1/audit?credential_id=${id}`)).json.entries.map((e: any) => e.type);
        return wanted.every((type) => types.includes(type));
      });
      const forged = await call("POST", "/hooks/alerts", body, {
        ...(await signedAlert(body)),
        "webhook-signature": "v1,AAAA",
      });
      assert.equal(forged.status, 401);
    });

    await t.step("containment time, GET /v1/summary and the dashboard's pages over Deno KV", async () => {
      assert.ok(contained, "the alert step ran first");
      const rotation = (await call("GET", `/v1/rotations/${contained.rotationId}`)).json.rotation;
      assert.equal(rotation.reason, "compromise");
      assert.equal(rotation.containment_ms, Date.parse(rotation.contained_at) - Date.parse(rotation.alert_received_at));
      assert.ok(rotation.containment_ms >= 0 && rotation.containment_ms < 10_000, String(rotation.containment_ms));
      // The stats handler (Deno KV atomic operations) counts it from the queue.
      const summary = await waitFor("the summary's containment point", async () => {
        const s = (await call("GET", "/v1/summary")).json;
        const point = s.last_30_days.containment.points.some((p: any) => p.rotation_id === rotation.id);
        return point && s.last_30_days.by_reason.compromise === 1 ? s : undefined;
      });
      assert.equal(summary.last_30_days.containment.median_ms, rotation.containment_ms);
      assert.deepEqual(summary.key_versions, [{ version: 1, credentials: summary.credentials.total }]);
      assert.equal((await call("GET", "/v1/summary?x=1")).status, 400);
      const signIn = await fetch(`${server.url}/ui/sign-in`, {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token: ADMIN_TOKEN }).toString(),
      });
      await signIn.body?.cancel();
      const cookie = /(__Host-rekey_session=[^;]*)/.exec(signIn.headers.get("set-cookie") ?? "")?.[1];
      assert.ok(cookie, "signed in");
      const page = async (path: string) => {
        const res = await fetch(`${server.url}${path}`, { headers: { cookie } });
        const text = await res.text();
        bodies.push(text);
        assert.equal(res.status, 200, text);
        return text;
      };
      const home = await page("/ui");
      assert.match(home, new RegExp(`<circle[^>]*data-rotation="${rotation.id}" data-ms="${rotation.containment_ms}"`));
      assert.ok(home.includes(`data-figure="credentials.active">${summary.credentials.active}<`));
      const maintenance = await page("/ui/maintenance");
      assert.ok(maintenance.includes('data-field="current-version">1<'));
      assert.ok(maintenance.includes(`data-key-version="1" data-credentials="${summary.credentials.total}"`));
    });

    await t.step("a manual rotation through the admin API", async () => {
      const { key, id } = await managedKey();
      const started = await call("POST", `/v1/credentials/${id}/rotate`);
      assert.equal(started.status, 202, started.text);
      assert.equal(started.json.rotation.reason, "manual");
      const rotationId = started.json.rotation.id as string;
      const done = await waitFor(
        "the rotation to finish",
        async () => {
          const r = await call("GET", `/v1/rotations/${rotationId}`);
          return r.status === 200 && r.json.rotation.state !== "running" ? r.json.rotation : undefined;
        },
        20_000,
        50,
      );
      assert.equal(done.state, "done");
      const state = await clarifaiState();
      const fresh = state.keys.filter((k) => String(k.description).includes(rotationId));
      assert.equal(fresh.length, 1);
      secrets.push(fresh[0].id);
      // grace_hours 0: the old value is revoked as the rotation's last step.
      assert.ok(!state.keys.some((k) => k.id === key.id), "the old key still exists");
      const cred = (await call("GET", `/v1/credentials/${id}`)).json.credential;
      assert.equal(cred.previous.length, 1);
      assert.equal(cred.last_rotation.id, rotationId);
    });

    await t.step("a sweep revokes a credential past its expiry, as GET /v1/plan said it would", async () => {
      const { key, id } = await managedKey({ expires_at: "2026-01-01T00:00:00Z" });
      const plan = await call("GET", "/v1/plan");
      assert.ok(
        plan.json.plan.some((p: any) => p.credential_id === id && p.rule === "expired" && p.action === "revoke"),
        plan.text,
      );
      const tick = await fetch(`${server.url}/__scheduled`);
      assert.equal(tick.status, 200);
      await tick.body?.cancel();
      await waitFor(
        "the sweep to revoke it",
        async () => (await call("GET", `/v1/credentials/${id}`)).json.credential.state === "revoked",
        20_000,
        100,
      );
      assert.ok(!(await clarifaiState()).keys.some((k) => k.id === key.id));
    });

    await t.step("50 concurrent alerts for one leaked value make exactly one rotation", async () => {
      const { key, id } = await managedKey();
      const mark = (await clarifaiState()).calls.length;
      const body = JSON.stringify({ value: key.id, source: "siem" });
      const results = await Promise.all(
        Array.from({ length: 50 }, async () => call("POST", "/hooks/alerts", body, await signedAlert(body))),
      );
      assert.deepEqual([...new Set(results.map((r) => r.status))], [202], results.map((r) => r.text).join("\n"));
      const rotationIds = new Set(results.flatMap((r) => (r.json.rotation_id ? [r.json.rotation_id] : [])));
      assert.equal(rotationIds.size, 1, `rotations: ${[...rotationIds].join(", ")}`);
      const cred = await settled(id);
      assert.equal(cred.last_rotation.id, [...rotationIds][0]);
      const state = await clarifaiState();
      const calls = state.calls.slice(mark);
      assert.equal(
        calls.filter((c) => c.method === "DELETE" && c.status === 200 && c.path.endsWith(`/keys/${key.id}`)).length,
        1,
      );
      assert.equal(
        calls.filter((c) => c.method === "POST" && c.path.endsWith("/keys") && c.status === 200).length,
        1,
        "one new key minted",
      );
      const fresh = state.keys.filter((k) => String(k.description).includes(cred.last_rotation.id));
      assert.equal(fresh.length, 1);
      secrets.push(fresh[0].id);
      assert.equal((await call("GET", `/v1/credentials/${id}`)).json.credential.previous.length, 1);
    });

    await t.step("no secret value in any response or log line", async () => {
      bodies.push((await call("GET", "/v1/audit?limit=1000")).text);
      const seen = bodies.join("\n") + server.output();
      secrets.forEach((s, i) =>
        assert.ok(!seen.includes(s), `secret #${i} leaked into a response or the server's output`)
      );
    });
  } catch (error) {
    console.error(`--- Deno server output ---\n${server.output()}`);
    throw error;
  } finally {
    await server.stop();
    await clarifai.shutdown();
  }
});
