/**
 * `npm run demo`: the product in one minute, against the local stack (started if needed).
 *   1. register the emulator's demo manager PAT and an app key with a Clarifai-secret sink;
 *   2. rotate the app key and show what changed at the (emulated) Clarifai;
 *   3. revoke it;
 *   4. leak another one: a signed GitHub secret scanning alert → revoked and replaced, timed;
 *   4b. a leak found in your own repository (GitHub secret scanning, the local GitHub emulator):
 *      key revoked at Clarifai → replacement written to an Actions secret → the alert shows "revoked";
 *   4c. pull: a consumer Worker (clients/worker/example/, a second wrangler dev bound to rekey's
 *      RekeyCredentials entrypoint) reads its key over the service binding before and after a rotation;
 *   5. chatops: a signed Slack `/rekey revoke <id>` from Alice, her own confirm click refused
 *      (two-person rule), Bob's click revokes, and the message rekey posts back is printed
 *      (the demo serves the response_url itself).
 * Tokens are shown masked: the demo practises what the product preaches.
 */
import { ensureDevVars, loadLocalConfig } from "./lib/local-config.ts";
import { DEMO_GITHUB_KEY_ID, DEMO_GITHUB_PRIVATE_PKCS8 } from "./lib/demo-github-key.ts";
import { p1363ToDer } from "./lib/der-encode.ts";
import { encodeBase64 } from "../src/core/crypto/encoding.ts";
import { ensureStack, mask, root } from "./lib/stack.ts";
import { clarifaiTarget } from "./lib/clarifai-target.ts";
import { parseDotenv } from "../src/adapters/dotenv.ts";
import { readFileSync } from "node:fs";
import { startDemoResponseUrl } from "./lib/demo-slack.ts";
import { startDemoConsumer } from "./lib/demo-consumer.ts";
import { signSlackRequest } from "./lib/slack-signer.ts";
import { DEFAULT_GITHUB_EMULATOR_PORT, DEMO_GITHUB } from "./lib/github-dev.ts";

const base = `http://127.0.0.1:${process.env.PORT ?? 8787}`;
ensureDevVars(root);
const { merged } = loadLocalConfig(root);
const token = merged.REKEY_ADMIN_TOKEN!;
const stack = await ensureStack(base);
// /healthz no longer says where Clarifai is; the demo works it out as npm start does.
const target = clarifaiTarget(parseDotenv(readFileSync(`${root}/.dev.vars`, "utf8")), process.env);
const clarifai = target.useEmulator
  ? `http://127.0.0.1:${target.emulatorPort}`
  : (target.apiBase ?? "https://api.clarifai.com");
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
    headers: {
      ...(body ? { "content-type": "application/json" } : {}),
      ...(auth ? { authorization: `Key ${auth}` } : {}),
    },
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

/** Plays GitHub: ECDSA P-256 over the raw body, DER-encoded, base64 (the dev-only demo key). */
async function signAsGithub(body: string): Promise<string> {
  const der = Uint8Array.from(Buffer.from(DEMO_GITHUB_PRIVATE_PKCS8, "base64"));
  const key = await crypto.subtle.importKey("pkcs8", der, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
  const raw = new Uint8Array(
    await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, new TextEncoder().encode(body)),
  );
  return encodeBase64(p1363ToDer(raw));
}

