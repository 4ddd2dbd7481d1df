/**
 * GitHub's configuration on the real Worker: what config-check refuses (an App half configured, a
 * key that is not a PEM, malformed backstop scopes: 503 config_invalid naming the variable, never
 * its value), what a route answers when GitHub is not configured (503 not_configured; a GitHub
 * sink refused at registration with 422 github_not_configured), and GITHUB_TOKEN instead of an App.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import worker, { type Env } from "../../src/worker.ts";
import { queueInvocation } from "../support/counted-worker.ts";
import { signGithubWebhook } from "../../src/core/inbound/github-webhook.ts";
import { ADMIN_TOKEN, call } from "../support/api.ts";
import { freshTenant } from "../support/emulator-control.ts";
import { freshOrg, GITHUB_WEBHOOK_SECRET, githubControl } from "../support/github.ts";

const withVars = (vars: Record<string, string | undefined>) => {
  const e: Record<string, unknown> = { ...env };
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete e[k];
    else e[k] = v;
  }
  return e as unknown as Env;
};

async function send(e: Env, method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`http://rekey.test${path}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      ...(body ? { body } : {}),
    }) as Request<unknown, IncomingRequestCfProperties>,
    e,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  const text = await res.text();
  return { status: res.status, text, json: text ? JSON.parse(text) : undefined };
}

/**
 * `e` with its `rotation.requested` sends held back, and `deliver` to run them through the Worker's
 * queue handler under `e` itself (everything else is sent as usual).
 */
function holdingRequests(e: Env) {
  const held: unknown[] = [];
  const isRequest = (b: any) => b?.type === "rotation.requested";
  const events = e.EVENTS;
  const EVENTS = {
    send: async (body: unknown, opts?: QueueSendOptions) => {
      if (isRequest(body)) held.push(body);
      else await events.send(body, opts);
    },
    sendBatch: async (msgs: Iterable<MessageSendRequest>, opts?: QueueSendBatchOptions) => {
      const rest = [...msgs].filter((m) => (isRequest(m.body) ? (held.push(m.body), false) : true));
      if (rest.length) await events.sendBatch(rest, opts);
    },
  } as unknown as Env["EVENTS"];
  const heldEnv = { ...e, EVENTS } as Env;
  const deliver = async () => {
    for (let body = held.shift(); body !== undefined; body = held.shift()) {
      await queueInvocation(heldEnv, "rekey-events", body);
    }
  };
  return { env: heldEnv, deliver };
}

const PEM = String(env.GITHUB_APP_PRIVATE_KEY);

