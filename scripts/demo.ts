/**
 * `npm run demo`: the product in one minute, against the local stack (started if needed).
 *   1. register the emulator's demo manager PAT and an app key with a Clarifai-secret sink;
 *   2. rotate the app key and show what changed at the (emulated) Clarifai;
 *   3. revoke it.
 * Tokens are shown masked: the demo practises what the product preaches.
 */
import { ensureDevVars, loadLocalConfig } from "./lib/local-config.ts";
import { ensureStack, mask, root } from "./lib/stack.ts";

const base = `http://127.0.0.1:${process.env.PORT ?? 8787}`;
ensureDevVars(root);
const { merged } = loadLocalConfig(root);
const token = merged.REKEY_ADMIN_TOKEN!;
const stack = await ensureStack(base);
const clarifai = stack.upstream;
const user = "demo";
const app = "demo-app";
let step = 0;
const say = (text: string) => console.log(`\n${++step}. ${text}`);
const ok = (text: string) => console.log(`   ✓ ${text}`);

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const json = (await res.json()) as any;
  return { status: res.status, json };
}

async function emulator(path: string, body?: unknown, auth?: string, method = body ? "POST" : "GET") {
  const res = await fetch(`${clarifai}${path}`, {
    method,
    headers: { ...(body ? { "content-type": "application/json" } : {}), ...(auth ? { authorization: `Key ${auth}` } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return (await res.json()) as any;
}

async function waitFor(rotationId: string) {
  for (let i = 0; i < 200; i++) {
    const r = await api("GET", `/v1/rotations/${rotationId}`);
    if (r.json.rotation?.state !== "running") return r.json.rotation;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error("rotation did not finish");
}

function expect(cond: boolean, what: string) {
  if (!cond) {
    console.error(`   ✗ ${what}`);
    stack.stop();
    process.exit(1);
  }
  ok(what);
}

try {
  if (!clarifai.startsWith("http://127.0.0.1")) throw new Error(`The demo needs the local emulator; rekey points at ${clarifai}`);
  const managerPat = merged.EMULATOR_SEED_PAT!;

  say(`Register the demo manager PAT (${mask(managerPat)}) of user "${user}"`);
  let manager = await api("POST", "/v1/credentials", { kind: "pat", user_id: user, value: managerPat, description: "demo manager" });
  if (manager.status === 409) manager = await api("GET", `/v1/credentials/${manager.json.error.credential_id}`);
  else expect(manager.status === 201, `registered as ${manager.json.credential?.id}`);
  const managerId = manager.json.credential.id;

  say("Mint a workload app key at Clarifai and a secret that workflows read it from");
  const minted = (await emulator(`/_emulator/users/${user}/keys`, { type: "app_specific_key", scopes: ["Predict", "Inputs_Get"], apps: [{ id: app, user_id: user }], description: "demo workload key" })).key;
  const sinkId = `DEMO_APP_KEY_${Date.now()}`;
  await emulator(`/v2/users/${user}/secrets`, { secrets: [{ id: sinkId, value: minted.id }] }, managerPat);
  ok(`app key ${mask(minted.id)} with scopes ${minted.scopes.join(", ")}; secret ${sinkId} holds it`);

  say("Register the app key with rekey, the secret as its sink");
  const reg = await api("POST", "/v1/credentials", {
    kind: "app_key", user_id: user, value: minted.id, manager_id: managerId, description: "demo workload key",
    policy: { max_age_days: 30, grace_hours: 0, on_compromise: "rotate" },
    sinks: [{ type: "clarifai_secret", user_id: user, secret_id: sinkId }],
  });
  expect(reg.status === 201, `registered as ${reg.json.credential?.id} (fingerprint ${reg.json.credential?.fingerprint})`);
  const credId = reg.json.credential.id;

  say("Rotate it");
  const started = await api("POST", `/v1/credentials/${credId}/rotate`);
  expect(started.status === 202, `rotation ${started.json.rotation.id} accepted, plan ${started.json.rotation.plan.join(" → ")}`);
  const done = await waitFor(started.json.rotation.id);
  expect(done.state === "done", `rotation finished: ${done.state}`);

  say("Check Clarifai (the emulator)");
  const keys = (await emulator(`/v2/users/${user}/keys?per_page=1000&type=app_specific_key`, undefined, managerPat)).keys as any[];
  const fresh = keys.find((k) => String(k.description).includes(done.id));
  expect(!keys.some((k) => k.id === minted.id), `old key ${mask(minted.id)} is deleted`);
  expect(!!fresh, `exactly one new key ${fresh ? mask(fresh.id) : "?"} carries the rotation id`);
  expect(JSON.stringify(fresh.scopes) === JSON.stringify(minted.scopes), `same scopes: ${fresh.scopes.join(", ")}`);
  expect(JSON.stringify((fresh.apps ?? []).map((a: any) => a.id)) === JSON.stringify([app]), `same app: ${app}`);
  const secret = (await emulator(`/v2/users/${user}/secrets/${sinkId}`, undefined, managerPat)).secret;
  expect(secret.value === fresh.id, `secret ${sinkId} now holds the new key`);

  say("Revoke it");
  const revoke = await api("POST", `/v1/credentials/${credId}/revoke`);
  const revoked = await waitFor(revoke.json.rotation.id);
  expect(revoked.state === "done", "revocation finished");
  const after = (await emulator(`/v2/users/${user}/keys?per_page=1000&type=app_specific_key`, undefined, managerPat)).keys as any[];
  expect(!after.some((k) => k.id === fresh.id), `key ${mask(fresh.id)} is deleted at Clarifai`);
  const final = await api("GET", `/v1/credentials/${credId}`);
  expect(final.json.credential.state === "revoked", "rekey keeps the record as revoked for the audit trail");

  console.log("\nDemo finished.");
  stack.stop();
  process.exit(0);
} catch (error) {
  console.error(`\nDemo failed: ${error instanceof Error ? error.message : String(error)}`);
  stack.stop();
  process.exit(1);
}
