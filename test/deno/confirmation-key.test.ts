/**
 * One key per purpose on Deno: the real entry point (src/deno.ts, its own process) derives the
 * chat confirmation key at start (src/services.ts), shared with the Worker. A confirmation MACed
 * with the fingerprint key over the label-prefixed message (what a managed secret holding that
 * message would have as its fingerprint in storage) is refused; a confirmation rekey minted
 * itself still works, so minting and checking agree on the derived key.
 */
import assert from "node:assert/strict";
import { createEmulator } from "../../emulator/src/index.ts";
import { decodeHex, encodeBase64Url } from "../../src/core/crypto/encoding.ts";
import { fingerprintWith } from "../support/fingerprint.ts";
import { signSlackRequest } from "../../scripts/lib/slack-signer.ts";
import { startDenoServer } from "./deno-server.ts";
import { waitFor } from "./wait-for.ts";

// Test-only secrets (the same as vitest.config.ts): public, never used outside tests.
const ADMIN_TOKEN = "test-admin-token-0123456789-abcdefghij";
const FINGERPRINT_KEY = "dGVzdC1maW5nZXJwcmludC1rZXktMzItYnl0ZXMhISE=";
const SLACK_SECRET = "test-slack-signing-secret-0123456789";
const ALICE = "UALICE01";
const BOB = "UBOB0002";
const USER = "deno-confirm";

Deno.test("rekey on Deno: chat confirmations use their own key, not the fingerprint key", async () => {
  const emulator = createEmulator();
  const clarifai = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => emulator.app.fetch(req));
  const clarifaiUrl = `http://127.0.0.1:${clarifai.addr.port}`;
  // Stands in for Slack's response_url host.
  const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => new Response("ok"));
  const receiverUrl = `http://127.0.0.1:${receiver.addr.port}`;
  const server = await startDenoServer({
    REKEY_ADMIN_TOKEN: ADMIN_TOKEN,
    REKEY_ENCRYPTION_KEYS: JSON.stringify({ 1: "dGVzdC1rZXktdmVyc2lvbi1vbmUtMzItYnl0ZXMhISE=" }),
    REKEY_FINGERPRINT_KEY: FINGERPRINT_KEY,
    CLARIFAI_API_BASE: clarifaiUrl,
    CLARIFAI_TIMEOUT_MS: "3000",
    REKEY_BUS_RETRY_BASE_SECONDS: "1",
    REKEY_DENO_KV_PATH: ":memory:",
    SLACK_SIGNING_SECRET: SLACK_SECRET,
    SLACK_ALLOWED_USERS: `${ALICE},${BOB}`,
    SLACK_RESPONSE_ORIGINS: receiverUrl,
    CHATOPS_TWO_PERSON: "true",
  });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, json: await res.json() };
  };
  const control = async (path: string, body: unknown) =>
    (await emulator.fetch(`${clarifaiUrl}/_emulator/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    })).json();
  const slack = async (path: string, form: URLSearchParams) => {
    const body = form.toString();
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = await signSlackRequest({ signingSecret: SLACK_SECRET, timestamp, body });
    const res = await fetch(`${server.url}${path}`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": String(timestamp),
        "x-slack-signature": signature,
      },
      body,
    });
    return { refusal: res.headers.get("x-rekey-refusal"), json: await res.json() };
  };
  const click = (user: string, token: string) =>
    slack(
      "/chatops/slack/interactions",
      new URLSearchParams({
        payload: JSON.stringify({
          type: "block_actions",
          user: { id: user, username: user.toLowerCase(), team_id: "T0REKEY" },
          team: { id: "T0REKEY" },
          trigger_id: `${Date.now()}.1`,
          response_url: `${receiverUrl}/response/${crypto.randomUUID()}`,
          actions: [{
            type: "button",
            action_id: "rekey_confirm",
            block_id: "b1",
            value: token,
            action_ts: String(Date.now() / 1000),
          }],
        }),
      }),
    );

  try {
    await control("users", { id: USER });
    await control(`users/${USER}/apps`, { id: "app1" });
    const manager = (await control(`users/${USER}/keys`, {
      type: "personal_access_token",
      scopes: ["All"],
      description: "manager",
      apps: [],
    })).key;
    const key = (await control(`users/${USER}/keys`, {
      type: "app_specific_key",
      scopes: ["Predict"],
      description: "w",
      apps: [{ id: "app1", user_id: USER }],
    })).key;
    const m = await call("POST", "/v1/credentials", { kind: "pat", user_id: USER, value: manager.id });
    assert.equal(m.status, 201);
    const reg = await call("POST", "/v1/credentials", {
      kind: "app_key",
      user_id: USER,
      value: key.id,
      manager_id: m.json.credential.id,
      policy: { grace_hours: 0 },
    });
    assert.equal(reg.status, 201);
    const id = reg.json.credential.id as string;
    const prefix = (reg.json.credential.fingerprint as string).slice(0, 8);

    // The forgery: "Alice asks to revoke", MACed as a fingerprint of the label-prefixed body is.
    const body = ["v", id, (Math.floor(Date.now() / 1000) + 600).toString(36), prefix, "abcdef", ALICE].join("|");
    const fp = decodeHex(await fingerprintWith(FINGERPRINT_KEY, `rekey.chatops.confirm.v1|slack|${body}`));
    assert.ok(fp.ok);
    const forged = await click(BOB, `${body}|${encodeBase64Url(fp.value.slice(0, 12))}`);
    assert.equal(forged.refusal, "confirmation_invalid");
    assert.equal((await call("GET", `/v1/credentials/${id}`)).json.credential.state, "active");

    // The real thing: Alice asks, Bob confirms, the key is revoked.
    const ask = await slack(
      "/chatops/slack/commands",
      new URLSearchParams({
        team_id: "T0REKEY",
        channel_id: "C0",
        user_id: ALICE,
        user_name: "alice",
        command: "/rekey",
        text: `revoke ${id}`,
        response_url: `${receiverUrl}/response/${crypto.randomUUID()}`,
        trigger_id: `${Date.now()}.2`,
      }),
    );
    const actions = ask.json.blocks.find((b: any) => b.type === "actions");
    const token = actions.elements.find((e: any) => e.action_id === "rekey_confirm").value as string;
    const confirmed = await click(BOB, token);
    assert.equal(confirmed.refusal, null);
    await waitFor(
      "the revocation",
      async () => (await call("GET", `/v1/credentials/${id}`)).json.credential.state === "revoked",
      20_000,
      100,
    );
  } catch (error) {
    console.error(`--- Deno server output ---\n${server.output()}`);
    throw error;
  } finally {
    await server.stop();
    await receiver.shutdown();
    await clarifai.shutdown();
  }
});
