/**
 * The canary's own journey: one secret value (CANARY) is registered first and then driven
 * through every path that handles a value: listing and reading, the plan, the OpenAPI document,
 * a rotation to an operator-supplied value (a second canary), a Standard Webhooks alert carrying
 * the leaked value itself, a GitHub alert carrying the superseded one, chat status and rotate
 * commands, the dashboard's pages. Then every answer (bodies and headers), every log line, the
 * whole audit trail, every message the receiver got (Slack, signed webhooks, chat replies) and
 * every KV entry (records are sealed at rest) are searched: 0 hits for either value.
 */
import { env, exports } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { signedAlert } from "../support/signed-alert.ts";
import { ADMIN_TOKEN, call, responses } from "../support/api.ts";
import { canary } from "../support/canary.ts";
import { ALICE, responseUrl, slackSigned, slashCommand } from "../support/chat.ts";
import { freshTenant } from "../support/emulator-control.ts";
import { registerManager } from "../support/manager.ts";
import { signedGithubAlert } from "../support/github-test-key.ts";
import { CANARY, expectNoCanary, plantCanary, receiverTexts } from "./canary.ts";

/** The value the canary is rotated to: it must not leak either. */
const CANARY_NEXT = "sk-canary-next-0c4e8a2f6b1d9e3c7a5f0b8d2e6c4a1f";

let tenant: Awaited<ReturnType<typeof freshTenant>>;
let leaks: ReturnType<typeof canary>;
let credId: string;

beforeAll(async () => {
  leaks = canary();
  tenant = await freshTenant("canary");
  leaks.secrets.push(CANARY, CANARY_NEXT, tenant.manager.id, ADMIN_TOKEN);
  const managerId = await registerManager(tenant);
  const reg = await call("POST", "/v1/credentials", {
    kind: "secret",
    user_id: tenant.userId,
    secret_id: await plantCanary(tenant),
    manager_id: managerId,
    description: "the canary",
    policy: { grace_hours: 0 },
  });
  expect(reg.status).toBe(201);
  credId = reg.json.credential.id;
});

async function page(method: string, path: string, opts: { cookie?: string; form?: Record<string, string> } = {}) {
  const body = opts.form ? new URLSearchParams(opts.form).toString() : undefined;
  const res = await exports.default.fetch(`http://rekey.test${path}`, {
    method,
    redirect: "manual",
    headers: {
      ...(opts.cookie ? { cookie: opts.cookie } : {}),
      ...(body ? { "content-type": "application/x-www-form-urlencoded" } : {}),
    },
    ...(body ? { body } : {}),
  });
  const text = await res.text();
  responses.push({ method, path, status: res.status, headers: Object.fromEntries(res.headers), text, json: undefined });
  return {
    status: res.status,
    text,
    cookie: /(__Host-rekey_session=[^;]*)/.exec(res.headers.get("set-cookie") ?? "")?.[1],
  };
}

const settled = (id: string) =>
  vi.waitUntil(async () => (await call("GET", `/v1/credentials/${id}`)).json.credential.current_rotation_id === null, {
    timeout: 20_000,
    interval: 100,
  });

describe("the canary through every path", () => {
  it("is read, listed, planned and documented without appearing", async () => {
    for (
      const path of [
        `/v1/credentials/${credId}`,
        "/v1/credentials?limit=100",
        "/v1/plan",
        "/v1/audit?limit=1000",
        "/openapi.json",
        "/healthz",
      ]
    ) {
      expect((await call("GET", path)).status, path).toBe(200);
    }
  });

  it("is rotated to an operator-supplied value (the second canary)", async () => {
    const started = await call("POST", `/v1/credentials/${credId}/rotate`, { value: CANARY_NEXT });
    expect(started.status).toBe(202);
    await settled(credId);
    const cred = (await call("GET", `/v1/credentials/${credId}`)).json.credential;
    expect(cred.last_rotation).toMatchObject({ state: "done" });
    // The new value really is in Clarifai: the rotation did something worth searching.
    expect((await tenant.state()).secrets.find((s: any) => s.id === "CANARY_SECRET")?.value).toBe(CANARY_NEXT);
  });

  it("is reported leaked by value (Standard Webhooks) and by token (GitHub), and contained", async () => {
    const body = JSON.stringify({ value: CANARY_NEXT, reason: "pasted in a ticket", source: "siem" });
    const alert = await call("POST", "/hooks/alerts", body, await signedAlert(body));
    expect(alert.status).toBe(202);
    await settled(credId);
    const gh = JSON.stringify([{
      token: CANARY,
      type: "openai_api_key",
      url: "https://github.com/o/r/blob/main/.env",
      source: "content",
    }]);
    const github = await call("POST", "/hooks/github/secret-scanning", gh, {
      ...(await signedGithubAlert(gh)),
      authorization: "",
    });
    expect(github.status).toBe(200);
    expect(github.json[0].label).toBe("true_positive");
    await settled(credId);
    // A leaked secret with no generator is deleted: nothing of it is left at Clarifai.
    expect((await tenant.state()).secrets.map((s: any) => s.id)).not.toContain("CANARY_SECRET");
  });

  it("is asked about in chat", async () => {
    const response = responseUrl("canary");
    const ack = await slackSigned("/chatops/slack/commands", slashCommand(ALICE, `status ${credId}`, response));
    expect(ack.status).toBe(200);
    expect(ack.text).toContain(credId);
  });

  it("is shown in the dashboard", async () => {
    const signIn = await page("POST", "/ui/sign-in", { form: { token: ADMIN_TOKEN } });
    expect(signIn.status).toBe(303);
    for (const path of ["/ui", `/ui/credentials/${credId}`, "/ui/rotations", "/ui/plan"]) {
      const res = await page("GET", path, { cookie: signIn.cookie! });
      expect(res.status, path).toBe(200);
    }
  });
});

afterAll(async () => {
  // Let the bus deliver what the journey published (audit entries, notifications).
  await new Promise((r) => setTimeout(r, 1_500));
  let audit = "";
  let cursor: string | null = null;
  do {
    const res = await call("GET", `/v1/audit?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    audit += res.text;
    cursor = res.json.next_cursor ?? null;
  } while (cursor);
  expect(audit).toContain(credId); // the trail does describe the journey
  const stored: string[] = [];
  let kvCursor: string | undefined;
  do {
    const list: KVNamespaceListResult<unknown, string> = await env.REKEY_KV.list(kvCursor ? { cursor: kvCursor } : {});
    for (const k of list.keys) {
      stored.push(`${k.name} ${JSON.stringify(k.metadata ?? null)} ${await env.REKEY_KV.get(k.name)}`);
    }
    kvCursor = list.list_complete ? undefined : list.cursor;
  } while (kvCursor);
  expect(stored.length).toBeGreaterThan(3);
  const outbound = await receiverTexts();
  expect(outbound.some((m) => m.includes(credId)), "the receiver got this journey's messages").toBe(true);
  const searched = expectNoCanary([
    audit,
    ...stored,
    ...outbound,
    ...leaks.logs,
    ...responses.map((r) => r.text + JSON.stringify(r.headers)),
  ], leaks.secrets);
  expect(searched).toBeGreaterThan(10_000);
  leaks.assertClean([audit, ...outbound, ...stored], 3);
});