try {
  if (!stack.clarifaiEmulator || !clarifai.startsWith("http://127.0.0.1")) {
    throw new Error(
      `The demo needs the local emulator; rekey points at ${stack.clarifaiEmulator ? clarifai : "a real Clarifai"}`,
    );
  }
  const managerPat = merged.EMULATOR_SEED_PAT!;

  say(`Register the demo manager PAT (${mask(managerPat)}) of user "${user}"`);
  let manager = await api("POST", "/v1/credentials", {
    kind: "pat",
    user_id: user,
    value: managerPat,
    description: "demo manager",
  });
  if (manager.status === 409) manager = await api("GET", `/v1/credentials/${manager.json.error.credential_id}`);
  else expect(manager.status === 201, `registered as ${manager.json.credential?.id}`);
  const managerId = manager.json.credential.id;

  say("Mint a workload app key at Clarifai and a secret that workflows read it from");
  const minted = (await emulator(`/_emulator/users/${user}/keys`, {
    type: "app_specific_key",
    scopes: ["Predict", "Inputs_Get"],
    apps: [{ id: app, user_id: user }],
    description: "demo workload key",
  })).key;
  const sinkId = `DEMO_APP_KEY_${Date.now()}`;
  await emulator(`/v2/users/${user}/secrets`, { secrets: [{ id: sinkId, value: minted.id }] }, managerPat);
  ok(`app key ${mask(minted.id)} with scopes ${minted.scopes.join(", ")}; secret ${sinkId} holds it`);

  say("Register the app key with rekey, the secret as its sink");
  const reg = await api("POST", "/v1/credentials", {
    kind: "app_key",
    user_id: user,
    value: minted.id,
    manager_id: managerId,
    description: "demo workload key",
    policy: { max_age_days: 30, grace_hours: 0, on_compromise: "rotate" },
    sinks: [{ type: "clarifai_secret", user_id: user, secret_id: sinkId }],
  });
  expect(
    reg.status === 201,
    `registered as ${reg.json.credential?.id} (fingerprint ${reg.json.credential?.fingerprint})`,
  );
  const credId = reg.json.credential.id;

  say("Rotate it");
  const started = await api("POST", `/v1/credentials/${credId}/rotate`);
  expect(
    started.status === 202,
    `rotation ${started.json.rotation.id} accepted, plan ${started.json.rotation.plan.join(" → ")}`,
  );
  const done = await waitFor(started.json.rotation.id);
  expect(done.state === "done", `rotation finished: ${done.state}`);

  say("Check Clarifai (the emulator)");
  const keys = (await emulator(`/v2/users/${user}/keys?per_page=1000&type=app_specific_key`, undefined, managerPat))
    .keys as any[];
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
  const after = (await emulator(`/v2/users/${user}/keys?per_page=1000&type=app_specific_key`, undefined, managerPat))
    .keys as any[];
  expect(!after.some((k) => k.id === fresh.id), `key ${mask(fresh.id)} is deleted at Clarifai`);
  const final = await api("GET", `/v1/credentials/${credId}`);
  expect(final.json.credential.state === "revoked", "rekey keeps the record as revoked for the audit trail");

  say("Leak: GitHub secret scanning reports another managed key found in a public repository");
  const leaked = (await emulator(`/_emulator/users/${user}/keys`, {
    type: "app_specific_key",
    scopes: ["Predict"],
    apps: [{ id: app, user_id: user }],
    description: "leaky workload key",
  })).key;
  const leakSink = `DEMO_LEAKY_KEY_${Date.now()}`;
  await emulator(`/v2/users/${user}/secrets`, { secrets: [{ id: leakSink, value: leaked.id }] }, managerPat);
  const leakReg = await api("POST", "/v1/credentials", {
    kind: "app_key",
    user_id: user,
    value: leaked.id,
    manager_id: managerId,
    description: "leaky workload key",
    policy: { grace_hours: 24, on_compromise: "rotate" },
    sinks: [{ type: "clarifai_secret", user_id: user, secret_id: leakSink }],
  });
  expect(leakReg.status === 201, `registered ${mask(leaked.id)} as ${leakReg.json.credential?.id}`);
  const leakId = leakReg.json.credential.id;
  const alertBody = JSON.stringify([{
    token: leaked.id,
    type: "clarifai_api_key",
    url: "https://github.com/octo/app/blob/main/.env",
    source: "content",
  }]);
  const signature = await signAsGithub(alertBody);
  const sentAt = Date.now();
  const alert = await fetch(`${base}/hooks/github/secret-scanning`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "github-public-key-identifier": DEMO_GITHUB_KEY_ID,
      "github-public-key-signature": signature,
    },
    body: alertBody,
  });
  const feedback = (await alert.json()) as any[];
  expect(
    alert.status === 200 && feedback[0]?.label === "true_positive",
    `GitHub gets its feedback: ${feedback[0]?.label} (token sent back only as a SHA-256 hash)`,
  );
  let deletedAt: number | undefined;
  for (let i = 0; i < 400 && deletedAt === undefined; i++) {
    const calls = (await emulator("/_emulator/state")).calls as any[];
    const del = calls.find((c) => c.method === "DELETE" && c.path.endsWith(`/keys/${leaked.id}`) && c.status === 200);
    if (del) deletedAt = Date.parse(del.time);
    else await new Promise((r) => setTimeout(r, 10));
  }
  expect(deletedAt !== undefined, `leaked key deleted at Clarifai ${deletedAt! - sentAt} ms after the alert was sent`);
  let settledCred: any;
  for (let i = 0; i < 200; i++) {
    settledCred = (await api("GET", `/v1/credentials/${leakId}`)).json.credential;
    if (!settledCred.current_rotation_id && settledCred.last_rotation) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(settledCred.last_rotation?.state === "done", `compromise rotation ${settledCred.last_rotation?.id} done`);
  const leakKeys = (await emulator(`/v2/users/${user}/keys?per_page=1000&type=app_specific_key`, undefined, managerPat))
    .keys as any[];
  const replacement = leakKeys.find((k) => String(k.description).includes(settledCred.last_rotation.id));
  expect(
    !!replacement,
    `replacement ${replacement ? mask(replacement.id) : "?"} in place with scopes ${replacement?.scopes?.join(", ")}`,
  );
  const leakSecret = (await emulator(`/v2/users/${user}/secrets/${leakSink}`, undefined, managerPat)).secret;
  expect(leakSecret.value === replacement.id, `secret ${leakSink} updated to the replacement`);
  let chain: string[] = [];
  for (let i = 0; i < 100 && !chain.includes("rotation.completed"); i++) {
    chain = ((await api("GET", `/v1/audit?credential_id=${leakId}`)).json.entries as any[]).map((e) => e.type);
    if (!chain.includes("rotation.completed")) await new Promise((r) => setTimeout(r, 100));
  }
  expect(chain.includes("rotation.completed"), `audit trail: ${[...new Set(chain)].join(" → ")}`);

  say(`Leak in your own repository: GitHub secret scanning finds a managed key in ${DEMO_GITHUB.repository}`);
  const githubEmulator = `http://127.0.0.1:${process.env.GITHUB_EMULATOR_PORT ?? DEFAULT_GITHUB_EMULATOR_PORT}`;
  const github = async (path: string, body?: unknown) => {
    const res = await fetch(`${githubEmulator}/_emulator/${path}`, {
      method: body === undefined ? "GET" : "POST",
      ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
    });
    return res.json() as Promise<any>;
  };
  const githubUp = await fetch(`${githubEmulator}/_emulator/state?owner=${DEMO_GITHUB.org}`).then(
    (r) => r.ok,
    () => false,
  );
  if (!githubUp || !merged.GITHUB_APP_PRIVATE_KEY) {
    console.log(
      "   (skipped: no local GitHub emulator, or your .dev.vars predates GitHub; copy its lines from .dev.vars.example)",
    );
  } else {
    const repoKey = (await emulator(`/_emulator/users/${user}/keys`, {
      type: "app_specific_key",
      scopes: ["Predict"],
      apps: [{ id: app, user_id: user }],
      description: "CI workflow key",
    })).key;
    const secretName = `CLARIFAI_KEY_${Date.now()}`;
    const repoReg = await api("POST", "/v1/credentials", {
      kind: "app_key",
      user_id: user,
      value: repoKey.id,
      manager_id: managerId,
      description: "CI workflow key",
      policy: { grace_hours: 0, on_compromise: "rotate" },
      sinks: [{ type: "github_actions_secret", repository: DEMO_GITHUB.repository, name: secretName }],
    });
    expect(
      repoReg.status === 201,
      `registered ${
        mask(repoKey.id)
      } as ${repoReg.json.credential?.id}, its Actions secret ${secretName} as a sink (pre-flight read the repository's public key)`,
    );
    const repoCred = repoReg.json.credential.id;
    // GitHub finds it and delivers the signed secret_scanning_alert webhook to rekey.
    const found = await github(`repos/${DEMO_GITHUB.repository}/alerts`, { secret: repoKey.id, deliver: true });
    expect(
      found.response?.status === 202,
      `GitHub delivered alert #${found.alert.number}; rekey answered ${found.response?.status}`,
    );
    let repoDone: any;
    for (let i = 0; i < 200 && !repoDone; i++) {
      const c = (await api("GET", `/v1/credentials/${repoCred}`)).json.credential;
      if (!c.current_rotation_id && c.last_rotation) repoDone = c;
      else await new Promise((r) => setTimeout(r, 50));
    }
    const afterKeys =
      (await emulator(`/v2/users/${user}/keys?per_page=1000&type=app_specific_key`, undefined, managerPat))
        .keys as any[];
    expect(!afterKeys.some((k) => k.id === repoKey.id), `leaked key ${mask(repoKey.id)} revoked at Clarifai`);
    const repoReplacement = afterKeys.find((k) => String(k.description).includes(repoDone?.last_rotation?.id));
    const ghSecret = (await github(`state?owner=${DEMO_GITHUB.org}`)).secrets.find((x: any) => x.name === secretName);
    expect(
      !!repoReplacement && ghSecret?.value === repoReplacement.id,
      `replacement ${
        repoReplacement ? mask(repoReplacement.id) : "?"
      } written to the Actions secret ${secretName} (sealed; the emulator opened it with libsodium)`,
    );
    let ghAlert: any;
    for (let i = 0; i < 200; i++) {
      ghAlert = (await github(`state?owner=${DEMO_GITHUB.org}`)).alerts.find((a: any) =>
        a.number === found.alert.number
      );
      if (ghAlert?.state === "resolved") break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(
      ghAlert?.state === "resolved" && ghAlert.resolution === "revoked",
      `the alert shows "${ghAlert?.resolution}": "${ghAlert?.resolution_comment}"`,
    );
  }

  say("Pull: a consumer Worker reads its key from rekey over a service binding, before and after a rotation");
  const pulled = (await emulator(`/_emulator/users/${user}/keys`, {
    type: "app_specific_key",
    scopes: ["Predict"],
    apps: [{ id: app, user_id: user }],
    description: "consumer Worker key",
  })).key;
  // npm start serves a Cloudflare API emulator beside Clarifai's: the same key also goes to the
  // Worker's own secret (a push sink), for Workers that read env.CLARIFAI_KEY instead of pulling.
  const cfState = await fetch(`${clarifai}/cloudflare/_emulator/state`).then(
    (r) => (r.ok ? r.json() : null),
    () => null,
  );
  const cfScript = (cfState as any)?.scripts?.find((x: any) => x.script === "demo-consumer");
  const workerSecret = cfScript
    ? {
      type: "cloudflare_worker_secret",
      account_id: cfScript.account_id,
      script: "demo-consumer",
      name: "CLARIFAI_KEY",
    }
    : undefined;
  const pullBody = {
    kind: "app_key",
    user_id: user,
    value: pulled.id,
    manager_id: managerId,
    description: "consumer Worker key",
    // Grace 0: the old key dies at the rotation, so the consumer's cached copy is refused once.
    policy: { grace_hours: 0 },
    consumers: ["demo-consumer"],
  };
  let pullReg = await api("POST", "/v1/credentials", {
    ...pullBody,
    ...(workerSecret ? { sinks: [workerSecret] } : {}),
  });
  const withSecret = workerSecret !== undefined && pullReg.status === 201;
  if (workerSecret && !withSecret) {
    // A stack started before the Worker secret sink existed has no CLOUDFLARE_API_TOKEN: pull only.
    console.log(
      `   (no Worker secret sink: ${pullReg.json.error?.code}; restart npm start to get the Cloudflare emulator)`,
    );
    pullReg = await api("POST", "/v1/credentials", pullBody);
  }
  expect(
    pullReg.status === 201,
    `registered ${mask(pulled.id)} as ${pullReg.json.credential?.id}, consumers: demo-consumer${
      withSecret ? ", sink: the Worker's secret CLARIFAI_KEY" : ""
    }`,
  );
  const pullId = pullReg.json.credential.id;
  const consumer = await startDemoConsumer(clarifai);
  try {
    const before = await consumer.read(pullId);
    expect(
      before.clarifai_status === 200 && before.fingerprint_prefix === pullReg.json.credential.fingerprint,
      `the consumer Worker (${consumer.url}) reads key ${before.fingerprint_prefix}… over the binding; Clarifai answers ${before.clarifai_status}`,
    );
    const pullRot = await api("POST", `/v1/credentials/${pullId}/rotate`);
    const pullDone = await waitFor(pullRot.json.rotation.id);
    expect(pullDone.state === "done", `rotated: ${pullDone.old_fingerprint}… → ${pullDone.new_fingerprint}…`);
    const after = await consumer.read(pullId);
    expect(
      after.clarifai_status === 200 && after.fingerprint_prefix === pullDone.new_fingerprint,
      `the consumer now uses ${after.fingerprint_prefix}…: Clarifai refused its cached key, it read the new one and retried (${after.attempts} calls), no redeploy`,
    );
    if (withSecret) {
      const cf = (await fetch(`${clarifai}/cloudflare/_emulator/state`).then((r) => r.json())) as any;
      const secret = cf.scripts.find((x: any) => x.script === "demo-consumer").secrets.find((x: any) =>
        x.name === "CLARIFAI_KEY"
      );
      const fresh =
        ((await emulator(`/v2/users/${user}/keys?per_page=1000&type=app_specific_key`, undefined, managerPat))
          .keys as any[]).find((k) => String(k.description).includes(pullDone.id));
      expect(
        secret?.text === fresh?.id,
        `and the Worker's secret CLARIFAI_KEY holds the new key ${
          mask(fresh?.id ?? "")
        } too (PUT …/workers/scripts/demo-consumer/secrets, version ${secret?.version})`,
      );
    }
    const readers = (await api("GET", `/v1/credentials/${pullId}`)).json.credential.readers as any[];
    expect(
      readers.some((r) => r.consumer === "demo-consumer" && r.current),
      `GET /v1/credentials/${pullId} shows demo-consumer last read ${
        readers[0]?.fingerprint
      }… (the current value); each first read is audited as credential.read`,
    );
  } finally {
    consumer.stop();
  }

  say("Chatops: Alice types `/rekey revoke <id>` in Slack; the two-person rule wants Bob to confirm");
  const slackSecret = merged.SLACK_SIGNING_SECRET;
  if (!slackSecret || !merged.SLACK_RESPONSE_ORIGINS?.includes("127.0.0.1:8790")) {
    console.log("   (skipped: your .dev.vars predates chatops; copy the Slack lines from .dev.vars.example)");
  } else {
    const chatKey = (await emulator(`/_emulator/users/${user}/keys`, {
      type: "app_specific_key",
      scopes: ["Predict"],
      apps: [{ id: app, user_id: user }],
      description: "chatops demo key",
    })).key;
    const chatReg = await api("POST", "/v1/credentials", {
      kind: "app_key",
      user_id: user,
      value: chatKey.id,
      manager_id: managerId,
      description: "chatops demo key",
      policy: { grace_hours: 0 },
    });
    const chatId = chatReg.json.credential.id;
    ok(`registered ${mask(chatKey.id)} as ${chatId}`);
    const inbox = await startDemoResponseUrl(8790);
    const slackPost = async (path: string, body: string) => {
      const timestamp = Math.floor(Date.now() / 1000);
      const signature = await signSlackRequest({ signingSecret: slackSecret, timestamp, body });
      const res = await fetch(`${base}${path}`, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "x-slack-request-timestamp": String(timestamp),
          "x-slack-signature": signature,
        },
        body,
      });
      return {
        status: res.status,
        refusal: res.headers.get("x-rekey-refusal"),
        json: (await res.json().catch(() => ({}))) as any,
      };
    };
    const click = (userId: string, value: string) =>
      new URLSearchParams({
        payload: JSON.stringify({
          type: "block_actions",
          user: { id: userId },
          response_url: inbox.url("click"),
          actions: [{ action_id: "rekey_confirm", value }],
        }),
      }).toString();
    const ask = await slackPost(
      "/chatops/slack/commands",
      new URLSearchParams({
        command: "/rekey",
        text: `revoke ${chatId}`,
        user_id: "UDEMOALICE",
        response_url: inbox.url("command"),
      }).toString(),
    );
    expect(
      ask.status === 200 && ask.json.response_type === "ephemeral",
      `Alice gets an answer at once: "${ask.json.text}"`,
    );
    const prompt = await inbox.waitFor((m) => m.response_type === "in_channel");
    expect(!!prompt.blocks, "and the channel gets the prompt with Revoke / Cancel buttons, for a colleague to approve");
    const value = prompt.blocks.find((b: any) => b.type === "actions").elements[0].value as string;
    const own = await slackPost("/chatops/slack/interactions", click("UDEMOALICE", value));
    expect(own.refusal === "second_person_required", `Alice's own click is refused (${own.refusal})`);
    const bob = await slackPost("/chatops/slack/interactions", click("UDEMOBOB", value));
    expect(bob.status === 200 && !bob.refusal, `Bob confirms: "${bob.json.text}"`);
    const result = await inbox.waitFor((m) => String(m.text).includes("revoked"));
    expect(true, `rekey posted back to the response_url: "${result.text}" / ${result.blocks?.[1]?.text?.text ?? ""}`);
    const gone = (await emulator(`/v2/users/${user}/keys?per_page=1000&type=app_specific_key`, undefined, managerPat))
      .keys as any[];
    expect(!gone.some((k) => k.id === chatKey.id), `key ${mask(chatKey.id)} is deleted at Clarifai`);
    // A new second, so the click is a freshly signed request (the same signature would be refused
    // as a replayed request before the button was looked at): what refuses it is the button's single use.
    await new Promise((r) => setTimeout(r, 1_100));
    const replay = await slackPost("/chatops/slack/interactions", click("UDEMOBOB", value));
    expect(
      replay.refusal === "confirmation_used",
      `a replayed click is refused (${replay.refusal ?? `HTTP ${replay.status} ${JSON.stringify(replay.json)}`})`,
    );
    await inbox.close();
  }

  console.log("\nDemo finished.");
  stack.stop();
  process.exit(0);
} catch (error) {
  console.error(`\nDemo failed: ${error instanceof Error ? error.message : String(error)}`);
  stack.stop();
  process.exit(1);
}