describe("GitHub configuration", () => {
  it("refuses an App half configured, a key that is not an RSA PEM, and malformed scopes, naming only the variable", async () => {
    const cases: [Record<string, string | undefined>, string[]][] = [
      [{ GITHUB_APP_PRIVATE_KEY: undefined }, ["GITHUB_APP_ID"]],
      [{ GITHUB_APP_ID: undefined }, ["GITHUB_APP_PRIVATE_KEY"]],
      [{ GITHUB_APP_PRIVATE_KEY: PEM.replace("RSA PRIVATE KEY", "EC PRIVATE KEY") }, ["GITHUB_APP_PRIVATE_KEY"]],
      [{ GITHUB_APP_ID: "not-an-id" }, ["GITHUB_APP_ID"]],
      [{ GITHUB_ALERT_SCOPES: "acme/api, org:bad_name" }, ["GITHUB_ALERT_SCOPES"]],
      [{ GITHUB_ALERT_SCOPES: "just-a-word" }, ["GITHUB_ALERT_SCOPES"]],
      [{ GITHUB_API_BASE: "not a url" }, ["GITHUB_API_BASE"]],
    ];
    for (const [vars, names] of cases) {
      const res = await send(withVars(vars), "GET", "/healthz");
      expect(res.status, JSON.stringify(vars)).toBe(503);
      expect(res.json.error).toMatchObject({ code: "config_invalid", variables: names });
      expect(res.text).not.toContain(PEM.split("\n")[1]!);
    }
    // Well-formed scopes are fine.
    expect((await send(withVars({ GITHUB_ALERT_SCOPES: "acme/api, org:acme" }), "GET", "/healthz")).status).toBe(200);
  });

  it("refuses GITHUB_INLINE_TOKENS outside 100 to 10,000 at startup (503 config_invalid on every route, not a 500)", async () => {
    // Below 100 a 10,000-token alert is more chunk sends than the request's subrequest budget holds.
    for (const value of ["1", "99", "10001", "0", "abc"]) {
      for (const [method, path] of [["GET", "/healthz"], ["POST", "/hooks/github/secret-scanning"]] as const) {
        const res = await send(
          withVars({ GITHUB_INLINE_TOKENS: value }),
          method,
          path,
          method === "POST" ? "[]" : undefined,
        );
        expect(res.status, `${value} ${path}`).toBe(503);
        expect(res.json.error, `${value} ${path}`).toMatchObject({
          code: "config_invalid",
          variables: ["GITHUB_INLINE_TOKENS"],
        });
      }
    }
    for (const value of ["100", "10000"]) {
      expect((await send(withVars({ GITHUB_INLINE_TOKENS: value }), "GET", "/healthz")).status, value).toBe(200);
    }
  });

  it("without GitHub credentials: the webhook route is 503 not_configured, and a GitHub sink is refused at registration", async () => {
    const none = withVars({ GITHUB_APP_ID: undefined, GITHUB_APP_PRIVATE_KEY: undefined, GITHUB_TOKEN: undefined });
    const body = JSON.stringify({ action: "created", alert: { number: 1 }, repository: { full_name: "acme/api" } });
    const headers = {
      authorization: "",
      "x-github-event": "secret_scanning_alert",
      "x-github-delivery": crypto.randomUUID(),
      "x-hub-signature-256": await signGithubWebhook(GITHUB_WEBHOOK_SECRET, body),
    };
    const res = await send(none, "POST", "/hooks/github/events", body, headers);
    expect(res.status).toBe(503);
    expect(res.json.error.code).toBe("not_configured");
    // ping needs no credentials.
    const pingBody = JSON.stringify({ zen: "Keep it logically awesome.", hook_id: 1 });
    const ping = await send(none, "POST", "/hooks/github/events", pingBody, {
      ...headers,
      "x-github-event": "ping",
      "x-hub-signature-256": await signGithubWebhook(GITHUB_WEBHOOK_SECRET, pingBody),
    });
    expect(ping.status).toBe(200);
    // No webhook secret at all: 503 for every delivery.
    const noSecret = await send(
      withVars({ GITHUB_WEBHOOK_SECRET: undefined }),
      "POST",
      "/hooks/github/events",
      body,
      headers,
    );
    expect(noSecret.status).toBe(503);
    expect(noSecret.json.error.code).toBe("not_configured");

    const tenant = await freshTenant("ghconfig");
    const mgr = await send(
      none,
      "POST",
      "/v1/credentials",
      JSON.stringify({ kind: "pat", user_id: tenant.userId, value: tenant.manager.id }),
    );
    const key = await tenant.mint("app_specific_key", ["Predict"], "no-github");
    const reg = await send(
      none,
      "POST",
      "/v1/credentials",
      JSON.stringify({
        kind: "app_key",
        user_id: tenant.userId,
        value: key.id,
        manager_id: mgr.json.credential.id,
        sinks: [{ type: "github_actions_secret", repository: "acme/api", name: "X" }],
      }),
    );
    expect(reg.status).toBe(422);
    expect(reg.json.error.code).toBe("github_not_configured");
    expect(reg.json.error.message).toContain("sinks.0");
  });

  describe("GITHUB_TOKEN instead of an App", () => {
    let token: string;
    let gh: Awaited<ReturnType<typeof freshOrg>>;
    beforeAll(async () => {
      gh = await freshOrg("ghtoken");
      token = (await githubControl("tokens", {})).token;
    });

    it("pre-flights and rotates into an Actions secret with the one token, no App exchange", async () => {
      const e = withVars({ GITHUB_APP_ID: undefined, GITHUB_APP_PRIVATE_KEY: undefined, GITHUB_TOKEN: token });
      const held = holdingRequests(e);
      const tenant = await freshTenant("ghtoken");
      const mgr = await send(
        e,
        "POST",
        "/v1/credentials",
        JSON.stringify({ kind: "pat", user_id: tenant.userId, value: tenant.manager.id }),
      );
      const key = await tenant.mint("app_specific_key", ["Predict"], "token-mode");
      const reg = await send(
        e,
        "POST",
        "/v1/credentials",
        JSON.stringify({
          kind: "app_key",
          user_id: tenant.userId,
          value: key.id,
          manager_id: mgr.json.credential.id,
          policy: { grace_hours: 0 },
          sinks: [{ type: "github_actions_secret", repository: gh.repository, name: "TOKEN_MODE" }],
        }),
      );
      expect(reg.status, reg.text).toBe(201);
      const rotate = await send(held.env, "POST", `/v1/credentials/${reg.json.credential.id}/rotate`);
      expect(rotate.status).toBe(202);
      // The request's waitUntil drove it up to its hand-off (src/core/rotation/request.ts); its
      // rotation.requested ends it in a queue invocation under the same configuration, as in
      // production (the test pool's own consumer runs under the App's). The API of the test env
      // reads the same storage.
      await held.deliver();
      let r: any;
      for (let i = 0; i < 200; i++) {
        r = (await call("GET", `/v1/rotations/${rotate.json.rotation.id}`)).json.rotation;
        if (r.state !== "running") break;
        await new Promise((res) => setTimeout(res, 50));
      }
      expect(r.state).toBe("done");
      const s = await gh.state();
      expect(s.secrets.find((x: any) => x.name === "TOKEN_MODE")?.value).toBeTruthy();
      expect(s.calls.some((c: any) => c.method === "PUT" && c.path.endsWith("/TOKEN_MODE"))).toBe(true);
      // This organization's installation was never asked for a token: the one token did everything.
      const all = (await githubControl("state")).calls as any[];
      expect(all.some((c) => c.path === `/app/installations/${gh.installation}/access_tokens`)).toBe(false);
    });
  });
});
